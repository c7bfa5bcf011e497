// Per-fault status records (pure): the timeline's phase and windows, and one record per target,
// built from what Docker and the kernel showed — never from what was merely requested.
//
//   network fault, target placed in the host ledger and read back there   Injected, verified,
//                                                                          mechanism iptables-forward
//   network fault whose peers match no container                          Pending, reason NoPeers
//   host cut with an end whose bridge port is not (yet) in the host       Pending, BridgePortNotFound
//   network fault whose window closed, its key gone from every namespace  Recovered, verified
//   pause fault, Docker shows the target paused                           Injected, verified, docker
//   any fault, target on an engine that cannot be reached                 Pending, EngineUnreachable
//                                                                          (as last seen; windows that
//                                                                          open and close meanwhile are
//                                                                          `missed` there when it is back)
//   disconnect on an external network                                     Injected, verified, docker,
//                                          restore: the endpoint it had there (given back afterwards)
import { actionOf, assertNever, isDockerFault, type TaggedAction } from '../api/kinds.js';
import { dockerName, engineOf, engineTag } from '../api/ownership.js';
import type { FaultNetworks } from '../plan/fault-effects.js';
import type { FaultSpec, FaultStatus, FaultTargetStatus, Scenario } from '../api/types.js';
import type { Degraded } from '../netfaults/index.js';
import type { NetPlan, TargetPlacement } from '../netplan/index.js';
import type { KernelReport } from '../ports/index.js';
import {
  containerNamed,
  type FaultTarget,
  type ObservedContainer,
  type ResolvedFaults,
  type Snapshot,
} from '../resolve/index.js';
import { toFaultStatus, type FaultTimeline, type TimelineResult } from '../timeline/index.js';
import { memberKey } from '../api/ownership.js';

/**
 * Verify a Docker-level fault on one target from the view after the plan ran: the state Docker
 * reports is the proof (no endpoint on the network, state paused/exited…).
 */
export function dockerTargetStatus(
  scenario: string,
  f: FaultSpec,
  t: FaultTarget,
  active: boolean,
  index: number | undefined,
  after: Snapshot,
  prev: FaultTargetStatus | undefined,
  errors: ReadonlyMap<string, string> | undefined,
  where: { before?: Snapshot; networks?: FaultNetworks } = {},
): FaultTargetStatus {
  const o = containerNamed(after, t.container, engineOf(t));
  const netName = (short: string) => where.networks?.dockerNames.get(short) ?? dockerName(scenario, short);
  const base: FaultTargetStatus = {
    container: t.display,
    containerId: o?.id,
    ...engineTag(engineOf(t)),
    mechanism: 'docker',
    injected: prev?.injected ?? 0,
    recovered: prev?.recovered ?? 0,
    window: prev?.window,
    phase: prev?.phase ?? 'Pending',
  };
  const a = actionOf(f);
  const disconnectKey = a.kind === 'disconnect' ? memberKey(netName(a.spec.network), t.container) : undefined;
  // On an external network, the endpoint as it was (recorded once per window, given back after it).
  if (a.kind === 'disconnect' && where.networks?.external.has(a.spec.network)) {
    const net = netName(a.spec.network);
    const had = where.before?.containers
      .find((c) => c.name === t.container)
      ?.endpoints.find((e) => e.networkName === net);
    const kept = prev?.restore?.network === net ? prev.restore : undefined;
    if (active && had)
      base.restore = { network: net, aliases: had.aliases, ...(had.owner ? { owner: had.owner } : {}) };
    else if (kept && (active || o?.endpoints.every((e) => e.networkName !== net))) base.restore = kept;
    if (base.restore && !base.restore.aliases?.length) delete base.restore.aliases;
  }
  const err = errors?.get(t.container) ?? (disconnectKey ? errors?.get(disconnectKey) : undefined);
  if (!o)
    return {
      ...base,
      phase: 'Pending',
      verified: false,
      reason: 'ContainerNotFound',
      lastError: 'container not found',
    };
  const action = a.kind === 'container' ? a.spec.action : undefined;
  const inPlace = dockerShows(a, o, netName, prev?.window === index);
  if (active) {
    if (err) return { ...base, phase: 'Failed', verified: false, lastError: err };
    if (!inPlace) return { ...base, phase: 'Pending', verified: false };
    const fresh = base.window !== index;
    return {
      ...base,
      phase: 'Injected',
      verified: true,
      injected: (base.injected ?? 0) + (fresh ? 1 : 0),
      window: index,
      lastError: undefined,
    };
  }
  if (base.phase === 'Injected') {
    if (err) return { ...base, phase: 'Failed', lastError: err };
    return {
      ...base,
      phase: 'Recovered',
      verified: !inPlace || action === 'restart' || action === 'kill',
      recovered: (base.recovered ?? 0) + 1,
    };
  }
  return base;
}

