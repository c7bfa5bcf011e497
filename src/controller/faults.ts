// The scenario's timeline and faults inside one reconcile:
//  * evaluateTimeline: the recorded start, seed and frozen time (status survives controller
//    restarts, so a restart never resets the timeline) → timeline.evaluate at `now`;
//  * resolveFaults: active faults → their targets (seeded), and Docker-level effects;
//  * faultStatuses: per fault and per target records, read back from what Docker/the kernel show.
import { contentHash } from '../api/hash.js';
import type { FaultSpec, FaultStatus, FaultTargetStatus, Scenario, ScenarioStatus } from '../api/types.js';
import { evaluate, suspension, toFaultStatus, type TimelineResult } from '../timeline/index.js';
import { dockerFaultEffects, resolveTargets, type ActiveFaultInput, type DockerFaultEffects, type FaultTarget } from '../plan/faults.js';
import { dockerName } from '../api/ownership.js';
import type { Snapshot } from '../plan/observed.js';

export interface TimelineState {
  result: TimelineResult;
  seed: number;
  startedAt: string;
  frozenMs: number;
  frozenSince?: string;
}

/** A seed derived from the scenario's name and start, recorded in status on first use. */
function initialSeed(name: string, startedAt: string): number {
  return parseInt(contentHash({ name, startedAt }).slice(0, 8), 16);
}

export function evaluateTimeline(scn: Scenario, prev: ScenarioStatus, now: Date): TimelineState {
  const startedAt = prev.startedAt ?? now.toISOString();
  const seed = scn.spec.seed ?? prev.seed ?? initialSeed(scn.metadata.name, startedAt);
  // Freeze bookkeeping: frozenMs counts finished freezes; frozenSince marks one in progress.
  let frozenMs = prev.frozenMs ?? 0;
  let frozenSince = prev.frozenSince;
  const { frozen } = suspension(scn.spec);
  if (frozen && !frozenSince) frozenSince = now.toISOString();
  if (!frozen && frozenSince) {
    frozenMs += Math.max(0, now.getTime() - Date.parse(frozenSince));
    frozenSince = undefined;
  }
  const total = frozenMs + (frozenSince ? Math.max(0, now.getTime() - Date.parse(frozenSince)) : 0);
  const result = evaluate(scn.spec, {
    startedAt: new Date(startedAt),
    now,
    seed,
    lastObservedAt: prev.observedAt ? new Date(prev.observedAt) : undefined,
    frozenMs: total,
  });
  return { result, seed, startedAt, frozenMs, frozenSince };
}

export interface ResolvedFaults {
  /** Active faults with their targets (network and Docker-level alike). */
  active: ActiveFaultInput[];
  /** Every fault's targets (active or not), for status. */
  targets: Map<string, { targets: FaultTarget[]; missing: string[] }>;
  effects: DockerFaultEffects;
}

export function resolveFaults(scn: Scenario, tl: TimelineResult, snapshot: Snapshot, seed: number, prev: FaultStatus[] | undefined): ResolvedFaults {
  const targets = new Map<string, { targets: FaultTarget[]; missing: string[] }>();
  for (const f of scn.spec.faults ?? []) targets.set(f.name, resolveTargets(scn, f, snapshot, seed));
  const activeNames = new Map(tl.active.map((a) => [a.fault, a.index]));
  const active: ActiveFaultInput[] = [];
  const inactive: { fault: FaultSpec; targets: FaultTarget[] }[] = [];
  for (const f of scn.spec.faults ?? []) {
    const t = targets.get(f.name)!.targets;
    const index = activeNames.get(f.name);
    if (index !== undefined) active.push({ fault: f, index, targets: t });
    else inactive.push({ fault: f, targets: t });
  }
  return { active, targets, effects: dockerFaultEffects(scn.metadata.name, active, inactive, prev) };
}

/** Results of network faults for one scenario, from the netns layer (read back from the kernel). */
export interface NetFaultResult {
  /** fault name → per-target records (phase, mechanism, verified…). */
  targets: Map<string, FaultTargetStatus[]>;
  degraded: { fault: string; reason: string; message: string }[];
  errors: { error: string }[];
  /** Programs run in namespaces: reads (read-back) + writes (batches that change the kernel). */
  commands: number;
  writes?: number;
  /** Come back soon (e.g. a namespace shared with a scenario that has not registered yet). */
  retryAfterMs?: number;
}

/** The netns side: register a scenario's active network faults and converge affected namespaces. */
export interface NetFaultSync {
  /** `seed`: the scenario's seed as the timeline used it (spec.seed, else the recorded one). */
  sync(scn: Scenario, active: ActiveFaultInput[], snapshot: Snapshot, seed: number): Promise<NetFaultResult>;
  /** The scenario is gone: remove its entries everywhere. */
  forget(scenario: string, snapshot: Snapshot): Promise<NetFaultResult>;
  /**
   * At start: read every running container back; returns scenarios that own rules but have no
   * file (to reconcile as deleted). `isLive` tells which scenarios have a file, from now on.
   */
  sweep?(snapshot: Snapshot, isLive: (scenario: string) => boolean): Promise<string[]>;
}

