// Security on the real engine (issue 9, item 9), each refused with a clear message and nothing
// done: a symlink in the scenario directory that leads outside it; a scenario and container name
// that land on another project's container; a selector that matches faultline's own controller
// container; an interface whose name a tc program would misread.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  capturedLog,
  docker,
  dockerStatus,
  eventually,
  netnsIptablesSave,
  ownedLeft,
  readScenario,
  removeDir,
  startController,
  tempDir,
  teardown,
  TESTBOX,
  uniqueName,
} from './lib.js';

const subnet = () => `10.212.${Math.floor(Math.random() * 256)}.0/24`;

function scenario(name: string, body: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
${body}`;
}

test('a symlink leading out of the scenario directory is refused, named in the log; nothing is created and the file outside is never written', async (t) => {
  const dir = await tempDir();
  const outside = await tempDir();
  const name = uniqueName('sym');
  const { log, lines } = capturedLog('info');
  const ctl = await startController(dir, { log });
  t.after(async () => {
    await teardown(ctl, dir, [name]);
    await removeDir(outside);
  });
  const target = join(outside, 'elsewhere.yaml');
  const text = scenario(name, `  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]\n`);
  await writeFile(target, text);
  const link = join(dir, `${name}.yaml`);
  await symlink(target, link);
  const said = await eventually(
    () => lines.find((l) => (l as { file?: string }).file === link && /outside the scenario directory/.test(l.msg)),
    'the symlink refused in the log',
  );
  assert.match(
    said.msg,
    new RegExp(
      `leads \\(through a symlink\\) to ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, outside the scenario directory`,
    ),
  );
  await ctl.controller.idle();
  assert.deepEqual(await ownedLeft(name), { containers: [], networks: [] }, 'nothing created for it');
  assert.equal(
    await readFile(target, 'utf8'),
    text,
    'the file outside is byte-identical (no status written through the link)',
  );
});

test("a scenario and container name that land on another project's container: Conflict, that container untouched, and deleting the scenario leaves it", async (t) => {
  const dir = await tempDir();
  const project = uniqueName('proj');
  const theirs = `${project}_db`;
  const ctl = await startController(dir);
  t.after(async () => {
    await teardown(ctl, dir, [project], [theirs]);
  });
  // Another project's container, with the name faultline would give scenario <project>'s "db".
  await docker(
    'run',
    '-d',
    '--name',
    theirs,
    '--label',
    `com.docker.compose.project=${project}`,
    TESTBOX,
    'sleep',
    '3600',
  );
  const before = JSON.parse(await docker('inspect', theirs))[0];
  const file = join(dir, `${project}.yaml`);
  await writeFile(
    file,
    scenario(
      project,
      `  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]
  containers: [{ name: db, image: ${TESTBOX} }]
  members: [{ network: net, select: { names: [db] } }]
  faults: [{ name: hole, targets: { names: [db] }, blackhole: {}, protocol: icmp, direction: ingress }]
`,
    ),
  );
  const s = await eventually(async () => {
    const s = await readScenario(file);
    const conflict = s.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'Conflict');
    return conflict && s.status?.faults?.[0]?.reason === 'Conflict' ? s : undefined;
  }, 'Ready=False, Conflict; the fault Conflict');
  const c = s.status!.containers!.find((x) => x.name === 'db')!;
  assert.equal(c.phase, 'Failed');
  assert.match(c.message!, new RegExp(`${theirs}`));
  const hole = s.status!.faults!.find((f) => f.name === 'hole')!;
  assert.ok(!hole.targets?.some((x) => x.verified), 'no fault verified on it');
  assert.equal(hole.reason, 'Conflict');
  assert.match(hole.message!, new RegExp(`container "${theirs}" exists but is not this scenario's`));
  const after = JSON.parse(await docker('inspect', theirs))[0];
  assert.equal(after.Id, before.Id);
  assert.equal(after.State.StartedAt, before.State.StartedAt, 'never restarted');
  assert.deepEqual(after.Config.Labels, before.Config.Labels, 'labels unchanged');
  assert.deepEqual(
    Object.keys(after.NetworkSettings.Networks),
    Object.keys(before.NetworkSettings.Networks),
    'networks unchanged',
  );
  assert.deepEqual(
    (await netnsIptablesSave(after.State.Pid)).filter((l) => l.includes('faultline')),
    [],
    'no rule in it',
  );
  // Deleting the scenario removes what it owns, never that container.
  await (await import('node:fs/promises')).rm(file);
  await eventually(async () => (await ownedLeft(project)).networks.length === 0, 'the scenario’s network removed');
  assert.equal(JSON.parse(await docker('inspect', theirs))[0].State.Running, true, 'theirs still runs');
});

