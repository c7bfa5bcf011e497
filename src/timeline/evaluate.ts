// evaluate(): the controller's only question to the timeline — "what is active at `now`, and when
// does that next change?" Pure: the same (spec, ctx) always gives the same answer.

import type { FaultStatus, Issue, TimelineSpec } from '../api/types.js';
import { compileSchedule, type ScenarioPlan } from './schedule.js';
import { scanFault, TimelineLimitError, type FaultScan, type Run } from './windows.js';

/**
 * Everything evaluate() needs besides the spec. All instants are wall-clock.
 *
 * Suspension with `freezeTimeline` — the contract with the controller:
 *   - The controller keeps, per scenario, `frozenMs`: the total wall time spent suspended with
 *     `suspend: {freezeTimeline: true}`, INCLUDING the suspension in progress (so while frozen it
 *     grows with `now`). It passes that total on every evaluation, also after resuming.
 *   - The timeline runs on a virtual clock: `virtualNow = now - frozenMs`. Every planned instant
 *     (scenario start and end, `at`, absolute `startAt`, cron fire times) is compared against the
 *     virtual clock, so a freeze of 1h shifts the rest of the plan 1h later in wall time.
 *   - Every instant in the result is reported in wall time as `virtual + frozenMs`, i.e. "when this
 *     happens if nothing else is frozen". For a window that opened before a freeze, `from` is
 *     therefore a projection, not history; history is the controller's to record.
 *   - `lastObservedAt` is converted the same way (lastObservedAt - frozenMs). Pass the current
 *     total; if a freeze happened in between, some windows already seen may count as missed — a
 *     controller that evaluates at each resume never sees that.
 *   - While frozen, nothing changes with time: `nextTransitionAt` is absent; the spec edit that
 *     resumes the scenario wakes the controller.
 *
 *   frozen from 10:05 to 11:05 (frozenMs = 1h), window planned [10:00, 10:10)
 *   evaluate at 11:07 -> virtualNow 10:07 -> active, window {from 11:00, until 11:10}
 */
export interface TimelineContext {
  /** When the controller first reconciled the scenario; the start unless spec.startAt is given. */
  startedAt: Date;
  now: Date;
  /** Seed for random choices (`at: {min, max}`); normally spec.seed or one the controller chose and recorded. */
  seed: number;
  /** When the controller last evaluated this scenario; windows entirely in (lastObservedAt, now] were missed. */
  lastObservedAt?: Date;
  /** Total time frozen by `suspend: {freezeTimeline: true}`, in ms (see above). Default 0. */
  frozenMs?: number;
}

export type TimelinePhase = 'Pending' | 'Running' | 'Completed' | 'Suspended';

/** A window as reported: half-open [from, until); `until` absent = open until the scenario ends. */
export interface TimeWindow {
  from: Date;
  until?: Date;
}

export interface ActiveFault {
  fault: string;
  /** The whole uninterrupted stretch of activity around now (overlapping/touching windows merged). */
  window: TimeWindow;
  /** 0-based number of the latest window started at or before now (= windowsRun - 1). */
  index: number;
}

export type FaultTimelinePhase = 'Scheduled' | 'Active' | 'Completed' | 'Missed' | 'Suspended' | 'Failed';

export interface FaultTimeline {
  name: string;
  /**
   * Active: a window is open at now. Suspended: one would be, but the scenario is suspended.
   * Missed: the latest run ended unseen in (lastObservedAt, now]. Scheduled: a window is still to
   * come. Completed: none is. Failed: the timing could not be understood (see `message`).
   */
  phase: FaultTimelinePhase;
  /** The current stretch if active, else the latest past one. */
  window?: TimeWindow;
  /** The next stretch that starts after now. */
  nextWindow?: TimeWindow;
  /** Windows started at or before now (missed ones included, forbid-skipped ones not). */
  windowsRun: number;
  /** Windows missed in (lastObservedAt, now] — this evaluation only; the controller adds them up. */
  missed: number;
  message?: string;
}

export interface TimelineResult {
  scenarioPhase: TimelinePhase;
  startsAt: Date;
  /** Absent without spec.duration. */
  endsAt?: Date;
  /** Faults to apply now, in spec order. Empty unless Running. */
  active: ActiveFault[];
  /** One entry per fault, in spec order. */
  faults: FaultTimeline[];
  /** Earliest instant after now at which `active`, a phase, index or windowsRun changes. */
  nextTransitionAt?: Date;
  /** Timing problems (also shown as Failed faults). */
  issues: Issue[];
  suspended: boolean;
  /** true while suspended with freezeTimeline (time stands still for the plan). */
  frozen: boolean;
  /** now - frozenMs. */
  virtualNow: Date;
}

/** `suspend: true` and `suspend: {…}` both suspend; only `{freezeTimeline: true}` freezes. */
export function suspension(spec: TimelineSpec): { suspended: boolean; frozen: boolean } {
  const s = spec.suspend;
  if (s === undefined || s === false) return { suspended: false, frozen: false };
  if (s === true) return { suspended: true, frozen: false };
  return { suspended: true, frozen: s.freezeTimeline === true };
}

