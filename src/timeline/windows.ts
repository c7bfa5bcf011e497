// Window streams and runs: the one algorithm behind evaluate() and the renderers.
//
// A *window* is a half-open interval [from, until) in which a fault is planned active, already
// clipped to the scenario [start, end). Windows are produced in order of `from`.
// A *run* is a maximal group of windows that overlap or touch; the fault is active through a run
// without a break. With concurrency forbid, runs differ from windows only when windows touch
// (every 1m, duration 1m: one run, windows 0..n); with allow they are the union of overlaps.
//
//   windows  [0,60) [60,120)   [200,260) [230,300)
//   runs     [0,120) count 2   [200,300) count 2
//
// All instants are milliseconds on the virtual clock; Infinity means "open" (no end).

import type { CronPlan, PeriodicPlan, WindowPlan } from './schedule.js';

export interface Win {
  from: number;
  until: number;
}

/**
 * The windows that could matter from `lo` on. `skipped` windows (all closed at or before `lo`, and
 * in runs of their own) were passed over arithmetically; `prev` is the last of them.
 */
export interface WindowStream {
  skipped: number;
  prev?: Win;
  windows: Iterator<Win>;
}

/** Work limits. A cron pattern costs ~20 µs per fire in UTC and ~90 µs in a named zone. */
export const LIMITS = Object.freeze({
  /** Cron fires walked from the fault's anchor; beyond this the fault is reported Failed. */
  cronFires: 50_000,
  /** Periodic windows walked (only merged runs are walked; separate windows are skipped in O(1)). */
  periodicWindows: 5_000_000,
  /** Windows looked at after `now` while a run keeps growing; beyond this it is reported open. */
  lookahead: 1_000,
});

export class TimelineLimitError extends Error {}

/**
 * Periodic windows j in [jLo, jHi): from a + j·p to a + j·p + d, clipped to [start, end).
 * jLo is the first window still open at `start` (an absolute startAt may lie before the scenario's
 * start: windows that already ended do not exist, one that is still open is active for the rest),
 * jHi the first one starting at or after `end`.
 */
function periodicStream(pl: PeriodicPlan, start: number, end: number, lo: number): WindowStream {
  const { a, p, n, d } = pl;
  const empty: WindowStream = { skipped: 0, windows: [][Symbol.iterator]() };
  if (d <= 0 || n <= 0 || end <= start) return empty;
  const rawFrom = (j: number) => a + j * p;
  const rawUntil = (j: number) => a + j * p + d;

  let jLo = 0;
  if (d !== Infinity && n > 1) {
    jLo = Math.max(0, Math.floor((start - a - d) / p) + 1);
    while (jLo > 0 && rawUntil(jLo - 1) > start) jLo--;
  }
  while (jLo < n && rawUntil(jLo) <= start) jLo++; // n = 1: at most one step

  let jHi = n;
  if (end !== Infinity) {
    jHi = Math.min(n, Math.max(0, Math.ceil((end - a) / p)));
    while (jHi > 0 && rawFrom(jHi - 1) >= end) jHi--;
    while (jHi < n && rawFrom(jHi) < end) jHi++;
  }
  if (jLo >= jHi) return empty;

  const win = (j: number): Win => ({ from: Math.max(rawFrom(j), start), until: Math.min(rawUntil(j), end) });

  // Separate windows (d < p) are runs of their own: jump to the first one still open after `lo`.
  let j0 = jLo;
  if (d < p) {
    j0 = Math.min(jHi, Math.max(jLo, Math.floor((lo - a - d) / p) + 1));
    while (j0 > jLo && win(j0 - 1).until > lo) j0--;
    while (j0 < jHi && win(j0).until <= lo) j0++;
  }
  function* windows(): Iterator<Win> {
    let walked = 0;
    for (let j = j0; j < jHi; j++) {
      if (++walked > LIMITS.periodicWindows) {
        throw new TimelineLimitError(`more than ${LIMITS.periodicWindows} overlapping windows to walk`);
      }
      yield win(j);
    }
  }
  return { skipped: j0 - jLo, prev: j0 > jLo ? win(j0 - 1) : undefined, windows: windows() };
}

/**
 * Cron windows: each fire time f >= max(anchor, start) and < end opens [f, f + d) clipped to end.
 * forbid skips a fire that falls inside the previous kept window (f < its until); a fire exactly at
 * its until is kept (half-open windows). There is no arithmetic shortcut for cron, so the walk
 * always begins at the anchor; LIMITS.cronFires bounds it.
 */
