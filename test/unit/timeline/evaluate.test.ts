import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimedFault, TimelineSpec } from '../../../src/api/types.js';
import { evaluate, toFaultStatus, type TimelineContext } from '../../../src/timeline/index.js';
import { BASE, ctxAt, fmt, off, t } from './helpers.js';

// Each case: a spec, an instant (offset from the scenario start at BASE), and what evaluate must
// say, written as offsets: window ['30s', '2m30s'] means [BASE+30s, BASE+2m30s).
interface Expect {
  phase?: string;
  active?: [fault: string, window: string[], index: number][];
  faults?: Record<string, { phase: string; window?: string[]; next?: string[]; run: number; missed?: number }>;
  next?: string | null; // nextTransitionAt offset; null = absent
}
interface Case {
  name: string;
  spec: TimelineSpec;
  now: string;
  ctx?: Partial<TimelineContext>;
  expect: Expect;
}

const one = (f: Omit<TimedFault, 'name'>, extra: Partial<TimelineSpec> = {}): TimelineSpec => ({
  faults: [{ name: 'f', ...f }],
  ...extra,
});

function check(c: Case): void {
  const r = evaluate(c.spec, ctxAt(c.now, c.ctx));
  const e = c.expect;
  if (e.phase) assert.equal(r.scenarioPhase, e.phase, 'scenarioPhase');
  if (e.active) {
    assert.deepEqual(
      r.active.map((a) => [a.fault, off(a.window), a.index]),
      e.active,
      'active',
    );
  }
  for (const [name, want] of Object.entries(e.faults ?? {})) {
    const f = r.faults.find((x) => x.name === name);
    assert.ok(f, `fault ${name} reported`);
    assert.deepEqual(
      { phase: f.phase, window: off(f.window), next: off(f.nextWindow), run: f.windowsRun, missed: f.missed },
      { phase: want.phase, window: want.window, next: want.next, run: want.run, missed: want.missed ?? 0 },
      `fault ${name}`,
    );
  }
  if (e.next !== undefined) {
    const got = r.nextTransitionAt && fmt(r.nextTransitionAt.getTime() - BASE);
    assert.equal(got, e.next ?? undefined, 'nextTransitionAt');
  }
  assert.deepEqual(r.issues, [], 'no issues');
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) it(c.name, () => check(c));
  });
}

table('scenario phase', [
  {
    name: 'Pending before spec.startAt; the next transition is the start',
    spec: one({ at: '30s', duration: '1m' }, { startAt: t('5m').toISOString(), duration: '10m' }),
    now: '1m',
    expect: {
      phase: 'Pending',
      active: [],
      next: '5m',
      faults: { f: { phase: 'Scheduled', next: ['5m30s', '6m30s'], run: 0 } },
    },
  },
  {
    name: 'Running between start and end; with no fault left, the next transition is the end',
    spec: one({ at: '30s', duration: '1m' }, { duration: '10m' }),
    now: '2m',
    expect: {
      phase: 'Running',
      active: [],
      next: '10m',
      faults: { f: { phase: 'Completed', window: ['30s', '1m30s'], run: 1 } },
    },
  },
  {
    name: 'Completed at exactly start + duration; nothing is due any more',
    spec: one({ at: '30s', duration: '1m' }, { duration: '10m' }),
    now: '10m',
    expect: { phase: 'Completed', active: [], next: null },
  },
  {
    name: 'no faults, no duration: Running forever, nothing due',
    spec: {},
    now: '1h',
    expect: { phase: 'Running', active: [], next: null },
  },
]);

