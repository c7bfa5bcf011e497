// Packet matches as ATOMS — conjunctions that one u32 filter can express — and their intersections.
//
// An entry's match (peers × ports × protocol) is a union of atoms:
//   { peers: [10.213.0.3/32], ports: [[5432,5432]], protocol: 'all' }   (egress)
//   → dst 10.213.0.3/32 ∧ tcp ∧ sport 5432     dst 10.213.0.3/32 ∧ tcp ∧ dport 5432
//     dst 10.213.0.3/32 ∧ udp ∧ sport 5432     dst 10.213.0.3/32 ∧ udp ∧ dport 5432
// ("ports" means source OR destination port, hence one atom per side; sourcePorts × destinationPorts
// give one atom per pair, both sides in it.)
//
// DNS entries (match.dns) are queries to Docker's embedded resolver: dst 127.0.0.11/32 (on `lo`),
// and when they name names, a packet-mark bit that iptables sets on the queries for those names
// (the mark is what tc can test: the name is in the payload). A mark bit is a condition like any
// other: the intersection of two atoms needs both bits.
//
// Stacked tc faults need the packets matched by SEVERAL entries (tc.ts builds one class per set of
// entries); the intersection of two atoms is again an atom or empty, and it stays exact even for
// the port sides: (sport∈A ∨ dport∈A) ∧ (sport∈B ∨ dport∈B) expands into the four side pairs,
// e.g. sport∈A ∧ dport∈B, which u32 matches with two keys.

import { cidrContainsCidr, intersectCidr, readCidr, type IpFamily } from '../api/net.js';
import { portBlocks, u32Words } from './u32.js';
import { EMBEDDED_RESOLVER, type EntryMatch, type MatchDirection } from './ledger.js';

export type AtomProto = 'tcp' | 'udp' | 'icmp';

export interface Atom {
  family: IpFamily;
  /** Peer prefix (destination for egress, source for ingress); absent = any. */
  cidr?: string;
  proto?: AtomProto;
  sport?: [number, number];
  dport?: [number, number];
  /** Packet-mark bits that must all be set (DNS queries by name); absent = any mark. */
  mark?: number;
}

export const PROTO_NUMBER: Record<AtomProto, Record<IpFamily, number>> = {
  tcp: { 4: 6, 6: 6 },
  udp: { 4: 17, 6: 17 },
  icmp: { 4: 1, 6: 58 },
};

/** The atoms of a match; `mark`: the mark bit iptables sets for a DNS entry with names. */
export function atomsOf(match: EntryMatch, mark?: number): Atom[] {
  if (match.dns) {
    const a: Atom = { family: 4, cidr: `${EMBEDDED_RESOLVER}/32` };
    if (match.dns.names && mark) a.mark = mark;
    return [a];
  }
  const cidrs: { family: IpFamily; cidr?: string }[] = [];
  if (!match.peers) cidrs.push({ family: 4 }, { family: 6 });
  else {
    for (const c of match.peers.v4) cidrs.push(readCidr(c)?.prefix === 0 ? { family: 4 } : { family: 4, cidr: c });
    for (const c of match.peers.v6) cidrs.push(readCidr(c)?.prefix === 0 ? { family: 6 } : { family: 6, cidr: c });
  }
  const icmp = match.protocol === 'icmp';
  const ports = icmp ? undefined : match.ports;
  const sps = icmp ? undefined : match.sourcePorts;
  const dps = icmp ? undefined : match.destinationPorts;
  const anyPorts = !!(ports || sps || dps);
  const protos: (AtomProto | undefined)[] =
    match.protocol === 'all' ? (anyPorts ? ['tcp', 'udp'] : [undefined]) : [match.protocol];
  let sides: { sport?: [number, number]; dport?: [number, number] }[];
  if (ports) sides = ports.flatMap((r) => [{ sport: r }, { dport: r }]);
  else if (sps || dps)
    sides = (sps ?? [undefined]).flatMap((sp) => (dps ?? [undefined]).map((dp) => ({ sport: sp, dport: dp })));
  else sides = [{}];
  const out: Atom[] = [];
  for (const c of cidrs)
    for (const proto of protos)
      for (const s of sides) {
        const a: Atom = { family: c.family };
        if (c.cidr) a.cidr = c.cidr;
        if (proto) a.proto = proto;
        if (s.sport) a.sport = [s.sport[0], s.sport[1]];
        if (s.dport) a.dport = [s.dport[0], s.dport[1]];
        out.push(a);
      }
  return dedupeAtoms(out);
}

/**
 * Does u32 get this atom wrong? Its port keys sit at fixed offsets (no IPv4 options, no IPv6
 * extension headers) and an IPv6 "protocol" is the first Next Header; a mark needs cls_bpf.
 */
