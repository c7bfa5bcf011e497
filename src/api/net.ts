// IPv4/IPv6 addresses and CIDRs, the one grammar for the whole project: a Scenario's subnets,
// gateways and peers (strict, with reasons a person can act on), and the peers netfaults writes
// into kernel rules (canonical text, compared with what iptables-save and tc print back).
//
// ipaddr.js reads and writes the text (RFC 4291 forms, RFC 5952 output). What it cannot do is here:
//   - refuse IPv4 parts with leading zeros everywhere, also in an IPv6 dotted tail and a prefix
//     length: Docker (Go) refuses "010.0.0.1", iptables and ipaddr.js read it as octal 8.0.0.1;
//   - read "::1.2.3.4" as RFC 4291 does (::102:304; ipaddr.js makes it ::ffff:1.2.3.4);
//   - refuse zones ("fe80::1%eth0"): neither a subnet nor a peer has one;
//   - say why a CIDR is wrong and offer the fix;
//   - arithmetic on BigInt (a prefix's network, containment, the next address), one code path for
//     both families; netfaults builds tc's u32 words from it.
//
//   parseCidr('10.0.0.5/24')       -> { ok: false, reason: 'host bits are set ...', suggestion: '10.0.0.0/24' }
//   parseCidr('fd00::/64')         -> { ok: true, cidr: { family: 6, prefix: 64, ... } }
//   normalizeCidr('10.213.0.7/24')   -> '10.213.0.0/24'    (host bits cleared, as iptables-save prints)
//   normalizeCidr('10.213.0.7')      -> '10.213.0.7/32'
//   normalizeCidr('FD00:0213::0002') -> 'fd00:213::2/128'  (RFC 5952, as ip6tables-save prints)
//   intersectCidr('10.0.0.0/8', '10.213.0.2/32') -> '10.213.0.2/32'; disjoint -> null

import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** Network address (host bits zero). */
  network: bigint;
  prefix: number;
}

export type CidrResult =
  | { ok: true; cidr: Cidr }
  | { ok: false; reason: string; /** a corrected CIDR to offer, when one is obvious */ suggestion?: string };

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

const fromBytes = (bytes: number[]): bigint => bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);

function toBytes(family: IpFamily, value: bigint): number[] {
  const n = BITS[family] / 8;
  return Array.from({ length: n }, (_, i) => Number((value >> BigInt(8 * (n - 1 - i))) & 0xffn));
}

/** Dotted-quad IPv4, decimal without leading zeros ("10.0.0.1", not "010.0.0.1" or "10.1"). */
function parseIpv4(s: string): bigint | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  return fromBytes(ipaddr.IPv4.parse(s).toByteArray());
}

/** IPv6 text (RFC 4291 §2.2: "::" compression, a trailing dotted IPv4). No zone. */
function parseIpv6(s: string): bigint | undefined {
  if (s.length > 45 || s.includes('%')) return undefined;
  let text = s;
  const colon = s.lastIndexOf(':');
  const tail = s.slice(colon + 1);
  if (tail.includes('.')) {
    // The dotted tail by our IPv4 rules, handed to ipaddr.js as two hex groups.
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    text = `${s.slice(0, colon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  if (text.includes('.') || !ipaddr.IPv6.isValid(text)) return undefined;
  return fromBytes(ipaddr.IPv6.parse(text).toByteArray());
}

/** Parse either family. */
export function parseIp(s: string): IpAddress | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const v = parseIpv6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as "::"). */
export function formatIp(family: IpFamily, value: bigint): string {
  const bytes = toBytes(family, value);
  return family === 4
    ? new ipaddr.IPv4(bytes).toString()
    : (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network containing `value` at `prefix`. */
export function networkOf(family: IpFamily, value: bigint, prefix: number): bigint {
  return value & mask(family, prefix);
}

/** A prefix length: decimal without leading zeros ("8", not "08": iptables would read octal). */
const PREFIX_RE = /^(0|[1-9][0-9]{0,2})$/;

/** A prefix length by PREFIX_RE, at most 32 or 128; undefined otherwise. */
function parsePrefix(text: string, family: IpFamily): number | undefined {
  if (!PREFIX_RE.test(text)) return undefined;
  const prefix = Number(text);
  return prefix <= BITS[family] ? prefix : undefined;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** Parse "address/prefix" as a Scenario must write it: prefix given, no host bits set. */
export function parseCidr(s: string): CidrResult {
  if (typeof s !== 'string' || s.trim() === '') return { ok: false, reason: 'it is empty' };
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const addr = parseIp(addrText);
  if (slash < 0) {
    if (!addr) return { ok: false, reason: `"${s}" is not an IP address` };
    const prefix = addr.family === 4 ? 24 : 64;
    return {
      ok: false,
      reason: 'the prefix length is missing',
      suggestion: `${formatIp(addr.family, networkOf(addr.family, addr.value, prefix))}/${prefix}`,
    };
  }
  if (!addr) {
    const family = addrText.includes(':') ? 'IPv6' : 'IPv4';
    return { ok: false, reason: `"${addrText}" is not an ${family} address` };
  }
  const prefixText = s.slice(slash + 1);
  const max = BITS[addr.family];
  const typical = addr.family === 4 ? 24 : 64;
  const typicalNet = `${formatIp(addr.family, networkOf(addr.family, addr.value, typical))}/${typical}`;
  if (!PREFIX_RE.test(prefixText)) {
    return { ok: false, reason: `prefix length "${prefixText}" is not a number`, suggestion: typicalNet };
  }
  const prefix = parsePrefix(prefixText, addr.family);
  if (prefix === undefined) {
    return {
      ok: false,
      reason: `prefix length ${prefixText} exceeds ${max} for IPv${addr.family}`,
      suggestion: typicalNet,
    };
  }
  const network = networkOf(addr.family, addr.value, prefix);
  if (network !== addr.value) {
    const fixed = `${formatIp(addr.family, network)}/${prefix}`;
    return { ok: false, reason: `host bits are set; the network address is ${fixed}`, suggestion: fixed };
  }
  return { ok: true, cidr: { family: addr.family, network, prefix } };
}

/**
 * A peer as the kernel takes it (iptables -s/-d, tc u32 match): "address[/prefix]" by the same
 * grammar as parseCidr, but a bare address is one host (/32, /128) and host bits are cleared
 * ("10.213.0.7/24" is 10.213.0.0/24). Undefined when the text is neither an address nor a CIDR.
 */
export function readCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  const prefix = slash < 0 ? BITS[addr.family] : parsePrefix(text.slice(slash + 1), addr.family);
  if (prefix === undefined) return undefined;
  return { family: addr.family, network: networkOf(addr.family, addr.value, prefix), prefix };
}

/** readCidr's canonical text, as iptables-save and ip6tables-save print it; throws when unreadable. */
export function normalizeCidr(text: string): string {
  const c = readCidr(text);
  if (!c) throw new Error(`not an IP address or CIDR: ${JSON.stringify(text)}`);
  return formatCidr(c);
}

/** True when `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.family === ip.family && networkOf(ip.family, ip.value, cidr.prefix) === cidr.network;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    networkOf(inner.family, inner.network, outer.prefix) === outer.network
  );
}

/** True when two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** Two peers' common addresses (readCidr text): the longer prefix when nested, else null. */
export function intersectCidr(a: string, b: string): string | null {
  const ca = readCidr(a);
  const cb = readCidr(b);
  if (!ca || !cb || ca.family !== cb.family) return null;
  if (cidrContainsCidr(ca, cb)) return formatCidr(cb);
  if (cidrContainsCidr(cb, ca)) return formatCidr(ca);
  return null;
}
