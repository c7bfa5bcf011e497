// Self-check of the netem test harness: does netem applied to a container's eth0 through nsenter
// really delay and drop that container's traffic, and do the helpers measure it right?
//
// Where the kernel has no sch_netem (the development machines) the netem suite SKIPS with the
// probe's reason; `make netem` runs this file inside a QEMU guest that has it, with
// FAULTLINE_NETEM_REQUIRED=1 so that a failed probe there is a failure, never a silent pass.
//
// Tolerances are wide on purpose: the guest is software-emulated (TCG). See
// scripts/netem-vm/README.md for the figures measured there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  IN_GUEST,
  NETEM_REQUIRED,
  SLOW,
  binomialInterval99,
  clearRootQdisc,
  createTestNetwork,
  dockerAvailable,
  netemAvailable,
  parseBusyboxPing,
  pingStats,
  removeTestContainers,
  removeTestNetwork,
  setNetem,
  showQdiscs,
  startTestContainer,
  teardown,
  testName,
  type TestContainer,
} from './lib.js';

// ------------------------------------------------------------------ pure helpers (run everywhere)

describe('netem helpers', () => {
  test('parseBusyboxPing reads replies, duplicates and the summary', () => {
    const out = [
      'PING 172.18.0.2 (172.18.0.2): 56 data bytes',
      '64 bytes from 172.18.0.2: seq=0 ttl=64 time=70.000 ms',
      '64 bytes from 172.18.0.2: seq=0 ttl=64 time=71.000 ms (DUP!)',
      '64 bytes from 172.18.0.2: seq=2 ttl=64 time=90.000 ms',
      '',
      '--- 172.18.0.2 ping statistics ---',
      '3 packets transmitted, 2 packets received, 1 duplicates, 33% packet loss',
      'round-trip min/avg/max = 70.000/77.000/90.000 ms',
    ].join('\n');
    const s = parseBusyboxPing(out);
    assert.deepEqual(
      {
        sent: s.sent,
        received: s.received,
        dups: s.dups,
        rtts: s.rtts,
        avg: s.avgMs,
        mdev: s.mdevMs,
        min: s.minMs,
        max: s.maxMs,
      },
      { sent: 3, received: 2, dups: 1, rtts: [70, 90], avg: 80, mdev: 10, min: 70, max: 90 },
    );
  });

  test('parseBusyboxPing: total loss is a result; garbage is an error', () => {
    const s = parseBusyboxPing(
      '--- 10.0.0.9 ping statistics ---\n5 packets transmitted, 0 packets received, 100% packet loss\n',
    );
    assert.equal(s.sent, 5);
    assert.equal(s.received, 0);
    assert.ok(Number.isNaN(s.avgMs));
    assert.throws(() => parseBusyboxPing('ping: bad address'), /no statistics line/);
  });

  test('binomialInterval99 gives exact 99% count intervals', () => {
    assert.deepEqual(binomialInterval99(200, 0.3), [44, 77]);
    assert.deepEqual(binomialInterval99(10, 0), [0, 0]);
    assert.deepEqual(binomialInterval99(10, 1), [10, 10]);
    const [lo, hi] = binomialInterval99(1000, 0.5);
    assert.ok(lo > 450 && lo < 500 && hi > 500 && hi < 550, `${lo}..${hi}`);
    assert.throws(() => binomialInterval99(10, 1.5), RangeError);
  });
});

// ------------------------------------------------------------------ netem on a container's eth0

const netem = await netemAvailable();
const engine = netem.ok ? await dockerAvailable() : { ok: false, reason: 'not probed' };
const missing = !netem.ok ? netem.reason : !engine.ok ? engine.reason : undefined;

if (missing !== undefined && NETEM_REQUIRED) {
  test('netem and Docker are available (FAULTLINE_NETEM_REQUIRED=1)', () => {
    assert.fail(`required but unavailable: ${missing}${IN_GUEST ? ' (inside the netem guest)' : ''}`);
  });
}

const PER_TEST_MS = 120_000 * (IN_GUEST ? 3 : 1);
// on each test (not the suite), so that the runner's summary counts the skipped tests
// (when required, the failing test above reports it; the suite is still not run)
const skip = missing !== undefined ? `skipped: ${missing}` : false;
const opts = { skip, timeout: PER_TEST_MS };

