// No silent success, on the real engine: a fault that resolves to nothing — peers matching no
// container, targets matching none, a partition whose other group is missing — is Pending with a
// reason (NoPeers / NoTargets) and Degraded, never `Injected, verified`; nothing of it is in any
// kernel, and packets pass. When a peer appears, the fault applies. And two containers sharing one
// network namespace (network_mode container:<x>) have one ledger: a fault on each, both in the
// kernel at once, neither overwriting the other.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerIdFor } from '../../src/controller/lease.js';
import {
  docker,
  dockerStatus,
  eventually,
  hostOwnedLines,
  netnsIptablesSave,
  readScenario,
  startController,
  tempDir,
  teardown,
  TESTBOX,
  uniqueName,
} from './lib.js';

const subnet = () => `10.215.${Math.floor(Math.random() * 256)}.0/24`;

function scenario(
  name: string,
  net: string,
  faults: string,
  members = '[{ network: net, select: { names: [a, b] } }]',
): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: ${net} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: ${members}
  faults:
${faults}`;
}

const pid = async (c: string) => Number((await docker('inspect', '-f', '{{.State.Pid}}', c)).trim());
const ipOf = async (c: string) =>
  (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c)).trim();
/** Busybox echo servers on tcp/7000 and tcp/8000. */
const ECHO = ['sh', '-c', 'nc -ll -p 7000 -e /bin/cat & nc -ll -p 8000 -e /bin/cat & wait'];
/** One TCP exchange with an echo server: "hello" back means connected and served. */
const echo = (from: string, ip: string, port: number) =>
  dockerStatus('exec', from, 'sh', '-c', 'echo hello | nc -w 3 "$0" "$1"', ip, String(port));
const ping = (from: string, ip: string) => dockerStatus('exec', from, 'ping', '-c', '2', '-W', '2', ip);

test('a fault resolving to nothing is Pending (NoPeers / NoTargets) and Degraded, not verified; nothing is in the kernel; a peer appearing makes it apply', async (t) => {
  const dir = await tempDir();
  const name = uniqueName('silent');
  const file = join(dir, `${name}.yaml`);
  const peer = `${name}-peer`;
  const ctl = await startController(dir);
  t.after(() => teardown(ctl, dir, [name], [peer]));
  await writeFile(
    file,
    scenario(
      name,
      subnet(),
      `    - { name: nopeers, targets: { names: [a] }, peers: { labels: { role: ${name}-nothing } }, protocol: icmp, direction: ingress, blackhole: {} }
    - { name: notargets, targets: { labels: { role: ${name}-nobody } }, protocol: icmp, direction: ingress, blackhole: {} }
    - { name: ghost, partition: { groups: [[a, b], [${name}-ghost]] } }