table('at, startAt, duration', [
  {
    name: 'at: active from start + at for duration (half-open: active at from)',
    spec: one({ at: '30s', duration: '2m' }),
    now: '30s',
    expect: {
      active: [['f', ['30s', '2m30s'], 0]],
      next: '2m30s',
      faults: { f: { phase: 'Active', window: ['30s', '2m30s'], run: 1 } },
    },
  },
  {
    name: 'at: not active at until (half-open: inactive at until)',
    spec: one({ at: '30s', duration: '2m' }),
    now: '2m30s',
    expect: { active: [], next: null, faults: { f: { phase: 'Completed', window: ['30s', '2m30s'], run: 1 } } },
  },
  {
    name: 'at with hours and minutes: 1h30m',
    spec: one({ at: '1h30m', duration: '5m' }),
    now: '1h',
    expect: { next: '1h30m', faults: { f: { phase: 'Scheduled', next: ['1h30m', '1h35m'], run: 0 } } },
  },
  {
    name: 'neither at nor startAt: starts with the scenario',
    spec: one({ duration: '1m' }),
    now: '0s',
    expect: { active: [['f', ['0s', '1m'], 0]], next: '1m' },
  },
  {
    name: 'startAt: absolute RFC 3339 (with an offset)',
    spec: one({ startAt: '2026-03-01T13:05:00+01:00', duration: '1m' }),
    now: '4m',
    expect: { next: '5m', faults: { f: { phase: 'Scheduled', next: ['5m', '6m'], run: 0 } } },
  },
  {
    name: 'startAt before the scenario start: the part after the start is active for its remainder',
    spec: one({ startAt: '2026-03-01T11:59:00Z', duration: '2m' }),
    now: '0s',
    expect: { active: [['f', ['0s', '1m'], 0]], next: '1m' },
  },
  {
    name: 'startAt entirely before the scenario start: the window does not exist',
    spec: one({ startAt: '2026-03-01T11:00:00Z', duration: '2m' }),
    now: '0s',
    expect: { active: [], next: null, faults: { f: { phase: 'Completed', run: 0 } } },
  },
  {
    name: 'duration absent: open until the scenario ends',
    spec: one({ at: '1m' }, { duration: '10m' }),
    now: '5m',
    expect: { active: [['f', ['1m', '10m'], 0]], next: '10m' },
  },
  {
    name: 'duration absent and no scenario duration: open for good (no until, nothing due)',
    spec: one({ at: '1m' }),
    now: '5m',
    expect: { active: [['f', ['1m'], 0]], next: null, faults: { f: { phase: 'Active', window: ['1m'], run: 1 } } },
  },
  {
    name: 'duration 0: no window at all',
    spec: one({ at: '1m', duration: '0s' }),
    now: '0s',
    expect: { next: null, faults: { f: { phase: 'Completed', run: 0 } } },
  },
  {
    name: 'clipped to the scenario end',
    spec: one({ at: '9m', duration: '5m' }, { duration: '10m' }),
    now: '9m30s',
    expect: { active: [['f', ['9m', '10m'], 0]], next: '10m' },
  },
  {
    name: 'starting at or after the scenario end: never',
    spec: one({ at: '10m', duration: '5m' }, { duration: '10m' }),
    now: '0s',
    expect: { next: '10m', faults: { f: { phase: 'Completed', run: 0 } } },
  },
]);

table('repeat', [
  {
    name: 'with times: third of three windows',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m', times: 3 } }),
    now: '5m10s',
    expect: {
      active: [['f', ['5m', '5m30s'], 2]],
      next: '5m30s',
      faults: { f: { phase: 'Active', window: ['5m', '5m30s'], run: 3 } },
    },
  },
  {
    name: 'with times: Completed after the last window',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m', times: 3 } }),
    now: '6m',
    expect: { active: [], next: null, faults: { f: { phase: 'Completed', window: ['5m', '5m30s'], run: 3 } } },
  },
  {
    name: 'times 0: no window',
    spec: one({ duration: '30s', repeat: { every: '2m', times: 0 } }),
    now: '0s',
    expect: { next: null, faults: { f: { phase: 'Completed', run: 0 } } },
  },
  {
    name: 'without times: unbounded, between windows',
    spec: one({ duration: '30s', repeat: { every: '2m' } }),
    now: '9m',
    expect: {
      active: [],
      next: '10m',
      faults: { f: { phase: 'Scheduled', window: ['8m', '8m30s'], next: ['10m', '10m30s'], run: 5 } },
    },
  },
  {
    name: 'without times, a month later: counted arithmetically (every 10s -> 259201 windows)',
    spec: one({ duration: '1s', repeat: { every: '10s' } }),
    now: '720h',
    expect: { active: [['f', ['720h', '720h1s'], 259200]], next: '720h1s' },
  },
  {
    name: 'without times: stops at the scenario end; the window crossing it is clipped',
    spec: one({ duration: '90s', repeat: { every: '2m' } }, { duration: '5m' }),
    now: '4m10s',
    expect: { active: [['f', ['4m', '5m'], 2]], next: '5m' },
  },
]);

