import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimedFault, TimelineSpec } from '../../../src/api/types.js';
import { evaluate } from '../../../src/timeline/index.js';

/**
 * Every window start (UTC ISO) in [from, to), found the way the controller would: jump from one
 * nextTransitionAt to the next and record where a new window began.
 */
function starts(fault: TimedFault, from: string, to: string, scenario: Partial<TimelineSpec> = {}): string[] {
  const spec: TimelineSpec = { startAt: from, faults: [fault], ...scenario };
  const ctx = { startedAt: new Date(from), seed: 1 };
  const end = Date.parse(to);
  const out: string[] = [];
  let now = new Date(from);
  let seen = 0;
  for (let i = 0; i < 1000 && now.getTime() < end; i++) {
    const r = evaluate(spec, { ...ctx, now });
    const f = r.faults[0];
    if (f.windowsRun > seen) {
      seen = f.windowsRun;
      out.push(r.active[0]?.window.from.toISOString() ?? `missed@${now.toISOString()}`);
    }
    if (!r.nextTransitionAt) break;
    now = r.nextTransitionAt;
  }
  return out;
}

describe('schedule (cron)', () => {
  it('5 fields, UTC by default: */20 past the hour', () => {
    assert.deepEqual(
      starts({ name: 'c', schedule: '*/20 * * * *', duration: '5m' }, '2026-01-05T10:05:00Z', '2026-01-05T11:05:00Z'),
      ['2026-01-05T10:20:00.000Z', '2026-01-05T10:40:00.000Z', '2026-01-05T11:00:00.000Z'],
    );
  });

  it('6 fields: seconds', () => {
    assert.deepEqual(
      starts({ name: 'c', schedule: '*/20 * * * * *', duration: '5s' }, '2026-01-05T10:00:00Z', '2026-01-05T10:01:00Z'),
      ['2026-01-05T10:00:00.000Z', '2026-01-05T10:00:20.000Z', '2026-01-05T10:00:40.000Z'],
    );
  });

  it('the window is [fire, fire + duration), and a fire at the scenario start counts', () => {
    const spec: TimelineSpec = {
      startAt: '2026-01-05T10:00:00Z',
      faults: [{ name: 'c', schedule: '0 * * * *', duration: '10m' }],
    };
    const r = evaluate(spec, { startedAt: new Date(0), now: new Date('2026-01-05T10:05:00Z'), seed: 1 });
    assert.deepEqual(r.active, [
      {
        fault: 'c',
        window: { from: new Date('2026-01-05T10:00:00Z'), until: new Date('2026-01-05T10:10:00Z') },
        index: 0,
      },
    ]);
    assert.equal(r.nextTransitionAt?.toISOString(), '2026-01-05T10:10:00.000Z');
    assert.equal(r.faults[0].nextWindow?.from.toISOString(), '2026-01-05T11:00:00.000Z');
  });

  it('time zone: 09:00 in Europe/Berlin is 08:00Z in winter and 07:00Z in summer', () => {
    const f: TimedFault = { name: 'c', schedule: '0 9 * * *', timeZone: 'Europe/Berlin', duration: '1m' };
    assert.deepEqual(starts(f, '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z'), [
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z', // CEST from 29 March
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('6 fields in a time zone: 09:00:30 in America/New_York (EST, UTC-5)', () => {
    const f: TimedFault = { name: 'c', schedule: '30 0 9 * * *', timeZone: 'America/New_York', duration: '1m' };
    assert.deepEqual(starts(f, '2026-01-05T00:00:00Z', '2026-01-07T00:00:00Z'), [
      '2026-01-05T14:00:30.000Z',
      '2026-01-06T14:00:30.000Z',
    ]);
  });

  it('timeZone absent, "UTC" and "Etc/UTC" are the same schedule', () => {
    const at = (timeZone?: string) =>
      starts(
        { name: 'c', schedule: '15 */7 * * *', duration: '1m', ...(timeZone ? { timeZone } : {}) },
        '2026-01-05T00:00:00Z',
        '2026-01-06T00:00:00Z',
      );
    assert.equal(at().length, 4);
    assert.deepEqual(at('UTC'), at());
    assert.deepEqual(at('Etc/UTC'), at());
  });

  it('at anchors a schedule: fires count only from start + at', () => {
    const f: TimedFault = { name: 'c', schedule: '*/10 * * * *', at: '25m', duration: '1m' };
    assert.deepEqual(starts(f, '2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z'), [
      '2026-01-05T10:30:00.000Z',
      '2026-01-05T10:40:00.000Z',
      '2026-01-05T10:50:00.000Z',
    ]);
  });

  it('forbid skips a fire inside the previous window; allow merges them', () => {
    const base = { name: 'c', schedule: '* * * * *', duration: '90s' } as const;
    assert.deepEqual(starts(base, '2026-01-05T10:00:00Z', '2026-01-05T10:05:00Z'), [
      '2026-01-05T10:00:00.000Z',
      '2026-01-05T10:02:00.000Z',
      '2026-01-05T10:04:00.000Z',
    ]);
    const spec: TimelineSpec = { startAt: '2026-01-05T10:00:00Z', faults: [{ ...base, concurrency: 'allow' }] };
    const r = evaluate(spec, { startedAt: new Date(0), now: new Date('2026-01-05T10:03:30Z'), seed: 1 });
    assert.equal(r.active[0].index, 3);
    assert.equal(r.active[0].window.from.toISOString(), '2026-01-05T10:00:00.000Z');
    assert.equal(r.nextTransitionAt?.toISOString(), '2026-01-05T10:04:00.000Z');
  });

  it('clipped by the scenario duration; Completed after', () => {
    const spec: TimelineSpec = {
      startAt: '2026-01-05T10:00:00Z',
      duration: '45m',
      faults: [{ name: 'c', schedule: '*/20 * * * *', duration: '10m' }],
    };
    const at = (iso: string) => evaluate(spec, { startedAt: new Date(0), now: new Date(iso), seed: 1 });
    assert.equal(at('2026-01-05T10:40:00Z').active[0].window.until?.toISOString(), '2026-01-05T10:45:00.000Z');
    const done = at('2026-01-05T10:50:00Z');
    assert.equal(done.scenarioPhase, 'Completed');
    assert.equal(done.faults[0].phase, 'Completed');
    assert.equal(done.faults[0].windowsRun, 3);
  });

  it('a pattern that never fires (30 February) is never active', () => {
    const r = evaluate(
      { faults: [{ name: 'c', schedule: '0 0 30 2 *', duration: '1m' }] },
      { startedAt: new Date(0), now: new Date(0), seed: 1 },
    );
    assert.equal(r.faults[0].phase, 'Completed');
    assert.equal(r.nextTransitionAt, undefined);
  });
});

// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (02:xx does not exist);
//                2026-10-25 03:00 CEST -> 02:00 CET (02:xx happens twice).
// croner's rules (shared with croner-rust, and ours by adoption): a fixed-time job (single second,
// minute and hour, e.g. "30 2 * * *") in the gap runs at the first valid instant after it, and runs
// once (the first occurrence) on the repeated hour; an interval job ("*/30 * * * *") skips the gap
// and runs on both occurrences of the repeated hour.
describe('cron across DST changes (Europe/Berlin)', () => {
  const tz = 'Europe/Berlin';

  it('spring forward: "30 2 * * *" runs at 03:00 CEST on the day 02:30 does not exist', () => {
    assert.deepEqual(
      starts(
        { name: 'c', schedule: '30 2 * * *', timeZone: tz, duration: '10m' },
        '2026-03-27T12:00:00Z',
        '2026-03-30T12:00:00Z',
      ),
      [
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-29T01:00:00.000Z', // 03:00 CEST, right after the gap
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
      ],
    );
  });

  it('spring forward: "*/30 * * * *" skips the missing hour, so real time stays evenly spaced', () => {
    assert.deepEqual(
      starts(
        { name: 'c', schedule: '*/30 * * * *', timeZone: tz, duration: '10m' },
        '2026-03-29T00:15:00Z',
        '2026-03-29T02:15:00Z',
      ),
      [
        '2026-03-29T00:30:00.000Z', // 01:30 CET
        '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 and 02:30 do not exist)
        '2026-03-29T01:30:00.000Z', // 03:30 CEST
        '2026-03-29T02:00:00.000Z',
      ],
    );
  });

  it('fall back: "30 2 * * *" runs once on the day 02:30 happens twice', () => {
    assert.deepEqual(
      starts(
        { name: 'c', schedule: '30 2 * * *', timeZone: tz, duration: '10m' },
        '2026-10-23T12:00:00Z',
        '2026-10-26T12:00:00Z',
      ),
      [
        '2026-10-24T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first occurrence only
        '2026-10-26T01:30:00.000Z', // 02:30 CET
      ],
    );
  });

  it('fall back: "*/30 * * * *" runs on both occurrences of the repeated hour', () => {
    assert.deepEqual(
      starts(
        { name: 'c', schedule: '*/30 * * * *', timeZone: tz, duration: '10m' },
        '2026-10-25T00:15:00Z',
        '2026-10-25T02:15:00Z',
      ),
      [
        '2026-10-25T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T01:00:00.000Z', // 02:00 CET
        '2026-10-25T01:30:00.000Z', // 02:30 CET
        '2026-10-25T02:00:00.000Z', // 03:00 CET
      ],
    );
  });

  it('fall back with forbid: an hour-long window from 02:00 CEST holds through the repeated 02:xx', () => {
    // "0 2 * * *" is fixed-time: one fire at 02:00 CEST; "0,30 2 * * *" is not (two minutes).
    assert.deepEqual(
      starts(
        { name: 'c', schedule: '0,30 2 * * *', timeZone: tz, duration: '45m' },
        '2026-10-25T00:00:00Z',
        '2026-10-25T03:00:00Z',
      ),
      [
        '2026-10-25T00:00:00.000Z', // 02:00 CEST, until 00:45Z: 02:30 CEST (00:30Z) is skipped
        '2026-10-25T01:00:00.000Z', // 02:00 CET; 02:30 CET (01:30Z) falls inside it, skipped
      ],
    );
  });
});
