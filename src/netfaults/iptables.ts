// iptables compilation: our own chains, rebuilt as a whole by `iptables-restore --noflush`.
//
// CHAINS (the only ones we ever write; nothing else is flushed, replaced or reordered):
//   filter FAULTLINE-INPUT   jumped from INPUT, rule 1   drops/rejects on the RECEIVING side
//   filter FAULTLINE-OUTPUT  jumped from OUTPUT, rule 1  egress reject (fails fast on purpose)
//   filter FAULTLINE-TAGS    never jumped to             the tc class → scenario/fault map
//   mangle FAULTLINE-MARK    jumped from mangle OUTPUT   marks packets for the egress-loss fallback
// In a --noflush restore, a line `:FAULTLINE-INPUT - [0:0]` creates the chain or flushes THAT chain
// only; tables are never flushed, so Docker's embedded-DNS rules (nat DOCKER_OUTPUT /
// DOCKER_POSTROUTING) and a user's own rules survive. The jump is inserted only when absent (the
// diff reads iptables-save first) and kept at position 1: we sit before any
// `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`, so established connections are cut too.
//
// WHERE EACH FAULT IS ENFORCED, and why:
//   partition (container ↔ container)  DROP in the receiver's FAULTLINE-INPUT (-s sender). Packets
//       vanish in flight: the sender's send() succeeds and its connections time out, as with a real
//       partition. A DROP in the sender's OUTPUT would make its own syscall fail with EPERM at
//       once (nf_hook_slow returns -EPERM for NF_DROP; verified on Linux 6.18: UDP sendto → EPERM,
//       while a TCP connect just times out) — no network does that. For IPv6 the receiver also
//       drops the sender's neighbour solicitations (sourced from its address): NDP fails as it
//       would over a cut link.
//   blackhole ingress                   DROP in FAULTLINE-INPUT.
//   blackhole egress                    not here: tc blackhole class (tc.ts), below the socket.
//   reject                              REJECT in FAULTLINE-INPUT (ingress, -s) / FAULTLINE-OUTPUT
//       (egress, -d): the one fault that fails fast. tcp → `--reject-with tcp-reset`; anything else
//       → icmp-port-unreachable (icmp6-port-unreachable for IPv6).
//   loss-statistic ingress              `-m statistic --mode random --probability p -j DROP` in
//       FAULTLINE-INPUT. For IPv6 the rule skips neighbour discovery (`-m hl ! --hl-eq 255`: RFC
//       4861 sends RS/RA/NS/NA/redirects with hop limit 255 and a receiver discards them with any
//       other, and a routed packet never arrives with 255), as IPv4's loss never touches ARP (ARP
//       does not pass iptables). Without it, a lost solicitation or advertisement holds the peer's
//       packets in its neighbour queue for a retransmit second and releases them in one burst
//       (measured: a ping -6 at 10 ms lost 30-40 replies in its own socket buffer that way, though
//       b received and answered inside the binomial interval), and three in a row (0.3³ at 30%)
//       fail address resolution for seconds: loss of one kind turned into an outage.
//   loss-statistic egress               mangle FAULTLINE-MARK sets mark 0x800000; tc drops marked
//       packets (tc.ts). Only when tc cannot: a statistic DROP in FAULTLINE-OUTPUT, reported as
//       degraded because the sender then sees EPERM for the lost packets.
//   dns drop / refuse                   DROP / REJECT in FAULTLINE-INPUT of queries to Docker's
//       embedded resolver (`-d 127.0.0.11/32`): they arrive over lo, already DNATed by Docker
//       (nat DOCKER_OUTPUT) from port 53 to the resolver's own port, so the address is what names
//       them (replies come FROM 127.0.0.11). Refuse: udp → icmp-port-unreachable (the resolver
//       seems not to listen), tcp → tcp-reset. By name: `-m string --hex-string` of the name in DNS
//       wire form, labels with their lengths and the final root label, "db" → |02 64 62 00|, from
//       byte 40 (20 IP + 8 UDP + 12 DNS header), case-insensitive: it matches the name and every
//       name under it (a.db ends with the same bytes), never mydb (the length byte differs).
//   dns delay by name                   mangle FAULTLINE-MARK marks the queries for those names
//       (before Docker's DNAT: `-p udp -m udp --dport 53`) with the fault's bit of 0x7f0000; tc on
//       lo delays marked packets (tc.ts, bpf.ts). Without names, tc alone (dst 127.0.0.11).
//
// Rules are written in exactly the form iptables-save prints them (addresses with prefix length,
// -s/-d, -p, matches in order, the statistic probability as iptables-save rounds it), so the
// read-back compares as text.
//
// Worked example — db's ledger: shop/split (partition: drop from api 10.213.0.2), shop/refuse
// (reject tcp-reset on ports 8000-8100 from anyone, ingress):
//
//   *filter
//   :FAULTLINE-INPUT - [0:0]
//   -I INPUT 1 -j FAULTLINE-INPUT
//   -A FAULTLINE-INPUT -s 10.213.0.2/32 -m comment --comment "faultline:shop/split" -j DROP
//   -A FAULTLINE-INPUT -p tcp -m multiport --ports 8000:8100 -m comment --comment "faultline:shop/refuse" -j REJECT --reject-with tcp-reset
//   COMMIT

