// Durations in Go's syntax (time.ParseDuration), because that is what people who write Docker and
// Kubernetes files already know: "150ms", "30s", "2m", "1h30m", "1.5h", "300us".
//
// Units: ns, us (also µs U+00B5 and μs U+03BC), ms, s, m, h. A sign is accepted like Go does
// ("-1s"), and "0" alone means zero; the CRD's pattern is stricter (no sign, unit required).
// Arithmetic is done in integer nanoseconds (BigInt) so "1.1s" is exactly 1100 ms, not
// 1100.0000000000002.

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const NS_PER_MS = 1_000_000n;

// One "<number><unit>" term: digits with an optional fraction (Go also allows "1." and ".5").
// Compiled per call: a sticky RegExp carries lastIndex state, which must not be shared.
const TERM_SOURCE = '([0-9]*)(?:\\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)';

/**
 * Parse a Go-style duration into milliseconds (possibly fractional: "1500us" -> 1.5).
 *
 *   parseDuration("1h30m") === 5_400_000
 *   parseDuration("100ms") === 100
 *   parseDuration("1.5s")  === 1500
 *
 * Throws an Error that says what is wrong and shows a valid example.
 */
export function parseDuration(s: string): number {
  if (typeof s !== 'string') throw new Error(`duration must be a string like "100ms", got ${typeof s}`);
  let text = s;
  let sign = 1n;
  if (text.startsWith('-') || text.startsWith('+')) {
    if (text[0] === '-') sign = -1n;
    text = text.slice(1);
  }
  if (text === '0') return 0;
  if (text === '') throw invalid(s, 'it is empty');
  const term = new RegExp(TERM_SOURCE, 'y');
  let ns = 0n;
  let pos = 0;
  while (pos < text.length) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (!m) {
      const [, num = '', after = ''] = /^([0-9]*(?:\.[0-9]*)?)(.*)$/s.exec(text.slice(pos)) ?? [];
      const why =
        num === ''
          ? `unexpected "${after}"`
          : after === ''
            ? `"${num}" has no unit (ns, us, ms, s, m, h)`
            : `"${num}" is followed by "${after}", which is not a unit (ns, us, ms, s, m, h)`;
      throw invalid(s, why);
    }
    const [, whole = '', frac = '', unit = ''] = m;
    if (whole === '' && frac === '') throw invalid(s, `"${unit}" has no number before it`);
    const scale = NS_PER_UNIT[unit];
    let value = BigInt(whole || '0') * scale;
    if (frac !== '') {
      // Round half up to a whole nanosecond, like Go's fraction handling (which truncates beyond ns).
      const den = 10n ** BigInt(frac.length);
      value += (BigInt(frac) * scale + den / 2n) / den;
    }
    ns += value;
    pos = term.lastIndex;
  }
  return Number(sign * ns) / Number(NS_PER_MS);
}

function invalid(s: string, why: string): Error {
  return new Error(`invalid duration "${s}": ${why}; write e.g. "100ms", "30s", "2m" or "1h30m"`);
}

/** True when `s` parses as a duration. */
export function isDuration(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Format milliseconds as the shortest natural Go-style duration; parseDuration reads it back exactly
 * (to the nanosecond).
 *
 *   formatDuration(5_400_000) === "1h30m"
 *   formatDuration(90_000)    === "1m30s"
 *   formatDuration(1500)      === "1.5s"
 *   formatDuration(0.25)      === "250us"
 *   formatDuration(0)         === "0s"
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format duration ${ms}`);
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns < NS_PER_UNIT.s) {
    // Below one second: one unit with a fraction, like Go ("1.5ms", "250us", "10ns").
    if (ns < NS_PER_UNIT.us) return `${sign}${ns}ns`;
    if (ns < NS_PER_UNIT.ms) return `${sign}${decimal(ns, NS_PER_UNIT.us)}us`;
    return `${sign}${decimal(ns, NS_PER_UNIT.ms)}ms`;
  }
  const h = ns / NS_PER_UNIT.h;
  ns %= NS_PER_UNIT.h;
  const m = ns / NS_PER_UNIT.m;
  ns %= NS_PER_UNIT.m;
  let out = sign;
  if (h > 0n) out += `${h}h`;
  if (m > 0n) out += `${m}m`;
  if (ns > 0n) out += `${decimal(ns, NS_PER_UNIT.s)}s`;
  return out;
}

/** n / unit as a decimal string without trailing zeros: decimal(1500n, 1000n) === "1.5". */
function decimal(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const rest = n % unit;
  if (rest === 0n) return `${whole}`;
  const digits = unit.toString().length - 1;
  const frac = rest.toString().padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${frac}`;
}
