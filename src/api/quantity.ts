// Percents, rates and sizes with exactly the units tc(8) accepts, so a value in a Scenario means
// what it would mean on a `tc qdisc add ... netem` / `tbf` command line. Units are matched
// case-insensitively, like iproute2's strcasecmp. A bare number is bits/s for a rate, bytes for a
// size. Source: tc(8) "PARAMETERS" and iproute2 lib/utils_math.c (get_rate64, get_size).
//
// RATES (parseRate returns bits per second)
//   unit    meaning                 factor (bit/s)
//   bit     bits per second         1                 (also: a bare number)
//   kbit    kilobits per second     1000
//   mbit    megabits per second     1000^2
//   gbit    gigabits per second     1000^3
//   tbit    terabits per second     1000^4
//   kibit   kibibits per second     1024              (mibit 1024^2, gibit 1024^3, tibit 1024^4)
//   bps     BYTES per second        8
//   kbps    kilobytes per second    8 * 1000          (mbps 8*1000^2, gbps 8*1000^3, tbps 8*1000^4)
//   kibps   kibibytes per second    8 * 1024          (mibps 8*1024^2, gibps 8*1024^3, tibps 8*1024^4)
//   e.g. "1mbit" = 1_000_000 bit/s; "10mbps" = 80_000_000 bit/s; "1kibit" = 1024 bit/s.
//   (tc's "N%" of the link rate is not accepted: the link speed of a veth is not meaningful.)
//
// SIZES (parseSize returns bytes; note tc sizes are BINARY)
//   unit       meaning      factor (bytes)
//   b          bytes        1                      (also: a bare number)
//   k, kb      kilobytes    1024
//   m, mb      megabytes    1024^2
//   g, gb      gigabytes    1024^3
//   kbit       kilobits     1024 / 8  = 128
//   mbit       megabits     1024^2 / 8
//   gbit       gigabits     1024^3 / 8
//   e.g. "32kb" = 32768 bytes; "1500b" = 1500; "1mbit" = 131072 bytes.
//
// PERCENTS: "25%", "0.1%" -> 25, 0.1. The range 0..100 is checked by validate.ts
// (code percent.range) so that the message can point at the field.
//
// FOR TC: the netfaults ledger stores whole base units (microseconds, bits/s, bytes; percents
// 0..100) and writes them back in the spelling that goes into a tc batch, which golden tests pin:
//   parseDurationUs("1.5ms") = 1500     renderTime(1500)      = "1500us"  (tc's own unit: µs)
//   parseRateBps("10mbps")   = 8e7      renderRate(80_000_000) = "80mbit"
//   parseSizeBytes("32kb")   = 32768    renderSize(32768)     = "32kb"
//   parsePct("0.1%")         = 0.1      renderPercent(1 / 3)  = "0.333333%"

import { parseDuration } from './duration.js';

const NUMBER = '([0-9]+(?:\\.[0-9]+)?)';

const RATE_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};

const SIZE_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  kbit: 1024 / 8,
  mbit: 1024 ** 2 / 8,
  gbit: 1024 ** 3 / 8,
};

const PERCENT_RE = new RegExp(`^${NUMBER}%$`);
const RATE_RE = new RegExp(`^${NUMBER}([a-z]*)$`, 'i');
const SIZE_RE = RATE_RE;

/** "25%" -> 25, "0.1%" -> 0.1. Throws when the text is not a number followed by "%". */
export function parsePercent(s: string): number {
  const m = typeof s === 'string' ? PERCENT_RE.exec(s) : null;
  if (!m) throw new Error(`invalid percent "${String(s)}"; write e.g. "25%" or "0.1%"`);
  return Number(m[1]);
}

/** tc rate -> bits per second: "1mbit" -> 1e6, "10mbps" -> 8e7, "500" -> 500. */
export function parseRate(s: string): number {
  const m = typeof s === 'string' ? RATE_RE.exec(s) : null;
  const factor = m ? RATE_FACTORS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    throw new Error(`invalid rate "${String(s)}"; write e.g. "1mbit", "500kbit" (bits/s) or "10mbps" (bytes/s)`);
  }
  return Number(m[1]) * factor;
}

/** tc size -> bytes: "32kb" -> 32768, "1500b" -> 1500, "1mbit" -> 131072. */
export function parseSize(s: string): number {
  const m = typeof s === 'string' ? SIZE_RE.exec(s) : null;
  const factor = m ? SIZE_FACTORS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    throw new Error(`invalid size "${String(s)}"; write e.g. "32kb", "1mb" or "1500b"`);
  }
  return Number(m[1]) * factor;
}

// ---------------------------------------------------------------- tc base units (netfaults ledger)

/** Go-style duration ("150ms", "1h30m", "1.5s", "250us") → whole microseconds (rounded). */
export function parseDurationUs(input: string): number {
  return Math.round(parseDuration(input) * 1000);
}

/**
 * A ledger percent: "25%" or "0.1%" → 25 / 0.1, a number passes through. Unlike parsePercent it
 * trims and refuses anything outside 0..100 (the ledger never holds an out-of-range value).
 */
export function parsePct(input: string | number): number {
  const v = typeof input === 'number' ? input : parsePercent(input.trim());
  if (!(v >= 0 && v <= 100)) throw new Error(`percent out of range 0..100: ${JSON.stringify(input)}`);
  return v;
}

/** tc rate ("1mbit", "50kbit", "10mbps") → bits per second (integer, > 0). */
export function parseRateBps(input: string): number {
  const v = Math.round(parseRate(input.trim()));
  if (!(v > 0)) throw new Error(`rate must be positive: ${JSON.stringify(input)}`);
  return v;
}

/** tc size ("32kb", "1mb", "1500b", "1500") → bytes (integer). */
export function parseSizeBytes(input: string): number {
  return Math.round(parseSize(input.trim()));
}

/** 100000 → "100ms", 1500 → "1500us", 2000000 → "2s". tc accepts all three spellings. */
export function renderTime(us: number): string {
  if (us % 1_000_000 === 0 && us !== 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

/** 1000000 → "1mbit", 1500 → "1500bit". Exact: no rounding ever happens here. */
export function renderRate(bps: number): string {
  if (bps % 1e9 === 0) return `${bps / 1e9}gbit`;
  if (bps % 1e6 === 0) return `${bps / 1e6}mbit`;
  if (bps % 1e3 === 0) return `${bps / 1e3}kbit`;
  return `${bps}bit`;
}

/** 32768 → "32kb", 1500 → "1500b". */
export function renderSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0 && bytes !== 0) return `${bytes / (1024 * 1024)}mb`;
  if (bytes % 1024 === 0 && bytes !== 0) return `${bytes / 1024}kb`;
  return `${bytes}b`;
}

/** 25 → "25%", 0.1 → "0.1%", 1/3 → "0.333333%" (6 decimals at most, trailing zeros trimmed). */
export function renderPercent(pct: number): string {
  return `${trimNumber(pct, 6)}%`;
}

/** `v` with at most `decimals` decimals, trailing zeros trimmed: trimNumber(0.5, 6) === "0.5". */
export function trimNumber(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
