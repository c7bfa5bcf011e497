// The Scenario controller end to end: files in a directory, the real Docker engine, real packets.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cli,
  docker,
  dockerStatus,
  eventually,
  forceCleanup,
  ownedLeft,
  readScenario,
  scenarioEnv,
  TESTBOX,
} from './lib.js';

function scenarioYaml(name: string, subnet: string, members: string[]): string {
  return `# yaml-language-server: $schema=../crds/scenario.schema.json
# A person's comment at the top: must survive every status write.
apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}   # trailing comment
spec:
  networks:
    - name: net
      ipam:
        config:
          - subnet: ${subnet}
  containers:
    - name: server
      image: ${TESTBOX}
    - name: client
      image: ${TESTBOX}
  members:
    - network: net
      select: { names: [${members.join(', ')}] }
      aliases: [svc-${name}]
`;
}

const ready = async (file: string) => {
  const s = await readScenario(file);
  const c = s.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True' && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
};

test('apply: network with our labels, containers joined with aliases, ping by name, status written, comments kept', async (t) => {
  const { name, dir, file } = await scenarioEnv(t);
  const source = join(dir, '..', `${name}-source.yaml`);
  await writeFile(source, scenarioYaml(name, '10.241.1.0/24', ['server', 'client']));
  t.after(() => rm(source, { force: true }));
  const applied = await cli('apply', '-f', source, '--dir', dir);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, new RegExp(`scenario.faultline.dev/${name} created`));
  assert.match(applied.stdout, new RegExp(`\\(${file}\\)`), 'apply created <dir>/<name>.yaml');

  const s = await eventually(() => ready(file), 'Ready=True');
  const net = JSON.parse(await docker('network', 'inspect', `${name}_net`))[0];
  assert.equal(net.Labels['faultline.dev/scenario'], name);
  assert.equal(net.Labels['faultline.dev/managed-by'], 'faultline');
  assert.match(net.Labels['faultline.dev/config-hash'], /^[0-9a-f]{16}$/);
  assert.equal(net.IPAM.Config[0].Subnet, '10.241.1.0/24');

  const srv = JSON.parse(await docker('inspect', `${name}_server`))[0];
  const ep = srv.NetworkSettings.Networks[`${name}_net`];
  assert.ok(ep.Aliases.includes('server') && ep.Aliases.includes(`svc-${name}`), `aliases: ${ep.Aliases}`);
  // Real packets, by short name and by the member alias:
  await docker('exec', `${name}_client`, 'ping', '-c', '1', '-W', '2', 'server');
  await docker('exec', `${name}_client`, 'ping', '-c', '1', '-W', '2', `svc-${name}`);

  assert.equal(s.status?.phase, 'Running');
  assert.equal(s.status?.networks?.[0].phase, 'Ready');
  assert.equal(s.status?.networks?.[0].id, net.Id);
  const m = s.status?.members?.find((x) => x.container === 'server');
  assert.equal(m?.phase, 'Connected');
  assert.equal(m?.ipv4Address, ep.IPAddress);
  const text = await readFile(file, 'utf8');
  assert.match(text, /^# yaml-language-server: \$schema=/);
  assert.match(text, /# A person's comment at the top: must survive every status write\./);
  assert.match(text, /name: it-\w+ {3}# trailing comment/);
  assert.match(text, /select: \{ names: \[server, client\] \}/);
});

test('a spec change converges, and the Plan printed beforehand is what ran', async (t) => {
  const env = await scenarioEnv(t);
  const { name, dir, file } = env;
  await writeFile(file, scenarioYaml(name, '10.241.2.0/24', ['server']));
  await eventually(() => ready(file), 'first convergence');

  // Change the subnet and add a member: print the plan first (changes nothing), then save.
  const next = join(dir, '..', `${name}-next.yaml`);
  await writeFile(next, scenarioYaml(name, '10.241.3.0/24', ['server', 'client']));
  t.after(() => rm(next, { force: true }));
  const planned = await cli('plan', '-f', next, '--dir', dir, '-o', 'json'); // as the controller of dir plans it
  assert.equal(planned.code, 0, planned.stderr);
  const ops: string[] = JSON.parse(planned.stdout).operations.map((o: { name: string }) => o.name);
  assert.ok(ops.includes(`network.remove ${name}_net`) && ops.includes(`network.create ${name}_net`), ops.join('\n'));
  assert.ok(ops.includes(`member.connect ${name}_net ${name}_client`), ops.join('\n'));

  const applied = await cli('apply', '-f', next, '--dir', dir);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /configured/);
  const s = await eventually(async () => {
    const r = await ready(file);
    return r && r.status?.members?.length === 2 ? r : undefined;
  }, 'second convergence');
  assert.equal(s.metadata.generation, 2);
  const applied2 = (s.status?.events ?? []).filter((e) => e.reason === 'Applied').map((e) => e.message);
  assert.deepEqual([...applied2.slice(-ops.length)].sort(), [...ops].sort());
  const net = JSON.parse(await docker('network', 'inspect', `${name}_net`))[0];
  assert.equal(net.IPAM.Config[0].Subnet, '10.241.3.0/24');
  await docker('exec', `${name}_client`, 'ping', '-c', '1', '-W', '2', 'server');
});

test('deleting the file removes everything owned; an adopted container keeps running, untouched', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  const adopted = `${name}-adopted`;
  t.after(() => forceCleanup(name, [adopted]));
  await docker('run', '-d', '--name', adopted, '--label', 'team=blue', TESTBOX);
  await writeFile(file, scenarioYaml(name, '10.241.4.0/24', ['server', adopted]));
  await eventually(() => ready(file), 'converged with the adopted container');
  const before = JSON.parse(await docker('inspect', adopted))[0];
  assert.ok(before.NetworkSettings.Networks[`${name}_net`], 'adopted container joined the scenario network');
  await docker('exec', `${name}_server`, 'ping', '-c', '1', '-W', '2', adopted);

  await rm(file);
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'everything owned removed');
  const after = JSON.parse(await docker('inspect', adopted))[0];
  assert.equal(after.State.Running, true);
  assert.equal(after.State.StartedAt, before.State.StartedAt, 'never restarted');
  assert.deepEqual(after.Config.Labels, before.Config.Labels);
  assert.deepEqual(Object.keys(after.NetworkSettings.Networks), ['bridge']);
});

