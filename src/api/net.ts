// IPv4/IPv6 addresses and CIDRs, strictly, with reasons a person can act on. Docker (Go's net
// package) rejects what these reject: IPv4 octets with leading zeros, zones ("fe80::1%eth0") in
// a subnet, prefixes beyond 32/128. Addresses are held as BigInt so one code path serves both
// families.
//
//   parseCidr("10.0.0.5/24")  -> { ok: false, reason: 'host bits are set ...', suggestion: '10.0.0.0/24' }
//   parseCidr("fd00::/64")    -> { ok: true, cidr: { family: 6, prefix: 64, ... } }

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

/** Parse dotted-quad IPv4 ("10.0.0.1"). */
export function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** Parse IPv6 text (RFC 4291 §2.2: "::" compression, trailing dotted IPv4). No zone. */
export function parseIpv6(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 45 || s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (text: string): number[] | undefined => {
    if (text === '') return [];
    const out: number[] = [];
    const parts = text.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  // A dotted IPv4 may only end the address.
  if (halves.length === 2 && (halves[0] as string).includes('.')) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
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
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
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

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** Parse "address/prefix" with no host bits set. */
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
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    return { ok: false, reason: `prefix length "${prefixText}" is not a number`, suggestion: typicalNet };
  }
  const prefix = Number(prefixText);
  if (prefix > max) {
    return {
      ok: false,
      reason: `prefix length ${prefix} exceeds ${max} for IPv${addr.family}`,
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