export function isDeepAtom(a: Atom): boolean {
  return !!(a.sport || a.dport || a.mark || (a.family === 6 && a.proto));
}

function intersectRange(a?: [number, number], b?: [number, number]): [number, number] | undefined | null {
  if (!a) return b ? [b[0], b[1]] : undefined;
  if (!b) return [a[0], a[1]];
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

export function intersectAtoms(a: Atom, b: Atom): Atom | null {
  if (a.family !== b.family) return null;
  const out: Atom = { family: a.family };
  if (a.cidr && b.cidr) {
    const c = intersectCidr(a.cidr, b.cidr);
    if (!c) return null;
    out.cidr = c;
  } else if (a.cidr || b.cidr) out.cidr = a.cidr ?? b.cidr;
  if (a.proto && b.proto && a.proto !== b.proto) return null;
  if (a.proto || b.proto) out.proto = a.proto ?? b.proto;
  const s = intersectRange(a.sport, b.sport);
  const d = intersectRange(a.dport, b.dport);
  if (s === null || d === null) return null;
  if (s) out.sport = s;
  if (d) out.dport = d;
  if (a.mark || b.mark) out.mark = ((a.mark ?? 0) | (b.mark ?? 0)) >>> 0;
  // Ports only exist for tcp/udp: a port condition with no protocol is still fine (u32 reads the
  // bytes), but with icmp it can never match.
  if (out.proto === 'icmp' && (out.sport || out.dport)) return null;
  return out;
}

/** Does `outer` match every packet `inner` matches? */
export function atomCovers(outer: Atom, inner: Atom): boolean {
  if (outer.family !== inner.family) return false;
  if (outer.cidr) {
    if (!inner.cidr) return false;
    const o = readCidr(outer.cidr)!;
    const i = readCidr(inner.cidr)!;
    if (!cidrContainsCidr(o, i)) return false;
  }
  if (outer.proto && outer.proto !== inner.proto) return false;
  if (outer.mark && ((inner.mark ?? 0) & outer.mark) !== outer.mark) return false;
  const rangeCovers = (o?: [number, number], i?: [number, number]) => !o || (!!i && o[0] <= i[0] && i[1] <= o[1]);
  return rangeCovers(outer.sport, inner.sport) && rangeCovers(outer.dport, inner.dport);
}

export function atomKey(a: Atom): string {
  return [
    a.family,
    a.cidr ?? '*',
    a.proto ?? '*',
    a.sport ? a.sport.join('-') : '*',
    a.dport ? a.dport.join('-') : '*',
    ...(a.mark ? [`m${a.mark.toString(16)}`] : []),
  ].join('|');
}

/** Remove duplicates and atoms covered by another; stable, sorted order. */
export function dedupeAtoms(atoms: Atom[]): Atom[] {
  const unique = new Map<string, Atom>();
  for (const a of atoms) unique.set(atomKey(a), a);
  const list = [...unique.values()];
  const kept = list.filter((a, i) => !list.some((b, j) => j !== i && atomCovers(b, a) && !(atomCovers(a, b) && j > i)));
  return kept.sort(compareAtoms);
}

export function compareAtoms(a: Atom, b: Atom): number {
  const ka = atomKey(a);
  const kb = atomKey(b);
  return a.family - b.family || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

/** All non-empty intersections of one atom of `xs` with one of `ys`. */
export function intersectAtomSets(xs: Atom[], ys: Atom[]): Atom[] {
  const out: Atom[] = [];
  for (const x of xs)
    for (const y of ys) {
      const z = intersectAtoms(x, y);
      if (z) out.push(z);
    }
  return dedupeAtoms(out);
}

// ---------------------------------------------------------------- u32

/** One 32-bit u32 key, as the kernel stores it and `tc -j filter show` prints it. */
export interface U32Key {
  off: number;
  value: number;
  mask: number;
}

/** One u32 filter node: the human `match ...` words we write, and the keys they become. */
export interface U32Node {
  matchText: string;
  keys: U32Key[];
  /** Identity for classifiers whose read-back is not u32 keys (the bpf mark filter). */
  sig?: string;
}

/** How a node is compared with its read-back. */
export function nodeSig(n: { keys: U32Key[]; sig?: string }): string {
  return n.sig ?? n.keys.map(keyText).join(' ');
}

/** iproute2 folds keys at the same offset into one (value |= , mask |=); so do we. */
export function foldKeys(keys: U32Key[]): U32Key[] {
  const byOff = new Map<number, U32Key>();
  for (const k of keys) {
    const prev = byOff.get(k.off);
    byOff.set(
      k.off,
      prev ? { off: k.off, value: (prev.value | k.value) >>> 0, mask: (prev.mask | k.mask) >>> 0 } : { ...k },
    );
  }
  return [...byOff.values()].sort((a, b) => a.off - b.off || a.value - b.value || a.mask - b.mask);
}

export function keyText(k: U32Key): string {
  return `${k.value.toString(16).padStart(8, '0')}/${k.mask.toString(16).padStart(8, '0')}@${k.off}`;
}

const hex16 = (m: number) => `0x${m.toString(16)}`;

/**
 * The u32 filter nodes for an atom, with the peer on the side that `direction` implies. A port
 * range that is not one aligned block becomes several nodes (portBlocks).
 *   egress, {family 4, cidr 10.213.0.3/32, proto tcp, dport [5432,5432]} →
 *   "match ip dst 10.213.0.3/32 match ip protocol 6 0xff match ip dport 5432 0xffff"
 *   keys 0ad50003/ffffffff@16, 00060000/00ff0000@8, 00001538/0000ffff@20
 */
export function u32NodesFor(atom: Atom, direction: MatchDirection): U32Node[] {
  const v6 = atom.family === 6;
  const sel = v6 ? 'ip6' : 'ip';
  const side = direction === 'egress' ? 'dst' : 'src';
  const words: string[] = [];
  const keys: U32Key[] = [];
  if (atom.cidr) {
    words.push(`match ${sel} ${side} ${atom.cidr}`);
    const base = v6 ? (side === 'src' ? 8 : 24) : side === 'src' ? 12 : 16;
    for (const w of u32Words(atom.cidr)) keys.push({ off: base + 4 * w.word, value: w.value, mask: w.mask });
  }
  if (atom.proto) {
    const n = PROTO_NUMBER[atom.proto][atom.family];
    words.push(`match ${sel} protocol ${n} 0xff`);
    keys.push(
      v6 ? { off: 4, value: (n << 8) >>> 0, mask: 0x0000ff00 } : { off: 8, value: (n << 16) >>> 0, mask: 0x00ff0000 },
    );
  }
  const portOff = v6 ? 40 : 20;
  const sBlocks = atom.sport ? portBlocks(atom.sport[0], atom.sport[1]) : [null];
  const dBlocks = atom.dport ? portBlocks(atom.dport[0], atom.dport[1]) : [null];
  const out: U32Node[] = [];
  for (const s of sBlocks)
    for (const d of dBlocks) {
      const w = [...words];
      const k = [...keys];
      if (s) {
        w.push(`match ${sel} sport ${s.value} ${hex16(s.mask)}`);
        k.push({ off: portOff, value: (s.value << 16) >>> 0, mask: (s.mask << 16) >>> 0 });
      }
      if (d) {
        w.push(`match ${sel} dport ${d.value} ${hex16(d.mask)}`);
        k.push({ off: portOff, value: d.value, mask: d.mask });
      }
      // An atom with no condition at all (any v4 packet) still needs one key for u32.
      if (w.length === 0) {
        w.push('match u32 0 0');
        k.push({ off: 0, value: 0, mask: 0 });
      }
      out.push({ matchText: w.join(' '), keys: foldKeys(k) });
    }
  return out;
}

// ---------------------------------------------------------------- flower

const FLOWER_PROTO: Record<AtomProto, Record<IpFamily, string>> = {
  tcp: { 4: 'tcp', 6: 'tcp' },
  udp: { 4: 'udp', 6: 'udp' },
  icmp: { 4: 'icmp', 6: 'icmpv6' },
};

const portText = (r: [number, number]) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}-${r[1]}`);

/**
 * The flower filter node for an atom (cls_flower parses the headers with the flow dissector: IP
 * options and IPv6 extension headers are skipped, ranges are native). Its `sig` is what the
 * read-back of the node gives (readback.ts flowerSig), e.g.
 *   egress {family 4, cidr 10.213.0.3/32, proto tcp, dport [5432,5432]} →
 *   "ip_proto tcp dst_ip 10.213.0.3/32 dst_port 5432", sig "flower:ip_proto=tcp,dst_ip=10.213.0.3/32,dst_port=5432"
 */
export function flowerNodeFor(atom: Atom, direction: MatchDirection): U32Node {
  const words: string[] = [];
  const sig: string[] = [];
  const put = (k: string, v: string) => {
    words.push(`${k} ${v}`);
    sig.push(`${k}=${v}`);
  };
  if (atom.mark) throw new Error('flower cannot match a packet mark (use cls_bpf)');
  if ((atom.sport || atom.dport) && !atom.proto) throw new Error('flower: ports need a protocol');
  if (atom.proto) put('ip_proto', FLOWER_PROTO[atom.proto][atom.family]);
  if (atom.cidr) put(direction === 'egress' ? 'dst_ip' : 'src_ip', atom.cidr);
  if (atom.sport) put('src_port', portText(atom.sport));
  if (atom.dport) put('dst_port', portText(atom.dport));
  return { matchText: words.join(' '), keys: [], sig: `flower:${sig.join(',')}` };
}
