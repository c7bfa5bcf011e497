// Public surface of the timeline. Pure: no I/O, no clock; time is always passed in.
export {
  evaluate,
  suspension,
  toFaultStatus,
  type ActiveFault,
  type FaultTimeline,
  type FaultTimelinePhase,
  type TimelineContext,
  type TimelinePhase,
  type TimelineResult,
  type TimeWindow,
} from './evaluate.js';
export { seededRandom } from './random.js';
export { renderGantt, renderSvg } from './gantt.js';
export { evaluateRecorded, type RecordedTimeline } from './recorded.js';
