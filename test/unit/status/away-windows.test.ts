// A network fault's target on an engine that goes away between two windows: recorded as away at
// once (with the windows started by then), so the windows that open and close while it is away are
// `missed` there when it is back, and the recovery it had before is not counted again.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { FaultStatus, FaultTargetStatus, Scenario } from '../../../src/api/types.js';
import type { NetPlan } from '../../../src/netplan/index.js';
import type { KernelReport } from '../../../src/ports/index.js';
import type { ResolvedFaults } from '../../../src/resolve/index.js';
import { faultStatuses, type FaultFacts } from '../../../src/status/index.js';
import type { FaultTimeline, TimelineResult } from '../../../src/timeline/index.js';

const fault = { name: 'flap', targets: { names: ['b'] }, blackhole: {}, duration: '4s', repeat: { every: '10s' } };
const scenario = { metadata: { name: 's' }, spec: { faults: [fault] } } as unknown as Scenario;
const netplan = { scoped: 'dir-x.s', placements: new Map() } as unknown as NetPlan;
const kernel = { present: new Set<string>(), errors: [] } as unknown as KernelReport;
const B = 'engine b: connect ECONNREFUSED';

/** The timeline `windowsRun` windows in (10 s apart, 4 s long), the last one open or not. */
function timeline(windowsRun: number, open: boolean): TimelineResult {
  const from = new Date(Date.UTC(2026, 11, 1, 4, 0, (windowsRun - 1) * 10));
  const f = {
    name: 'flap',
    phase: open ? 'Active' : 'Scheduled',
    windowsRun,
    missed: 0,
    window: { from, until: new Date(from.getTime() + 4000) },
  } as unknown as FaultTimeline;
  return { faults: [f], active: open ? [{ fault: 'flap', index: windowsRun - 1 }] : [] } as unknown as TimelineResult;
}

function record(prev: FaultStatus[] | undefined, windowsRun: number, open: boolean, away: boolean): FaultTargetStatus {
  const resolved = {
    targets: new Map([['flap', { targets: [], missing: [], refused: [] }]]),
    active: open ? [{ fault, index: windowsRun - 1, targets: [] }] : [],
    inactive: [],
  } as unknown as ResolvedFaults;
  const placements = new Map(
    open
      ? [
          [
            'flap',
            [
              {
                display: 'b',
                engine: 'b',
                host: false,
                skip: { phase: 'Pending', reason: 'EngineUnreachable', message: B },
              },
            ],
          ],
        ]
      : [],
  );
  const facts: FaultFacts = {
    scenario,
    timeline: timeline(windowsRun, open),
    resolved,
    after: { networks: [], containers: [], takenAt: '' },
    prev,
    netplan: { ...netplan, placements } as NetPlan,
    kernel,
    unreachable: new Map(away ? [['b', B]] : []),
    observedAt: new Date(Date.UTC(2026, 11, 1, 4, 0, windowsRun * 10 - 4)),
  };
  return faultStatuses(facts)![0].targets![0];
}

test('an engine away between windows: the windows it misses are counted when it is back, its recovery once', () => {
  // Window 1 was injected and recovered on b; then b's engine went away, between windows.
  const before: FaultStatus[] = [
    {
      name: 'flap',
      phase: 'Scheduled',
      targets: [
        { container: 'b', engine: 'b', phase: 'Recovered', verified: true, injected: 1, recovered: 1, window: 0 },
      ],
    },
  ];
  const seen = record(before, 1, false, true);
  assert.equal(seen.reason, 'EngineUnreachable', 'shown away at once, not at the next window');
  assert.equal(seen.unreachable?.windowsRun, 1, 'with the windows started before it went');
  // Windows 2 and 3 open while it is away.
  const during = record([{ ...before[0], targets: [seen] }], 2, true, true);
  assert.equal(during.unreachable?.windowsRun, 1, 'kept from the first record');
  const later = record([{ ...before[0], targets: [during] }], 3, false, true);
  // Back, between windows 3 and 4: windows 2 and 3 were never applied there.
  const back = record([{ ...before[0], targets: [later] }], 3, false, false);
  assert.equal(back.missed, 2);
  assert.equal(back.unreachable, undefined);
  assert.equal(back.phase, 'Recovered');
  assert.deepEqual([back.injected, back.recovered], [1, 1], 'the recovery before it went is not counted again');
});

test('an engine that goes away with the fault injected: recovered once when it is back', () => {
  const before: FaultStatus[] = [
    {
      name: 'flap',
      phase: 'Active',
      targets: [{ container: 'b', engine: 'b', phase: 'Injected', verified: true, injected: 1, window: 0 }],
    },
  ];
  const seen = record(before, 1, true, true);
  assert.equal(seen.unreachable?.windowsRun, 1);
  const closed = record([{ ...before[0], targets: [seen] }], 1, false, true);
  const back = record([{ ...before[0], targets: [closed] }], 1, false, false);
  assert.equal(back.missed, undefined, 'the window it went away in was applied: not missed');
  assert.deepEqual([back.phase, back.injected, back.recovered], ['Recovered', 1, 1]);
});