import type { Capabilities } from './caps.js';
import { readCidr, type IpFamily } from '../api/net.js';
import { EMBEDDED_RESOLVER, commentFor, entryKey, type Degraded, type Ledger, type LedgerEntry } from './ledger.js';
import { DROP_MARK, hex, markDropPossible, tcDropPossible, type Tag } from './tc.js';

export const CHAIN_INPUT = 'FAULTLINE-INPUT';
export const CHAIN_OUTPUT = 'FAULTLINE-OUTPUT';
export const CHAIN_TAGS = 'FAULTLINE-TAGS';
export const CHAIN_MARK = 'FAULTLINE-MARK';

export type Table = 'filter' | 'mangle';

/** An owned chain and the built-in chain that jumps to it (none for the tag chain). */
export interface OwnedChainDef {
  table: Table;
  chain: string;
  hook?: 'INPUT' | 'OUTPUT';
}

export const OWNED_CHAINS: readonly OwnedChainDef[] = Object.freeze([
  { table: 'filter', chain: CHAIN_INPUT, hook: 'INPUT' },
  { table: 'filter', chain: CHAIN_OUTPUT, hook: 'OUTPUT' },
  { table: 'filter', chain: CHAIN_TAGS },
  { table: 'mangle', chain: CHAIN_MARK, hook: 'OUTPUT' },
] as OwnedChainDef[]);

/** One rule as iptables-save prints it after "-A <chain> ", plus who wants it. */
export interface DesiredRule {
  spec: string;
  key: string;
}

export interface DesiredChain extends OwnedChainDef {
  rules: DesiredRule[];
}

export interface IptablesDesired {
  family: IpFamily;
  /** Only chains with at least one rule; an owned chain missing here must not exist. */
  chains: DesiredChain[];
}

/** iptables-save's spelling of a statistic probability: lround(p·2³¹)/2³¹ with 11 decimals. */
export function renderProbability(pct: number): string {
  const p = Math.min(Math.max(pct / 100, 0), 1);
  return (Math.round(p * 0x80000000) / 0x80000000).toFixed(11);
}

/** "--ports" lists hold at most 15 slots, a range counting as two. */
export function portLists(ports: [number, number][]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let slots = 0;
  for (const [lo, hi] of ports) {
    const w = lo === hi ? 1 : 2;
    if (slots + w > 15) {
      out.push(cur.join(','));
      cur = [];
      slots = 0;
    }
    cur.push(lo === hi ? `${lo}` : `${lo}:${hi}`);
    slots += w;
  }
  if (cur.length) out.push(cur.join(','));
  return out;
}

const quote = (s: string) => `"${s}"`;

/**
 * The port part of rules, one variant per rule: `-m multiport --ports` (either end), or `--sports`
 * and/or `--dports` (both must hold, two matches in one rule); [undefined] when no ports.
 *   ([[5432,5432]])                     → ['-m multiport --ports 5432']
 *   (undefined, [[1024,65535]], [[80,80]]) → ['-m multiport --sports 1024:65535 -m multiport --dports 80']
 */
export function portMatchParts(
  ports?: [number, number][],
  sports?: [number, number][],
  dports?: [number, number][],
): (string | undefined)[] {
  if (ports) return portLists(ports).map((l) => `-m multiport --ports ${l}`);
  if (!sports && !dports) return [undefined];
  return (sports ? portLists(sports) : [undefined]).flatMap((sl) =>
    (dports ? portLists(dports) : [undefined]).map((dl) =>
      [sl && `-m multiport --sports ${sl}`, dl && `-m multiport --dports ${dl}`].filter(Boolean).join(' '),
    ),
  );
}

