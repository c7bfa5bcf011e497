// Private quantity parsers and tc renderers for netfaults.
//
// api/quantity.ts (parseRate/parseSize/parsePercent) and api/duration.ts are being written in
// parallel; until they land, netfaults keeps these small, strict parsers so it does not depend on
// unfinished code. When they exist, replace the parse* functions here with re-exports (the units
// below are tc's, which is what the schema documents). The render* functions stay: they produce the
// exact spelling that goes into a tc batch, which golden tests pin.
//
// Everything returns integers in base units: microseconds, bits per second, bytes, and percents as
// plain numbers 0..100 (not fractions). A value that does not parse throws QuantityError — the
// schema has already validated the document, so this only fires on a programming error upstream.

export class QuantityError extends Error {
  constructor(
    readonly kind: 'duration' | 'rate' | 'size' | 'percent',
    readonly input: string,
  ) {
    super(`invalid ${kind} ${JSON.stringify(input)}`);
    this.name = 'QuantityError';
  }
}

const DURATION_UNITS_US: Record<string, number> = {
  ns: 0.001,
  us: 1,
  'µs': 1,
  'μs': 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/** Go-style duration ("150ms", "1h30m", "1.5s", "250us") → whole microseconds (rounded). */
export function parseDurationUs(input: string): number {
  const s = input.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < s.length && (m = re.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS_US[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new QuantityError('duration', input);
  return Math.round(total);
}

/** "25%" or "0.1%" (also a bare number) → 25 / 0.1. Range 0..100. */
export function parsePercent(input: string | number): number {
  if (typeof input === 'number') {
    if (!(input >= 0 && input <= 100)) throw new QuantityError('percent', String(input));
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(input);
  if (!m) throw new QuantityError('percent', input);
  const v = Number(m[1]);
  if (v > 100) throw new QuantityError('percent', input);
  return v;
}

// tc(8) rate units: bit/kbit/mbit/gbit/tbit are decimal bits per second; bps/kbps/... are BYTES
// per second (×8); the IEC forms (kibit, mibps...) are binary multiples.
const RATE_UNITS_BPS: Record<string, number> = {
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

/** tc rate ("1mbit", "50kbit", "10mbps") → bits per second (integer). A bare number is bits/s. */
export function parseRateBps(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) throw new QuantityError('rate', input);
  const unit = (m[2] || 'bit').toLowerCase();
  const mult = RATE_UNITS_BPS[unit];
  if (mult === undefined) throw new QuantityError('rate', input);
  const v = Math.round(Number(m[1]) * mult);
  if (!(v > 0)) throw new QuantityError('rate', input);
  return v;
}

// tc(8) size units: b (or none) bytes; k/kb, m/mb, g/gb binary kilobytes...; kbit/mbit/gbit are
// binary kilobits (iproute2's get_size divides by 8).
const SIZE_UNITS_BYTES: Record<string, number> = {
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

/** tc size ("32kb", "1mb", "1500b", "1500") → bytes (integer). */
export function parseSizeBytes(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) throw new QuantityError('size', input);
  const mult = SIZE_UNITS_BYTES[m[2].toLowerCase()];
  if (mult === undefined) throw new QuantityError('size', input);
  return Math.round(Number(m[1]) * mult);
}

// ---------------------------------------------------------------- rendering for tc batches

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

export function trimNumber(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
