// Quantities for netfaults: parsing delegates to api/ (tc's units, Go durations — one set of rules
// for the whole project); this file converts to the integer base units the ledger stores
// (microseconds, bits per second, bytes; percents as plain numbers 0..100) and renders them back
// in the exact spelling that goes into a tc batch, which golden tests pin.

import { parseDuration } from '../api/duration.js';
import { parsePercent as apiPercent, parseRate, parseSize } from '../api/quantity.js';

/** Go-style duration ("150ms", "1h30m", "1.5s", "250us") → whole microseconds (rounded). */
export function parseDurationUs(input: string): number {
  return Math.round(parseDuration(input) * 1000);
}

/** "25%" or "0.1%" → 25 / 0.1 (a number passes through). Range 0..100. */
export function parsePercent(input: string | number): number {
  const v = typeof input === 'number' ? input : apiPercent(input.trim());
  if (!(v >= 0 && v <= 100)) throw new Error(`percent out of range 0..100: ${JSON.stringify(input)}`);
  return v;
}

/** tc rate ("1mbit", "50kbit", "10mbps") → bits per second (integer). */
export function parseRateBps(input: string): number {
  const v = Math.round(parseRate(input.trim()));
  if (!(v > 0)) throw new Error(`rate must be positive: ${JSON.stringify(input)}`);
  return v;
}

/** tc size ("32kb", "1mb", "1500b", "1500") → bytes (integer). */
export function parseSizeBytes(input: string): number {
  return Math.round(parseSize(input.trim()));
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