function cronStream(pl: CronPlan, start: number, end: number): WindowStream {
  const { cron, d, allow } = pl;
  const from = Math.max(pl.anchor, start);
  function* windows(): Iterator<Win> {
    if (d <= 0 || end <= start) return;
    let keptUntil = -Infinity;
    let fires = 0;
    // croner's nextRun(t) is the first fire strictly after t, at whole seconds.
    let t: Date | null = cron.nextRun(new Date(from - 1));
    while (t !== null && t.getTime() < from) t = cron.nextRun(t);
    while (t !== null) {
      const f = t.getTime();
      if (f >= end) return;
      if (++fires > LIMITS.cronFires) {
        throw new TimelineLimitError(`schedule fires more than ${LIMITS.cronFires} times since the fault's start`);
      }
      if (allow || f >= keptUntil) {
        const w = { from: f, until: Math.min(f + d, end) };
        keptUntil = w.until;
        yield w;
        // forbid with an open window: every later fire falls inside it.
        if (!allow && keptUntil >= end) return;
      }
      t = cron.nextRun(t);
    }
  }
  return { skipped: 0, windows: windows() };
}

export function windowStream(pl: WindowPlan, start: number, end: number, lo: number): WindowStream {
  return pl.kind === 'periodic' ? periodicStream(pl, start, end, lo) : cronStream(pl, start, end);
}

export interface Run {
  from: number;
  until: number; // Infinity: open (or, when `truncated`, not known within LIMITS.lookahead)
  count: number; // windows in the run
  startedBy: number; // windows in the run with from <= now
  nextStart?: number; // first window start in the run after now
  truncated?: boolean;
}

/** What one fault's windows look like from `now`; see scanFault. */
export interface FaultScan {
  current?: Run; // the run with from <= now < until
  lastPast?: Run; // the latest run with until <= now
  next?: Run; // the first run with from > now
  windowsRun: number; // windows with from <= now
  missed: number; // windows in runs that began after `observed` and ended by `now`
}

/**
 * Walk one fault's windows, grouping them into runs, just far enough to know the run at `now`, the
 * run before and the run after. `observed` (the controller's previous look) decides what was missed:
 * a run that began after it and ended by `now` was never seen, so its windows are counted missed
 * and not replayed; a run still open at `now` is simply active for the rest of it.
 *
 *   runs [10,20) [30,40) [50,60), observed 15, now 55
 *     -> lastPast [30,40) (missed: began after 15, ended by 55), current [50,60), missed 1,
 *        windowsRun 3 ([10,20) was seen at 15, so not missed)
 */
export function scanFault(pl: WindowPlan, start: number, end: number, now: number, observed?: number): FaultScan {
  const lo = observed === undefined ? now : Math.min(now, observed);
  const stream = windowStream(pl, start, end, lo);
  const scan: FaultScan = { windowsRun: stream.skipped, missed: 0 };
  // Skipped windows ended at or before lo <= observed: seen (or never observable), not missed.
  if (stream.prev) scan.lastPast = { ...stream.prev, count: 1, startedBy: 1 };

  const settle = (r: Run): void => {
    if (r.until <= now) {
      scan.lastPast = r;
      scan.windowsRun += r.count;
      if (observed !== undefined && r.from > observed) scan.missed += r.count;
    } else if (r.from <= now) {
      scan.current = r;
      scan.windowsRun += r.startedBy;
    } else {
      scan.next = r;
    }
  };

  let run: Run | undefined;
  let ahead = 0;
  for (;;) {
    // An open run cannot grow; once its next start after now is known, nothing later matters.
    if (run && run.until === Infinity && (run.from > now || run.nextStart !== undefined)) break;
    const it = stream.windows.next();
    if (it.done) break;
    const w = it.value;
    if (run && w.from <= run.until) {
      run.until = Math.max(run.until, w.until);
      run.count++;
      if (w.from <= now) run.startedBy++;
      else {
        run.nextStart ??= w.from;
        if (++ahead > LIMITS.lookahead) {
          run.until = Infinity;
          run.truncated = true;
          break;
        }
      }
    } else {
      if (run) {
        settle(run);
        if (scan.next) return scan;
      }
      run = { from: w.from, until: w.until, count: 1, startedBy: w.from <= now ? 1 : 0 };
    }
  }
  if (run) settle(run);
  return scan;
}

/** Every run that intersects [t0, t1) (for drawing). Runs are exact inside [t0, t1). */
export function runsBetween(pl: WindowPlan, start: number, end: number, t0: number, t1: number): Run[] {
  const stream = windowStream(pl, start, end, t0);
  const runs: Run[] = [];
  let run: Run | undefined;
  for (;;) {
    const it = stream.windows.next();
    if (it.done) break;
    const w = it.value;
    if (w.from >= t1) break;
    if (run && w.from <= run.until) {
      run.until = Math.max(run.until, w.until);
      run.count++;
    } else {
      if (run && run.until > t0) runs.push(run);
      run = { from: w.from, until: w.until, count: 1, startedBy: 0 };
    }
  }
  if (run && run.until > t0) runs.push(run);
  return runs;
}
