// Plans for networks faultline does not own, network modes and volumes (golden text where the
// order of operations is the point).
import test from 'node:test';
import assert from 'node:assert/strict';
import type { FaultSpec, FaultStatus, Scenario } from '../../../src/api/types.js';
import { ENDPOINT_OWNER_OPT, LABEL_KEEP, ownerLabels } from '../../../src/api/ownership.js';
import { desiredState } from '../../../src/plan/desired.js';
import { faultNetworks } from '../../../src/plan/external.js';
import { dockerFaultEffects } from '../../../src/plan/fault-effects.js';
import { isEmptyPlan, planScenario, planToText, scenariosWithResources } from '../../../src/plan/plan.js';
import type { ObservedContainer, ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';
import { bridgeNetwork } from '../fakes/view.js';

const T = '2026-11-30T00:00:00Z';
const scenario = (spec: Scenario['spec'], name = 'demo'): Scenario => ({
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Scenario',
  metadata: { name },
  spec,
});
const net = (name: string, extra: Partial<ObservedNetwork> = {}): ObservedNetwork =>
  bridgeNetwork({ id: `id-${name}`, name, ...extra });
const ctr = (name: string, extra: Partial<ObservedContainer> = {}): ObservedContainer => ({
  id: `id-${name}`,
  name,
  image: 'faultline/testbox',
  labels: {},
  state: 'running',
  pid: 9,
  networkMode: 'bridge',
  endpoints: [],
  ...extra,
});
const DEFAULT_BRIDGE = net('bridge', { options: { 'com.docker.network.bridge.default_bridge': 'true' } });
const COMPOSE = net('shop_default', {
  labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.network': 'default' },
});
const plan = (s: Scenario, v: Snapshot) => planScenario(desiredState('ctl', s, v), v);
const view = (
  networks: ObservedNetwork[],
  containers: ObservedContainer[] = [],
  volumes: Snapshot['volumes'] = [],
) => ({
  networks,
  containers,
  volumes,
  takenAt: T,
});

test("external networks: never created or removed; members join with faultline's mark, no aliases on the default bridge", () => {
  const s = scenario({
    networks: [
      { name: 'bridge', external: true },
      { name: 'app', external: { compose: { project: 'shop', network: 'default' } } },
    ],
    containers: [{ name: 'bastion', image: 'faultline/testbox' }],
    members: [
      { network: 'bridge', select: { names: ['bastion'] } },
      { network: 'app', select: { names: ['bastion', 'shop-api-1'] }, aliases: ['edge'] },
    ],
  });
  const api = ctr('shop-api-1');
  const v = view([DEFAULT_BRIDGE, COMPOSE], [api]);
  const p = plan(s, v);
  assert.equal(
    planToText(p),
    `Plan for scenario "demo": 4 operations
  phase 4:
    container.create demo_bastion  # declared in spec.containers[0], absent (network bridge, aliases none)
  phase 5:
    member.connect shop_default demo_bastion  # spec.members[1]
    member.connect shop_default shop-api-1  # spec.members[1], not connected
  phase 6:
    container.start demo_bastion  # created by this plan
`,
  );
  const ops = p.phases.flat();
  const create = ops.find((o) => o.kind === 'container.create');
  assert.deepEqual(create?.kind === 'container.create' && create.request.network, {
    name: 'bridge',
    endpoint: {
      aliases: [],
      ipv4Address: undefined,
      ipv6Address: undefined,
      driverOpts: { [ENDPOINT_OWNER_OPT]: 'ctl/demo' },
    },
  });
  const connect = ops.find((o) => o.kind === 'member.connect' && o.container === 'shop-api-1');
  assert.deepEqual(connect?.kind === 'member.connect' && connect.endpoint, {
    aliases: ['edge'],
    ipv4Address: undefined,
    ipv6Address: undefined,
    driverOpts: { [ENDPOINT_OWNER_OPT]: 'ctl/demo' },
  });
});

test('external networks: an endpoint faultline did not make is left alone; its own are removed at the end', () => {
  const s = scenario({
    networks: [{ name: 'app', external: { compose: { project: 'shop', network: 'default' } } }],
    members: [{ network: 'app', select: { names: ['shop-api-1', 'tool'] }, aliases: ['x'] }],
  });
  const onIt = (owner?: string) => [
    { networkId: COMPOSE.id, networkName: COMPOSE.name, aliases: ['api'], ...(owner ? { owner } : {}) },
  ];
  const v = view([COMPOSE], [ctr('shop-api-1', { endpoints: onIt() }), ctr('tool', { endpoints: onIt('ctl/demo') })]);
  // api was there before (no mark, alias "x" missing): never reconnected; tool is ours, reconnected.
  assert.equal(
    planToText(plan(s, v)),
    `Plan for scenario "demo": 2 operations
  phase 0:
    member.disconnect shop_default tool  # reconnect: aliases x missing
  phase 5:
    member.connect shop_default tool  # spec.members[0], reconnect: aliases x missing
`,
  );
  // The scenario deleted: only the endpoint it made goes; the network stays.
  assert.equal(
    planToText(plan(scenario({}), v)),
    `Plan for scenario "demo": 1 operation
  phase 0:
    member.disconnect shop_default tool  # its network left spec.networks
`,
  );
  assert.deepEqual(scenariosWithResources(v, 'ctl'), ['demo'], 'the sweep finds a scenario by its marks alone');
});

test('an external network that is not there: nothing planned, the reason for status', () => {
  const s = scenario({
    networks: [{ name: 'app', external: { compose: { project: 'shop', network: 'default' } } }],
    members: [{ network: 'app', select: { names: ['tool'] } }],
  });
  const v = view([], [ctr('tool')]);
  const d = desiredState('ctl', s, v);
  assert.ok(isEmptyPlan(planScenario(d, v)));
  assert.match(
    d.unresolved[0].message,
    /no compose network "default" of project "shop" exists .*docker compose -p shop up/,
  );
});

test('a disconnect on an external network: taken in the window, given back unmarked after it', () => {
  const s = scenario({
    networks: [{ name: 'app', external: { compose: { project: 'shop', network: 'default' } } }],
    faults: [{ name: 'unplug', targets: { names: ['shop-api-1'] }, disconnect: { network: 'app' } }],
  });
  const api = ctr('shop-api-1', {
    endpoints: [{ networkId: COMPOSE.id, networkName: COMPOSE.name, aliases: ['api'] }],
  });
  const v = view([COMPOSE], [api]);
  const f = s.spec.faults![0] as FaultSpec;
  const target = { container: 'shop-api-1', display: 'shop-api-1', declared: false, observed: api };
  const nets = faultNetworks('demo', s.spec, v);
  const open = dockerFaultEffects('demo', [{ fault: f, index: 0, targets: [target] }], [], undefined, nets);
  assert.equal(
    planToText(planScenario(desiredState('ctl', s, v, open), v)),
    `Plan for scenario "demo": 1 operation
  phase 0:
    member.disconnect shop_default shop-api-1  # a disconnect fault window is open
`,
  );
  // After the window: status recorded what it had there; it comes back as it was (no mark).
  const gone = { ...v, containers: [{ ...api, endpoints: [] }] };
  const prev: FaultStatus[] = [
    {
      name: 'unplug',
      phase: 'Active',
      targets: [{ container: 'shop-api-1', phase: 'Injected', restore: { network: 'shop_default', aliases: ['api'] } }],
    },
  ];
  const closed = dockerFaultEffects(
    'demo',
    [],
    [{ fault: f, targets: [{ ...target, observed: gone.containers[0] }] }],
    prev,
    nets,
  );
  const p = planScenario(desiredState('ctl', s, gone, closed), gone);
  assert.equal(
    planToText(p),
    `Plan for scenario "demo": 1 operation
  phase 5:
    member.connect shop_default shop-api-1  # fault "unplug" window closed: reconnect as it was
`,
  );
  const op = p.phases.flat()[0];
  assert.deepEqual(op.kind === 'member.connect' && op.endpoint, { aliases: ['api'] });
});

test('a disconnect fault removed from the spec while its window is open still gives the endpoint back', () => {
  const s = scenario({
    networks: [{ name: 'app', external: { compose: { project: 'shop', network: 'default' } } }],
  });
  const api = ctr('shop-api-1');
  const v = view([COMPOSE], [api]);
  const prev: FaultStatus[] = [
    {
      name: 'unplug',
      phase: 'Active',
      targets: [
        {
          container: 'shop-api-1',
          containerId: api.id,
          phase: 'Injected',
          restore: { network: 'shop_default', aliases: ['api'], owner: 'ctl/other' },
        },
      ],
    },
  ];
  const effects = dockerFaultEffects('demo', [], [], prev, faultNetworks('demo', s.spec, v), v);
  const p = planScenario(desiredState('ctl', s, v, effects), v);
  assert.equal(
    planToText(p),
    `Plan for scenario "demo": 1 operation
  phase 5:
    member.connect shop_default shop-api-1  # fault "unplug" removed from the spec: reconnect as it was
`,
  );
  const op = p.phases.flat()[0];
  assert.deepEqual(
    op.kind === 'member.connect' && op.endpoint,
    { aliases: ['api'], driverOpts: { [ENDPOINT_OWNER_OPT]: 'ctl/other' } },
    "another scenario's mark stays that scenario's",
  );
});

test('network modes: no membership, the owner starts first, recreating the owner recreates its sharer', () => {
  const s = scenario({
    networks: [{ name: 'net' }],
    containers: [
      { name: 'side', image: 'faultline/testbox', networkMode: 'container:app' },
      { name: 'app', image: 'faultline/testbox' },
      { name: 'solo', image: 'faultline/testbox', networkMode: 'none' },
    ],
    members: [{ network: 'net', select: { labels: {} } }],
  });
  s.spec.members = [{ network: 'net', select: { names: ['app'] } }];
  const d = desiredState('ctl', s, view([]));
  const side = d.containers.find((c) => c.name === 'side')!;
  assert.equal(side.request.networkMode, 'container:demo_app');
  assert.equal(side.request.hostname, undefined, 'Docker refuses a host name beside container:');
  assert.deepEqual(side.dependsOn, ['app']);
  assert.equal(d.containers.find((c) => c.name === 'solo')!.request.networkMode, 'none');
  assert.equal(
    planToText(planScenario(d, view([]))),
    `Plan for scenario "demo": 7 operations
  phase 3:
    network.create demo_net  # declared in spec.networks[0], absent
  phase 4:
    container.create demo_app  # declared in spec.containers[1], absent (network demo_net, aliases app)
    container.create demo_side  # declared in spec.containers[0], absent
    container.create demo_solo  # declared in spec.containers[2], absent
  phase 6:
    container.start demo_app  # created by this plan
    container.start demo_solo  # created by this plan
  phase 7:
    container.start demo_side  # created by this plan
`,
  );
  const changed = structuredClone(s);
  changed.spec.containers![1].env = { A: '1' };
  const d2 = desiredState('ctl', changed, view([]));
  assert.notEqual(d2.containers.find((c) => c.name === 'app')!.hash, d.containers.find((c) => c.name === 'app')!.hash);
  assert.notEqual(d2.containers.find((c) => c.name === 'side')!.hash, side.hash, 'the sharer follows its owner');
  assert.equal(d2.containers.find((c) => c.name === 'solo')!.hash, d.containers.find((c) => c.name === 'solo')!.hash);
});

test('an adopted container in another namespace is not made a member (Docker would refuse)', () => {
  const s = scenario({ networks: [{ name: 'net' }], members: [{ network: 'net', select: { labels: { tier: 'x' } } }] });
  const v = view([], [ctr('hosted', { labels: { tier: 'x' }, networkMode: 'host' })]);
  const d = desiredState('ctl', s, v);
  assert.equal(d.members.length, 0);
  assert.match(d.unresolved[0].message, /container hosted has network mode host and joins no network/);
});

test('volumes: created before the containers that mount them, removed after them unless kept, never recreated', () => {
  const s = scenario({
    volumes: [{ name: 'data' }, { name: 'cache', keep: true }],
    containers: [
      {
        name: 'db',
        image: 'faultline/sqlite',
        volumes: [
          { source: 'data', target: '/data' },
          { source: '/srv/seed', target: '/seed', readOnly: true },
        ],
        tmpfs: [{ target: '/run', size: '16m', mode: '1777' }],
      },
    ],
  });
  const d = desiredState('ctl', s, view([]));
  assert.equal(
    planToText(planScenario(d, view([]))),
    `Plan for scenario "demo": 4 operations
  phase 3:
    volume.create demo_cache  # declared in spec.volumes[1], absent
    volume.create demo_data  # declared in spec.volumes[0], absent
  phase 4:
    container.create demo_db  # declared in spec.containers[0], absent
  phase 6:
    container.start demo_db  # created by this plan
`,
  );
  const mounts = d.containers[0].request.mounts!;
  assert.deepEqual(
    mounts.map((m) =>
      m.type === 'tmpfs' ? [m.type, m.target, m.sizeBytes, m.mode] : [m.type, m.source, m.target, m.readOnly],
    ),
    [
      ['volume', 'demo_data', '/data', false],
      ['bind', '/srv/seed', '/seed', true],
      ['tmpfs', '/run', 16 * 1024 * 1024, 0o1777],
    ],
  );
  const m0 = mounts[0];
  assert.equal(
    m0.type === 'volume' && m0.create?.labels[LABEL_KEEP],
    'false',
    'a volume Docker creates at create is ours',
  );

  const vol = (i: number) => ({ name: d.volumes[i].dockerName, driver: 'local', labels: d.volumes[i].request.labels });
  const db = ctr('demo_db', { labels: d.containers[0].request.labels });
  const there = view([], [db], [vol(0), vol(1)]);
  assert.equal(
    planToText(planScenario(desiredState('ctl', scenario({}), there), there)),
    `Plan for scenario "demo": 2 operations
  phase 1:
    container.remove demo_db  # no longer declared in spec.containers
  phase 2:
    volume.remove demo_data  # no longer declared in spec.volumes
`,
  );
  const other = { ...vol(0), labels: { ...vol(0).labels, 'faultline.dev/config-hash': 'old' } };
  const p = planScenario(desiredState('ctl', s, view([], [db], [other, vol(1)])), view([], [db], [other, vol(1)]));
  assert.match(planToText(p), /blocked volume demo_data: .*never recreates a volume \(its data would be lost\)/);
  const foreign = { name: 'demo_data', driver: 'local', labels: {} };
  const q = planScenario(desiredState('ctl', s, view([], [], [foreign])), view([], [], [foreign]));
  assert.match(planToText(q), /blocked volume demo_data: .*not created by faultline/);
  assert.match(planToText(q), /blocked container demo_db: it mounts volume "demo_data"/);
  assert.deepEqual(
    scenariosWithResources(view([], [], [vol(1)]), 'ctl'),
    [],
    'a kept volume does not make its scenario an orphan to sweep',
  );
  assert.deepEqual(
    scenariosWithResources(
      view([], [], [{ name: 'x', driver: 'local', labels: ownerLabels('ctl', 'gone', 'x', 'volume', 'h') }]),
      'ctl',
    ),
    ['gone'],
  );
});
