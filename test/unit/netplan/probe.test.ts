// verify: probe's planner (netplan/probe.ts): which verified target is measured now, against which
// peer — a running container of the scenario the fault acts on, never one outside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec, FaultStatus, Scenario } from '../../../src/api/types.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { planNetns } from '../../../src/netplan/index.js';
import { inCidrs, planProbes, type ProbeDecision } from '../../../src/netplan/probe.js';
import type { ActiveFault, ObservedContainer, ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';
import { bridgeNetwork } from '../fakes/view.js';

const NET: ObservedNetwork = bridgeNetwork({ id: 'n1', name: 's_net', labels: { 'faultline.dev/scenario': 's' } });
const OTHER: ObservedNetwork = { ...NET, id: 'n2', name: 'other', labels: {} };
let pid = 100;
const box = (name: string, ip: string, net = NET, labels: Record<string, string> = {}): ObservedContainer => ({
  id: `id-${name}`,
  name,
  image: 'faultline/testbox',
  labels,
  state: 'running',
  pid: pid++,
  networkMode: net.name,
  endpoints: [{ networkId: net.id, networkName: net.name, ipv4Address: ip, aliases: [] }],
});
const NOW = new Date('2026-11-30T12:00:00Z');

function decide(
  f: FaultSpec,
  containers: ObservedContainer[],
  targets: string[],
  prev?: FaultStatus[],
  respec = false,
  others: { fault: FaultSpec; targets: string[] }[] = [],
) {
  const view: Snapshot = { networks: [NET, OTHER], containers, takenAt: NOW.toISOString() };
  const scenario: Scenario = {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 's' },
    spec: { faults: [f, ...others.map((o) => o.fault)] },
  };
  const activeOf = (fault: FaultSpec, names: string[], index: number): ActiveFault => ({
    fault,
    index,
    targets: names.map((n) => ({
      container: n,
      display: n,
      declared: false,
      observed: containers.find((c) => c.name === n),
    })),
  });
  const active = activeOf(f, targets, 0);
  const plan = planNetns({
    scope: 'd',
    scenario,
    active: [active, ...others.map((o, i) => activeOf(o.fault, o.targets, i + 1))],
    view,
    caps: FULL_CAPS,
    seed: 1,
    hostPath: { v4: false, v6: false },
  });
  const faults: FaultStatus[] = [
    {
      name: f.name,
      phase: 'Active',
      targets: targets.map((n) => ({
        container: n,
        containerId: `id-${n}`,
        phase: 'Injected' as const,
        verified: true,
        window: 0,
      })),
    },
  ];
  return planProbes({ scenario, plan, view, faults, prev, respec, now: NOW });
}
const peerOf = (d: ProbeDecision) => ('measure' in d ? d.measure.peer.address : `(${d.observed.verdict})`);

