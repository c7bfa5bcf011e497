// Partitions: who must stop hearing whom.
//
// A partition is described by GROUPS of members (container names). Two members can talk iff some
// group contains both; everyone who appears in no group is untouched. This one rule covers disjoint
// splits (halves, majority, isolate), overlapping ones (bridge: one node in both halves) and the
// Jepsen ring (each node shares a small window with its neighbours, so each SEES a majority but no
// two nodes see the same majority).
//
// partitionBlocks turns groups into ordered pairs [a, b] = "a must not receive from b". The
// controller gives each container the addresses of its b's (blockedSenders) and the ledger drops
// them on that container's INPUT — the receiving side — so packets vanish in flight exactly as in
// a real partition: the sender's send() succeeds, nothing arrives, connections time out.
//
// Generators are seeded and deterministic: the same (members, seed) gives the same groups on every
// run and machine (the stream is timeline/random.ts's seededRandom(seed, 'partition', generator)).
// Members a..e, seed 42 (pinned in test/unit/netfaults/partition.test.ts):
//   halves   → [[a, e], [b, c, d]]                       floor(n/2) | ceil(n/2), random membership
//   majority → [[a, b, d, e], [c]]                       a random minority of 1..floor((n-1)/2)
//   isolate  → [[a, b, c, d], [e]]                       `count` (default 1) nodes, each cut off alone
//   ring     → [[d, e], [b, d], [a, b], [a, c], [c, e]]  ring e–d–b–a–c: each sees itself + both
//                                                        neighbours (3 of 5): a ↮ d, a ↮ e ...
//   bridge   → [[a, b, e], [b, c, d]]                    b sees both halves; a,e ↮ c,d

import type { PartitionGenerator } from '../api/types.js';
import { seededRandom, shuffled } from '../timeline/random.js';

const sortNames = (xs: string[]) => [...xs].sort();

/**
 * Seeded groups for a generator over the fault's targets.
 * @param members the targets' names, sorted (the caller sorts; order must not depend on Docker)
 * @param count   for `isolate`: how many members are cut off (default 1, clamped to 1..n-1)
 */
export function partitionGroups(
  generator: PartitionGenerator,
  members: readonly string[],
  seed: number,
  count?: number,
): string[][] {
  const sorted = sortNames([...new Set(members)]);
  const n = sorted.length;
  if (n < 2) return n === 0 ? [] : [sorted];
  const rand = seededRandom(seed, 'partition', generator);
  const ring = shuffled(sorted, rand);
  switch (generator) {
    case 'halves': {
      // [0, floor(n/2)) | [floor(n/2), n): with 5 nodes, 2 | 3.
      const cut = Math.floor(n / 2);
      return [sortNames(ring.slice(0, cut)), sortNames(ring.slice(cut))];
    }
    case 'majority': {
      // A random minority of 1..floor((n-1)/2) nodes (5 → 1 or 2; 4 → 1; 3 → 1; 2 → 1 | 1).
      const maxMinority = Math.max(1, Math.floor((n - 1) / 2));
      const m = 1 + Math.floor(rand() * maxMinority);
      return [sortNames(ring.slice(m)), sortNames(ring.slice(0, m))];
    }
    case 'isolate': {
      // `count` nodes each alone (also cut off from each other), the rest together.
      const c = Math.min(Math.max(count ?? 1, 1), n - 1);
      const isolated = sortNames(ring.slice(0, c));
      return [sortNames(ring.slice(c)), ...isolated.map((x) => [x])];
    }
    case 'ring': {
      // Jepsen's majorities ring, made symmetric: nodes sit on a shuffled ring; each sees itself and
      // d neighbours on each side, d = ceil((m-1)/2) with m = floor(n/2)+1 the majority, so each sees
      // 2d+1 >= m nodes. Groups are the windows of d+1 consecutive nodes: two nodes share a window
      // iff their ring distance is <= d. n=5: d=1, each sees 3 (itself and both neighbours) and
      // misses 2. With fewer than 4 members every pair is within distance d: nothing is cut.
      const m = Math.floor(n / 2) + 1;
      const d = Math.ceil((m - 1) / 2);
      const windows: string[][] = [];
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const w = sortNames([...new Set(Array.from({ length: d + 1 }, (_, k) => ring[(i + k) % n]))]);
        const key = w.join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          windows.push(w);
        }
      }
      return windows;
    }
    case 'bridge': {
      // Two halves of the others, joined by one node that is in both (Jepsen's bridge).
      if (n < 3) return [sorted];
      const [bridge, ...rest] = ring;
      const cut = Math.floor(rest.length / 2);
      return [sortNames([...rest.slice(0, cut), bridge]), sortNames([...rest.slice(cut), bridge])];
    }
  }
}

/**
 * Ordered pairs [a, b]: "a must not receive from b". Sorted by a, then b.
 *   direction 'both'    — a and b share no group → both [a,b] and [b,a].
 *   direction 'egress'  — one-way, read from the first group: what an EARLIER group sends to a
 *                         later one is lost; the later group still reaches the earlier one.
 *                         [[server], [c1, c2]] → [c1, server], [c2, server].
 *   direction 'ingress' — the reverse: earlier groups hear nothing from later ones.
 * A member's group index is the first group it appears in.
 */
export function partitionBlocks(
  groups: readonly (readonly string[])[],
  direction: 'both' | 'egress' | 'ingress' = 'both',
): [string, string][] {
  const first = new Map<string, number>();
  groups.forEach((g, i) => g.forEach((m) => first.has(m) || first.set(m, i)));
  const members = [...first.keys()].sort();
  const together = (a: string, b: string) => groups.some((g) => g.includes(a) && g.includes(b));
  const out: [string, string][] = [];
  for (const a of members) {
    for (const b of members) {
      if (a === b || together(a, b)) continue;
      const ia = first.get(a)!;
      const ib = first.get(b)!;
      if (direction === 'both' || (direction === 'egress' && ib < ia) || (direction === 'ingress' && ia < ib))
        out.push([a, b]);
    }
  }
  return out;
}

/** member → the members it must not receive from (only members with at least one). */
export function blockedSenders(blocks: readonly [string, string][]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [a, b] of blocks) out.set(a, [...(out.get(a) ?? []), b]);
  for (const [k, v] of out) out.set(k, [...new Set(v)].sort());
  return out;
}
