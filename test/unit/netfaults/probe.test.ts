// verify: probe, the pure half: expected effects, the programs, reading their output, the verdict
// against the tolerance (delay ±(2 % + 0.5 ms), loss in the 99.99 % binomial interval, rate ±5 %).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec } from '../../../src/api/types.js';
import {
  WIRE_FACTOR,
  binomialInterval,
  connectArgv,
  delayWithin,
  echoArgv,
  judge,
  listenArgv,
  lossWithin,
  parseConnect,
  parseEcho,
  parseReal,
  probeSpecOf,
  rateWithin,
  sendArgv,
  transferRateBps,
  type ProbeSpec,
} from '../../../src/netfaults/probe.js';

/** P(X ≤ k) for Binomial(n, p), summed term by term (an independent check of the interval). */
function cdf(n: number, p: number, k: number): number {
  let s = 0;
  for (let i = 0; i <= k; i++) {
    let logC = 0;
    for (let j = 1; j <= i; j++) logC += Math.log((n - i + j) / j);
    s += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log(1 - p));
  }
  return s;
}

const spec = (f: Partial<FaultSpec>): ProbeSpec => {
  const s = probeSpecOf({ name: 'f', ...f } as FaultSpec);
  assert.ok(!('unmeasurable' in s), JSON.stringify(s));
  return s;
};
const at = new Date('2026-11-30T12:00:00Z');

describe('tolerances', () => {
  it('the 99 % binomial interval (the default) is the central one: each tail holds at most 0.5 %', () => {
    for (const [n, p] of [
      [200, 0.2],
      [200, 0.1],
      [200, 0.01],
      [50, 0.5],
    ] as const) {
      const [lo, hi] = binomialInterval(n, p);
      assert.ok(lo === 0 || cdf(n, p, lo - 1) < 0.005, `below ${lo}`);
      assert.ok(cdf(n, p, lo) >= 0.005);
      assert.ok(1 - cdf(n, p, hi) <= 0.005 + 1e-12, `above ${hi}`);
      assert.ok(1 - cdf(n, p, hi - 1) > 0.005);
    }
    assert.deepEqual(binomialInterval(200, 0), [0, 0]);
    assert.deepEqual(binomialInterval(200, 1), [200, 200]);
    assert.ok(lossWithin(0.2, 200, 40) && !lossWithin(0.2, 200, 200) && !lossWithin(0.2, 200, 0));
  });

  it('delay: ±(2 % + 0.5 ms); rate: ±5 %', () => {
    assert.ok(delayWithin(100, 102.5) && delayWithin(100, 97.5));
    assert.ok(!delayWithin(100, 102.6) && !delayWithin(100, 97.4));
    assert.ok(delayWithin(1, 1.52) && !delayWithin(1, 1.53));
    assert.ok(rateWithin(4e6, 4.2e6) && rateWithin(4e6, 3.8e6));
    assert.ok(!rateWithin(4e6, 4.21e6) && !rateWithin(4e6, 3.79e6));
  });

  it('a transfer: payload bytes on the wire, the burst taken out (at once, or at peakrate)', () => {
    assert.equal(transferRateBps(1_000_000, 2, { burstBytes: 0 }, 1), 4e6);
    assert.equal(transferRateBps(1_000_000, 2, { burstBytes: 200_000 }, 1), 3.2e6);
    // the 200 kB burst at 8 Mbit/s took 0.2 s of the 2 s
    assert.equal(transferRateBps(1_000_000, 2, { burstBytes: 200_000, peakBps: 8e6 }, 1), (800_000 * 8) / 1.8);
    assert.ok(Math.abs(transferRateBps(1448, 1, { burstBytes: 0 }, WIRE_FACTOR.v4) - 1514 * 8) < 1e-6);
  });
});

