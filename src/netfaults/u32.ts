// How tc's u32 classifier matches a prefix and a port range: (value, mask) words, exactly as
// iproute2 builds them. Addresses are read by api/net.ts (readCidr), the project's one IP grammar.

import { readCidr } from '../api/net.js';

/**
 * The 32-bit words tc's u32 matches on for a prefix, exactly as iproute2 builds them:
 * one (value, mask) per word the prefix covers; a /0 yields no key at all.
 *   u32Words('10.213.0.0/16') → [{word: 0, value: 0x0ad50000, mask: 0xffff0000}]
 *   u32Words('fd00:213::/64') → [{word: 0, value: 0xfd000213, mask: 0xffffffff}, {word: 1, value: 0, mask: 0xffffffff}]
 */
export function u32Words(text: string): { word: number; value: number; mask: number }[] {
  const c = readCidr(text);
  if (!c) throw new Error(`not a CIDR: ${text}`);
  const words = c.family === 4 ? 1 : 4;
  const out: { word: number; value: number; mask: number }[] = [];
  for (let i = 0; i < words; i++) {
    const remaining = c.prefix - i * 32;
    if (remaining <= 0) break;
    const m = remaining >= 32 ? 0xffffffff : (0xffffffff << (32 - remaining)) >>> 0;
    const shift = BigInt((words - 1 - i) * 32);
    const value = Number((c.network >> shift) & 0xffffffffn);
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
