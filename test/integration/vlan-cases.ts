// Faults on macvlan and ipvlan networks, proven by packets: partition, blackhole, reject and
// bandwidth between containers whose network's parent is one end of a veth pair the test makes.
// Traffic on these networks never crosses the host's bridge FORWARD path, so every fault must be
// placed inside the containers' namespaces even when the host path is on (netplan's
// bridgedOnHost): each case checks the mechanism in status, the rules in the containers, and that
// the host's chains hold nothing of it.
//
// Registered by test/integration/vlan.test.ts (macvlan here; ipvlan when the kernel has it) and by
// test/netem/ipvlan.test.ts (ipvlan l2 and l3 in the QEMU guest, whose stock kernel has ipvlan).
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  addressOf,
  downloadRate,
  echo,
  ECHO,
  expectedMatrix,
  failing,
  fastestOf,
  fixture,
  freeSubnet,
  injected,
  hostLinesOf,
  inspect,
  linkTypeWorks,
  ownedRules,
  payloadRate,
  pingMatrix,
  pings,
  ready,
  vethParent,
  type Fixture,
} from './netlib.js';
import { TESTBOX } from './lib.js';

export interface VlanCase {
  driver: 'macvlan' | 'ipvlan';
  mode?: 'l2' | 'l3';
  /** true: a kernel without the driver fails the test (the guest); false: it skips, saying why. */
  required: boolean;
  /** Multiplies every wait (the guest is emulated). */
  slow?: number;
}

const BLOB_KIB = 512;
const RATE = 1_000_000;
/** Echo servers on tcp/7 and tcp/9, and busybox httpd on tcp/8080 serving /tmp/www/blob. */
const SERVER = [
  'sh',
  '-c',
  `nc -ll -p 7 -e /bin/cat & nc -ll -p 9 -e /bin/cat & mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/blob bs=1024 count=${BLOB_KIB} 2>/dev/null && httpd -f -p 8080 -h /tmp/www & wait`,
];

function spec(c: VlanCase, parent: string, subnet: string, faults: string[]): string {
  const opts = c.driver === 'ipvlan' ? `, ipvlan_mode: ${c.mode ?? 'l2'}` : '';
  const flow = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return `  networks:
    - name: lan
      driver: ${c.driver}
      options: { parent: ${parent}${opts} }
      ipam: { config: [{ subnet: ${subnet} }] }
  containers:
    - { name: a, image: ${TESTBOX}, command: ${flow(ECHO)} }
    - { name: b, image: ${TESTBOX}, command: ${flow(SERVER)} }
    - { name: c, image: ${TESTBOX} }
  members:
    - network: lan
      select: { names: [a, b, c] }
${faults.length ? `  faults:\n${faults.map((f) => `    - ${f}`).join('\n')}\n` : ''}`;
}

/** Every target placed in its own namespace (mechanism iptables or tc), none on the host's FORWARD path. */
async function inNamespacesOnly(fx: Fixture, fault: string, n: number, mechanism: RegExp): Promise<void> {
  const f = await injected(fx.file, fault, n, 60_000);
  for (const tg of f.targets!)
    assert.match(tg.mechanism ?? '', mechanism, `${fault} on ${tg.container}: ${tg.mechanism}`);
  assert.doesNotMatch(JSON.stringify(f.targets), /iptables-forward/);
  assert.deepEqual(await hostLinesOf(fx, fault), [], `nothing of ${fault} in the host's FORWARD path`);
}

