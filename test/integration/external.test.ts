// Networks faultline does not own, on the real engine: Docker's default bridge, and a compose
// project's network — made by Debian's docker-compose when it is installed, and (always) a network
// labelled as compose labels it. Members join them with a marked endpoint; a disconnect fault works
// there and gives a container that was on the network before back as it was (unmarked, its alias
// kept); deleting the scenario removes only what faultline made; the network itself is never
// created, changed or removed (same id, same labels, same endpoints of others).
import assert from 'node:assert/strict';
import test from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ENDPOINT_OWNER_OPT } from '../../src/api/ownership.js';
import { docker, dockerStatus, eventually, ownedLeft, TESTBOX, uniqueName } from './lib.js';
import { addressOf, faultWhere, fixture, freeSubnet, inspect, pings, ready } from './netlib.js';

const run = promisify(execFile);

interface NetState {
  id: string;
  labels: Record<string, string>;
  containers: string[];
}
async function netState(name: string): Promise<NetState> {
  const n = JSON.parse(await docker('network', 'inspect', name))[0] as {
    Id: string;
    Labels: Record<string, string> | null;
    Containers: Record<string, { Name: string }> | null;
  };
  return {
    id: n.Id,
    labels: n.Labels ?? {},
    containers: Object.values(n.Containers ?? {})
      .map((c) => c.Name)
      .sort(),
  };
}

