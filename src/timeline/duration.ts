// Go-style duration strings, private to the timeline.
//
// src/api/duration.ts (another engineer's) will own `parseDuration`; this small copy exists so the
// timeline did not have to wait for it. Fold it into the api one when that lands: the grammar is
// Go's time.ParseDuration, so both must agree on every input below.
//
//   "0"        ->        0      (the only unit-less form)
//   "150ms"    ->      150
//   "1.5s"     ->     1500
//   "2m"       ->   120000
//   "1h30m"    ->  5400000
//   "-30s"     ->   -30000      (Go accepts a sign; the timeline rejects negatives where they make no sense)
//   "1us"      ->    0.001      (ns/us/µs give fractions of a millisecond; callers round)
//   "30", "1d", "m", ".s", "1h 30m"  -> throws

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 MICRO SIGN
  'μs': 1e-3, // U+03BC GREEK SMALL LETTER MU
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// One component: digits, optionally a fraction (at least one digit on either side), then a unit.
const COMPONENT = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/** Parse a Go duration string into milliseconds (possibly fractional). Throws with a helpful message. */
export function parseGoDuration(text: string): number {
  const fail = (why: string): never => {
    throw new Error(
      `invalid duration ${JSON.stringify(text)}: ${why}; write Go-style units such as "30s", "2m", "1h30m" or "150ms"`,
    );
  };
  if (typeof text !== 'string') return fail('not a string');
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return fail('empty');
  let total = 0;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) return fail(`unexpected ${JSON.stringify(rest)}`);
    const [whole, int, frac, unit] = m;
    if (int === '' && (frac === undefined || frac === '')) return fail('a number is missing');
    const scale = UNIT_MS[unit];
    if (scale === undefined) return fail(`unknown unit ${JSON.stringify(unit)}`);
    total += Number(`${int || '0'}.${frac || '0'}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

/**
 * Compact Go-like rendering for axis labels and messages: 5400000 -> "1h30m", 1500 -> "1.5s",
 * 150 -> "150ms", 0 -> "0s", -30000 -> "-30s". Unlike Go it drops zero components ("1h", not "1h0m0s").
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? '∞' : '-∞';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  ms = Math.round(ms);
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
