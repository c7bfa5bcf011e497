// Property tests over random specs, against a brute-force oracle that knows nothing of runs,
// arithmetic skipping or lookahead: it lists every window up to a horizon and checks membership.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cron } from 'croner';
import fc from 'fast-check';
import type { TimedFault, TimelineSpec } from '../../../src/api/types.js';
import { parseDuration } from '../../../src/api/duration.js';
import { evaluate, type TimelineContext } from '../../../src/timeline/index.js';
import { BASE } from './helpers.js';

const HORIZON = BASE + 3_600_000; // properties look at the first hour
const T0 = BASE - 300_000; // and start 5 minutes before the scenario (Pending)

// ---------------------------------------------------------------- generators

const secs = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => `${n}s`);

const faultArb: fc.Arbitrary<Omit<TimedFault, 'name'>> = fc
  .record(
    {
      start: fc.oneof(
        fc.constant({}),
        secs(0, 1800).map((at) => ({ at })),
        fc.integer({ min: -600, max: 1800 }).map((s) => ({ startAt: new Date(BASE + s * 1000).toISOString() })),
      ),
      duration: fc.option(secs(1, 900), { nil: undefined }),
      cadence: fc.oneof(
        fc.constant({}),
        fc
          .record({ every: secs(10, 600), times: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }) })
          .map((r) => ({
            repeat: r.times === undefined ? { every: r.every } : r,
          })),
        fc.constantFrom(
          { schedule: '*/2 * * * *' },
          { schedule: '0,10,45 * * * *' },
          { schedule: '20 */3 * * * *' },
          { schedule: '15 */1 * * *' },
          { schedule: '10,40 * * * *', timeZone: 'Europe/Berlin' },
        ),
      ),
      concurrency: fc.constantFrom(undefined, 'forbid', 'allow'),
    },
    { requiredKeys: ['start', 'cadence'] },
  )
  .map(({ start, duration, cadence, concurrency }) => ({
    ...start,
    ...cadence,
    ...(duration === undefined ? {} : { duration }),
    ...(concurrency === undefined ? {} : { concurrency }),
  }));

const specArb: fc.Arbitrary<TimelineSpec> = fc
  .record({
    duration: fc.constantFrom(undefined, '20m', '45m', '1h'),
    faults: fc.array(faultArb, { minLength: 1, maxLength: 3 }),
  })
  .map(({ duration, faults }) => ({
    ...(duration ? { duration } : {}),
    faults: faults.map((f, i) => ({ name: `f${i}`, ...f })),
  }));

const instantArb = fc.integer({ min: 0, max: HORIZON - T0 }).map((x) => T0 + x);

const ctx = (now: number): TimelineContext => ({ startedAt: new Date(BASE), now: new Date(now), seed: 3 });

// ---------------------------------------------------------------- the oracle

interface W {
  from: number;
  until: number;
}

/** Every kept, clipped window of a fault that starts before the horizon, the slow and obvious way. */
function oracleWindows(spec: TimelineSpec, f: TimedFault): W[] {
  const S = BASE;
  const E = spec.duration ? S + parseDuration(spec.duration) : Infinity;
  const d = f.duration ? parseDuration(f.duration) : Infinity;
  const a = typeof f.at === 'string' ? S + parseDuration(f.at) : f.startAt ? Date.parse(f.startAt) : S;
  const stop = Math.min(E, HORIZON);
  const starts: number[] = [];
  if (f.schedule) {
    const c = new Cron(f.schedule, f.timeZone ? { timezone: f.timeZone } : { utcOffset: 0 });
    for (let x = c.nextRun(new Date(Math.max(a, S) - 1)); x && x.getTime() < stop; x = c.nextRun(x)) {
      if (x.getTime() >= Math.max(a, S)) starts.push(x.getTime());
    }
  } else if (f.repeat) {
    const every = parseDuration(f.repeat.every);
    for (let k = 0; k < (f.repeat.times ?? Infinity) && a + k * every < stop; k++) starts.push(a + k * every);
  } else if (a < stop) starts.push(a);
  const kept: W[] = [];
  let openUntil = -Infinity;
  for (const s of starts) {
    if (f.concurrency !== 'allow' && s < openUntil) continue; // forbid: inside the previous window
    openUntil = s + d;
    const w = { from: Math.max(s, S), until: Math.min(s + d, E) };
    if (w.until > w.from) kept.push(w);
  }
  return kept;
}

interface Oracle {
  wins: W[][];
  state(t: number): string;
  active(t: number): string[];
  started(t: number): number[];
  transitions(): number[]; // every instant in (T0, HORIZON) where state() changes
}

function oracle(spec: TimelineSpec): Oracle {
  const E = spec.duration ? BASE + parseDuration(spec.duration) : Infinity;
  const wins = spec.faults!.map((f) => oracleWindows(spec, f));
  const active = (t: number) =>
    spec.faults!.filter((_, i) => wins[i].some((w) => w.from <= t && t < w.until)).map((f) => f.name);
  const started = (t: number) => wins.map((ws) => ws.filter((w) => w.from <= t).length);
  const phase = (t: number) => (t < BASE ? 'Pending' : t >= E ? 'Completed' : 'Running');
  const state = (t: number) => JSON.stringify([phase(t), active(t), started(t)]);
  const transitions = () => {
    const cands = new Set<number>([BASE, E]);
    for (const ws of wins) for (const w of ws) cands.add(w.from).add(w.until);
    return [...cands].filter((c) => c > T0 && c < HORIZON && state(c) !== state(c - 1)).sort((x, y) => x - y);
  };
  return { wins, state, active, started, transitions };
}