export function vlanCases(c: VlanCase): void {
  const label = c.driver === 'ipvlan' ? `ipvlan ${c.mode ?? 'l2'}` : 'macvlan';
  const slow = c.slow ?? 1;
  test(
    `${label} on a veth parent: partition, blackhole, reject and bandwidth act inside the containers (proven by packets)`,
    { timeout: 600_000 * slow },
    async (t) => {
      const parent = await vethParent(t, c.driver === 'ipvlan' ? 'iv' : 'mv');
      const works = await linkTypeWorks(parent, c.driver);
      if (!works.ok) {
        if (c.required) assert.fail(`this kernel cannot make ${c.driver} links: ${works.why}`);
        t.skip(`this kernel has no ${c.driver} (${works.why}); test/netem/ipvlan.test.ts runs it in the QEMU guest`);
        return;
      }
      const fx = await fixture(t); // host path on: the faults must still land in the namespaces
      const { v4: subnet } = await freeSubnet();
      const net = fx.dn('lan');
      const write = (faults: string[]) => fx.write(spec(c, parent, subnet, faults));

      await write([]);
      const s = await ready(fx.file, 90_000 * slow);
      assert.equal(s.status?.networks?.[0].driver, c.driver);
      const ip = new Map(
        await Promise.all(['a', 'b', 'c'].map(async (n) => [n, await addressOf(fx.dn(n), net)] as const)),
      );
      const names = ['a', 'b', 'c'];
      assert.deepEqual(failing(await pingMatrix(names, fx.dn, ip)), [], 'everyone reaches everyone before any fault');
      assert.ok((await echo(fx.dn('a'), ip.get('b')!, 7, 3 * slow)).ok, 'echo a → b:7 before any fault');

      // 1. partition [[a], [b, c]]: exactly the cross pairs fail; DROPs in the receivers' INPUT.
      await write(['{ name: split, partition: { groups: [[a], [b, c]] } }']);
      await inNamespacesOnly(fx, 'split', 3, /^iptables$/);
      assert.deepEqual(
        failing(await pingMatrix(names, fx.dn, ip)),
        failing(expectedMatrix(names, [['a'], ['b', 'c']])),
      );
      const drops = (await ownedRules((await inspect(fx.dn('a'))).State.Pid)).filter((l) =>
        l.startsWith('-A FAULTLINE-INPUT'),
      );
      assert.deepEqual(
        drops.map((l) => /-s (\S+)/.exec(l)?.[1]).sort(),
        [`${ip.get('b')}/32`, `${ip.get('c')}/32`].sort(),
        "a drops b's and c's packets on its INPUT",
      );

      // 2. blackhole on b: nothing reaches it or leaves it; a ↔ c untouched.
      await write(['{ name: hole, targets: { names: [b] }, blackhole: {} }']);
      await inNamespacesOnly(fx, 'hole', 1, /iptables|tc-blackhole/);
      assert.equal(await pings(fx.dn('a'), ip.get('b')!, { count: 3, interval: '0.2' }), 0, 'a → b vanishes');
      assert.equal(await pings(fx.dn('b'), ip.get('c')!, { count: 3, interval: '0.2' }), 0, 'b → c vanishes');
      const hole = await echo(fx.dn('a'), ip.get('b')!, 7, 2);
      assert.ok(!hole.ok && hole.ms >= 1500, `a connect to b times out (took ${Math.round(hole.ms)} ms)`);
      assert.equal(await pings(fx.dn('a'), ip.get('c')!, { count: 3, interval: '0.2' }), 3, 'a ↔ c unaffected');

      // 3. reject tcp-reset on b's port 7: refused at once; port 9 of b still answers.
      await write(['{ name: refuse, targets: { names: [b] }, ports: ["7"], reject: { with: tcp-reset } }']);
      await inNamespacesOnly(fx, 'refuse', 1, /^iptables$/);
      const refused = await echo(fx.dn('a'), ip.get('b')!, 7, 5);
      assert.ok(!refused.ok, 'a → b:7 refused');
      // refused by a reset, not timed out: nc says so, however long `docker exec` itself took
      assert.match(
        refused.stderr,
        /refused/i,
        `refused at once, not after nc's 5 s timeout (${Math.round(refused.ms)} ms)`,
      );
      assert.ok((await echo(fx.dn('a'), ip.get('b')!, 9, 3 * slow)).ok, 'a → b:9 still served');

      // 4. bandwidth 1mbit on b's egress: a's download from b runs at the rate (±15%). Under the
      // guest's emulation (slow > 1) tbf's timers fire late and it delivers less than the rate:
      // there the claim is "capped at the rate, far below the unshaped transfer" (0.5×..1.15×).
      await write([]);
      await ready(fx.file, 60_000 * slow);
      const free = await downloadRate(fx.dn('a'), ip.get('b')!, BLOB_KIB * 1024);
      await write(['{ name: thin, targets: { names: [b] }, bandwidth: { rate: 1mbit } }']);
      await inNamespacesOnly(fx, 'thin', 1, /tbf/);
      const [lo, hi] = slow > 1 ? [0.5, 1.15] : [0.85, 1.15];
      const { bps, ms, tries } = await fastestOf(
        () => downloadRate(fx.dn('a'), ip.get('b')!, BLOB_KIB * 1024),
        (x) => x.bps < lo * payloadRate(RATE),
      );
      t.diagnostic(
        `${label}: ${BLOB_KIB} KiB in ${(ms / 1000).toFixed(2)} s = ${(bps / 1e6).toFixed(3)} Mbit/s, fastest of ${tries} (unshaped: ${(free.bps / 1e6).toFixed(1)} Mbit/s)`,
      );
      assert.ok(
        free.bps > 3 * RATE,
        `unshaped, the transfer is well above the rate (${(free.bps / 1e6).toFixed(1)} Mbit/s)`,
      );
      const ratio = bps / payloadRate(RATE);
      assert.ok(
        ratio >= lo && ratio <= hi,
        `measured ${(bps / 1e6).toFixed(3)} Mbit/s (${ratio.toFixed(2)}× the rate)`,
      );

      // Faults gone: everyone reaches everyone again, the namespaces hold nothing of ours.
      await write([]);
      await ready(fx.file, 60_000 * slow);
      assert.deepEqual(failing(await pingMatrix(names, fx.dn, ip)), []);
      for (const n of names) assert.deepEqual(await ownedRules((await inspect(fx.dn(n))).State.Pid), [], `${n} clean`);
    },
  );
}
