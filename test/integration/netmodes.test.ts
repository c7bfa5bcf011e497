// Network modes of declared containers, on the real engine: `container:<name>` (one namespace, one
// set of rules, faults that hit both containers), `none` (loopback only; a network fault on it is
// refused, NoNetwork) and `host` (refused for faults unless spec.allowHostNetwork; allowed, a rule
// scoped to one peer of the test is read back in the host's namespace and cuts that peer's pings).
import assert from 'node:assert/strict';
import test from 'node:test';
import { readlink } from 'node:fs/promises';
import { dockerdPid } from '../../src/adapters/hostns.js';
import { TESTBOX } from './lib.js';
import {
  addressOf,
  current,
  echo,
  ECHO,
  execIn,
  faultWhere,
  fixture,
  freeSubnet,
  injected,
  inspect,
  nsenter,
  ownedRules,
  pings,
  ready,
} from './netlib.js';

const flow = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
const netnsOf = async (pid: number) => readlink(`/proc/${pid}/ns/net`);

async function modes(t: test.TestContext, faults: string[], extra = '') {
  const fx = await fixture(t);
  const sub = await freeSubnet();
  const write = (fs: string[], more = extra) =>
    fx.write(`${more}  networks:
    - name: net
      ipam: { config: [{ subnet: ${sub.v4} }] }
  containers:
    - { name: app, image: ${TESTBOX}, command: ${flow(ECHO)} }
    - { name: side, image: ${TESTBOX}, networkMode: "container:app", command: ${flow(['nc', '-ll', '-p', '11', '-e', '/bin/cat'])} }
    - { name: solo, image: ${TESTBOX}, networkMode: none }
    - { name: hosted, image: ${TESTBOX}, networkMode: host }
    - { name: peer, image: ${TESTBOX}, command: ${flow(ECHO)} }
  members:
    - network: net
      select: { names: [app, peer] }
${fs.length ? `  faults:\n${fs.map((f) => `    - ${f}`).join('\n')}\n` : ''}`);
  await write(faults);
  await ready(fx.file, 90_000);
  return { fx, sub, write };
}

test("network modes: container:app shares app's namespace, none has loopback only, host is the host's", async (t) => {
  const { fx } = await modes(t, []);
  const [app, side, solo, hosted] = await Promise.all(['app', 'side', 'solo', 'hosted'].map((n) => inspect(fx.dn(n))));
  assert.equal(await netnsOf(side.State.Pid), await netnsOf(app.State.Pid), "side is in app's network namespace");
  assert.ok(
    [`container:${fx.dn('app')}`, `container:${app.Id}`].includes(side.HostConfig.NetworkMode),
    `side's network mode names app (Docker may record it by id): ${side.HostConfig.NetworkMode}`,
  );
  assert.deepEqual(Object.keys(side.NetworkSettings.Networks), [], 'side is on no network of its own');
  assert.equal(
    await netnsOf(hosted.State.Pid),
    await netnsOf(await dockerdPid(process.pid)),
    "hosted is in the host's",
  );
  const links = (await execIn(fx.dn('solo'), 'ip', '-o', 'link')).stdout;
  assert.deepEqual(
    links
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1].trim()),
    ['lo'],
    'solo has loopback only',
  );
  assert.equal(solo.HostConfig.NetworkMode, 'none');
  // Packets: peer reaches side's server at app's address (one namespace, one address).
  const appIp = await addressOf(fx.dn('app'), fx.dn('net'));
  assert.ok((await echo(fx.dn('peer'), appIp, 11)).ok, "peer → app's address, port 11 (served by side)");
  const unreachable = await execIn(fx.dn('solo'), 'ping', '-c', '1', '-W', '1', appIp);
  assert.notEqual(unreachable.code, 0, 'solo reaches nobody');
  const st = await current(fx.file);
  assert.deepEqual(
    st?.status?.members?.map((m) => m.container).sort(),
    ['app', 'peer'],
    'only app and peer are members',
  );
});