/** Does Docker's view of the container show the fault in place? (`done`: injected in this window.) */
function dockerShows(
  a: TaggedAction,
  o: ObservedContainer,
  netName: (short: string) => string,
  done: boolean,
): boolean {
  switch (a.kind) {
    case 'disconnect':
      return !o.endpoints.some((e) => e.networkName === netName(a.spec.network));
    case 'container':
      switch (a.spec.action) {
        case 'pause':
          return o.state === 'paused';
        case 'stop':
          return o.state !== 'running' && o.state !== 'paused';
        case 'kill':
          return done || o.state !== 'running';
        case 'restart':
          return true; // done once; Docker shows it running again
        default:
          return assertNever(a.spec.action, 'container action');
      }
    case 'netem':
    case 'bandwidth':
    case 'partition':
    case 'blackhole':
    case 'reject':
    case 'dns':
      return false; // not a Docker-level fault: its proof is the kernel's read-back
    default:
      return assertNever(a, 'fault action');
  }
}

/** The compile-level degradation of one fault in the namespaces it is placed in, if any. */
function lostIn(kernel: KernelReport, keys: string[], scoped: string, fault: string): Degraded | undefined {
  for (const k of keys) {
    const d = kernel.outcomes.get(k)?.degraded.find((x) => x.scenario === scoped && x.fault === fault);
    if (d) return d;
  }
  return undefined;
}

/** One target of an active network fault, from where netplan put it and what the kernel showed. */
export function netTargetStatus(
  plan: NetPlan,
  kernel: KernelReport | undefined,
  fault: string,
  p: TargetPlacement,
): FaultTargetStatus {
  const base: FaultTargetStatus = {
    container: p.display,
    containerId: p.containerId,
    ...engineTag(engineOf(p)),
    phase: 'Pending',
    verified: false,
  };
  if (p.skip) return { ...base, phase: p.skip.phase, reason: p.skip.reason, lastError: p.skip.message };
  if (p.noneNeeded) return { ...base, phase: 'Injected', verified: true, mechanism: 'none-needed' };
  const key = `${plan.scoped}/${fault}`;
  const where = [...(p.netns ? [p.netns] : []), ...(p.host ? ['host'] : [])];
  if (where.length === 0) {
    const d = plan.degraded.find((x) => x.fault === fault);
    return {
      ...base,
      phase: 'Failed',
      reason: d?.reason ?? 'NothingApplicable',
      lastError: d?.message ?? `fault "${fault}": nothing of it can be applied to this target`,
    };
  }
  const outs = where.map((w) => kernel?.outcomes.get(w));
  const mechanism = [...new Set(outs.flatMap((o) => o?.mechanisms.get(key) ?? []))].sort().join('+') || undefined;
  const verified = outs.every((o) => o?.verified.has(key));
  if (verified) {
    // In the kernel as compiled; but if the compiler had to drop part of it, say so.
    const lost = kernel ? lostIn(kernel, where, plan.scoped, fault) : undefined;
    return {
      ...base,
      phase: lost ? 'Failed' : 'Injected',
      verified: !lost,
      mechanism,
      reason: lost?.reason,
      lastError: lost?.message,
    };
  }
  const error = outs.find((o) => o?.error)?.error;
  const waiting = error ? undefined : outs.map((o) => o?.waiting?.get(key)).find((w) => w !== undefined);
  if (waiting)
    return {
      ...base,
      phase: 'Pending',
      verified: false,
      mechanism,
      reason: waiting.reason,
      lastError: waiting.message,
    };
  return { ...base, phase: error ? 'Failed' : 'Pending', verified: false, mechanism, lastError: error };
}

