// CIDR arithmetic for IPv4 and IPv6 (BigInt), and the canonical spellings iptables-save and tc
// print, so that what we compile compares textually with what we read back.
//
//   normalizeCidr('10.213.0.7/24')   → '10.213.0.0/24'      (host bits cleared, as iptables-save prints)
//   normalizeCidr('10.213.0.7')      → '10.213.0.7/32'
//   normalizeCidr('FD00:0213::0002') → 'fd00:213::2/128'    (RFC 5952, as ip6tables-save prints)
//   intersectCidr('10.0.0.0/8', '10.213.0.2/32') → '10.213.0.2/32'; disjoint → null

import { formatIp } from '../api/net.js';
export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  addr: bigint; // network address (host bits cleared)
  plen: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | null {
  let text = s.toLowerCase();
  // embedded IPv4 tail (::ffff:1.2.3.4)
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const v4 = parseV4(v4tail[1]);
    if (v4 === null) return null;
    const hi = Number(v4 >> 16n).toString(16);
    const lo = Number(v4 & 0xffffn).toString(16);
    text = text.slice(0, v4tail.index) + `${hi}:${lo}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

function mask(family: Family, plen: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return plen === 0 ? 0n : (all << (bits - BigInt(plen))) & all;
}

/** Parse "a.b.c.d[/n]" or an IPv6 address with optional prefix. Host bits are cleared. */
export function parseCidr(text: string): Cidr | null {
  const [addrText, plenText, extra] = text.trim().split('/');
  if (extra !== undefined || !addrText) return null;
  const family: Family = addrText.includes(':') ? 6 : 4;
  const addr = family === 4 ? parseV4(addrText) : parseV6(addrText);
  if (addr === null) return null;
  const plen = plenText === undefined ? BITS[family] : Number(plenText);
  if (!/^\d+$/.test(plenText ?? '0') || !(plen >= 0 && plen <= BITS[family])) return null;
  return { family, addr: addr & mask(family, plen), plen };
}

export function familyOf(text: string): Family {
  return text.includes(':') ? 6 : 4;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.addr)}/${c.plen}`;
}

/** Canonical text, or throws for input that is not an address/CIDR. */
export function normalizeCidr(text: string): string {
  const c = parseCidr(text);
  if (!c) throw new Error(`not an IP address or CIDR: ${JSON.stringify(text)}`);
  return formatCidr(c);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.plen <= inner.plen &&
    (inner.addr & mask(outer.family, outer.plen)) === outer.addr
  );
}

/** The intersection of two prefixes is the longer one when nested, else empty (null). */
export function intersectCidr(a: string, b: string): string | null {
  const ca = parseCidr(a);
  const cb = parseCidr(b);
  if (!ca || !cb || ca.family !== cb.family) return null;
  if (cidrContains(ca, cb)) return formatCidr(cb);
  if (cidrContains(cb, ca)) return formatCidr(ca);
  return null;
}

/**
 * The 32-bit words tc's u32 matches on for a prefix, exactly as iproute2 builds them:
 * one (value, mask) per word the prefix covers; a /0 yields no key at all.
 *   u32Words('10.213.0.0/16') → [{word: 0, value: 0x0ad50000, mask: 0xffff0000}]
 *   u32Words('fd00:213::/64') → [{word: 0, value: 0xfd000213, mask: 0xffffffff}, {word: 1, value: 0, mask: 0xffffffff}]
 */
export function u32Words(text: string): { word: number; value: number; mask: number }[] {
  const c = parseCidr(text);
  if (!c) throw new Error(`not a CIDR: ${text}`);
  const words = c.family === 4 ? 1 : 4;
  const out: { word: number; value: number; mask: number }[] = [];
  for (let i = 0; i < words; i++) {
    const remaining = c.plen - i * 32;
    if (remaining <= 0) break;
    const m = remaining >= 32 ? 0xffffffff : (0xffffffff << (32 - remaining)) >>> 0;
    const shift = BigInt((words - 1 - i) * 32);
    const value = Number((c.addr >> shift) & 0xffffffffn);
    out.push({ word: i, value: (value & m) >>> 0, mask: m >>> 0 });
  }
  return out;
}

/**
 * Split an inclusive port range into aligned (value, mask) blocks — the only ranges u32 can match.
 *   portBlocks(8000, 8100) → 8000/0xffc0 (8000-8063), 8064/0xffe0 (8064-8095), 8096/0xfffc (8096-8099),
 *                            8100/0xffff
 */
export function portBlocks(lo: number, hi: number): { value: number; mask: number }[] {
  const out: { value: number; mask: number }[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 1;
    while (size < 65536 && cur % (size * 2) === 0 && cur + size * 2 - 1 <= hi) size *= 2;
    out.push({ value: cur, mask: (0xffff & ~(size - 1)) >>> 0 });
    cur += size;
  }
  return out;
}
