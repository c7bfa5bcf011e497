// From a ScenarioSpec to numbers: the scenario's start and end, and per fault a window plan.
// Everything here is in milliseconds on the *virtual* clock (wall clock minus frozen time; see
// evaluate.ts). Nothing here looks at `now`.

import { Cron } from 'croner';
import type { FaultBase, Issue, TimelineSpec, TimingSpec } from '../api/types.js';
import { parseDuration } from '../api/duration.js';
import { isTimeZone } from '../api/time.js';
import { seededRandom } from './random.js';

/**
 * Windows at `a + j·p` for j in [0, n), each lasting `d` (Infinity: open until the scenario ends),
 * AFTER `concurrency: forbid` has removed the windows that would start inside a previous one.
 * A fault without `repeat` is the case n = 1.
 */
export interface PeriodicPlan {
  kind: 'periodic';
  a: number;
  p: number;
  n: number; // may be Infinity (repeat without times)
  d: number; // may be Infinity (no duration)
}

/** Windows at each fire time of a cron pattern at or after `anchor`, each lasting `d`. */
export interface CronPlan {
  kind: 'cron';
  cron: Cron;
  anchor: number;
  d: number;
  allow: boolean; // concurrency: allow
}

export type WindowPlan = PeriodicPlan | CronPlan;

export interface FaultPlan {
  name: string;
  /** Absent when the timing could not be understood; `message` says why. */
  plan?: WindowPlan;
  message?: string;
}

export interface ScenarioPlan {
  /** Scenario start and end on the virtual clock; end is Infinity without spec.duration. */
  start: number;
  end: number;
  faults: FaultPlan[];
  issues: Issue[];
}

