// A scenario's timeline as a chart (`describe`, `timeline`), drawn by timeline/ from the start
// and seed recorded in status.
//
// A scenario that has not started (never applied, or not yet reconciled: no status.startedAt) is
// drawn as it would run if it started now, evaluated an instant before that start, so the chart
// says Pending / Scheduled and its offsets count from a start that has not happened:
//
//   not started yet: drawn as it would run if it started now; offsets count from its start
//   scenario Pending  start 2026-03-01T12:00:00.000Z  end +20s  now -1ms  next +0s
import type { Scenario } from '../api/types.js';
import { evaluateRecorded, renderGantt, renderSvg } from '../timeline/index.js';

export type ChartFormat = 'text' | 'svg';

export function timelineChart(
  scenario: Scenario | undefined,
  format: ChartFormat,
  width: number,
  now = new Date(),
): string | undefined {
  if (!scenario?.spec?.faults?.length) return undefined;
  const started = scenario.status?.startedAt !== undefined;
  const prev = started ? (scenario.status ?? {}) : { ...scenario.status, startedAt: now.toISOString() };
  const at = started ? now : new Date(now.getTime() - 1);
  const t = evaluateRecorded(scenario.metadata.name, scenario.spec, prev, at);
  const frozen = t.frozenMs + (t.frozenSince ? at.getTime() - Date.parse(t.frozenSince) : 0);
  const ctx = { startedAt: new Date(t.startedAt), now: at, seed: t.seed, frozenMs: frozen };
  if (format === 'svg') return renderSvg(scenario.spec, t.result, ctx, width);
  const note = started
    ? ''
    : 'not started yet: drawn as it would run if it started now; offsets count from its start\n';
  return note + renderGantt(scenario.spec, t.result, ctx, width);
}
