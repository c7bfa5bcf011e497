// Real kernel, real rules: compile two ledgers, apply them inside a scratch pair of network
// namespaces (never the host's), read the kernel back with our parsers, and prove that
//   - the diff is then empty (re-applying is a no-op),
//   - the faults behave like a network: the sender's send() succeeds while packets vanish,
//   - teardown leaves nothing of ours behind.
// Skipped, with the reason printed, when not root or without `ip netns` / tc / iptables-restore.
import assert from 'node:assert/strict';
import { eventually } from '../../eventually.js';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { FaultSpec } from '../../../src/api/types.js';
import {
  PROBE_PROGRAM,
  buildEntries,
  compileLedger,
  diffLedger,
  emptyDesired,
  formatDiff,
  observeNetns,
  ownedButUnwanted,
  parseIptablesSave,
  parseProbe,
  parseTcQdiscs,
  readbackCommands,
  type Capabilities,
  type CompiledLedger,
  type LedgerDiff,
  type LedgerEntry,
  type ObservedNetns,
  type ResolvedFault,
} from '../../../src/netfaults/index.js';
import { ingressShapingPossible } from '../../../src/netfaults/ledger.js';

const NS_A = `fl-nf-t${process.pid}a`;
const NS_B = `fl-nf-t${process.pid}b`;
const A4 = '10.213.200.1';
const B4 = '10.213.200.2';
const A6 = 'fd00:213:200::1';
const B6 = 'fd00:213:200::2';

function sh(argv: string[], stdin = ''): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
const inNs = (ns: string, argv: string[], stdin = '') => sh(['ip', 'netns', 'exec', ns, ...argv], stdin);

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  if (sh(['ip', 'netns', 'list']).code !== 0) return '`ip netns` is not available';
  for (const tool of ['tc', 'iptables-restore', 'ip6tables-restore', 'iptables-save']) {
    if (sh(['sh', '-c', `command -v ${tool}`]).code !== 0) return `${tool} is not installed`;
  }
  return false;
}

const SKIP = skipReason();
if (SKIP) console.log(`# netfaults kernel test skipped: ${SKIP}`);