export function protoName(p: 'tcp' | 'udp' | 'icmp', family: IpFamily): string {
  return p === 'icmp' ? (family === 4 ? 'icmp' : 'ipv6-icmp') : p;
}

/** A DNS name in wire form, as iptables-save prints a --hex-string: "a.db" → "|01610264620|00|"-style. */
export function dnsWireHex(name: string): string {
  const bytes: number[] = [];
  for (const label of name.split('.')) {
    const b = [...Buffer.from(label, 'ascii')];
    bytes.push(b.length, ...b);
  }
  bytes.push(0);
  return `|${bytes.map((x) => x.toString(16).padStart(2, '0')).join('')}|`;
}

/** `-m string` matches of a name (query names start at byte 40 of a UDP query without IP options). */
export function dnsNameMatch(name: string): string {
  return `-m string --hex-string "${dnsWireHex(name)}" --algo bm --from 40 --icase`;
}

/** The bits of the packet mark DNS delays by name use: one bit per fault, 0x10000 … 0x400000. */
export const DNS_MARK_BITS = [0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];

/** The rules of a DNS entry (drop, refuse; a delay by names marks its queries). */
function dnsRules(
  e: LedgerEntry,
  family: IpFamily,
  comment: string,
  mark: number | undefined,
): { table: Table; chain: string; spec: string }[] {
  if (family !== 4) return []; // the embedded resolver is IPv4 only
  const names = e.match.dns?.names;
  const dst = `-d ${EMBEDDED_RESOLVER}/32`;
  const byName = (names ?? [undefined]).map((n) => (n ? ` ${dnsNameMatch(n)}` : ''));
  switch (e.action) {
    case 'dns-drop':
      return byName.map((n) => ({ table: 'filter', chain: CHAIN_INPUT, spec: `${dst}${n} ${comment} -j DROP` }));
    case 'dns-refuse':
      return byName.flatMap((n) => [
        {
          table: 'filter' as Table,
          chain: CHAIN_INPUT,
          spec: `${dst} -p udp${n} ${comment} -j REJECT --reject-with icmp-port-unreachable`,
        },
        {
          table: 'filter' as Table,
          chain: CHAIN_INPUT,
          spec: `${dst} -p tcp${n} ${comment} -j REJECT --reject-with tcp-reset`,
        },
      ]);
    case 'netem': {
      if (!names || !mark) return [];
      const set = `-j MARK --set-xmark 0x${hex(mark)}/0x${hex(mark)}`;
      return byName.flatMap((n) =>
        ['udp', 'tcp'].map((p) => ({
          table: 'mangle' as Table,
          chain: CHAIN_MARK,
          spec: `${dst} -p ${p} -m ${p} --dport 53${n} ${comment} ${set}`,
        })),
      );
    }
    default:
      return [];
  }
}

/** IPv6 neighbour discovery is sent with hop limit 255 (RFC 4861): loss rules let it through. */
export const NOT_NEIGHBOUR_DISCOVERY = '-m hl ! --hl-eq 255';

