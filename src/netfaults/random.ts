// Small helpers around randomness and hashing. The PRNG itself is the project's one seeded
// generator, timeline/random.ts (seededRandom(seed, ...keys)); partition.ts draws from it with the
// keys ('partition', generator), so a partition never shifts another seeded choice.

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
