// Issue 10, item 10: verify: probe on this host's kernel (no sch_netem: loss is iptables
// statistic, bandwidth tbf). The controller measures each fault by packets from inside the
// target's namespace against a container of the scenario and writes what it saw beside what was
// requested; a measurement outside the tolerance turns the scenario Degraded / EffectMismatch.
// Each case is also checked from outside the controller (nc, ping in the containers), and one case
// is built to mismatch: a second fault of the scenario blackholes the peer, so the loss the probe
// sees is not the loss requested. Networks in 10.221.0.0/16.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { FaultTargetStatus, ObservedEffect, Scenario } from '../../src/api/types.js';
import { binomialInterval, dockerStatus, eventually, ONE_SHOT } from './lib.js';
import { ECHO, addrOf, current, editFile, fixture, scenarioYaml } from './fault-lib.js';

/** The observation of `fault` on `target` for the spec in the file now, once there is one. */
async function observed(
  file: string,
  fault: string,
  target: string,
  ok: (o: ObservedEffect) => boolean = () => true,
): Promise<{ o: ObservedEffect; t: FaultTargetStatus; s: Scenario }> {
  return eventually(
    async () => {
      const s = await current(file);
      const t = s?.status?.faults?.find((f) => f.name === fault)?.targets?.find((x) => x.container === target);
      return t?.observed && ok(t.observed) ? { o: t.observed, t, s: s! } : undefined;
    },
    `an observation of ${fault} on ${target}`,
    90_000,
  );
}

const degraded = (s: Scenario) => s.status?.conditions?.find((c) => c.type === 'Degraded');

test(
  'verify: probe on a partition and on reject: the cut is measured (no answer; refused at once)',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.221.1.0/24',
        [{ name: 'a' }, { name: 'b' }],
        ['{ name: cut, partition: { groups: [[a], [b]] }, verify: probe }'],
      ),
    );
    const { o, s } = await observed(fx.file, 'cut', 'a');
    assert.equal(o.verdict, 'AsRequested', JSON.stringify(o));
    assert.equal(o.reachable, false);
    assert.deepEqual(o.expected, { reachable: false });
    assert.equal(o.peer, await addrOf(fx.dn('b')), 'measured against the other member, inside the scenario');
    assert.equal(o.samples, 3);
    assert.notEqual(degraded(s)?.status, 'True');
    // what the probe said, seen from outside
    const r = await dockerStatus('exec', fx.dn('a'), 'ping', '-c', '1', '-W', '1', await addrOf(fx.dn('b')));
    assert.notEqual(r.code, 0);

    // reject on the server's port 7 (ingress): the probe connects from the peer and is refused
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.221.1.0/24',
        [{ name: 'a' }, { name: 'b', command: ECHO }],
        [
          '{ name: rst, targets: { names: [b] }, reject: { with: tcp-reset }, destinationPorts: ["7"], protocol: tcp, direction: ingress, verify: probe }',
        ],
      ),
    );
    const rej = await observed(fx.file, 'rst', 'b');
    assert.equal(rej.o.verdict, 'AsRequested', JSON.stringify(rej.o));
    assert.equal(rej.o.refused, true);
    assert.equal(rej.o.peer, await addrOf(fx.dn('a')));
    const nc = await dockerStatus('exec', fx.dn('a'), 'sh', '-c', 'echo hi | nc -w 2 "$0" 7', await addrOf(fx.dn('b')));
    assert.match(nc.stderr, /refused/i);
  },
);

test(
  'verify: probe on loss 20% (iptables statistic) and bandwidth 4mbit: measured within the tolerance',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.221.2.0/24',
        // c: a peer no other fault touches, which the bandwidth probe measures against (through a's
        // 20 % loss, TCP's acks would be lost and the transfer slower than the rate: ~2.7 mbit).
        [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        [
          '{ name: lossy, targets: { names: [a] }, netem: { loss: 20% }, direction: egress, verify: probe }',
          '{ name: slow, targets: { names: [b] }, bandwidth: { rate: 4mbit }, verify: probe }',
        ],
      ),
    );
    const loss = await observed(fx.file, 'lossy', 'a');
    assert.equal(loss.o.verdict, 'AsRequested', JSON.stringify(loss.o));
    assert.equal(loss.o.samples, 200);
    assert.deepEqual(loss.o.expected, { loss: '20%' });
    const pct = parseFloat(loss.o.loss ?? '');
    // judged independently of the probe's own verdict, at the suite's one-shot confidence
    const [lo, hi] = binomialInterval(200, 0.2, ONE_SHOT);
    assert.ok(pct >= lo / 2 && pct <= hi / 2, `loss ${loss.o.loss}, expected ${lo / 2} %..${hi / 2} %`);
    assert.match(loss.t.mechanism ?? '', /statistic|iptables|drop/);

    const bw = await observed(fx.file, 'slow', 'b');
    assert.equal(
      bw.o.peer,
      await addrOf(fx.dn('c')),
      `measured against c, whom no other fault touches: ${JSON.stringify(bw.o)}`,
    );
    t.diagnostic(`bandwidth probe: ${JSON.stringify(bw.o)}`);
    assert.ok(bw.o.samples >= 1 && bw.o.samples <= 3, 'one transfer, or up to 3 while short of the rate');
    assert.equal(bw.o.verdict, 'AsRequested', JSON.stringify(bw.o));
    assert.deepEqual(bw.o.expected, { rate: '4mbit' });
    const mbit = parseFloat(bw.o.rate ?? '');
    assert.ok(mbit >= 3.8 && mbit <= 4.2, `rate ${bw.o.rate}`);
    assert.notEqual(degraded(bw.s)?.status, 'True', JSON.stringify(degraded(bw.s)));
  },
);

test(
  'verify: probe can fail: with the peer blackholed, loss 10% measures 100% → Degraded EffectMismatch, and clears once it is gone',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    const boxes = [{ name: 'a' }, { name: 'b' }];
    await writeFile(
      fx.file,
      scenarioYaml(fx.name, '10.221.3.0/24', boxes, [
        '{ name: lossy, targets: { names: [a] }, netem: { loss: 10% }, direction: egress, verify: probe }',
        '{ name: hole, targets: { names: [b] }, blackhole: {}, direction: ingress }',
      ]),
    );
    const bad = await observed(fx.file, 'lossy', 'a', (o) => o.verdict !== 'Inconclusive');
    assert.equal(bad.o.verdict, 'EffectMismatch', JSON.stringify(bad.o));
    assert.equal(bad.o.loss, '100%');
    assert.match(bad.o.message ?? '', /200 of 200 lost, requested 10%/);
    const d = degraded(bad.s);
    assert.equal(d?.status, 'True');
    assert.equal(d?.reason, 'EffectMismatch');
    assert.match(d?.message ?? '', /fault "lossy" on a/);

    // the blackhole goes: the probe runs again for the edited spec and agrees
    await editFile(fx.file, /\n {4}- \{ name: hole.*/, '');
    const good = await observed(fx.file, 'lossy', 'a', (o) => o.verdict === 'AsRequested');
    assert.ok(Date.parse(good.o.at) > Date.parse(bad.o.at));
    assert.notEqual(degraded(good.s)?.status, 'True');
  },
);