table('concurrency', [
  {
    name: 'forbid (default): every 1m for 90s -> windows at 0, 2m, 4m; 1m and 3m are skipped',
    spec: one({ duration: '90s', repeat: { every: '1m', times: 5 } }),
    now: '1m45s',
    expect: {
      active: [],
      next: '2m',
      faults: { f: { phase: 'Scheduled', window: ['0s', '1m30s'], next: ['2m', '3m30s'], run: 1 } },
    },
  },
  {
    name: 'forbid: times counts planned starts, skipped ones included (5 planned -> 3 run)',
    spec: one({ duration: '90s', repeat: { every: '1m', times: 5 } }),
    now: '10m',
    expect: { next: null, faults: { f: { phase: 'Completed', window: ['4m', '5m30s'], run: 3 } } },
  },
  {
    name: 'allow: overlapping windows; active through the union, index of the latest start',
    spec: one({ duration: '90s', repeat: { every: '1m', times: 5 }, concurrency: 'allow' }),
    now: '1m45s',
    expect: {
      active: [['f', ['0s', '5m30s'], 1]],
      next: '2m',
      faults: { f: { phase: 'Active', window: ['0s', '5m30s'], run: 2 } },
    },
  },
  {
    name: 'allow: after the last start, the next transition is the end of the union',
    spec: one({ duration: '90s', repeat: { every: '1m', times: 5 }, concurrency: 'allow' }),
    now: '4m10s',
    expect: { active: [['f', ['0s', '5m30s'], 4]], next: '5m30s' },
  },
  {
    name: 'touching windows (every = duration): one stretch, but each start is a transition',
    spec: one({ duration: '1m', repeat: { every: '1m', times: 3 } }),
    now: '1m30s',
    expect: { active: [['f', ['0s', '3m'], 1]], next: '2m' },
  },
  {
    name: 'forbid with no duration: only the first window (it never closes)',
    spec: one({ repeat: { every: '1m' } }, { duration: '10m' }),
    now: '5m',
    expect: {
      active: [['f', ['0s', '10m'], 0]],
      next: '10m',
      faults: { f: { phase: 'Active', window: ['0s', '10m'], run: 1 } },
    },
  },
  {
    name: 'allow with no duration: all windows stack; starts keep counting',
    spec: one({ repeat: { every: '1m' }, concurrency: 'allow' }, { duration: '10m' }),
    now: '5m',
    expect: { active: [['f', ['0s', '10m'], 5]], next: '6m' },
  },
]);

table('controller downtime: restart mid-window, missed windows', [
  {
    name: 'restart in the middle of a window: active with its original end, nothing missed',
    spec: one({ at: '1m', duration: '10m' }),
    now: '6m',
    ctx: { lastObservedAt: t('30s') },
    expect: {
      active: [['f', ['1m', '11m'], 0]],
      next: '11m',
      faults: { f: { phase: 'Active', window: ['1m', '11m'], run: 1, missed: 0 } },
    },
  },
  {
    name: 'windows that began and ended while down are missed, not active, not replayed',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m' } }),
    now: '6m',
    ctx: { lastObservedAt: t('30s') },
    expect: {
      active: [],
      next: '7m',
      faults: { f: { phase: 'Missed', window: ['5m', '5m30s'], next: ['7m', '7m30s'], run: 3, missed: 3 } },
    },
  },
  {
    name: 'a window seen at lastObservedAt is not missed, only the later ones',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m' } }),
    now: '6m',
    ctx: { lastObservedAt: t('1m10s') },
    expect: { faults: { f: { phase: 'Missed', window: ['5m', '5m30s'], next: ['7m', '7m30s'], run: 3, missed: 2 } } },
  },
  {
    name: 'missed ones before, and one still open now: active for its remainder',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m' } }),
    now: '5m10s',
    ctx: { lastObservedAt: t('30s') },
    expect: {
      active: [['f', ['5m', '5m30s'], 2]],
      faults: { f: { phase: 'Active', window: ['5m', '5m30s'], next: ['7m', '7m30s'], run: 3, missed: 2 } },
    },
  },
  {
    name: 'the next look (lastObservedAt = the previous now) reports no miss again',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m' } }),
    now: '6m10s',
    ctx: { lastObservedAt: t('6m') },
    expect: {
      faults: { f: { phase: 'Scheduled', window: ['5m', '5m30s'], next: ['7m', '7m30s'], run: 3, missed: 0 } },
    },
  },
  {
    name: 'without lastObservedAt (first look) nothing counts as missed',
    spec: one({ at: '1m', duration: '30s', repeat: { every: '2m' } }),
    now: '6m',
    expect: {
      faults: { f: { phase: 'Scheduled', window: ['5m', '5m30s'], next: ['7m', '7m30s'], run: 3, missed: 0 } },
    },
  },
]);