test('the default bridge as an external network: a bastion joins it, reaches a container there, and leaves it as it was', async (t) => {
  const outsider = uniqueName('fltest-ext');
  await docker('run', '-d', '--name', outsider, TESTBOX);
  const fx = await fixture(t, { extraContainers: [outsider] });
  const sub = await freeSubnet();
  const before = await netState('bridge');
  await fx.write(`  networks:
    - name: bridge
      external: true
    - name: inner
      ipam: { config: [{ subnet: ${sub.v4} }] }
  containers:
    - { name: bastion, image: ${TESTBOX} }
    - { name: inside, image: ${TESTBOX} }
  members:
    - network: bridge
      select: { names: [bastion] }
    - network: inner
      select: { names: [bastion, inside] }
`);
  const s = await ready(fx.file);
  const bridge = s.status!.networks!.find((n) => n.name === 'bridge')!;
  assert.deepEqual([bridge.external, bridge.phase, bridge.dockerName, bridge.id], [true, 'Ready', 'bridge', before.id]);
  const bastion = await inspect(fx.dn('bastion'));
  assert.equal(
    bastion.NetworkSettings.Networks.bridge?.DriverOpts?.[ENDPOINT_OWNER_OPT],
    `${fx.scope}/${fx.name}`,
    "the bastion's endpoint on bridge carries faultline's mark",
  );
  const outsiderIp = await addressOf(outsider, 'bridge');
  assert.equal(await pings(fx.dn('bastion'), outsiderIp, { count: 2 }), 2, 'bastion → outsider on the default bridge');
  assert.equal(await pings(fx.dn('inside'), 'bastion', { count: 2 }), 2, 'inside → bastion on the inner network');
  assert.equal(await pings(fx.dn('inside'), outsiderIp, { count: 2 }), 0, 'inside cannot reach the default bridge');

  await unlink(fx.file);
  await eventually(async () => {
    const left = await ownedLeft(fx.name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'everything the scenario owned is gone');
  const after = await netState('bridge');
  assert.equal(after.id, before.id, 'the default bridge is the same network');
  assert.deepEqual(after.labels, before.labels);
  assert.ok(after.containers.includes(outsider), 'the outsider is still on it');
});

/** A compose-like project: its network and a service container on it, made by docker-compose or by hand. */
async function composeProject(
  t: test.TestContext,
  how: 'docker-compose' | 'labels',
): Promise<{ project: string; network: string; api: string } | undefined> {
  const project = uniqueName('fltest').replace('-', '');
  const sub = await freeSubnet();
  if (how === 'docker-compose') {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-compose-'));
    const file = join(dir, 'docker-compose.yml');
    await writeFile(
      file,
      `version: "2.4"
services:
  api:
    image: ${TESTBOX}
networks:
  default:
    ipam:
      config:
        - subnet: ${sub.v4}
`,
    );
    const compose = (...args: string[]) => run('docker-compose', ['-p', project, '-f', file, ...args]);
    t.after(async () => {
      await compose('down', '--timeout', '1').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    await compose('up', '-d');
    return { project, network: `${project}_default`, api: `${project}_api_1` };
  }
  const network = `${project}_default`;
  const api = `${project}-api-1`;
  t.after(async () => {
    await dockerStatus('rm', '-f', api);
    await dockerStatus('network', 'rm', network);
  });
  await docker(
    'network',
    'create',
    '--subnet',
    sub.v4,
    '--label',
    `com.docker.compose.project=${project}`,
    '--label',
    'com.docker.compose.network=default',
    network,
  );
  await docker(
    'run',
    '-d',
    '--name',
    api,
    '--network',
    network,
    '--network-alias',
    'api',
    '--label',
    `com.docker.compose.project=${project}`,
    '--label',
    'com.docker.compose.service=api',
    TESTBOX,
  );
  return { project, network, api };
}

const hasCompose = async () =>
  await run('docker-compose', ['version', '--short']).then(
    () => true,
    () => false,
  );

for (const how of ['labels', 'docker-compose'] as const) {
  test(`a compose network (${how === 'labels' ? 'labelled as compose labels it' : "made by Debian's docker-compose"}): members join, disconnect works there and gives back what it took`, async (t) => {
    if (how === 'docker-compose' && !(await hasCompose())) {
      t.skip('docker-compose is not installed (apt-get install docker-compose); the labelled network stands in for it');
      return;
    }
    const p = (await composeProject(t, how))!;
    const before = await netState(p.network);
    const fx = await fixture(t);
    const spec = (faults: string) => `  networks:
    - name: app
      external: { compose: { project: ${p.project}, network: default } }
  containers:
    - { name: probe, image: ${TESTBOX} }
  members:
    - network: app
      select: { names: [probe] }
    - network: app
      select: { compose: { project: ${p.project}, service: api } }
${faults}`;
    await fx.write(spec(''));
    const s = await ready(fx.file);
    const net = s.status!.networks![0];
    assert.deepEqual([net.external, net.dockerName, net.id], [true, p.network, before.id]);
    const api = s.status!.members!.find((m) => m.container === p.api)!;
    assert.equal(api.phase, 'Connected');
    assert.match(api.message ?? '', /before faultline joined it: left as it is/);
    assert.equal(await pings(fx.dn('probe'), 'api', { count: 2 }), 2, 'probe reaches the service by its compose alias');

    // A disconnect window of 6 s on the compose network, starting now.
    await fx.write(
      spec(`  faults:
    - { name: unplug, targets: { compose: { project: ${p.project}, service: api } }, disconnect: { network: app }, duration: 6s }
`),
    );
    const injected = await faultWhere(fx.file, 'unplug', (f) => f.targets?.[0]?.phase === 'Injected', 'Injected');
    assert.deepEqual(injected.targets![0].restore, { network: p.network, aliases: ['api'] });
    assert.equal((await inspect(p.api)).NetworkSettings.Networks[p.network], undefined, 'api is off the network');
    assert.notEqual(
      (await dockerStatus('exec', fx.dn('probe'), 'ping', '-c', '1', '-W', '1', 'api')).code,
      0,
      'api is gone',
    );

    await faultWhere(fx.file, 'unplug', (f) => f.targets?.[0]?.phase === 'Recovered', 'Recovered', 60_000);
    const back = (await inspect(p.api)).NetworkSettings.Networks[p.network];
    assert.ok(back, 'api is back on the network');
    assert.equal(back.DriverOpts?.[ENDPOINT_OWNER_OPT], undefined, "given back unmarked: it was not faultline's");
    assert.equal(await pings(fx.dn('probe'), 'api', { count: 2 }), 2, 'reachable by its alias again');

    // Deleting the scenario: the probe goes, api stays connected, the network is the same.
    await unlink(fx.file);
    await eventually(async () => (await ownedLeft(fx.name)).containers.length === 0, 'probe removed');
    const after = await netState(p.network);
    assert.equal(after.id, before.id, 'the compose network was never recreated');
    assert.deepEqual(after.labels, before.labels, 'nor relabelled');
    assert.deepEqual(after.containers, before.containers, 'its own containers are on it as before');
  });
}