test("a selector matching faultline's own controller container (role=controller) is refused: OwnContainer, no rule in it", async (t) => {
  const dir = await tempDir();
  const name = uniqueName('own');
  const own = `${name}-controller`;
  const ctl = await startController(dir);
  t.after(() => teardown(ctl, dir, [name], [own]));
  // A container as the controller's image makes it (the image carries the label).
  await docker(
    'run',
    '-d',
    '--name',
    own,
    '--label',
    'faultline.dev/role=controller',
    '--label',
    `tier=${name}`,
    TESTBOX,
    'sleep',
    '3600',
  );
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    scenario(
      name,
      `  faults:
    - { name: byname, targets: { names: [${own}] }, blackhole: {}, protocol: icmp, direction: ingress }
    - { name: bylabel, targets: { labels: { tier: ${name} } }, blackhole: {}, protocol: icmp, direction: ingress }
`,
    ),
  );
  const s = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.length === 2 && s.status.faults.every((f) => f.reason === 'OwnContainer') ? s : undefined;
  }, 'both faults OwnContainer');
  for (const f of s.status!.faults!) {
    assert.match(
      f.message!,
      new RegExp(`container "${own}" is faultline's controller: faultline never acts on its own containers`),
    );
    assert.ok(!f.targets?.length, `${f.name}: no target`);
  }
  assert.equal(s.status!.conditions!.find((c) => c.type === 'Degraded')?.status, 'True');
  const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', own)).trim());
  assert.deepEqual(
    (await netnsIptablesSave(pid)).filter((l) => l.includes('faultline')),
    [],
    'no rule in it',
  );
});

test('an interface whose name a tc program would misread ("e#0") is left alone: the fault Failed, UnsafeInterfaceName, nothing written for it', async (t) => {
  const dir = await tempDir();
  const name = uniqueName('ifname');
  const box = `${name}-box`;
  const ctl = await startController(dir);
  t.after(() => teardown(ctl, dir, [name], [box]));
  await docker('run', '-d', '--name', box, '--cap-add', 'NET_ADMIN', TESTBOX, 'sleep', '3600');
  for (const argv of [
    ['ip', 'link', 'set', 'eth0', 'down'],
    ['ip', 'link', 'set', 'eth0', 'name', 'e#0'],
    ['ip', 'link', 'set', 'e#0', 'up'],
  ]) {
    const r = await dockerStatus('exec', box, ...argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    scenario(
      name,
      `  faults: [{ name: hole, targets: { names: [${box}] }, blackhole: {}, direction: egress, protocol: udp }]\n`,
    ),
  );
  const s = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.targets?.[0]?.reason === 'UnsafeInterfaceName' ? s : undefined;
  }, 'the target UnsafeInterfaceName').catch(async (e: Error) => {
    t.diagnostic(JSON.stringify((await readScenario(file)).status));
    throw e;
  });
  const target = s.status!.faults![0].targets![0];
  assert.equal(target.phase, 'Failed');
  assert.equal(target.verified, false);
  assert.match(
    target.lastError!,
    /interface "e#0" has a name with characters tc and iptables programs treat specially/,
  );
  const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', box)).trim());
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const qdiscs = (await promisify(execFile)('nsenter', ['-t', String(pid), '-n', 'tc', 'qdisc', 'show'])).stdout;
  assert.doesNotMatch(qdiscs, /htb|1fa1:/, `no faultline qdisc: ${qdiscs}`);
});
