import { contentHash } from '../api/hash.js';

/**
 * A small deterministic PRNG for every seeded choice in faultline (random fault offsets here;
 * random targets and partition generators in other layers).
 *
 * Why keys: one scenario seed drives many independent choices. Deriving each stream from
 * (seed, ...keys) keeps them independent and stable: adding a fault, or drawing one more number
 * for fault "a", never changes what fault "b" gets. Callers should namespace their keys, e.g.
 * `seededRandom(seed, 'timeline/at', fault.name)` or `seededRandom(seed, 'targets', fault.name)`.
 *
 * How: the 32-bit state is the first 8 hex digits of sha256 over the stable JSON of
 * [seed, ...keys] (api/hash.ts), then mulberry32 — integer-only arithmetic (Math.imul), so the same
 * numbers come out on every platform and Node version. Changing this function re-rolls every
 * running scenario's random choices: the golden test in random.test.ts guards it.
 *
 *   const r = seededRandom(42, 'timeline/at', 'slow-clients');
 *   r(); r();   // two numbers in [0, 1), the same two after every restart
 */
export function seededRandom(seed: number, ...keys: string[]): () => number {
  let state = Number.parseInt(contentHash([seed, ...keys]).slice(0, 8), 16) >>> 0;
  return () => {
    // mulberry32 (Tommy Ettinger, public domain)
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with the given stream (e.g. a seededRandom); returns a new array. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