table('suspend', [
  {
    name: 'suspend: true -> nothing active; the would-be active fault is Suspended; time keeps running',
    spec: one({ at: '1m', duration: '2m' }, { suspend: true, duration: '10m' }),
    now: '2m',
    expect: {
      phase: 'Suspended',
      active: [],
      next: '3m',
      faults: { f: { phase: 'Suspended', window: ['1m', '3m'], run: 1 } },
    },
  },
  {
    name: 'suspend: true before the start is Suspended too; the start is still a transition',
    spec: one({ at: '1m', duration: '2m' }, { suspend: true, startAt: t('5m').toISOString() }),
    now: '0s',
    expect: { phase: 'Suspended', active: [], next: '5m' },
  },
  {
    name: 'suspend: true after the end: Completed wins',
    spec: one({ at: '1m', duration: '2m' }, { suspend: true, duration: '10m' }),
    now: '11m',
    expect: { phase: 'Completed', active: [], next: null },
  },
  {
    name: 'freezeTimeline while suspended: the plan stands still, nothing is due',
    spec: one({ at: '1m', duration: '2m' }, { suspend: { freezeTimeline: true }, duration: '10m' }),
    now: '1h2m',
    ctx: { frozenMs: 3_600_000 }, // suspended at 2m, an hour ago
    expect: {
      phase: 'Suspended',
      active: [],
      next: null,
      faults: { f: { phase: 'Suspended', window: ['1h1m', '1h3m'], run: 1 } },
    },
  },
  {
    name: 'after resuming, frozen time shifts the rest of the plan (reported in wall time)',
    spec: one({ at: '1m', duration: '2m' }, { duration: '10m' }),
    now: '1h2m30s',
    ctx: { frozenMs: 3_600_000 },
    expect: { phase: 'Running', active: [['f', ['1h1m', '1h3m'], 0]], next: '1h3m' },
  },
  {
    name: 'after resuming, the scenario end moves by the frozen time as well',
    spec: one({ at: '1m', duration: '2m' }, { duration: '10m' }),
    now: '1h9m',
    ctx: { frozenMs: 3_600_000 },
    expect: { phase: 'Running', next: '1h10m' },
  },
]);

describe('at: {min, max} (random, seeded)', () => {
  const s = one({ at: { min: '1m', max: '5m' }, duration: '30s' });
  const from = (seed: number, now = '0s', sp = s) =>
    evaluate(sp, ctxAt(now, { seed })).faults[0].nextWindow?.from ??
    evaluate(sp, ctxAt(now, { seed })).faults[0].window?.from;

  it('lies in [min, max], on a whole second', () => {
    for (let seed = 0; seed < 50; seed++) {
      const o = from(seed)!.getTime() - BASE;
      assert.ok(o >= 60_000 && o <= 300_000, `seed ${seed}: ${o}`);
      assert.equal(o % 1000, 0);
    }
  });

  it('same seed, same choice: across evaluations at different instants (a restart)', () => {
    const first = from(7, '0s')!.getTime();
    assert.equal(from(7, '30s')!.getTime(), first);
    assert.equal(from(7, '10m')!.getTime(), first); // by then it is the past window
  });

  it('another seed chooses differently (for most seeds)', () => {
    const choices = new Set(Array.from({ length: 20 }, (_, seed) => from(seed)!.getTime()));
    assert.ok(choices.size > 10, `only ${choices.size} distinct choices`);
  });

  it('adding another fault does not change the choice (keyed by fault name)', () => {
    const two: TimelineSpec = { faults: [{ name: 'other', at: { min: '0s', max: '1h' } }, ...s.faults!] };
    const r = evaluate(two, ctxAt('0s', { seed: 7 }));
    assert.equal(r.faults[1].nextWindow!.from.getTime(), from(7)!.getTime());
  });

  it('min = max is that offset exactly', () => {
    const r = evaluate(one({ at: { min: '90s', max: '90s' }, duration: '1s' }), ctxAt('0s'));
    assert.deepEqual(off(r.faults[0].nextWindow), ['1m30s', '1m31s']);
  });
});

