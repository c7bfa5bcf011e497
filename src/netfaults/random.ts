// Private seeded random numbers for the partition generators.
//
// timeline/ is getting `seededRandom(seed, ...keys): () => number` from another engineer; this is
// a stand-in with the same signature so netfaults does not wait for it. When the shared one lands,
// switch the import in partition.ts — BUT the generators' golden groups (test/unit/netfaults) will
// change if the shared generator produces a different stream, so update those goldens in the same
// commit, on purpose.
//
// Algorithm: the seed and keys are hashed into a 128-bit state with cyrb128-style mixing, then
// sfc32 produces floats in [0, 1). Neither is cryptographic; both are tiny, fast and identical on
// every platform (32-bit integer arithmetic only).

function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** Deterministic stream of floats in [0, 1) for (seed, ...keys). Same inputs, same stream. */
export function seededRandom(seed: number, ...keys: (string | number)[]): () => number {
  let [a, b, c, d] = cyrb128(JSON.stringify([seed, ...keys]));
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with the given stream; returns a new array. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** FNV-1a 32-bit: the small stable hash used for tc class minors and names. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