/** Jump from T0 through nextTransitionAt until the horizon, as the controller would. */
function walk(spec: TimelineSpec): number[] {
  const visited: number[] = [];
  let now = T0;
  for (let i = 0; i < 5000; i++) {
    const next = evaluate(spec, ctx(now)).nextTransitionAt?.getTime();
    if (next === undefined || next >= HORIZON) return visited;
    assert.ok(next > now, `nextTransitionAt ${next} not after now ${now}`);
    visited.push(next);
    now = next;
  }
  assert.fail('walk did not reach the horizon');
}

const names = (now: number, spec: TimelineSpec) => evaluate(spec, ctx(now)).active.map((a) => a.fault);

// ---------------------------------------------------------------- properties

describe('timeline properties (random specs, brute-force oracle)', () => {
  it("the active set is constant between reported transitions, and is the oracle's", () => {
    fc.assert(
      fc.property(
        specArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 1 }),
        (spec, qs) => {
          const o = oracle(spec);
          const stops = [T0, ...walk(spec), HORIZON];
          for (let i = 0; i + 1 < stops.length; i++) {
            const [from, to] = [stops[i], stops[i + 1]];
            const here = names(from, spec);
            assert.deepEqual(here, o.active(from), `active at ${new Date(from).toISOString()}`);
            for (const q of [...qs, 1]) {
              const at = Math.min(to - 1, from + Math.floor((to - from) * q));
              assert.deepEqual(names(at, spec), here, `between ${from} and ${to}, at ${at}`);
            }
          }
        },
      ),
      { numRuns: 30, seed: 20260301 },
    );
  });

  it("no transition is skipped: the walk visits exactly the oracle's transitions", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        assert.deepEqual(
          walk(spec).map((x) => new Date(x).toISOString()),
          oracle(spec)
            .transitions()
            .map((x) => new Date(x).toISOString()),
        );
      }),
      { numRuns: 50, seed: 20260302 },
    );
  });

  it('windowsRun and index agree with the oracle at random instants', () => {
    fc.assert(
      fc.property(specArb, instantArb, (spec, now) => {
        const r = evaluate(spec, ctx(now));
        const o = oracle(spec);
        assert.deepEqual(
          r.faults.map((f) => f.windowsRun),
          o.started(now),
        );
        for (const a of r.active) assert.equal(a.index, r.faults.find((f) => f.name === a.fault)!.windowsRun - 1);
      }),
      { numRuns: 100, seed: 20260303 },
    );
  });

  it('evaluate is deterministic: same input, same output (also from a copy of the spec)', () => {
    const rangeArb = fc.record({ min: secs(0, 600), max: secs(600, 1200) });
    fc.assert(
      fc.property(specArb, rangeArb, instantArb, fc.integer(), (spec, at, now, seed) => {
        const withRandom: TimelineSpec = { ...spec, faults: [...spec.faults!, { name: 'rnd', at, duration: '1m' }] };
        const c = { ...ctx(now), seed, lastObservedAt: new Date(now - 600_000) };
        assert.deepEqual(evaluate(withRandom, c), evaluate(structuredClone(withRandom), { ...c }));
      }),
      { numRuns: 60, seed: 20260304 },
    );
  });

  it('missed = windows of the stretches that began after lastObservedAt and ended by now', () => {
    fc.assert(
      fc.property(specArb, instantArb, fc.integer({ min: 0, max: 1_800_000 }), (spec, now, down) => {
        const observed = now - down;
        const r = evaluate(spec, { ...ctx(now), lastObservedAt: new Date(observed) });
        const want = oracle(spec).wins.map((ws) => {
          // stretches = windows merged while they overlap or touch
          const runs: { from: number; until: number; n: number }[] = [];
          for (const w of ws) {
            const last = runs[runs.length - 1];
            if (last && w.from <= last.until) {
              last.until = Math.max(last.until, w.until);
              last.n++;
            } else runs.push({ ...w, n: 1 });
          }
          return runs.filter((x) => x.from > observed && x.until <= now).reduce((a, x) => a + x.n, 0);
        });
        assert.deepEqual(
          r.faults.map((f) => f.missed),
          want,
        );
        for (const [i, f] of r.faults.entries()) if (f.phase === 'Missed') assert.ok(want[i] > 0);
      }),
      { numRuns: 80, seed: 20260305 },
    );
  });

  it('frozen time shifts everything: evaluating at now + F with frozenMs F is evaluating at now, moved by F', () => {
    const shift = (v: unknown, by: number): unknown =>
      v instanceof Date
        ? new Date(v.getTime() + by)
        : Array.isArray(v)
          ? v.map((x) => shift(x, by))
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shift(x, by)]))
            : v;
    fc.assert(
      fc.property(specArb, instantArb, fc.integer({ min: 1, max: 7_200_000 }), (spec, now, frozen) => {
        const plain = evaluate(spec, ctx(now));
        const moved = evaluate(spec, { ...ctx(now + frozen), frozenMs: frozen });
        assert.deepEqual(moved, { ...(shift(plain, frozen) as object), virtualNow: plain.virtualNow });
      }),
      { numRuns: 60, seed: 20260306 },
    );
  });
});
