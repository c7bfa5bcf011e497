import test from 'node:test';
import assert from 'node:assert/strict';
import type { Scenario } from '../../../src/api/types.js';
import { desiredState } from '../../../src/plan/desired.js';
import type { ObservedContainer, ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';
import { isEmptyPlan, planScenario, planToText } from '../../../src/plan/plan.js';
import { bridgeNetwork } from '../fakes/view.js';

const scn = (): Scenario => ({
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Scenario',
  metadata: { name: 'demo' },
  spec: {
    networks: [{ name: 'net', ipam: { config: [{ subnet: '10.77.0.0/24' }] } }, { name: 'back' }],
    containers: [
      { name: 'server', image: 'faultline/testbox' },
      { name: 'client', image: 'faultline/testbox', dependsOn: ['server'] },
    ],
    members: [
      { network: 'net', select: { names: ['server', 'client', 'legacy'] } },
      { network: 'back', select: { names: ['server'] }, aliases: ['db'] },
    ],
  },
});

const empty: Snapshot = { networks: [], containers: [], takenAt: '2026-11-23T00:00:00Z' };

/** The snapshot Docker would show after the plan for scn() ran to completion. */
function converged(s: Scenario, extra: ObservedContainer[] = []): Snapshot {
  const d = desiredState('ctl', s, { ...empty, containers: extra });
  const networks: ObservedNetwork[] = d.networks.map((n) => ({
    id: `id-${n.dockerName}`,
    name: n.dockerName,
    driver: 'bridge',
    labels: n.request!.labels,
    internal: false,
    attachable: false,
    enableIPv6: false,
    subnets: (n.request!.ipam?.config ?? []).map((c) => ({ subnet: c.subnet })),
    options: {},
    containerIds: [],
  }));
  const containers: ObservedContainer[] = d.containers.map((c) => ({
    id: `id-${c.dockerName}`,
    name: c.dockerName,
    image: c.request.image,
    labels: c.request.labels,
    state: 'running',
    pid: 100,
    networkMode: 'default',
    endpoints: d.members
      .filter((m) => m.container === c.dockerName)
      .map((m) => ({
        networkId: `id-${m.networkDockerName}`,
        networkName: m.networkDockerName,
        aliases: [...m.endpoint.aliases, 'abcdef012345'],
      })),
  }));
  for (const x of extra) {
    x.endpoints = d.members
      .filter((m) => m.container === x.name)
      .map((m) => ({ networkId: `id-${m.networkDockerName}`, networkName: m.networkDockerName, aliases: [] }));
  }
  return { networks, containers: [...containers, ...extra], takenAt: empty.takenAt };
}

const legacy = (): ObservedContainer => ({
  id: 'id-legacy',
  name: 'legacy',
  image: 'x',
  labels: {},
  state: 'running',
  pid: 7,
  networkMode: 'bridge',
  endpoints: [],
});

test('from nothing: networks, then containers attached to their first network, then starts in dependsOn order', () => {
  const s = scn();
  const snap = { ...empty, containers: [legacy()] };
  const text = planToText(planScenario(desiredState('ctl', s, snap), snap));
  assert.equal(
    text,
    `Plan for scenario "demo": 8 operations
  phase 3:
    network.create demo_back  # declared in spec.networks[1], absent
    network.create demo_net  # declared in spec.networks[0], absent
  phase 4:
    container.create demo_client  # declared in spec.containers[1], absent (network demo_net, aliases client)
    container.create demo_server  # declared in spec.containers[0], absent (network demo_net, aliases server)
  phase 5:
    member.connect demo_back demo_server  # spec.members[1]
    member.connect demo_net legacy  # spec.members[0]
  phase 6:
    container.start demo_server  # created by this plan
  phase 7:
    container.start demo_client  # created by this plan
`,
  );
});

test('converged: re-planning an unchanged spec yields no operation', () => {
  const s = scn();
  const snap = converged(s, [legacy()]);
  const plan = planScenario(desiredState('ctl', s, snap), snap);
  assert.ok(isEmptyPlan(plan), planToText(plan));
});

test('a subnet change recreates that network: endpoints disconnected, removed, created, reconnected', () => {
  const before = scn();
  const snap = converged(before, [legacy()]);
  const after = scn();
  after.spec.networks![0].ipam = { config: [{ subnet: '10.78.0.0/24' }] };
  const text = planToText(planScenario(desiredState('ctl', after, snap), snap));
  assert.match(text, /member\.disconnect demo_net demo_server {2}# network demo_net is being removed/);
  assert.match(text, /member\.disconnect demo_net legacy {2}# network demo_net is being removed/);
  assert.match(text, /network\.remove demo_net {2}# config of spec\.networks\[0\] changed/);
  assert.match(text, /network\.create demo_net {2}# config of spec\.networks\[0\] changed; recreate/);
  assert.match(text, /member\.connect demo_net demo_client {2}# spec\.members\[0\]/);
  assert.doesNotMatch(text, /demo_back/);
});

test('deleting the scenario removes what it owns and only disconnects the adopted container', () => {
  const s = scn();
  const snap = converged(s, [legacy()]);
  const gone: Scenario = { ...s, spec: {} };
  const text = planToText(planScenario(desiredState('ctl', gone, snap), snap));
  assert.match(text, /member\.disconnect demo_net legacy {2}# network demo_net is being removed/);
  assert.match(text, /container\.remove demo_server {2}# no longer declared/);
  assert.match(text, /network\.remove demo_back {2}# no longer declared/);
  assert.doesNotMatch(text, /container\.remove legacy/);
});

test('an existing network of the same name that faultline does not own blocks, and is never touched', () => {
  const s = scn();
  const snap: Snapshot = {
    ...empty,
    networks: [bridgeNetwork({ id: 'x', name: 'demo_net' })],
  };
  const plan = planScenario(desiredState('ctl', s, snap), snap);
  const text = planToText(plan);
  assert.match(
    text,
    /blocked network demo_net: a Docker network named "demo_net" already exists and is not created by faultline/,
  );
  assert.doesNotMatch(text, /network\.(remove|create) demo_net/);
  assert.match(
    text,
    /container\.create demo_server {2}# declared in spec\.containers\[0\], absent \(network demo_back/,
  );
});

test('a missing alias reconnects the member', () => {
  const s = scn();
  const snap = converged(s);
  snap.containers.find((c) => c.name === 'demo_server')!.endpoints.find((e) => e.networkName === 'demo_back')!.aliases =
    ['server'];
  const text = planToText(planScenario(desiredState('ctl', s, snap), snap));
  assert.match(text, /member\.disconnect demo_back demo_server {2}# reconnect: aliases db missing/);
  assert.match(text, /member\.connect demo_back demo_server/);
});

test('two owned networks with one name (a create that raced a SIGKILLed controller): the emptier one is removed', () => {
  const s = scn();
  const snap = converged(s);
  const kept = snap.networks.find((n) => n.name === 'demo_net')!;
  kept.containerIds = ['id-demo_server'];
  snap.networks.push({ ...kept, id: 'ffff00000000aaaa', containerIds: [] });
  const text = planToText(planScenario(desiredState('ctl', s, snap), snap));
  assert.match(text, /network\.remove demo_net@ffff00000000 {2}# a second network named demo_net/);
  assert.doesNotMatch(text, /network\.remove demo_net {2}#/);
  assert.doesNotMatch(text, /network\.create/);
});