describe('what a fault should look like to packets', () => {
  it('netem: delay per direction in the round trip, loss of a round trip', () => {
    assert.deepEqual(spec({ netem: { delay: '100ms' } }).expected, { delayMs: 100 }); // default egress
    assert.deepEqual(spec({ netem: { delay: '100ms' }, direction: 'both' }).expected, { delayMs: 200 });
    const l = spec({ netem: { loss: '20%' }, direction: 'both' });
    assert.ok(Math.abs(l.expected.loss! - 0.36) < 1e-12);
    assert.deepEqual(l.method, { kind: 'echo', count: 200, intervalS: 0.01, waitS: 2 });
    assert.deepEqual(spec({ netem: { loss: { percent: '5%', correlation: '25%' } }, direction: 'ingress' }).expected, {
      loss: 0.05,
    });
    assert.ok('unmeasurable' in probeSpecOf({ name: 'f', netem: { rate: '1mbit' } } as FaultSpec));
    assert.ok('unmeasurable' in probeSpecOf({ name: 'f', dns: { action: 'drop' } } as FaultSpec));
  });

  it('bandwidth: the rate (or ceil, the lone flow borrows up to it) over about 2 s of data', () => {
    const b = spec({ bandwidth: { rate: '4mbit' } });
    assert.deepEqual(b.expected, { rateBps: 4e6 });
    assert.equal(b.method.kind, 'transfer');
    if (b.method.kind === 'transfer') {
      assert.equal(b.method.bytes, 1_000_000);
      assert.equal(b.method.burstBytes, 5000);
    }
    assert.deepEqual(spec({ bandwidth: { rate: '2mbit', ceil: '8mbit' } }).expected, { rateBps: 8e6 });
    assert.equal(spec({ bandwidth: { rate: '2mbit' }, direction: 'ingress' }).fromPeer, true);
  });

  it('cuts: echo, or a connect to the (destination) port; reject expects a refusal; ingress connects from the peer', () => {
    assert.deepEqual(spec({ partition: { groups: [['a'], ['b']] } }).method, {
      kind: 'echo',
      count: 3,
      intervalS: 0.2,
      waitS: 1,
    });
    assert.deepEqual(spec({ blackhole: {}, ports: ['5432'] }).method, { kind: 'connect', port: 5432, waitS: 2 });
    const r = spec({ reject: { with: 'tcp-reset' }, destinationPorts: ['7-9'], direction: 'ingress' });
    assert.deepEqual(r.expected, { reachable: false, refused: true });
    assert.deepEqual(r.method, { kind: 'connect', port: 7, waitS: 2 });
    assert.equal(r.fromPeer, true);
  });
});

describe('programs and their output', () => {
  it('argument arrays of busybox applets', () => {
    assert.deepEqual(echoArgv('10.0.0.2', { kind: 'echo', count: 3, intervalS: 0.2, waitS: 1 }), [
      'busybox',
      'ping',
      '-q',
      '-c',
      '3',
      '-i',
      '0.2',
      '-W',
      '1',
      '10.0.0.2',
    ]);
    assert.equal(echoArgv('fd00::2', { kind: 'echo', count: 3, intervalS: 0.2, waitS: 1 })[1], 'ping6');
    for (const argv of [listenArgv(7, 5), connectArgv('10.0.0.2', 7, 2), sendArgv('10.0.0.2', 7, 100_000)]) {
      assert.equal(argv[0], 'busybox');
      assert.ok(argv.every((a) => typeof a === 'string' && !a.includes(' ')));
    }
    assert.deepEqual(sendArgv('10.0.0.2', 7, 100_000).slice(-1), ['count=2']);
    assert.deepEqual(listenArgv(7, 5, true).slice(-7, -1), ['busybox', 'time', '-p', 'busybox', 'dd', 'of=/dev/null']);
  });

  it('busybox time -p, as this host prints it after dd', () => {
    assert.equal(parseReal('15+2 records in\n15+2 records out\nreal 2.18\nuser 0.00\nsys 0.01\n'), 2.18);
    assert.equal(parseReal('real 12\n'), 12);
    assert.equal(parseReal('real\t0m 2.18s\n'), undefined, 'the default format is not read as seconds');
    assert.equal(parseReal('16+0 records in\n'), undefined);
  });

  it('busybox ping -q and nc, as this host prints them', () => {
    assert.deepEqual(
      parseEcho(
        'PING 10.221.1.3 (10.221.1.3): 56 data bytes\n\n--- 10.221.1.3 ping statistics ---\n200 packets transmitted, 161 packets received, 19% packet loss\nround-trip min/avg/max = 0.063/101.265/102.067 ms\n',
      ),
      { sent: 200, received: 161, avgMs: 101.265 },
    );
    assert.deepEqual(parseEcho('3 packets transmitted, 0 packets received, 100% packet loss\n'), {
      sent: 3,
      received: 0,
    });
    assert.equal(parseEcho('ping: sendto: Network unreachable'), undefined);
    assert.equal(parseConnect({ code: 0, stderr: '' }), 'connected');
    assert.equal(
      parseConnect({ code: 1, stderr: "nc: can't connect to remote host (10.0.0.2): Connection refused" }),
      'refused',
    );
    assert.equal(parseConnect({ code: 1, stderr: 'nc: timeout' }), 'timeout');
  });
});