describe('problems become issues and Failed faults, never exceptions', () => {
  const cases: [string, TimedFault, string, (string | number)[]][] = [
    ['bad duration', { name: 'f', duration: '10 minutes' }, 'timeline.duration', ['spec', 'faults', 0, 'duration']],
    ['negative at', { name: 'f', at: '-5s' }, 'timeline.duration', ['spec', 'faults', 0, 'at']],
    [
      'at and startAt',
      { name: 'f', at: '5s', startAt: '2026-03-01T12:00:00Z' },
      'timeline.conflict',
      ['spec', 'faults', 0],
    ],
    [
      'repeat and schedule',
      { name: 'f', schedule: '* * * * *', repeat: { every: '1m' } },
      'timeline.conflict',
      ['spec', 'faults', 0],
    ],
    [
      'startAt without zone',
      { name: 'f', startAt: '2026-03-01T12:00:00' },
      'timeline.startAt',
      ['spec', 'faults', 0, 'startAt'],
    ],
    [
      'repeat.every 0',
      { name: 'f', repeat: { every: '0s' } },
      'timeline.repeat',
      ['spec', 'faults', 0, 'repeat', 'every'],
    ],
    [
      'repeat.times 1.5',
      { name: 'f', repeat: { every: '1m', times: 1.5 } },
      'timeline.repeat',
      ['spec', 'faults', 0, 'repeat', 'times'],
    ],
    [
      '4-field cron',
      { name: 'f', schedule: '* * * *', duration: '1s' },
      'timeline.schedule',
      ['spec', 'faults', 0, 'schedule'],
    ],
    [
      '7-field cron',
      { name: 'f', schedule: '0 * * * * * 2026', duration: '1s' },
      'timeline.schedule',
      ['spec', 'faults', 0, 'schedule'],
    ],
    [
      'unknown zone',
      { name: 'f', schedule: '* * * * *', timeZone: 'Mars/Olympus', duration: '1s' },
      'timeline.timeZone',
      ['spec', 'faults', 0, 'timeZone'],
    ],
  ];
  for (const [title, fault, code, path] of cases) {
    it(title, () => {
      const r = evaluate({ faults: [fault, { name: 'ok', duration: '1m' }] }, ctxAt('10s'));
      assert.equal(r.issues.length, 1);
      assert.equal(r.issues[0].code, code);
      assert.deepEqual(r.issues[0].path, path);
      assert.equal(r.faults[0].phase, 'Failed');
      assert.match(r.faults[0].message!, /fault "f"/);
      // the other fault is unaffected
      assert.deepEqual(
        r.active.map((a) => a.fault),
        ['ok'],
      );
    });
  }

  it('a bad spec.duration is an issue; the scenario runs open-ended', () => {
    const r = evaluate({ duration: 'soon', faults: [{ name: 'f' }] }, ctxAt('1h'));
    assert.equal(r.issues[0].code, 'timeline.duration');
    assert.deepEqual(r.issues[0].path, ['spec', 'duration']);
    assert.equal(r.endsAt, undefined);
    assert.deepEqual(
      r.active.map((a) => a.fault),
      ['f'],
    );
  });
});

describe('toFaultStatus', () => {
  it('writes RFC 3339 strings in the status shape', () => {
    const r = evaluate(one({ at: '1m', duration: '30s', repeat: { every: '2m' } }), ctxAt('1m10s'));
    assert.deepEqual(toFaultStatus(r.faults[0]), {
      name: 'f',
      phase: 'Active',
      windowsRun: 1,
      missed: 0,
      window: { from: '2026-03-01T12:01:00.000Z', until: '2026-03-01T12:01:30.000Z' },
      nextWindow: { from: '2026-03-01T12:03:00.000Z', until: '2026-03-01T12:03:30.000Z' },
    });
  });
});

describe('result shape', () => {
  it('reports start, end, virtual now and the suspension flags', () => {
    const r = evaluate({ duration: '10m', suspend: { freezeTimeline: true } }, ctxAt('5m', { frozenMs: 60_000 }));
    assert.equal(r.startsAt.toISOString(), '2026-03-01T12:01:00.000Z'); // projected: start + frozen
    assert.equal(r.endsAt!.toISOString(), '2026-03-01T12:11:00.000Z');
    assert.equal(r.virtualNow.toISOString(), '2026-03-01T12:04:00.000Z');
    assert.equal(r.suspended, true);
    assert.equal(r.frozen, true);
  });
});