test('a fault on both containers of one namespace: one set of rules there, and it hits both', async (t) => {
  const { fx } = await modes(t, [
    '{ name: hole, targets: { names: [app, side] }, protocol: tcp, direction: ingress, blackhole: {} }',
  ]);
  const f = await injected(fx.file, 'hole', 2);
  assert.deepEqual(f.targets!.map((x) => x.container).sort(), ['app', 'side']);
  const appIp = await addressOf(fx.dn('app'), fx.dn('net'));
  assert.ok(!(await echo(fx.dn('peer'), appIp, 7)).ok, "app's port 7 is cut");
  assert.ok(!(await echo(fx.dn('peer'), appIp, 11)).ok, "side's port 11 is cut (same namespace)");
  assert.equal(await pings(fx.dn('peer'), appIp, { count: 2 }), 2, 'only tcp is cut: ping still answered');
  const rules = (await ownedRules((await inspect(fx.dn('app'))).State.Pid)).filter(
    (l) => l.startsWith('-A FAULTLINE-INPUT') && l.includes(`"faultline:${fx.key('hole')}"`),
  );
  assert.equal(rules.length, 1, `one DROP for two targets in one namespace: ${rules.join(' | ')}`);
});

test('none and host: a network fault on them is refused (NoNetwork, HostNetwork), nothing installed', async (t) => {
  const { fx } = await modes(t, [
    '{ name: quiet, targets: { names: [solo] }, blackhole: {} }',
    '{ name: hostile, targets: { names: [hosted] }, protocol: icmp, direction: ingress, blackhole: {} }',
  ]);
  const quiet = await faultWhere(fx.file, 'quiet', (f) => f.targets?.[0]?.phase === 'Failed', 'Failed');
  assert.equal(quiet.targets![0].reason, 'NoNetwork');
  const hostile = await faultWhere(fx.file, 'hostile', (f) => f.targets?.[0]?.phase === 'Failed', 'Failed');
  assert.equal(hostile.targets![0].reason, 'HostNetwork');
  assert.match(hostile.targets![0].lastError ?? '', /allowHostNetwork: true/);
  const st = await current(fx.file);
  assert.equal(st?.status?.conditions?.find((c) => c.type === 'Degraded')?.status, 'True');
  const hostPid = await dockerdPid(process.pid);
  assert.ok(
    !(await nsenter(hostPid, 'iptables-save')).includes(fx.key('hostile')),
    'nothing of the refused fault in the host',
  );
  const peerIp = await addressOf(fx.dn('peer'), fx.dn('net'));
  assert.equal(await pings(fx.dn('hosted'), peerIp, { count: 2 }), 2, 'hosted still talks to peer');
});

test('allowHostNetwork: a fault on a host-mode container is read back in the host namespace and cuts its peer', async (t) => {
  const fault =
    '{ name: hostile, targets: { names: [hosted] }, peers: { names: [peer] }, protocol: icmp, direction: ingress, blackhole: {} }';
  const { fx, sub, write } = await modes(t, [], '  allowHostNetwork: true\n');
  const gateway = sub.v4.replace(/0\/24$/, '1'); // the bridge's address: the host's, so hosted's
  assert.equal(await pings(fx.dn('peer'), gateway, { count: 2 }), 2, 'peer reaches the host before the fault');
  await write([fault]);
  await injected(fx.file, 'hostile', 1);
  const peerIp = await addressOf(fx.dn('peer'), fx.dn('net'));
  const hostPid = await dockerdPid(process.pid);
  const lines = (await nsenter(hostPid, 'iptables-save')).split('\n').filter((l) => l.includes(fx.key('hostile')));
  assert.deepEqual(
    lines,
    [`-A FAULTLINE-INPUT -s ${peerIp}/32 -p icmp -m comment --comment "faultline:${fx.key('hostile')}" -j DROP`],
    'one rule in the host, for the peer only',
  );
  assert.equal(await pings(fx.dn('peer'), gateway, { count: 2 }), 0, "peer's pings to the host vanish");
  await write([]);
  await ready(fx.file);
  assert.ok(!(await nsenter(hostPid, 'iptables-save')).includes(fx.key('hostile')), 'gone from the host after');
  assert.equal(await pings(fx.dn('peer'), gateway, { count: 2 }), 2, 'peer reaches the host again');
});
