// Issue 10 in a kernel with sch_netem (`make netem` runs it in the QEMU guest): the netem-only
// fields end to end (Scenario file → controller → kernel → faultline's read-back → status), read
// back from the kernel here as well; dns delay by name (nslookup against 127.0.0.11, the mark
// rule's counter); and verify: probe on a delay — as requested, then a mismatch (a second fault of
// the scenario delays the peer's answers too). Networks in 10.222.0.0/16.
//
// Where the kernel has no sch_netem every test SKIPS with the probe's reason; inside the guest
// (FAULTLINE_NETEM_REQUIRED=1) a missing capability fails.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import type { ObservedEffect, Scenario } from '../../src/api/types.js';
import { dockerStatus, eventually } from '../integration/lib.js';
import { current, editFile, fixture, injected, nsenter, pidOf, scenarioYaml } from '../integration/fault-lib.js';
import { IN_GUEST, NETEM_REQUIRED, dockerAvailable, netemAvailable } from './lib.js';

const netem = await netemAvailable();
const engine = netem.ok ? await dockerAvailable() : { ok: false, reason: 'not probed' };
const missing = !netem.ok ? netem.reason : !engine.ok ? engine.reason : undefined;
if (missing !== undefined && NETEM_REQUIRED)
  test('issue 10 netem tests: netem and Docker are available (FAULTLINE_NETEM_REQUIRED=1)', () => {
    assert.fail(`required but unavailable: ${missing}${IN_GUEST ? ' (inside the netem guest)' : ''}`);
  });
const opts = { skip: missing !== undefined ? `skipped: ${missing}` : false, timeout: (IN_GUEST ? 600 : 120) * 1000 };
const WAIT_MS = (IN_GUEST ? 240 : 30) * 1000;

interface NetemQdisc {
  kind: string;
  handle: string;
  parent?: string;
  options?: Record<string, unknown>;
}
async function netemLeaves(pid: number, dev: string): Promise<NetemQdisc[]> {
  return (JSON.parse(await nsenter(pid, 'tc', '-j', 'qdisc', 'show', 'dev', dev)) as NetemQdisc[]).filter(
    (q) => q.kind === 'netem',
  );
}

test(
  'netem 4-state loss, ecn, limit, slot and rate overhead: verified by faultline, and the kernel holds them',
  opts,
  async (t: TestContext) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.222.1.0/24',
        [{ name: 'a' }, { name: 'b' }],
        [
          '{ name: gm, targets: { names: [b] }, netem: { delay: 10ms, lossState: { p13: 1%, p31: 30%, p32: 2%, p23: 60%, p14: 0.5% }, ecn: true, limit: 500 } }',
          '{ name: sl, targets: { names: [a] }, netem: { slot: { minDelay: 1ms, maxDelay: 5ms, packets: 10, bytes: 3000b }, rate: { rate: 1mbit, packetOverhead: 20, cellSize: 48, cellOverhead: -4 } } }',
        ],
      ),
    );
    const gm = await eventually(async () => injected(fx.file, 'gm'), 'gm injected', WAIT_MS);
    const sl = await injected(fx.file, 'sl');
    assert.equal(gm.targets![0].mechanism, 'netem');
    assert.equal(sl.targets![0].mechanism, 'netem');

    const [b] = await netemLeaves(await pidOf(fx.dn('b')), 'eth0');
    t.diagnostic(`b: ${JSON.stringify(b)}`);
    assert.equal(b.options?.limit, 500);
    assert.equal(b.options?.ecn, true);
    assert.deepEqual(b.options?.['loss-state'], { p13: 0.01, p31: 0.3, p32: 0.02, p23: 0.6, p14: 0.005 });
    assert.equal((b.options?.delay as { delay: number }).delay, 0.01);

    const [a] = await netemLeaves(await pidOf(fx.dn('a')), 'eth0');
    t.diagnostic(`a: ${JSON.stringify(a)}`);
    assert.deepEqual(a.options?.slot, { 'min-delay': 0.001, 'max-delay': 0.005, packets: 10, bytes: 3000 });
    assert.deepEqual(a.options?.rate, { rate: 125000, packetoverhead: 20, cellsize: 48, celloverhead: -4 });
  },
);

