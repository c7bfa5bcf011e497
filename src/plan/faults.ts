// Faults, resolved against the observed snapshot (pure):
//  * which containers a fault targets (selectors; `random: {count|percent}` chosen reproducibly
//    from the scenario's seed and the fault's name, so a restart of the controller picks the same);
//  * what an ACTIVE Docker-level fault means for the desired state:
//      disconnect {network}      the member is absent from that network while the window is open
//                                (the normal member convergence reconnects it, aliases and static
//                                addresses included, when the window closes);
//      container {pause|stop}    the container is held paused / stopped for the window, released
//                                after — only if faultline did it (recorded in status);
//      container {kill|restart}  done once per window (status records which window it was done in);
//                                after a kill window, a container faultline killed is started again.
import type { ContainerSpec, FaultSpec, FaultStatus, Scenario } from '../api/types.js';
import { seededRandom } from '../timeline/index.js';
import { dockerName } from '../api/ownership.js';
import { resolveSelector, type Resolved } from './desired.js';
import type { ObservedContainer, Snapshot } from './observed.js';

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
): { targets: FaultTarget[]; missing: string[] } {
  const scenario = scn.metadata.name;
  const declared: ContainerSpec[] = scn.spec.containers ?? [];
  const sel = fault.targets ?? (fault.partition?.groups ? { names: partitionNames(fault) } : undefined);
  if (!sel) return { targets: [], missing: [] };
  const { matches, missing } = resolveSelector(scenario, sel, declared, snapshot);
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
  return { targets: chosen.map((r) => ({ ...r, observed: byName.get(r.container) })), missing };
}

export interface ActiveFaultInput {
  fault: FaultSpec;
  /** 0-based index of the latest window started (timeline). */
  index: number;
  targets: FaultTarget[];
}

export type Hold = 'paused' | 'stopped';

export interface ContainerFaultOp {
  kind: 'pause' | 'unpause' | 'stop' | 'start' | 'kill' | 'restart';
  container: string; // Docker name
  fault: string;
  signal?: string;
  cause: string;
}

export interface DockerFaultEffects {
  /** "<network docker name>\0<container docker name>" pairs to keep disconnected now. */
  disconnected: Set<string>;
  /** Containers held in a state by an active fault: the planner neither starts nor unpauses them. */
  holds: Map<string, Hold>;
  /** Container operations this reconcile must run (planner places them last). */
  ops: ContainerFaultOp[];
}

/** What status says faultline did to a target of a fault (to release only what it did). */
function prevTarget(prev: FaultStatus[] | undefined, fault: string, container: string) {
  return prev?.find((f) => f.name === fault)?.targets?.find((t) => t.container === container);
}

/**
 * Docker-level effects of the active faults, given what the previous status recorded.
 * `inactive` lists faults whose window is closed now: their injected holds are released.
 */
export function dockerFaultEffects(
  scenario: string,
  active: ActiveFaultInput[],
  inactive: { fault: FaultSpec; targets: FaultTarget[] }[],
  prev: FaultStatus[] | undefined,
): DockerFaultEffects {
  const disconnected = new Set<string>();
  const holds = new Map<string, Hold>();
  const ops: ContainerFaultOp[] = [];
  for (const { fault, index, targets } of active) {
    if (fault.disconnect) {
      const net = dockerName(scenario, fault.disconnect.network);
      for (const t of targets) disconnected.add(`${net}\u0000${t.container}`);
    }
    const action = fault.container?.action;
    if (!action) continue;
    for (const t of targets) {
      const o = t.observed;
      if (!o) continue;
      const done = prevTarget(prev, fault.name, t.display)?.window === index;
      const cause = `fault "${fault.name}" window ${index + 1}`;
      if (action === 'pause') {
        holds.set(t.container, 'paused');
        if (o.state === 'running') ops.push({ kind: 'pause', container: t.container, fault: fault.name, cause });
      } else if (action === 'stop') {
        holds.set(t.container, 'stopped');
        if (o.state === 'running' || o.state === 'paused' || o.state === 'restarting') ops.push({ kind: 'stop', container: t.container, fault: fault.name, cause });
      } else if (action === 'kill') {
        holds.set(t.container, 'stopped'); // killed stays down for the window (unless its restart policy revives it)
        if (!done && o.state === 'running') ops.push({ kind: 'kill', container: t.container, fault: fault.name, signal: fault.container!.signal ?? 'SIGKILL', cause });
      } else if (action === 'restart') {
        if (!done) ops.push({ kind: 'restart', container: t.container, fault: fault.name, cause });
      }
    }
  }
  for (const { fault, targets } of inactive) {
    const action = fault.container?.action;
    if (action !== 'pause' && action !== 'stop' && action !== 'kill') continue;
    for (const t of targets) {
      const rec = prevTarget(prev, fault.name, t.display);
      if (!rec || rec.phase !== 'Injected' || holds.has(t.container)) continue; // not ours to release
      const o = t.observed;
      if (!o) continue;
      const cause = `fault "${fault.name}" window closed: release`;
      if (action === 'pause' && o.state === 'paused') ops.push({ kind: 'unpause', container: t.container, fault: fault.name, cause });
      if ((action === 'stop' || action === 'kill') && (o.state === 'exited' || o.state === 'created' || o.state === 'dead'))
        ops.push({ kind: 'start', container: t.container, fault: fault.name, cause });
    }
  }
  return { disconnected, holds, ops };
}