`,
      // A container with the peers' label, once there, joins the network (it is the scenario's).
      `[{ network: net, select: { names: [a, b] } }, { network: net, select: { labels: { role: ${name}-nothing } } }]`,
    ),
  );
  const s = await eventually(async () => {
    const s = await readScenario(file);
    const ready = s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return ready && s.status?.faults?.length === 3 && s.status.faults.every((f) => f.phase === 'Pending')
      ? s
      : undefined;
  }, 'Ready, every fault Pending (in its window, acting on nothing)');
  const f = (n: string) => s.status!.faults!.find((x) => x.name === n)!;
  const nopeers = f('nopeers').targets!;
  assert.deepEqual(
    nopeers.map((x) => [x.container, x.phase, x.verified, x.reason]),
    [['a', 'Pending', false, 'NoPeers']],
  );
  assert.deepEqual(
    s.status!.faults!.map((x) => [x.name, x.phase, x.reason]),
    [
      ['nopeers', 'Pending', 'NoPeers'],
      ['notargets', 'Pending', 'NoTargets'],
      ['ghost', 'Pending', 'NoPeers'],
    ],
  );
  assert.ok(!f('notargets').targets?.some((x) => x.verified), 'no target of notargets is verified');
  assert.deepEqual(
    f('ghost').targets!.map((x) => [x.container, x.phase, x.verified, x.reason]),
    [
      ['a', 'Pending', false, 'NoPeers'],
      ['b', 'Pending', false, 'NoPeers'],
    ],
  );
  assert.match(f('ghost').message ?? '', new RegExp(`no container named "${name}-ghost"`));
  for (const x of s.status!.faults!)
    for (const y of x.targets ?? []) assert.notEqual(y.mechanism, 'none-needed', `${x.name}/${y.container}`);
  const degraded = s.status!.conditions!.find((c) => c.type === 'Degraded')!;
  assert.equal(degraded.status, 'True');
  assert.match(degraded.message ?? '', /nopeers/);
  assert.match(degraded.message ?? '', /notargets/);
  assert.match(degraded.message ?? '', /ghost/);

  // Nothing of them anywhere in a kernel; packets pass.
  const key = `${controllerIdFor(dir)}.${name}/`;
  for (const c of [`${name}_a`, `${name}_b`])
    assert.deepEqual(
      (await netnsIptablesSave(await pid(c))).filter((l) => l.includes(key)),
      [],
      `no rule of the scenario in ${c}`,
    );
  assert.deepEqual(await hostOwnedLines(controllerIdFor(dir)), [], 'no rule of this controller in the host');
  const aIp = await ipOf(`${name}_a`);
  const ok = await ping(`${name}_b`, aIp);
  assert.equal(ok.code, 0, `b → a passes: ${ok.stdout}`);

  // A peer appears (the scenario connects it to its network): nopeers applies — the peer's pings to a vanish, b's still pass.
  await docker('run', '-d', '--name', peer, '--label', `role=${name}-nothing`, TESTBOX, 'sleep', '3600');
  await eventually(async () => {
    const s = await readScenario(file);
    const f0 = s.status?.faults?.find((x) => x.name === 'nopeers');
    const t0 = f0?.targets?.[0];
    return f0?.phase === 'Active' && t0?.phase === 'Injected' && t0.verified;
  }, 'nopeers Active, Injected and verified once a peer exists').catch(async (e) => {
    t.diagnostic(JSON.stringify((await readScenario(file)).status?.faults));
    throw e;
  });
  const lines = (await netnsIptablesSave(await pid(`${name}_a`))).filter((l) => l.includes(`${key}nopeers`));
  assert.ok(lines.length > 0, 'its rule is in a');
  assert.notEqual((await ping(peer, aIp)).code, 0, 'the peer → a is dropped');
  assert.equal((await ping(`${name}_b`, aIp)).code, 0, 'b → a still passes');
});

test('two containers sharing one network namespace have one ledger: a fault on each is in the kernel at once, neither overwrites the other', async (t) => {
  const dir = await tempDir();
  const name = uniqueName('sharedns');
  const file = join(dir, `${name}.yaml`);
  const side = `${name}-side`;
  const ctl = await startController(dir);
  t.after(() => teardown(ctl, dir, [name], [side]));
  const net = subnet();
  await writeFile(
    file,
    scenario(name, net, `    - { name: quiet, targets: { names: [b] }, blackhole: {}, protocol: udp }\n`),
  );
  await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  }, 'Ready');
  // A sidecar in a's namespace (not the scenario's: selected by its Docker name).
  await docker('run', '-d', '--name', side, '--network', `container:${name}_a`, TESTBOX, ...ECHO);
  const aIp = await ipOf(`${name}_a`);
  await eventually(async () => /hello/.test((await echo(`${name}_b`, aIp, 7000)).stdout), 'the sidecar echoes on 7000');
  const faults = `    - { name: hole, targets: { names: [a] }, protocol: icmp, direction: ingress, blackhole: {} }
    - { name: rst, targets: { names: [${side}] }, protocol: tcp, ports: ["7000"], direction: ingress, reject: { with: tcp-reset } }
`;
  await writeFile(file, scenario(name, net, faults));
  const both = async () => {
    const s = await readScenario(file);
    const all = s.status?.faults?.flatMap((f) => (f.name === 'quiet' ? [] : (f.targets ?? [])));
    return all?.length === 2 && all.every((x) => x.phase === 'Injected' && x.verified) ? s : undefined;
  };
  await eventually(both, 'hole and rst Injected and verified');
  const key = `${controllerIdFor(dir)}.${name}/`;
  const rulesIn = async () =>
    (await netnsIptablesSave(await pid(`${name}_a`)))
      .filter((l) => l.includes(key))
      .map((l) => /\/(hole|rst)"/.exec(l)?.[1])
      .filter(Boolean)
      .sort();
  const present = await rulesIn();
  assert.ok(present.includes('hole') && present.includes('rst'), `both in the one namespace: ${present.join(' ')}`);
  // The sidecar's namespace is a's: the same rules are what it sees.
  const sidePid = await pid(side);
  assert.deepEqual(
    (await netnsIptablesSave(sidePid)).filter((l) => l.includes(key)),
    (await netnsIptablesSave(await pid(`${name}_a`))).filter((l) => l.includes(key)),
  );
  // Packets: icmp to a dropped; the sidecar's 7000 reset (its echo silent), its 8000 served.
  assert.notEqual((await ping(`${name}_b`, aIp)).code, 0, 'icmp to a dropped (hole)');
  const r7 = await echo(`${name}_b`, aIp, 7000);
  assert.doesNotMatch(r7.stdout, /hello/, 'no echo on 7000 (rst)');
  assert.match((await echo(`${name}_b`, aIp, 8000)).stdout, /hello/, 'echo on 8000');

  // Another reconcile (an edit elsewhere in the spec) rewrites nothing away: still both.
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('\nspec:\n', '\nspec:\n  description: again\n'));
  await eventually(async () => {
    const s = await both();
    return s && s.spec.description === 'again' && s.status!.observedGeneration === s.metadata.generation;
  }, 'reconciled again');
  assert.deepEqual(await rulesIn(), present, 'the same rules after another reconcile');

  // Removing one fault leaves the other.
  await writeFile(
    file,
    scenario(
      name,
      net,
      faults
        .split('\n')
        .filter((l) => !l.includes('name: rst'))
        .join('\n'),
    ),
  );
  await eventually(async () => !(await rulesIn()).includes('rst'), 'rst removed');
  assert.ok((await rulesIn()).includes('hole'), 'hole stays');
  assert.notEqual((await ping(`${name}_b`, aIp)).code, 0, 'icmp to a still dropped');
});