const isDockerFault = (f: FaultSpec) => !!(f.disconnect || f.container);

/**
 * Verify a Docker-level fault on one target from the snapshot taken after the plan ran: the
 * state Docker reports is the proof (no endpoint on the network, state paused/exited…).
 */
function dockerTargetStatus(
  scenario: string,
  f: FaultSpec,
  t: FaultTarget,
  active: boolean,
  index: number | undefined,
  after: Snapshot,
  prev: FaultTargetStatus | undefined,
  errors: Map<string, string> | undefined,
): FaultTargetStatus {
  const o = after.containers.find((c) => c.name === t.container);
  const base: FaultTargetStatus = {
    container: t.display,
    containerId: o?.id,
    mechanism: 'docker',
    injected: prev?.injected ?? 0,
    recovered: prev?.recovered ?? 0,
    window: prev?.window,
    phase: prev?.phase ?? 'Pending',
  };
  const err = errors?.get(t.container) ?? (f.disconnect ? errors?.get(`${dockerName(scenario, f.disconnect.network)}\u0000${t.container}`) : undefined);
  if (!o) return { ...base, phase: 'Pending', verified: false, lastError: 'container not found' };
  let inPlace: boolean;
  if (f.disconnect) inPlace = !o.endpoints.some((e) => e.networkName === dockerName(scenario, f.disconnect!.network));
  else if (f.container?.action === 'pause') inPlace = o.state === 'paused';
  else if (f.container?.action === 'stop') inPlace = o.state !== 'running' && o.state !== 'paused';
  else if (f.container?.action === 'kill') inPlace = prev?.window === index || o.state !== 'running';
  else inPlace = true; // restart: done once; Docker shows it running again
  if (active) {
    if (err) return { ...base, phase: 'Failed', verified: false, lastError: err };
    if (!inPlace) return { ...base, phase: 'Pending', verified: false };
    const fresh = base.window !== index;
    return { ...base, phase: 'Injected', verified: true, injected: (base.injected ?? 0) + (fresh ? 1 : 0), window: index, lastError: undefined };
  }
  if (base.phase === 'Injected') {
    if (err) return { ...base, phase: 'Failed', lastError: err };
    return { ...base, phase: 'Recovered', verified: !inPlace || f.container?.action === 'restart' || f.container?.action === 'kill', recovered: (base.recovered ?? 0) + 1 };
  }
  return base;
}

export function faultStatuses(
  scn: Scenario,
  tl: TimelineResult,
  faults: ResolvedFaults,
  after: Snapshot,
  prev: FaultStatus[] | undefined,
  net: Map<string, FaultTargetStatus[]> | undefined,
  errors: Map<string, string> | undefined,
): FaultStatus[] | undefined {
  const out: FaultStatus[] = [];
  for (const f of scn.spec.faults ?? []) {
    const t = tl.faults.find((x) => x.name === f.name);
    if (!t) continue;
    const base = toFaultStatus(t);
    const p = prev?.find((x) => x.name === f.name);
    base.missed = (p?.missed ?? 0) + t.missed || undefined;
    const resolved = faults.targets.get(f.name);
    const activeEntry = faults.active.find((a) => a.fault.name === f.name);
    let targets: FaultTargetStatus[] | undefined;
    if (isDockerFault(f)) {
      targets = (resolved?.targets ?? []).map((tg) =>
        dockerTargetStatus(scn.metadata.name, f, tg, !!activeEntry, activeEntry?.index, after, p?.targets?.find((x) => x.container === tg.display), errors),
      );
    } else {
      targets = net?.get(f.name)?.map((r) => {
        const pt = p?.targets?.find((x) => x.container === r.container);
        if (r.phase === 'Injected' && activeEntry) {
          const fresh = pt?.window !== activeEntry.index;
          return { ...r, injected: (pt?.injected ?? 0) + (fresh ? 1 : 0), recovered: pt?.recovered, window: activeEntry.index };
        }
        if (r.phase === 'Recovered') return { ...r, injected: pt?.injected, recovered: (pt?.recovered ?? 0) + (pt?.phase === 'Injected' ? 1 : 0), window: pt?.window, mechanism: pt?.mechanism };
        return { ...r, injected: pt?.injected, recovered: pt?.recovered, window: pt?.window };
      }) ?? (activeEntry ? undefined : p?.targets);
    }
    if (targets?.length) base.targets = targets;
    if (resolved?.missing.length) base.message = `no container named ${resolved.missing.map((m) => `"${m}"`).join(', ')}`;
    out.push(base);
  }
  return out.length ? out : undefined;
}