describe('verify: probe planner', () => {
  it('CIDR membership', () => {
    assert.ok(inCidrs('10.0.0.5', ['10.0.0.0/24']));
    assert.ok(!inCidrs('10.0.1.5', ['10.0.0.0/24']));
    assert.ok(inCidrs('10.0.1.5', ['0.0.0.0/0']));
    assert.ok(inCidrs('fd00::2', ['fd00::2/128']) && !inCidrs('fd00::3', ['fd00::2/128']));
  });

  it('a partition is measured against a member across the cut, not one on the same side', () => {
    const cs = [box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4')];
    const ds = decide({ name: 'cut', partition: { groups: [['a', 'b'], ['c']] }, verify: 'probe' }, cs, [
      'a',
      'b',
      'c',
    ]);
    assert.deepEqual(
      ds.map((d) => [d.target, peerOf(d)]),
      [
        ['a', '10.0.0.4'],
        ['b', '10.0.0.4'],
        ['c', '10.0.0.2'],
      ],
    );
    const a = ds[0];
    assert.ok('measure' in a && a.measure.target.address === '10.0.0.2' && a.measure.target.pid === cs[0].pid);
  });

  it('a peer no other fault acts on is measured first (another fault on the peer would mix into the figure)', () => {
    const cs = [box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4')];
    const slow: FaultSpec = { name: 'slow', targets: { names: ['b'] }, bandwidth: { rate: '4mbit' }, verify: 'probe' };
    const lossy: FaultSpec = { name: 'lossy', targets: { names: ['a'] }, netem: { loss: '20%' }, direction: 'egress' };
    // Alone, the first by name; with a lossy, c.
    assert.deepEqual(decide(slow, cs, ['b']).map(peerOf), ['10.0.0.2']);
    assert.deepEqual(decide(slow, cs, ['b'], undefined, false, [{ fault: lossy, targets: ['a'] }]).map(peerOf), [
      '10.0.0.4',
    ]);
    // When every candidate is touched by another fault, one of them is still measured.
    assert.deepEqual(
      decide(slow, cs.slice(0, 2), ['b'], undefined, false, [{ fault: lossy, targets: ['a'] }]).map(peerOf),
      ['10.0.0.2'],
    );
  });

  it('peers of the fault only, and only containers of the scenario (declared, or on its networks)', () => {
    const outsider = box('zz', '10.9.0.9', OTHER);
    const both = { ...box('m', '10.0.0.7'), endpoints: [...box('m', '10.0.0.7').endpoints] };
    const cs = [box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4'), outsider, both];
    const f: FaultSpec = {
      name: 'slow',
      targets: { names: ['a'] },
      peers: { names: ['c'] },
      netem: { delay: '10ms' },
      verify: 'probe',
    };
    assert.deepEqual(decide(f, cs, ['a']).map(peerOf), ['10.0.0.4']);
    // nobody of the scenario shares a network with the target: nothing to measure against
    const lone = decide(
      { name: 'slow', netem: { delay: '10ms' }, verify: 'probe' },
      [box('x', '10.9.0.2', OTHER), box('y', '10.9.0.3', OTHER)],
      ['x'],
    );
    assert.equal(lone.length, 1);
    assert.ok('observed' in lone[0] && lone[0].observed.verdict === 'Inconclusive');
  });

  it('due once per injection: the last observation is carried, unless the request, the window or the spec changed, or 5 minutes passed', () => {
    const cs = [box('a', '10.0.0.2'), box('b', '10.0.0.3')];
    const f: FaultSpec = { name: 'slow', targets: { names: ['a'] }, netem: { delay: '10ms' }, verify: 'probe' };
    const observed = {
      at: new Date(NOW.getTime() - 60_000).toISOString(),
      peer: '10.0.0.3',
      samples: 20,
      expected: { delay: '10ms' },
      verdict: 'AsRequested' as const,
      delay: '10.1ms',
    };
    const prev = (o = observed, window = 0): FaultStatus[] => [
      {
        name: 'slow',
        phase: 'Active',
        targets: [{ container: 'a', phase: 'Injected', verified: true, window, observed: o }],
      },
    ];
    const kept = decide(f, cs, ['a'], prev());
    assert.ok('observed' in kept[0] && kept[0].observed === observed);
    assert.ok('measure' in decide(f, cs, ['a'], prev(observed, 1))[0], 'another window');
    assert.ok('measure' in decide(f, cs, ['a'], prev(), true)[0], 'the spec was edited');
    assert.ok(
      'measure' in decide(f, cs, ['a'], prev({ ...observed, expected: { delay: '20ms' } }))[0],
      'another request',
    );
    assert.ok(
      'measure' in decide(f, cs, ['a'], prev({ ...observed, at: new Date(NOW.getTime() - 300_000).toISOString() }))[0],
    );
    // no verify: probe, nothing
    assert.deepEqual(decide({ ...f, verify: undefined }, cs, ['a']), []);
  });
});
