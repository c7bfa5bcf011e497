// Fault targets resolved over the view (pure): which containers each fault hits, and which
// containers its `peers` selector names. `random: {count|percent}` is chosen reproducibly from the
// scenario's seed and the fault's name, so a restarted controller picks the same containers.
//
//   targets: { labels: {tier: web}, random: {count: 2} }  over web-1..web-5, seed 42
//     → the same two of them on every reconcile, on every controller, until `faultline reseed`
import type { ContainerSpec, FaultSpec, Scenario } from '../api/types.js';
import { seededRandom, type TimelineResult } from '../timeline/index.js';
import { resolveSelector, type Resolved } from './selectors.js';
import type { ObservedContainer, Snapshot } from './view.js';

export interface FaultTarget extends Resolved {
  observed?: ObservedContainer;
}

/** Names a partition's explicit groups mention (they are its targets when `targets` is absent). */
function partitionNames(f: FaultSpec): string[] {
  return [...new Set((f.partition?.groups ?? []).flat())];
}

function parsePct(p: string): number {
  return Number(p.replace('%', ''));
}

export function resolveTargets(
  scn: Scenario,
  fault: FaultSpec,
  snapshot: Snapshot,
  seed: number,
): { targets: FaultTarget[]; missing: string[]; refused: string[] } {
  const scenario = scn.metadata.name;
  const declared: ContainerSpec[] = scn.spec.containers ?? [];
  const sel = fault.targets ?? (fault.partition?.groups ? { names: partitionNames(fault) } : undefined);
  if (!sel) return { targets: [], missing: [], refused: [] };
  const { matches, missing, refused } = resolveSelector(scenario, sel, declared, snapshot);
  let chosen = matches;
  if (sel.random) {
    const n =
      sel.random.count !== undefined
        ? Math.min(matches.length, sel.random.count)
        : Math.round((matches.length * parsePct(sel.random.percent ?? '100%')) / 100);
    // Fisher–Yates with the scenario's seed: the same seed picks the same containers.
    const rnd = seededRandom(seed, 'targets', fault.name);
    const pool = [...matches];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    chosen = pool.slice(0, n).sort((a, b) => (a.container < b.container ? -1 : 1));
  }
  const byName = new Map(snapshot.containers.map((c) => [c.name, c]));
  return { targets: chosen.map((r) => ({ ...r, observed: byName.get(r.container) })), missing, refused };
}

/** A fault whose window is open now, with the containers it hits. */
export interface ActiveFault {
  fault: FaultSpec;
  /** 0-based index of the latest window started (timeline). */
  index: number;
  targets: FaultTarget[];
}

export interface ResolvedFaults {
  /** Faults whose window is open now (network and Docker-level alike). */
  active: ActiveFault[];
  /** Faults whose window is closed now. */
  inactive: { fault: FaultSpec; targets: FaultTarget[] }[];
  /** Every fault's targets (active or not) and the names that matched nothing, for status. */
  targets: Map<string, { targets: FaultTarget[]; missing: string[]; refused: string[] }>;
}

export function resolveFaults(scn: Scenario, tl: TimelineResult, snapshot: Snapshot, seed: number): ResolvedFaults {
  const targets = new Map<string, { targets: FaultTarget[]; missing: string[]; refused: string[] }>();
  for (const f of scn.spec.faults ?? []) targets.set(f.name, resolveTargets(scn, f, snapshot, seed));
  const activeNames = new Map(tl.active.map((a) => [a.fault, a.index]));
  const active: ActiveFault[] = [];
  const inactive: { fault: FaultSpec; targets: FaultTarget[] }[] = [];
  for (const f of scn.spec.faults ?? []) {
    const t = targets.get(f.name)!.targets;
    const index = activeNames.get(f.name);
    if (index !== undefined) active.push({ fault: f, index, targets: t });
    else inactive.push({ fault: f, targets: t });
  }
  return { active, inactive, targets };
}

/** The containers a fault's `peers` selector names (CIDRs are not containers: see netplan/). */
export function resolvePeers(scn: Scenario, f: FaultSpec, snapshot: Snapshot): ObservedContainer[] {
  if (!f.peers || (!f.peers.names && !f.peers.labels)) return [];
  const { matches } = resolveSelector(
    scn.metadata.name,
    { names: f.peers.names, labels: f.peers.labels },
    scn.spec.containers ?? [],
    snapshot,
  );
  const byName = new Map(snapshot.containers.map((c) => [c.name, c]));
  return matches.flatMap((m) => byName.get(m.container) ?? []);
}
