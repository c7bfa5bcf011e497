// The namespace planner (netplan/): where each fault is enforced, decided from the view alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec, Scenario } from '../../../src/api/types.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { planNetns, type HostPath } from '../../../src/netplan/index.js';
import type { ActiveFault, ObservedContainer, ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';
import { bridgeNetwork } from '../fakes/view.js';

const BRIDGE = bridgeNetwork({ id: 'nb', name: 's_net' });
const MACVLAN: ObservedNetwork = { ...BRIDGE, id: 'nm', name: 's_lan', driver: 'macvlan' };

let pid = 100;
function box(
  name: string,
  ip: string,
  net: ObservedNetwork = BRIDGE,
  extra: Partial<ObservedContainer> = {},
): ObservedContainer {
  return {
    id: `id-${name}`,
    name,
    image: 'faultline/testbox',
    labels: {},
    state: 'running',
    pid: pid++,
    networkMode: net.name,
    endpoints: [{ networkId: net.id, networkName: net.name, ipv4Address: ip, aliases: [] }],
    ...extra,
  };
}

const view = (...containers: ObservedContainer[]): Snapshot => ({
  networks: [BRIDGE, MACVLAN],
  containers,
  takenAt: '2026-11-30T00:00:00Z',
});
const scenario = (faults: FaultSpec[], extra: Partial<Scenario['spec']> = {}): Scenario => ({
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Scenario',
  metadata: { name: 's' },
  spec: { faults, ...extra },
});
const active = (f: FaultSpec, v: Snapshot, names: string[]): ActiveFault => ({
  fault: f,
  index: 0,
  targets: names.map((n) => ({
    container: n,
    display: n,
    declared: false,
    observed: v.containers.find((c) => c.name === n),
  })),
});
const ON: HostPath = { v4: true, v6: false };
const OFF: HostPath = { v4: false, v6: false };

function plan(f: FaultSpec, v: Snapshot, names: string[], hostPath: HostPath, extra: Partial<Scenario['spec']> = {}) {
  return planNetns({
    scope: 'dir-1',
    scenario: scenario([f], extra),
    active: [active(f, v, names)],
    view: v,
    caps: FULL_CAPS,
    seed: 1,
    hostPath,
  });
}

const split: FaultSpec = {
  name: 'split',
  partition: {
    groups: [
      ['a', 'b'],
      ['c', 'd'],
    ],
  },
};

describe('netplan: where a fault is enforced', () => {
  it('a partition of containers on one bridge goes entirely to the host path', () => {
    const v = view(box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4'), box('d', '10.0.0.5'));
    const p = plan(split, v, ['a', 'b', 'c', 'd'], ON);
    assert.equal(p.namespaces.size, 0);
    assert.deepEqual(
      p.host.map((h) => [h.receiver.target.name, h.senders.map((s) => s.target.name)]),
      [
        ['a', ['c', 'd']],
        ['b', ['c', 'd']],
        ['c', ['a', 'b']],
        ['d', ['a', 'b']],
      ],
    );
    assert.ok(p.placements.get('split')!.every((x) => x.host && !x.netns));
  });

  it('without the host path, each receiver drops its senders in its own namespace', () => {
    const v = view(box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4'), box('d', '10.0.0.5'));
    const p = plan(split, v, ['a', 'b', 'c', 'd'], OFF);
    assert.equal(p.host.length, 0);
    assert.deepEqual(
      p.namespaces.get('id-a')!.entries.map((e) => [e.action, e.match.peers]),
      [['partition-drop', { v4: ['10.0.0.4/32', '10.0.0.5/32'], v6: [] }]],
    );
  });

  it('a member on macvlan: its pairs stay in namespaces, the bridged pairs go to the host', () => {
    const v = view(box('a', '10.0.0.2'), box('b', '10.0.0.3'), box('c', '10.0.0.4'), box('d', '10.1.0.5', MACVLAN));
    const p = plan(split, v, ['a', 'b', 'c', 'd'], ON);
    assert.deepEqual(
      p.host.map((h) => [h.receiver.target.name, h.senders.map((s) => s.target.name)]),
      [
        ['a', ['c']],
        ['b', ['c']],
        ['c', ['a', 'b']],
      ],
    );
    assert.deepEqual([...p.namespaces.keys()].sort(), ['id-a', 'id-b', 'id-d']);
    assert.deepEqual(p.namespaces.get('id-d')!.entries[0].match.peers, { v4: ['10.0.0.2/32', '10.0.0.3/32'], v6: [] });
    assert.deepEqual(p.namespaces.get('id-a')!.entries[0].match.peers, { v4: ['10.1.0.5/32'], v6: [] });
  });

  it('IPv6 pairs go to the host path only when the probe found an IPv6 hook', () => {
    const v6 = (c: ObservedContainer, ip: string) => ({ ...c, endpoints: [{ ...c.endpoints[0], ipv6Address: ip }] });
    const v = view(v6(box('a', '10.0.0.2'), 'fd00::2'), box('b', '10.0.0.3'));
    const f: FaultSpec = { name: 'split', partition: { groups: [['a'], ['b']] } };
    assert.equal(plan(f, v, ['a', 'b'], ON).host.length, 0);
    assert.equal(plan(f, v, ['a', 'b'], { v4: true, v6: true }).host.length, 2);
  });

  it('containers sharing one namespace (network_mode container:) share one ledger, named by its owner', () => {
    const owner = box('app', '10.0.0.2');
    const side = box('sidecar', '', BRIDGE, { networkMode: `container:${owner.id}`, endpoints: [] });
    const v = view(owner, side);
    const f: FaultSpec = { name: 'slow', targets: { names: ['app', 'sidecar'] }, netem: { delay: '10ms' } };
    const p = plan(f, v, ['app', 'sidecar'], ON);
    assert.deepEqual([...p.namespaces.keys()], ['id-app']);
    // The same rules for both targets: once (two copies would be two identical rules).
    assert.equal(p.namespaces.get('id-app')!.entries.length, 1);
    assert.deepEqual(
      p.placements.get('slow')!.map((x) => x.netns),
      ['id-app', 'id-app'],
    );
  });

  it("a partition with a container that shares a namespace cuts the owner's addresses, in the owner's ledger", () => {
    const owner = box('app', '10.0.0.2', MACVLAN);
    const side = box('sidecar', '', BRIDGE, { networkMode: `container:${owner.id}`, endpoints: [] });
    const db = box('db', '10.1.0.9', MACVLAN);
    const v = view(owner, side, db);
    const f: FaultSpec = { name: 'cut', partition: { groups: [['sidecar'], ['db']] } };
    const p = plan(f, v, ['sidecar', 'db'], ON);
    assert.equal(p.host.length, 0, 'macvlan: never the host path');
    assert.deepEqual(p.namespaces.get('id-app')!.entries[0].match.peers, { v4: ['10.1.0.9/32'], v6: [] });
    assert.deepEqual(p.namespaces.get('id-db')!.entries[0].match.peers, { v4: ['10.0.0.2/32'], v6: [] });
  });

  it('a target in network mode none (loopback only): Failed, NoNetwork, nothing installed', () => {
    const v = view(box('solo', '', BRIDGE, { networkMode: 'none', endpoints: [] }));
    const f: FaultSpec = { name: 'hole', targets: { names: ['solo'] }, blackhole: {} };
    const p = plan(f, v, ['solo'], ON);
    assert.equal(p.namespaces.size, 0);
    assert.deepEqual(
      p.placements.get('hole')!.map((x) => [x.skip?.phase, x.skip?.reason]),
      [['Failed', 'NoNetwork']],
    );
  });

  it('a peers selector that matches nothing: Pending, NoPeers, nothing installed (no silent success)', () => {
    const v = view(box('a', '10.0.0.2'));
    const f: FaultSpec = {
      name: 'hole',
      targets: { names: ['a'] },
      peers: { labels: { role: 'nothing-has-this' } },
      blackhole: {},
    };
    const p = plan(f, v, ['a'], ON);
    assert.equal(p.namespaces.size, 0);
    assert.deepEqual(
      p.placements.get('hole')!.map((x) => x.skip?.reason),
      ['NoPeers'],
    );
  });

  it('a partition whose other groups are all missing: Pending, NoPeers, not a none-needed success', () => {
    const v = view(box('a', '10.0.0.2'), box('b', '10.0.0.3'));
    const f: FaultSpec = { name: 'split', partition: { groups: [['a', 'b'], ['ghost']] } };
    for (const hp of [ON, OFF]) {
      const p = plan(f, v, ['a', 'b'], hp);
      assert.equal(p.namespaces.size + p.host.length, 0);
      const pl = p.placements.get('split')!;
      assert.deepEqual(
        pl.map((x) => [x.skip?.reason, x.noneNeeded]),
        [
          ['NoPeers', undefined],
          ['NoPeers', undefined],
        ],
      );
      assert.match(pl[0].skip!.message, /a is to be cut from "ghost", none of which is a running container/);
    }
    // One group alone is cut from nobody: nothing to do, and nothing is wrong.
    const one = plan({ name: 'split', partition: { groups: [['a', 'b']] } }, v, ['a', 'b'], ON);
    assert.ok(one.placements.get('split')!.every((x) => x.noneNeeded && !x.skip));
  });

  it('a host-network target without allowHostNetwork is refused; a stopped one waits', () => {
    const v = view(
      box('h', '', BRIDGE, { networkMode: 'host', endpoints: [] }),
      box('s', '10.0.0.9', BRIDGE, { state: 'exited', pid: 0 }),
    );
    const f: FaultSpec = { name: 'slow', targets: { names: ['h', 's'] }, netem: { delay: '10ms' } };
    assert.deepEqual(
      plan(f, v, ['h', 's'], ON)
        .placements.get('slow')!
        .map((x) => [x.skip?.phase, x.skip?.reason]),
      [
        ['Failed', 'HostNetwork'],
        ['Pending', 'ContainerNotRunning'],
      ],
    );
  });
});