test('a scenario deleted while the controller is stopped is swept when it starts', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(file, scenarioYaml(name, '10.241.5.0/24', ['server', 'client']));
  await eventually(() => ready(file), 'converged');
  await env.stop();
  await rm(file);
  assert.equal((await ownedLeft(name)).containers.length, 2, 'nothing removed while stopped');
  await env.restart();
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'swept at start');
});

test('a network of the same name that faultline does not own is reported and left alone', async (t) => {
  const { name, file } = await scenarioEnv(t);
  t.after(async () => {
    await dockerStatus('network', 'rm', `${name}_net`);
  });
  await docker('network', 'create', `${name}_net`);
  await writeFile(file, scenarioYaml(name, '10.241.6.0/24', ['server']));
  const s = await eventually(async () => {
    const r = await readScenario(file);
    return r.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'Conflict') ? r : undefined;
  }, 'Ready=False reason Conflict');
  assert.match(s.status!.networks![0].message!, /already exists and is not created by faultline/);
  const net = JSON.parse(await docker('network', 'inspect', `${name}_net`))[0];
  assert.equal(net.Labels['faultline.dev/scenario'], undefined, 'the foreign network was not changed');
});

test('a YAML typo saved into a running scenario changes nothing in Docker; fixing it converges again', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  const good = scenarioYaml(name, '10.241.7.0/24', ['server', 'client']);
  await writeFile(file, good);
  await eventually(() => ready(file), 'converged');
  const ids = async () =>
    (await docker('ps', '-aq', '--no-trunc', '--filter', `label=faultline.dev/scenario=${name}`))
      .split('\n')
      .filter(Boolean)
      .sort();
  const before = await ids();
  assert.equal(before.length, 2);

  // A typo above metadata: the file is unreadable YAML, its name cannot be read any more.
  const broken = good.replace('kind: Scenario', 'kind: [Scenario');
  const seen = env.ctl.controller.stats.reconciles;
  await writeFile(file, broken);
  await eventually(async () => env.ctl.controller.stats.reconciles > seen, 'the controller looked at the broken file');
  await env.ctl.controller.idle();
  assert.deepEqual(await ids(), before, 'the scenario is not torn down by a typo');
  assert.equal(await readFile(file, 'utf8'), broken, 'the broken file is left as the person saved it');

  await writeFile(file, good.replace(`aliases: [svc-${name}]`, `aliases: [svc-${name}, fixed]`));
  const s = await eventually(async () => {
    const x = await ready(file);
    return x && x.status?.members?.some((m) => m.aliases?.includes('fixed')) ? x : undefined;
  }, 'converged after the fix');
  assert.deepEqual(await ids(), before, 'same containers throughout');
  assert.equal(s.status?.phase, 'Running');
});