function must(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

function execute(ns: string, diff: LedgerDiff): void {
  for (const s of diff.steps) must(inNs(ns, s.argv, s.stdin), `${s.what} in ${ns}\n${s.stdin}`);
}

function observe(ns: string, interfaces: string[]): ObservedNetns {
  const links = inNs(ns, ['ip', '-j', '-d', 'link', 'show']).stdout;
  const ifbs = (JSON.parse(links) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith('flifb-'));
  const perDevice: Record<string, { classes?: string; filters?: string; ingressFilters?: string }> = {};
  const out: Record<string, string> = {};
  for (const c of readbackCommands(interfaces, ifbs)) {
    const r = inNs(ns, c.argv);
    if (c.dev) {
      const p = (perDevice[c.dev] ??= {});
      if (c.id === 'classes') p.classes = r.stdout;
      if (c.id === 'filters') p.filters = r.stdout;
      if (c.id === 'ingress-filters') p.ingressFilters = r.stdout;
    } else out[c.id] = r.code === 0 ? r.stdout : '';
  }
  return observeNetns({
    qdiscs: out.qdiscs,
    links: out.links,
    iptables: out.iptables,
    ip6tables: out.ip6tables,
    perDevice,
  });
}

/** Send UDP datagrams from inside `ns`; returns what send() reported ("ok" or the errno code). */
function udpSend(ns: string, host: string, port: number, count = 5): string {
  const script = `
    const s = require('node:dgram').createSocket('${host.includes(':') ? 'udp6' : 'udp4'}');
    let left = ${count}, result = 'ok';
    const next = () => left-- ? s.send('x', ${port}, '${host}', (e) => { if (e) result = e.code; next(); }) : (console.log(result), s.close());
    next();`;
  const r = inNs(ns, [process.execPath, '-e', script]);
  return r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${r.stderr}`;
}

function compile(netns: string, faults: [FaultSpec, ResolvedFault][], caps: Capabilities): CompiledLedger {
  const entries: LedgerEntry[] = faults.flatMap(([f, r]) => buildEntries('kt', f, r, caps).entries);
  return compileLedger({ netns, interfaces: ['eth0'], entries }, caps);
}

describe('netfaults on a real kernel (scratch netns pair)', { skip: SKIP }, () => {
  let caps: Capabilities;
  let a: CompiledLedger;
  let b: CompiledLedger;

  before(() => {
    const vethA = `flt${process.pid}a`.slice(0, 15);
    const vethB = `flt${process.pid}b`.slice(0, 15);
    for (const argv of [
      ['ip', 'netns', 'add', NS_A],
      ['ip', 'netns', 'add', NS_B],
      ['ip', 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB],
      ['ip', 'link', 'set', vethA, 'netns', NS_A],
      ['ip', 'link', 'set', vethB, 'netns', NS_B],
      ['ip', '-n', NS_A, 'link', 'set', vethA, 'name', 'eth0'],
      ['ip', '-n', NS_B, 'link', 'set', vethB, 'name', 'eth0'],
      ['ip', '-n', NS_A, 'addr', 'add', `${A4}/24`, 'dev', 'eth0'],
      ['ip', '-n', NS_B, 'addr', 'add', `${B4}/24`, 'dev', 'eth0'],
      ['ip', '-n', NS_A, 'addr', 'add', `${A6}/64`, 'dev', 'eth0', 'nodad'],
      ['ip', '-n', NS_B, 'addr', 'add', `${B6}/64`, 'dev', 'eth0', 'nodad'],
      ['ip', '-n', NS_A, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', NS_B, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', NS_A, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', NS_B, 'link', 'set', 'lo', 'up'],
    ])
      must(sh(argv), argv.join(' '));
    caps = parseProbe(PROBE_PROGRAM.map((s) => ({ id: s.id, ...inNs(NS_A, s.argv) })));
    assert.ok(
      caps.htb && caps.u32 && caps.tbf && caps.iptables,
      `this kernel cannot run the test: ${JSON.stringify(caps)}`,
    );
    const peerB: ResolvedFault = { peersV4: [B4], peersV6: [B6] };
    const faultsA: [FaultSpec, ResolvedFault][] = [
      [{ name: 'thin', peers: { names: ['b'] }, bandwidth: { rate: '1mbit' } }, peerB],
      [
        { name: 'hole', peers: { names: ['b'] }, protocol: 'udp', ports: ['9999'], direction: 'egress', blackhole: {} },
        peerB,
      ],
      [{ name: 'lossy', peers: { names: ['b'] }, protocol: 'udp', ports: ['9997'], netem: { loss: '100%' } }, peerB],
      [
        { name: 'refuse', peers: { names: ['b'] }, ports: ['7'], direction: 'ingress', reject: { with: 'tcp-reset' } },
        peerB,
      ],
    ];
    // Everything a receives from b is lost (IPv4 and IPv6) — but not b's neighbour solicitations.
    faultsA.push([{ name: 'deaf', peers: { names: ['b'] }, direction: 'ingress', netem: { loss: '100%' } }, peerB]);
    if (ingressShapingPossible(caps))
      faultsA.push([
        { name: 'in-thin', peers: { names: ['b'] }, direction: 'ingress', bandwidth: { rate: '5mbit' } },
        peerB,
      ]);
    a = compile(NS_A, faultsA, caps);
    b = compile(
      NS_B,
      [[{ name: 'split', partition: { groups: [['a'], ['b']] } }, { partitionDropFrom: { v4: [A4], v6: [A6] } }]],
      caps,
    );
  });

  after(() => {
    sh(['ip', 'netns', 'del', NS_A]);
    sh(['ip', 'netns', 'del', NS_B]);
  });

  it('applies, and the read-back then diffs to zero commands', () => {
    execute(NS_A, a.apply);
    execute(NS_B, b.apply);
    const da = diffLedger(a, observe(NS_A, ['eth0']));
    const db = diffLedger(b, observe(NS_B, ['eth0']));
    assert.equal(da.empty, true, formatDiff(da));
    assert.equal(db.empty, true, formatDiff(db));
    assert.deepEqual([...da.pendingKeys, ...db.pendingKeys], []);
  });

  it('egress blackhole drops below the socket: send() succeeds, the blackhole leaf counts the drops', async () => {
    assert.equal(udpSend(NS_A, B4, 9999), 'ok');
    const minor = a.devices
      .find((d) => d.dev === 'eth0')!
      .classes.find((c) => c.keys.includes('kt/hole'))!
      .minor.toString(16);
    await eventually(() => {
      const q = parseTcQdiscs(inNs(NS_A, ['tc', '-s', '-j', 'qdisc', 'show', 'dev', 'eth0']).stdout, 'eth0');
      const leaf = q.find((x) => x.handle === `${minor}:`);
      return (
        leaf?.kind === 'blackhole' &&
        JSON.parse(inNs(NS_A, ['tc', '-s', '-j', 'qdisc', 'show', 'dev', 'eth0']).stdout).some(
          (r: { handle: string; drops?: number }) => r.handle === `${minor}:` && (r.drops ?? 0) >= 5,
        )
      );
    }, 'blackhole leaf drops >= 5');
  });

  it('egress loss (netem, or without it: statistic MARK → bpf → blackhole) never fails send()', async () => {
    assert.equal(udpSend(NS_A, B4, 9997), 'ok');
    const dropsOf = (key: string) => {
      const classes = a.devices.find((d) => d.dev === 'eth0')!.classes.filter((c) => c.keys.includes(key));
      const handles = new Set(classes.map((c) => `${c.minor.toString(16)}:`));
      return (
        JSON.parse(inNs(NS_A, ['tc', '-s', '-j', 'qdisc', 'show', 'dev', 'eth0']).stdout) as {
          handle: string;
          drops?: number;
        }[]
      )
        .filter((r) => handles.has(r.handle))
        .reduce((n, r) => n + (r.drops ?? 0), 0);
    };
    await eventually(() => dropsOf('kt/lossy') >= 5, 'the loss class dropped the 5 datagrams');
  });

  it('partition drops on the RECEIVER: the sender sees success, the receiver INPUT counts the drops', async () => {
    assert.equal(udpSend(NS_A, B4, 9998), 'ok');
    assert.equal(udpSend(NS_A, B6, 9998), 'ok');
    const counted = (tool: string) => {
      const rule = inNs(NS_B, [tool, '-c'])
        .stdout.split('\n')
        .find((l) => l.includes('-A FAULTLINE-INPUT') && l.includes('faultline:kt/split'));
      return Number(/^\[(\d+):/.exec(rule ?? '')?.[1] ?? 0);
    };
    // IPv6: b also drops a's neighbour solicitations (they come from a's address — a partition
    // cuts NDP as a broken link would), so a may never get to send the datagrams themselves.
    await eventually(
      () => counted('iptables-save') >= 5 && counted('ip6tables-save') >= 1,
      'FAULTLINE-INPUT drop counters on b',
    );
  });

  it('IPv6 loss by iptables statistic lets neighbour discovery through, as IPv4 loss lets ARP', async (t) => {
    const rules6 = a.ip6tables.chains.flatMap((c) => c.rules).filter((r) => r.key === 'kt/deaf');
    if (!rules6.some((r) => r.spec.includes('-m statistic'))) return t.skip('ingress loss is netem here, not iptables');
    assert.ok(
      rules6.every((r) => r.spec.includes('-m hl ! --hl-eq 255 -m statistic')),
      rules6.map((r) => r.spec).join('\n'),
    );
    const rules4 = a.iptables.chains.flatMap((c) => c.rules).filter((r) => r.key === 'kt/deaf');
    assert.ok(rules4.length > 0 && rules4.every((r) => !r.spec.includes('-m hl')), 'IPv4 has no hop-limit match');
    // b solicits a's IPv6 address (from b's own): a receives the solicitation although 100% of what
    // comes from b is lost. Without the exemption the statistic rule drops it before ICMPv6 sees it.
    const solicits = () =>
      Number(/Icmp6InNeighborSolicits\s+(\d+)/.exec(inNs(NS_A, ['cat', '/proc/net/snmp6']).stdout)?.[1] ?? NaN);
    const before = solicits();
    sh(['ip', '-n', NS_B, 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(udpSend(NS_B, A6, 9996), 'ok');
    await eventually(() => solicits() > before, "a's ICMPv6 counted b's neighbour solicitation");
    // while datagrams from b are lost at a's INPUT (IPv4: ARP never passes iptables anyway).
    assert.equal(udpSend(NS_B, A4, 9996), 'ok');
    const dropped = () => {
      const rule = inNs(NS_A, ['iptables-save', '-c'])
        .stdout.split('\n')
        .find((l) => l.includes('-A FAULTLINE-INPUT') && l.includes('faultline:kt/deaf'));
      return Number(/^\[(\d+):/.exec(rule ?? '')?.[1] ?? 0);
    };
    await eventually(() => dropped() >= 5, 'the statistic rule dropped the 5 IPv4 datagrams from b');
  });

  it('teardown from the read-back leaves nothing of ours behind', () => {
    for (const [ns, c] of [
      [NS_A, a],
      [NS_B, b],
    ] as const) {
      const t = diffLedger(emptyDesired(c.interfaces), observe(ns, ['eth0']));
      assert.equal(t.empty, false);
      execute(ns, t);
      const o = observe(ns, ['eth0']);
      assert.deepEqual(ownedButUnwanted(o, []), []);
      assert.equal(diffLedger(emptyDesired(c.interfaces), o).empty, true);
      assert.equal(o.devices.find((d) => d.dev === 'eth0')?.root?.handle, '0:', 'root back to the kernel default');
      assert.equal(o.links.filter((l) => l.name.startsWith('flifb-')).length, 0);
      for (const tool of ['iptables-save', 'ip6tables-save']) {
        const st = parseIptablesSave(inNs(ns, [tool]).stdout);
        for (const t of Object.values(st.tables)) {
          assert.equal(t.chains.filter((x) => x.startsWith('FAULTLINE')).length, 0, `${tool}: ${JSON.stringify(t)}`);
          assert.equal(t.rules.filter((r) => r.spec.includes('FAULTLINE') || r.spec.includes('faultline:')).length, 0);
        }
      }
    }
  });
});