class PlanError extends Error {
  constructor(
    readonly code: string,
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Duration in whole milliseconds (Go allows ns; the timeline's resolution is 1 ms). */
function ms(text: string, path: (string | number)[], what: string): number {
  let v: number;
  try {
    v = parseDuration(text);
  } catch (e) {
    throw new PlanError('timeline.duration', path, `${what}: ${(e as Error).message}`);
  }
  if (v < 0)
    throw new PlanError(
      'timeline.duration',
      path,
      `${what} ${JSON.stringify(text)} is negative; durations here must be >= 0`,
    );
  return Math.round(v);
}

function instant(text: string, path: (string | number)[], what: string): number {
  // RFC 3339 requires a zone ("Z" or "+02:00"); Date.parse would read a zone-less text as local
  // time, which would make the plan depend on the controller host's TZ.
  const t = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) {
    throw new PlanError(
      'timeline.startAt',
      path,
      `${what} ${JSON.stringify(text)} is not an RFC 3339 time with a zone; write e.g. "2026-03-29T01:00:00Z"`,
    );
  }
  return t;
}

/**
 * The offset chosen for `at: {min, max}`: uniform over whole seconds in [min, max] when both bounds
 * are whole seconds (so status shows "…:01:23Z", not "…:01:23.417Z"), else over whole milliseconds.
 * The stream is seededRandom(seed, 'timeline/at', faultName): the same seed gives the same offset
 * on every evaluation and after every controller restart, and renaming another fault changes nothing.
 *
 *   at: {min: 1m, max: 5m}, seed 7, fault "flap"  ->  one of 60s, 61s, ..., 300s, always the same one
 */
export function randomOffset(min: number, max: number, seed: number, faultName: string): number {
  if (max < min) [min, max] = [max, min];
  const g = min % 1000 === 0 && max % 1000 === 0 ? 1000 : 1;
  const steps = Math.floor((max - min) / g) + 1;
  return min + g * Math.floor(seededRandom(seed, 'timeline/at', faultName)() * steps);
}

function planFault(
  f: Pick<FaultBase, 'name'> & TimingSpec,
  path: (string | number)[],
  start: number,
  seed: number,
): WindowPlan {
  if (f.at !== undefined && f.startAt !== undefined) {
    throw new PlanError(
      'timeline.conflict',
      path,
      `fault "${f.name}": give either at (offset) or startAt (absolute time), not both`,
    );
  }
  if (f.schedule !== undefined && f.repeat !== undefined) {
    throw new PlanError('timeline.conflict', path, `fault "${f.name}": give either repeat or schedule, not both`);
  }
  const d = f.duration === undefined ? Infinity : ms(f.duration, [...path, 'duration'], `fault "${f.name}" duration`);
  const allow = f.concurrency === 'allow';

  // The first window's start (for schedule: the instant from which fire times count).
  let a = start;
  if (typeof f.at === 'string') {
    a = start + ms(f.at, [...path, 'at'], `fault "${f.name}" at`);
  } else if (f.at !== undefined) {
    const min = ms(f.at.min, [...path, 'at', 'min'], `fault "${f.name}" at.min`);
    const max = ms(f.at.max, [...path, 'at', 'max'], `fault "${f.name}" at.max`);
    a = start + randomOffset(min, max, seed, f.name);
  } else if (f.startAt !== undefined) {
    a = instant(f.startAt, [...path, 'startAt'], `fault "${f.name}" startAt`);
  }

  if (f.schedule !== undefined) {
    const tz = f.timeZone;
    if (tz !== undefined && !isTimeZone(tz)) {
      throw new PlanError(
        'timeline.timeZone',
        [...path, 'timeZone'],
        `fault "${f.name}": unknown time zone ${JSON.stringify(tz)}; use an IANA name such as "Europe/Berlin" or "UTC"`,
      );
    }
    // UTC through utcOffset: 0 is exact (UTC has no DST) and about 4x faster than croner's Intl path.
    const utc = tz === undefined || tz === 'UTC' || tz === 'Etc/UTC';
    let cron: Cron;
    try {
      // No callback: croner only computes fire times and never starts a timer.
      cron = new Cron(
        f.schedule,
        utc ? { mode: '5-or-6-parts', utcOffset: 0 } : { mode: '5-or-6-parts', timezone: tz },
      );
    } catch (e) {
      throw new PlanError(
        'timeline.schedule',
        [...path, 'schedule'],
        `fault "${f.name}": schedule ${JSON.stringify(f.schedule)} is not a 5- or 6-field cron pattern (${(e as Error).message})`,
      );
    }
    return { kind: 'cron', cron, anchor: a, d, allow };
  }

  if (f.repeat === undefined) return { kind: 'periodic', a, p: 1, n: 1, d };

  const every = ms(f.repeat.every, [...path, 'repeat', 'every'], `fault "${f.name}" repeat.every`);
  if (every <= 0) {
    throw new PlanError(
      'timeline.repeat',
      [...path, 'repeat', 'every'],
      `fault "${f.name}": repeat.every must be longer than 0`,
    );
  }
  const times = f.repeat.times ?? Infinity;
  if (!(times === Infinity || (Number.isInteger(times) && times >= 0))) {
    throw new PlanError(
      'timeline.repeat',
      [...path, 'repeat', 'times'],
      `fault "${f.name}": repeat.times must be a whole number >= 0`,
    );
  }
  if (allow) return { kind: 'periodic', a, p: every, n: times, d };
  // forbid: window k starts at a + k·every and is skipped while a kept window is open. The kept
  // windows are then exactly k = 0, m, 2m, ... with m = ceil(d / every): window j·m is kept and open
  // until a + j·m·every + d; the first k with a + k·every >= that is k = j·m + m.
  //   every 1m, duration 90s  -> m = 2: windows at 0, 2m, 4m (1m, 3m skipped)
  //   every 1m, duration 1m   -> m = 1: windows at 0, 1m, 2m (they touch; none skipped)
  //   no duration             -> only the first window (it lasts until the scenario ends)
  // `times` counts planned starts, skipped ones included: times 3, m 2 -> windows at 0 and 2m.
  if (d === Infinity) return { kind: 'periodic', a, p: every, n: Math.min(times, 1), d };
  const m = Math.max(1, Math.ceil(d / every));
  return { kind: 'periodic', a, p: every * m, n: times === Infinity ? Infinity : Math.ceil(times / m), d };
}

/** Resolve the scenario's start/end and every fault's window plan. Never throws: problems are issues. */
export function compileSchedule(spec: TimelineSpec, startedAt: number, seed: number): ScenarioPlan {
  const issues: Issue[] = [];
  const record = (e: unknown): string => {
    if (!(e instanceof PlanError)) throw e;
    issues.push({ code: e.code, path: e.path, message: e.message });
    return e.message;
  };

  let start = startedAt;
  if (spec.startAt !== undefined) {
    try {
      start = instant(spec.startAt, ['spec', 'startAt'], 'spec.startAt');
    } catch (e) {
      record(e); // fall back to when the controller started it
    }
  }
  let end = Infinity;
  if (spec.duration !== undefined) {
    try {
      end = start + ms(spec.duration, ['spec', 'duration'], 'spec.duration');
    } catch (e) {
      record(e); // fall back to an open-ended scenario
    }
  }

  const faults = (spec.faults ?? []).map((f, i): FaultPlan => {
    try {
      return { name: f.name, plan: planFault(f, ['spec', 'faults', i], start, seed) };
    } catch (e) {
      return { name: f.name, message: record(e) };
    }
  });
  return { start, end, faults, issues };
}