export interface FaultFacts {
  scenario: Scenario;
  timeline: TimelineResult;
  resolved: ResolvedFaults;
  /** The view of Docker after this reconcile's plan ran. */
  after: Snapshot;
  prev: FaultStatus[] | undefined;
  /** The view before the plan ran (what a disconnect on an external network takes away). */
  before?: Snapshot;
  /** How Docker-level faults name networks (external ones keep their own names). */
  networks?: FaultNetworks;
  netplan?: NetPlan;
  kernel?: KernelReport;
  /** Docker operation errors by object (apply/execute's `errors`). */
  dockerErrors?: ReadonlyMap<string, string>;
  /** Engines that cannot be reached now, and why: their targets are shown as last seen. */
  unreachable?: ReadonlyMap<string, string>;
  /** When the timeline was evaluated (the instant an engine is recorded as gone). */
  observedAt?: Date;
}

/**
 * A target whose engine cannot be reached: as last seen, Pending, EngineUnreachable, with the
 * number of windows started by the moment it went (kept from the first such record).
 */
function awayRecord(
  prev: FaultTargetStatus | undefined,
  t: { display: string; containerId?: string; engine?: string },
  why: string,
  tl: FaultTimeline,
  at: Date | undefined,
): FaultTargetStatus {
  return {
    ...(prev ?? {}),
    container: t.display,
    containerId: t.containerId ?? prev?.containerId,
    ...engineTag(engineOf(t)),
    phase: 'Pending',
    verified: false,
    reason: 'EngineUnreachable',
    lastError: why,
    unreachable: prev?.unreachable ?? { since: (at ?? new Date(0)).toISOString(), windowsRun: tl.windowsRun },
  };
}

/**
 * The engine is back: windows that started after it went and closed before now were never applied
 * there: add them to `missed` (never replayed, like a controller that was down).
 */
function backRecord(r: FaultTargetStatus, prev: FaultTargetStatus | undefined, tl: FaultTimeline, active: boolean) {
  const away = prev?.unreachable;
  if (!away) return prev?.missed ? { ...r, missed: prev.missed } : r;
  const closed = tl.windowsRun - (active ? 1 : 0);
  const missed = (prev?.missed ?? 0) + Math.max(0, closed - away.windowsRun);
  const out = { ...r };
  delete out.unreachable;
  return missed ? { ...out, missed } : out;
}

/** Counters across windows: a fresh window counts one more injection, a recovery one more recovery. */
function withCounters(
  r: FaultTargetStatus,
  prev: FaultTargetStatus | undefined,
  activeIndex: number | undefined,
): FaultTargetStatus {
  if (r.phase === 'Injected' && activeIndex !== undefined) {
    const fresh = prev?.window !== activeIndex;
    return { ...r, injected: (prev?.injected ?? 0) + (fresh ? 1 : 0), recovered: prev?.recovered, window: activeIndex };
  }
  if (r.phase === 'Recovered')
    return {
      ...r,
      injected: prev?.injected,
      recovered: (prev?.recovered ?? 0) + (prev?.phase === 'Injected' ? 1 : 0),
      window: prev?.window,
      mechanism: prev?.mechanism,
    };
  return { ...r, injected: prev?.injected, recovered: prev?.recovered, window: prev?.window };
}