/** The rules one entry contributes to one family (possibly none). */
export function rulesFor(
  e: LedgerEntry,
  family: IpFamily,
  caps: Capabilities,
  dnsMark?: number,
): { table: Table; chain: string; spec: string }[] {
  const m = e.match;
  const comment = `-m comment --comment ${quote(commentFor(e))}`;
  if (m.dns) return dnsRules(e, family, comment, dnsMark);
  const ingress = m.direction === 'ingress';
  let table: Table = 'filter';
  let chain = ingress ? CHAIN_INPUT : CHAIN_OUTPUT;
  let target: (proto: string | undefined) => string;
  let pre = '';
  switch (e.action) {
    case 'partition-drop':
    case 'blackhole':
      target = () => '-j DROP';
      break;
    case 'reject': {
      const unreach = family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
      target = (proto) =>
        `-j REJECT --reject-with ${e.params.with === 'tcp-reset' && proto === 'tcp' ? 'tcp-reset' : unreach}`;
      break;
    }
    case 'loss-statistic':
      pre = `-m statistic --mode random --probability ${renderProbability(e.params.lossPct)}`;
      if (!ingress && markDropPossible(caps)) {
        table = 'mangle';
        chain = CHAIN_MARK;
        target = () => `-j MARK --set-xmark 0x${hex(DROP_MARK)}/0x${hex(DROP_MARK)}`;
      } else target = () => '-j DROP';
      break;
    default:
      return [];
  }
  const addrs: (string | undefined)[] = !m.peers
    ? [undefined]
    : (family === 4 ? m.peers.v4 : m.peers.v6).map((c) => (readCidr(c)?.prefix === 0 ? undefined : c));
  const icmp = m.protocol === 'icmp';
  const ports = icmp ? undefined : m.ports;
  const sports = icmp ? undefined : m.sourcePorts;
  const dports = icmp ? undefined : m.destinationPorts;
  let protos: (string | undefined)[];
  if (ports || sports || dports) protos = m.protocol === 'all' ? ['tcp', 'udp'] : [m.protocol];
  else if (m.protocol === 'all')
    protos = e.action === 'reject' && e.params.with === 'tcp-reset' ? ['tcp', undefined] : [undefined];
  else protos = [protoName(m.protocol, family)];
  const out: { table: Table; chain: string; spec: string }[] = [];
  const portMatches = portMatchParts(ports, sports, dports);
  for (const addr of addrs)
    for (const proto of protos)
      for (const plist of portMatches) {
        const parts: string[] = [];
        if (addr) parts.push(`${ingress ? '-s' : '-d'} ${addr}`);
        if (proto) parts.push(`-p ${proto}`);
        if (plist) parts.push(plist);
        if (e.action === 'reject') {
          // Never reject what REJECT itself sends: the RST answering a rejected SYN leaves through
          // OUTPUT with the same ports (a `both` fault, or `egress` on the sender, would swallow
          // it and the peer would time out instead of being refused); the ICMP error answering a
          // rejected datagram is RELATED to it. Measured: without these, both cases time out.
          if (proto === 'tcp') parts.push('-m tcp ! --tcp-flags RST RST');
          else parts.push('-m conntrack ! --ctstate RELATED');
        }
        if (e.action === 'loss-statistic' && family === 6 && (proto === undefined || proto === 'ipv6-icmp'))
          parts.push(NOT_NEIGHBOUR_DISCOVERY);
        if (pre) parts.push(pre);
        parts.push(comment, target(proto));
        out.push({ table, chain, spec: parts.join(' ') });
      }
  return out;
}

/** Entries that iptables carries (given what tc can do). */
export function isIptablesEntry(e: LedgerEntry, caps: Capabilities): boolean {
  if (e.action === 'partition-drop' || e.action === 'reject' || e.action === 'loss-statistic') return true;
  if (e.action === 'dns-drop' || e.action === 'dns-refuse') return true;
  if (e.action === 'netem' && e.match.dns?.names) return true; // marks its queries by name
  if (e.action === 'blackhole') return e.match.direction === 'ingress' || !tcDropPossible(caps);
  return false;
}

/** Tag rule: `-m comment --comment "faultline:shop/slow-db tc eth0 1fa1:2a3b" -j RETURN`. */
export function tagSpec(key: string, dev: string, classid: string): string {
  return `-m comment --comment ${quote(`faultline:${key} tc ${dev} ${classid}`)} -j RETURN`;
}