/** Milliseconds one nslookup against the embedded resolver took, and whether it answered. */
async function lookupMs(container: string, name: string): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const r = await dockerStatus('exec', container, 'timeout', '20', 'nslookup', name, '127.0.0.11');
  return { ms: performance.now() - t0, ok: r.code === 0 && /Address:?\s+10\.222\./.test(r.stdout) };
}

test(
  'dns delay 2s for the name db: its queries wait on lo (marked), web is not marked',
  opts,
  async (t: TestContext) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.222.2.0/24',
        [{ name: 'client' }, { name: 'db' }, { name: 'web' }],
        ['{ name: slowdb, targets: { names: [client] }, dns: { action: delay, delay: 2s, names: [db] } }'],
      ),
    );
    const f = await eventually(async () => injected(fx.file, 'slowdb'), 'slowdb injected', WAIT_MS);
    t.diagnostic(`mechanism ${f.targets![0].mechanism}`);
    const pid = await pidOf(fx.dn('client'));
    const lo = await netemLeaves(pid, 'lo');
    assert.ok(
      lo.some((q) => (q.options?.delay as { delay: number } | undefined)?.delay === 2),
      `netem delay 2s on lo: ${JSON.stringify(lo)}`,
    );
    const marks = async () =>
      (await nsenter(pid, 'iptables', '-w', '5', '-t', 'mangle', '-L', 'FAULTLINE-MARK', '-v', '-x', '-n'))
        .split('\n')
        .filter((l) => /^\s*\d+\s/.test(l) && l.includes('MARK'))
        .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);

    const m0 = await marks();
    const web = await lookupMs(fx.dn('client'), 'web');
    const m1 = await marks();
    const db = await lookupMs(fx.dn('client'), 'db');
    const m2 = await marks();
    t.diagnostic(`web ${web.ms.toFixed(0)} ms (marks +${m1 - m0}), db ${db.ms.toFixed(0)} ms (marks +${m2 - m1})`);
    assert.ok(web.ok && db.ok, 'both names still resolve');
    assert.equal(m1 - m0, 0, 'a query for web is not marked');
    assert.ok(m2 - m1 >= 1, 'the query for db is marked for the delay');
    assert.ok(db.ms >= 1900, `db took ${db.ms.toFixed(0)} ms; the delay is 2 s`);
  },
);

test(
  'verify: probe on delay 1s: the round trip is measured as requested; delaying the peer too is an EffectMismatch',
  opts,
  async (t: TestContext) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.222.3.0/24',
        [{ name: 'a' }, { name: 'b' }],
        ['{ name: slow, targets: { names: [a] }, netem: { delay: 1s }, verify: probe }'],
      ),
    );
    const obs = async (ok: (o: ObservedEffect) => boolean) =>
      eventually(
        async () => {
          const s: Scenario | undefined = await current(fx.file);
          const o = s?.status?.faults?.find((f) => f.name === 'slow')?.targets?.[0]?.observed;
          return o && ok(o) ? { o, s: s! } : undefined;
        },
        'an observation of slow',
        WAIT_MS,
      );
    const good = await obs(() => true);
    t.diagnostic(`observed: ${JSON.stringify(good.o)}`);
    // the guest's own round trip is 3–10 ms under emulation (measured: 510.3 ms for a 500 ms delay,
    // at the edge of its ±10.5 ms): 1 s leaves ±20.5 ms
    assert.equal(good.o.verdict, 'AsRequested', JSON.stringify(good.o));
    assert.deepEqual(good.o.expected, { delay: '1000ms' });
    assert.equal(good.o.samples, 20);
    const ms = parseFloat(good.o.delay ?? '');
    assert.ok(ms >= 1000 && ms <= 1020.5, `delay ${good.o.delay}`);

    await editFile(
      fx.file,
      '  faults:\n',
      '  faults:\n    - { name: peer-slow, targets: { names: [b] }, netem: { delay: 100ms } }\n',
    );
    const bad = await obs((o) => o.at !== good.o.at);
    t.diagnostic(`observed with the peer delayed: ${JSON.stringify(bad.o)}`);
    assert.equal(bad.o.verdict, 'EffectMismatch');
    assert.match(bad.o.message ?? '', /round trip 11\d\d(\.\d+)?ms, requested 1000ms ± 20\.5ms/);
    const d = bad.s.status?.conditions?.find((c) => c.type === 'Degraded');
    assert.equal(d?.status, 'True');
    assert.equal(d?.reason, 'EffectMismatch');
  },
);