describe('netem harness self-check: delay and loss on a container eth0 via nsenter', () => {
  const net = testName('net');
  let a: TestContainer; // the pinged peer
  let b: TestContainer; // netem on its eth0; it pings a

  before(
    async () => {
      if (skip) return;
      await removeTestContainers(testName(''));
      await createTestNetwork(net);
      [a, b] = await Promise.all([startTestContainer(testName('a'), net), startTestContainer(testName('b'), net)]);
    },
    { timeout: PER_TEST_MS },
  );

  after(
    async () => {
      if (skip) return;
      await teardown('netem harness self-check', PER_TEST_MS - 30_000, async () => {
        await removeTestContainers(testName(''));
        await removeTestNetwork(net);
      });
    },
    { timeout: PER_TEST_MS },
  );

  test('baseline: no qdisc, no loss, small RTT', opts, async (t) => {
    const s = await pingStats(b.name, a.ip, 10, 0.1);
    t.diagnostic(`baseline ${s.received}/${s.sent} avg=${s.avgMs.toFixed(3)}ms max=${s.maxMs.toFixed(3)}ms`);
    assert.equal(s.received, 10);
    assert.ok(s.avgMs < 20 * Math.min(SLOW, 2), `baseline avg ${s.avgMs} ms`);
  });

  test('netem delay 80ms 10ms: 50 pings average 80 ms (wide tolerance under emulation)', opts, async (t) => {
    await setNetem(b.pid, 'eth0', ['delay', '80ms', '10ms']);
    const root = (await showQdiscs(b.pid, 'eth0')).find((q) => q.root);
    assert.equal(root?.kind, 'netem', `root qdisc is ${JSON.stringify(root)}`);
    const s = await pingStats(b.name, a.ip, 50, 0.1);
    t.diagnostic(
      `delay 80ms 10ms: ${s.received}/${s.sent} avg=${s.avgMs.toFixed(2)}ms mdev=${s.mdevMs.toFixed(2)}ms ` +
        `min=${s.minMs.toFixed(2)}ms max=${s.maxMs.toFixed(2)}ms`,
    );
    assert.ok(s.received >= 49, `received ${s.received}/50 with no loss configured`);
    // every packet is delayed by 80 +- 10 ms (uniform): min >= 70, mean ~80, sd ~5.8
    assert.ok(s.minMs >= 69, `min RTT ${s.minMs} ms < 70 ms: some packet was not delayed`);
    assert.ok(s.avgMs >= 75 && s.avgMs <= 110, `avg RTT ${s.avgMs} ms outside [75, 110]`);
    assert.ok(s.mdevMs >= 2 && s.mdevMs <= 25, `RTT mdev ${s.mdevMs} ms outside [2, 25]: jitter not applied?`);
  });

  test('netem loss 30%: lost count within the binomial 99% interval', opts, async (t) => {
    await setNetem(b.pid, 'eth0', ['loss', '30%']);
    const n = 200;
    const [lo, hi] = binomialInterval99(n, 0.3);
    let s = await pingStats(b.name, a.ip, n, 0.02);
    let lost = s.sent - s.received;
    t.diagnostic(`loss 30%: lost ${lost}/${s.sent} (99% interval [${lo}, ${hi}]) avg=${s.avgMs.toFixed(2)}ms`);
    if (lost < lo || lost > hi) {
      // a correct netem lands outside a 99% interval 1 run in 100: one fresh sample decides
      // (both outside by chance: 1 in 10,000; a broken loss setting fails both)
      s = await pingStats(b.name, a.ip, n, 0.02);
      lost = s.sent - s.received;
      t.diagnostic(`loss 30% (second sample): lost ${lost}/${s.sent}`);
    }
    assert.equal(s.sent, n);
    assert.equal(s.dups, 0);
    assert.ok(lost >= lo && lost <= hi, `lost ${lost}/${s.sent}, outside the 99% interval [${lo}, ${hi}] for p=0.3`);
    // `replace` with only `loss` must have dropped the earlier delay
    assert.ok(s.avgMs < 40, `avg RTT ${s.avgMs} ms: the 80 ms delay survived the replace`);
  });

  test('removing the qdisc restores the link', opts, async (t) => {
    await clearRootQdisc(b.pid, 'eth0');
    const kinds = (await showQdiscs(b.pid, 'eth0')).map((q) => q.kind);
    assert.ok(!kinds.includes('netem'), `qdiscs after delete: ${kinds.join(', ')}`);
    const s = await pingStats(b.name, a.ip, 10, 0.1);
    t.diagnostic(`after removal ${s.received}/${s.sent} avg=${s.avgMs.toFixed(3)}ms`);
    assert.equal(s.received, 10);
    assert.ok(s.avgMs < 40, `avg RTT ${s.avgMs} ms after removing netem`);
  });
});