export function faultStatuses(x: FaultFacts): FaultStatus[] | undefined {
  const out: FaultStatus[] = [];
  const name = x.scenario.metadata.name;
  for (const f of x.scenario.spec.faults ?? []) {
    const t = x.timeline.faults.find((y) => y.name === f.name);
    if (!t) continue;
    const base = toFaultStatus(t);
    const p = x.prev?.find((y) => y.name === f.name);
    base.missed = (p?.missed ?? 0) + t.missed || undefined;
    const resolved = x.resolved.targets.get(f.name);
    const active = x.resolved.active.find((a) => a.fault.name === f.name);
    const prevOf = (container: string, engine?: string) =>
      p?.targets?.find((y) => y.container === container && engineOf(y) === engineOf({ engine }));
    const away = (engine: string) => x.unreachable?.get(engine);
    let targets: FaultTargetStatus[] | undefined;
    if (isDockerFault(f)) {
      targets = (resolved?.targets ?? []).map((tg) => {
        const prevT = prevOf(tg.display, tg.engine);
        const why = away(engineOf(tg));
        if (why !== undefined)
          return awayRecord(
            prevT,
            { display: tg.display, containerId: tg.observed?.id, engine: tg.engine },
            why,
            t,
            x.observedAt,
          );
        return backRecord(
          dockerTargetStatus(name, f, tg, !!active, active?.index, x.after, prevT, x.dockerErrors, {
            before: x.before,
            networks: x.networks,
          }),
          prevT,
          t,
          !!active,
        );
      });
    } else if (active) {
      const placements = x.netplan?.placements.get(f.name);
      targets = placements?.map((pl) => {
        const prevT = prevOf(pl.display, pl.engine);
        if (pl.skip?.reason === 'EngineUnreachable')
          return awayRecord(prevT, pl, away(engineOf(pl)) ?? pl.skip.message, t, x.observedAt);
        return backRecord(
          withCounters(netTargetStatus(x.netplan!, x.kernel, f.name, pl), prevT, active.index),
          prevT,
          t,
          true,
        );
      });
    } else if (x.kernel && x.netplan) {
      // Window closed: what was injected is recovered once its key is gone from every namespace
      // (of the engines that can be read: a target on an engine that is away waits for it).
      const key = `${x.netplan.scoped}/${f.name}`;
      const still = x.kernel.present.has(key);
      // A target whose engine went away between windows is recorded as away now, not at the next
      // window's start: that window opens and closes while the engine is away, so it is missed.
      targets = p?.targets?.map((r) =>
        away(engineOf(r)) !== undefined
          ? r.phase === 'Injected' || r.phase === 'Recovered' || r.reason === 'EngineUnreachable'
            ? awayRecord(
                r,
                { display: r.container, containerId: r.containerId, engine: r.engine },
                away(engineOf(r))!,
                t,
                x.observedAt,
              )
            : r
          : r.unreachable
            ? backRecord(
                still
                  ? { ...r, phase: 'Pending', reason: undefined, lastError: undefined }
                  : withCounters(
                      {
                        container: r.container,
                        containerId: r.containerId,
                        ...engineTag(engineOf(r)),
                        phase: 'Recovered',
                        verified: true,
                      },
                      // One more recovery only if it went away injected (recoveries behind injections).
                      { ...r, phase: (r.injected ?? 0) > (r.recovered ?? 0) ? 'Injected' : r.phase },
                      undefined,
                    ),
                r,
                t,
                false,
              )
            : r.phase !== 'Injected'
              ? r
              : still
                ? {
                    ...r,
                    phase: 'Failed',
                    verified: false,
                    lastError: x.kernel!.errors[0] ?? 'still in the kernel after removal',
                  }
                : withCounters(
                    {
                      container: r.container,
                      containerId: r.containerId,
                      ...engineTag(engineOf(r)),
                      phase: 'Recovered',
                      verified: true,
                    },
                    r,
                    undefined,
                  ),
      );
    } else targets = p?.targets;
    if (targets?.length) base.targets = targets;
    if (resolved?.missing.length)
      base.message = `no container named ${resolved.missing.map((m) => `"${m}"`).join(', ')}`;
    if (resolved?.refused.length) {
      // faultline's own containers (resolve/selectors.ts), else a name taken by a container not ours.
      base.reason = resolved.refused.every((m) => / is faultline's /.test(m)) ? 'OwnContainer' : 'Conflict';
      base.message = [resolved.refused.join('; '), base.message].filter(Boolean).join('; ');
    }
    if (active && (resolved?.targets.length ?? 0) === 0) {
      // In its window but acting on nothing: Pending, never a silent Active.
      base.phase = 'Pending';
      base.reason ??= 'NoTargets';
      base.message ??= `fault "${f.name}" is in its window but its targets match no container, so it acts on nothing; check spec.faults targets`;
    } else if (active && targets?.length && targets.every((y) => y.phase === 'Pending' && y.reason === 'NoPeers')) {
      base.phase = 'Pending';
      base.reason ??= 'NoPeers';
      base.message ??= `fault "${f.name}" is in its window but its peers match no container on any target, so it cuts nothing; check spec.faults peers`;
    }
    out.push(base);
  }
  return out.length ? out : undefined;
}