export function desiredIptables(
  ledger: Ledger,
  caps: Capabilities,
  family: IpFamily,
  tags: Tag[],
  dnsMarks: ReadonlyMap<string, number> = new Map(),
): { desired: IptablesDesired; degraded: Degraded[]; mechanisms: Map<string, Set<string>> } {
  const degraded: Degraded[] = [];
  const mechanisms = new Map<string, Set<string>>();
  const backend = family === 4 ? caps.iptables : caps.ip6tables;
  const chains = new Map<string, DesiredChain>();
  const chainFor = (table: Table, chain: string) => {
    const k = `${table}/${chain}`;
    if (!chains.has(k))
      chains.set(k, { ...OWNED_CHAINS.find((c) => c.chain === chain && c.table === table)!, rules: [] });
    return chains.get(k)!;
  };
  for (const e of ledger.entries) {
    if (!isIptablesEntry(e, caps)) continue;
    const key = entryKey(e);
    const rules = rulesFor(e, family, caps, dnsMarks.get(key));
    if (rules.length === 0) continue;
    const base = { scenario: e.scenario, fault: e.fault };
    const tool = family === 4 ? 'iptables' : 'ip6tables';
    if (backend === null) {
      degraded.push({
        ...base,
        reason: 'KernelLacksIptables',
        message: `fault "${e.fault}": ${tool} is not usable in this network namespace; ${e.action} cannot be applied for IPv${family} (install ${tool} with the comment match in the helper, or load ip${family === 6 ? '6' : ''}_tables/nf_tables)`,
      });
      continue;
    }
    if (e.action === 'loss-statistic' && !caps.statistic) {
      degraded.push({
        ...base,
        reason: 'KernelLacksStatistic',
        message: `fault "${e.fault}": kernel has no xt_statistic; loss cannot be applied (load xt_statistic, or sch_netem)`,
      });
      continue;
    }
    if (e.action === 'reject' && !caps.reject) {
      degraded.push({
        ...base,
        reason: 'KernelLacksIptables',
        message: `fault "${e.fault}": kernel has no REJECT target; reject cannot be applied (load ipt_REJECT/nft_reject)`,
      });
      continue;
    }
    if (e.match.dns?.names && !caps.string) {
      degraded.push({
        ...base,
        reason: 'KernelLacksString',
        message: `fault "${e.fault}": kernel has no xt_string; DNS queries cannot be matched by name, so nothing of the fault is applied (load xt_string, or give no names)`,
      });
      continue;
    }
    if (e.action === 'dns-refuse' && !caps.reject) {
      degraded.push({
        ...base,
        reason: 'KernelLacksIptables',
        message: `fault "${e.fault}": kernel has no REJECT target; dns refuse cannot be applied (load ipt_REJECT/nft_reject)`,
      });
      continue;
    }
    if (e.action === 'netem' && !caps.mark) {
      degraded.push({
        ...base,
        reason: 'KernelLacksIptables',
        message: `fault "${e.fault}": kernel has no MARK target; DNS queries cannot be delayed by name (load xt_mark, or give no names)`,
      });
      continue;
    }
    const anyPorts = e.match.ports || e.match.sourcePorts || e.match.destinationPorts;
    if (anyPorts && !caps.multiport && e.match.protocol !== 'icmp') {
      degraded.push({
        ...base,
        reason: 'KernelLacksIptables',
        message: `fault "${e.fault}": kernel has no xt_multiport; ${e.action} on ports cannot be applied (load xt_multiport)`,
      });
      continue;
    }
    if (e.action === 'blackhole' && e.match.direction === 'egress') {
      degraded.push({
        ...base,
        reason: caps.htb ? 'KernelLacksU32' : 'KernelLacksHtb',
        message: `fault "${e.fault}": kernel has no ${caps.htb ? 'cls_u32' : 'sch_htb'}; egress blackhole falls back to an iptables OUTPUT drop, so the sender's own send() fails with EPERM instead of timing out (load ${caps.htb ? 'cls_u32' : 'sch_htb'})`,
      });
    }
    if (e.action === 'loss-statistic' && e.match.direction === 'egress' && !markDropPossible(caps)) {
      degraded.push({
        ...base,
        reason: 'KernelLacksU32',
        message: `fault "${e.fault}": egress loss falls back to an iptables OUTPUT drop, so the sender's send() fails with EPERM for lost packets (needs sch_htb, cls_u32 with mark, and the MARK target to drop below the socket)`,
      });
    }
    for (const r of rules) chainFor(r.table, r.chain).rules.push({ spec: r.spec, key });
    if (!mechanisms.has(key)) mechanisms.set(key, new Set());
    mechanisms.get(key)!.add(e.action === 'loss-statistic' ? 'iptables-statistic' : 'iptables');
  }
  // The tc tag map lives in the IPv4 table only (one copy is enough).
  if (family === 4 && backend !== null) {
    for (const t of tags)
      for (const k of t.keys) chainFor('filter', CHAIN_TAGS).rules.push({ spec: tagSpec(k, t.dev, t.classid), key: k });
  }
  const order = (c: OwnedChainDef) => OWNED_CHAINS.findIndex((o) => o.chain === c.chain && o.table === c.table);
  return {
    desired: { family, chains: [...chains.values()].sort((a, b) => order(a) - order(b)) },
    degraded,
    mechanisms,
  };
}