describe('the verdict', () => {
  it('delay and loss in one train: observed beside expected', () => {
    const s = spec({ netem: { delay: '100ms', loss: '20%' }, direction: 'egress' });
    const ok = judge(s, { peer: '10.0.0.2', samples: 200, echo: { sent: 200, received: 161, avgMs: 101.2 } }, at);
    assert.deepEqual(ok, {
      at: at.toISOString(),
      peer: '10.0.0.2',
      samples: 200,
      expected: { delay: '100ms', loss: '20%' },
      verdict: 'AsRequested',
      delay: '101.2ms',
      loss: '19.5%',
    });
    const slow = judge(s, { peer: '10.0.0.2', samples: 200, echo: { sent: 200, received: 161, avgMs: 102.6 } }, at);
    assert.equal(slow.verdict, 'EffectMismatch');
    assert.match(slow.message!, /round trip 102\.6ms, requested 100ms ± 2\.5ms/);
    const lossy = judge(s, { peer: '10.0.0.2', samples: 200, echo: { sent: 200, received: 100, avgMs: 100 } }, at);
    assert.equal(lossy.verdict, 'EffectMismatch');
    assert.match(lossy.message!, /100 of 200 lost, requested 20%: the 99.99 % interval is \d+\.\.\d+/);
  });

  it('cuts: an answer, or a connect that is not refused, is a mismatch', () => {
    const p = spec({ partition: { groups: [['a'], ['b']] } });
    assert.equal(judge(p, { peer: 'x', samples: 3, echo: { sent: 3, received: 0 } }, at).verdict, 'AsRequested');
    assert.equal(judge(p, { peer: 'x', samples: 3, echo: { sent: 3, received: 1 } }, at).verdict, 'EffectMismatch');
    const r = spec({ reject: { with: 'tcp-reset' }, ports: ['7'] });
    assert.equal(judge(r, { peer: 'x', samples: 1, connect: 'refused' }, at).verdict, 'AsRequested');
    const t = judge(r, { peer: 'x', samples: 1, connect: 'timeout' }, at);
    assert.equal(t.verdict, 'EffectMismatch');
    assert.match(t.message!, /timed out instead of being refused/);
    assert.equal(judge(r, { peer: 'x', samples: 1, connect: 'connected' }, at).verdict, 'EffectMismatch');
  });

  it('rate: ±5 % on the wire; a transfer that did not finish is a mismatch; a failed program is Inconclusive', () => {
    const b = spec({ bandwidth: { rate: '4mbit', burst: '0b' } });
    const wire = 1;
    const good = judge(b, { peer: 'x', samples: 1, transfer: { bytes: 1e6, seconds: 2.05, wire, complete: true } }, at);
    assert.equal(good.verdict, 'AsRequested', good.message);
    assert.equal(good.rate, '3.902mbit');
    const bad = judge(b, { peer: 'x', samples: 1, transfer: { bytes: 1e6, seconds: 2.2, wire, complete: true } }, at);
    assert.equal(bad.verdict, 'EffectMismatch');
    const cut = judge(b, { peer: 'x', samples: 1, transfer: { bytes: 1e6, seconds: 8, wire, complete: false } }, at);
    assert.equal(cut.verdict, 'EffectMismatch');
    assert.match(cut.message!, /did not arrive within 8 s/);
    const third = judge(b, { peer: 'x', samples: 3, transfer: { bytes: 1e6, seconds: 2.2, wire, complete: true } }, at);
    assert.match(third.message!, /fastest of 3 transfers/);
    const err = judge(b, { peer: 'x', samples: 0, error: 'nothing listens on tcp/47999' }, at);
    assert.equal(err.verdict, 'Inconclusive');
  });
});