/** Internal: evaluate plus what the renderers need (the plan, the scans). */
export interface Evaluation {
  result: TimelineResult;
  plan: ScenarioPlan;
  scans: (FaultScan | undefined)[];
  now: number; // virtual
  observed?: number; // virtual
  shift: number; // frozenMs
}

export function evaluateDetailed(spec: TimelineSpec, ctx: TimelineContext): Evaluation {
  const shift = ctx.frozenMs ?? 0;
  const now = ctx.now.getTime() - shift;
  const observed = ctx.lastObservedAt === undefined ? undefined : ctx.lastObservedAt.getTime() - shift;
  const { suspended, frozen } = suspension(spec);
  const plan = compileSchedule(spec, ctx.startedAt.getTime(), ctx.seed);
  const { start, end } = plan;
  const issues = [...plan.issues];
  const wall = (t: number) => new Date(t + shift);
  const win = (r: Run | undefined) =>
    r && { from: wall(r.from), ...(r.until === Infinity ? {} : { until: wall(r.until) }) };

  let scenarioPhase: TimelinePhase = now < start ? 'Pending' : now >= end ? 'Completed' : 'Running';
  if (suspended && scenarioPhase !== 'Completed') scenarioPhase = 'Suspended';

  // Candidates for the next transition, on the virtual clock. Every one is > now.
  const next: number[] = [];
  if (now < start) next.push(start);
  if (now < end && end !== Infinity) next.push(end);

  const active: ActiveFault[] = [];
  const scans: (FaultScan | undefined)[] = [];
  const faults = plan.faults.map((fp, i): FaultTimeline => {
    let scan: FaultScan | undefined;
    let message = fp.message;
    if (fp.plan) {
      try {
        scan = scanFault(fp.plan, start, end, now, observed);
      } catch (e) {
        if (!(e instanceof TimelineLimitError)) throw e;
        message = `fault "${fp.name}": ${e.message}; the timeline cannot follow it — use a coarser schedule or a shorter scenario`;
        issues.push({ code: 'timeline.limit', path: ['spec', 'faults', i], message });
      }
    }
    scans.push(scan);
    if (!scan) return { name: fp.name, phase: 'Failed', windowsRun: 0, missed: 0, message };

    const { current, lastPast, next: after } = scan;
    if (current?.nextStart !== undefined) next.push(current.nextStart);
    if (current && current.until !== Infinity) next.push(current.until);
    if (!current && after) next.push(after.from);

    let phase: FaultTimelinePhase;
    if (current) {
      phase = suspended ? 'Suspended' : 'Active';
      if (!suspended) active.push({ fault: fp.name, window: win(current)!, index: scan.windowsRun - 1 });
    } else if (lastPast && observed !== undefined && lastPast.from > observed) phase = 'Missed';
    else if (after) phase = 'Scheduled';
    else phase = 'Completed';

    const out: FaultTimeline = { name: fp.name, phase, windowsRun: scan.windowsRun, missed: scan.missed };
    const window = win(current ?? lastPast);
    if (window) out.window = window;
    const nextWindow = win(after);
    if (nextWindow) out.nextWindow = nextWindow;
    return out;
  });

  const result: TimelineResult = {
    scenarioPhase,
    startsAt: wall(start),
    ...(end === Infinity ? {} : { endsAt: wall(end) }),
    active,
    faults,
    issues,
    suspended,
    frozen,
    virtualNow: new Date(now),
  };
  // Frozen: the virtual clock stands still, so nothing is due until the spec changes.
  if (!frozen && next.length > 0) result.nextTransitionAt = wall(Math.min(...next));
  return { result, plan, scans, now, observed, shift };
}

/**
 * What is active at ctx.now, every fault's phase and windows, and the next instant any of that
 * changes (the controller's requeueAfter). Semantics of each timing field: see README.md and schedule.ts.
 *
 *   spec: duration 10m, faults [{name: slow, at: 30s, duration: 2m, repeat: {every: 5m}}]
 *   startedAt 12:00:00, now 12:01:00
 *     -> Running; active [{fault: slow, window: {12:00:30, 12:02:30}, index 0}];
 *        slow: Active, nextWindow {12:05:30, 12:07:30}, windowsRun 1; nextTransitionAt 12:02:30
 */
export function evaluate(spec: TimelineSpec, ctx: TimelineContext): TimelineResult {
  return evaluateDetailed(spec, ctx).result;
}

/** The status form of one fault's timeline (RFC 3339 strings), for ScenarioStatus.faults. */
export function toFaultStatus(f: FaultTimeline): FaultStatus {
  const w = (x: TimeWindow) => ({ from: x.from.toISOString(), ...(x.until ? { until: x.until.toISOString() } : {}) });
  const s: FaultStatus = { name: f.name, phase: f.phase, windowsRun: f.windowsRun, missed: f.missed };
  if (f.window) s.window = w(f.window);
  if (f.nextWindow) s.nextWindow = w(f.nextWindow);
  if (f.message) s.message = f.message;
  return s;
}
