// A scenario's whole status (pure): from the previous status and the facts one reconcile gathered,
// the status to write back into the file. Also the status of a file that cannot be reconciled
// (invalid, or a name another file holds). Time is passed in; nothing here reads a clock.
import { formatIssue } from '../api/format.js';
import { stableStringify } from '../api/hash.js';
import type { Issue, ScenarioStatus, StatusEvent } from '../api/types.js';
import type { DesiredState } from '../plan/desired.js';
import type { Plan } from '../plan/plan.js';
import type { RecordedTimeline } from '../timeline/index.js';
import { pushEvents, setCondition } from './conditions.js';
import { dockerStatus } from './docker.js';
import { faultStatuses, type FaultFacts } from './faults.js';

/** What the executor reports of a Docker plan (apply/execute's ExecResult satisfies it). */
export interface DockerExecFacts {
  results: { name: string; ok: boolean; error?: string }[];
  /** Error messages by Docker name of the object (memberKey for memberships). */
  errors: ReadonlyMap<string, string>;
}

export interface ReconcileFacts extends Omit<FaultFacts, 'prev' | 'timeline' | 'dockerErrors'> {
  prev: ScenarioStatus;
  /** metadata.generation of the spec reconciled. */
  generation: number;
  time: RecordedTimeline;
  /** The instant the timeline was evaluated at. */
  observedAt: Date;
  /** Now (when the status is composed). */
  now: Date;
  /** When the reconcile started (ms), for lastReconcile.durationMs. */
  startedMs: number;
  desired: DesiredState;
  plan: Plan;
  exec?: DockerExecFacts;
}

/** The status after one reconcile of a valid spec. */
export function reconciledStatus(x: ReconcileFacts): ScenarioStatus {
  const { prev, plan, exec } = x;
  const t = x.now.toISOString();
  const ds = dockerStatus(x.desired, x.after, plan.blocked, exec?.errors ?? new Map());
  let conditions = setCondition(prev.conditions, 'Valid', 'True', 'SpecValid', 'the spec passed validation', t);
  const failed = plan.blocked.length > 0 || (exec?.errors.size ?? 0) > 0;
  if (ds.ready) {
    conditions = setCondition(
      conditions,
      'Ready',
      'True',
      'Converged',
      'networks, containers and members match the spec',
      t,
    );
  } else {
    const reason = plan.blocked.length
      ? (plan.blocked[0].reason ?? 'Conflict')
      : failed
        ? 'ConvergeFailed'
        : 'Converging';
    conditions = setCondition(conditions, 'Ready', 'False', reason, ds.notReady.slice(0, 5).join('; '), t);
  }
  const events: StatusEvent[] = [];
  for (const r of exec?.results ?? []) {
    events.push(
      r.ok
        ? { time: t, type: 'Normal', reason: 'Applied', message: r.name }
        : { time: t, type: 'Warning', reason: 'Failed', message: r.error ?? r.name },
    );
  }
  for (const b of plan.blocked) {
    if (!prev.events?.some((e) => e.message === b.message))
      events.push({ time: t, type: 'Warning', reason: b.reason ?? 'Conflict', message: b.message });
  }
  const status: ScenarioStatus = {
    observedGeneration: x.generation,
    phase: failed ? 'Failed' : ds.ready ? 'Running' : 'Pending',
    startedAt: x.time.startedAt,
    seed: x.time.seed,
    conditions,
    networks: ds.networks.length ? ds.networks : undefined,
    volumes: ds.volumes.length ? ds.volumes : undefined,
    containers: ds.containers.length ? ds.containers : undefined,
    members: ds.members.length ? ds.members : undefined,
    frozenMs: x.time.frozenMs || undefined,
    frozenSince: x.time.frozenSince,
    observedAt: x.observedAt.toISOString(),
    nextTransitionAt: x.time.result.nextTransitionAt?.toISOString(),
    lastReconcile: exec
      ? {
          time: t,
          durationMs: x.now.getTime() - x.startedMs,
          operations: exec.results.length,
          error: failed ? 'see events' : undefined,
        }
      : prev.lastReconcile,
    events: pushEvents(prev.events, events),
  };
  status.faults = faultStatuses({ ...x, prev: prev.faults, timeline: x.time.result, dockerErrors: exec?.errors });
  status.conditions = degradedCondition(status, x, t);
  const tlPhase = x.time.result.scenarioPhase;
  if (status.phase !== 'Failed')
    status.phase = tlPhase === 'Running' && status.phase === 'Pending' ? 'Pending' : tlPhase;
  if (x.time.result.issues.length) status.issues = x.time.result.issues;
  return status;
}

/** Degraded: what the kernel could not do as declared, every failed target, every fault acting on nothing. */
function degradedCondition(status: ScenarioStatus, x: ReconcileFacts, t: string) {
  const scoped = x.netplan?.scoped;
  const compiled = [...(x.kernel?.outcomes.values() ?? [])].flatMap((o) =>
    o.degraded.filter((d) => d.scenario === scoped),
  );
  const degraded = dedupe([...(x.netplan?.degraded ?? []), ...compiled]);
  const failedFaults = (status.faults ?? []).filter(
    (f) => f.phase === 'Failed' || f.targets?.some((y) => y.phase === 'Failed'),
  );
  const idle = (status.faults ?? []).filter(
    (f) =>
      f.reason === 'NoTargets' ||
      f.reason === 'OwnContainer' ||
      f.reason === 'Conflict' ||
      f.targets?.some((y) => y.reason === 'NoPeers'),
  );
  if (degraded.length || failedFaults.length || idle.length) {
    const reason = degraded[0]?.reason ?? (failedFaults.length ? 'FaultFailed' : (idle[0].reason ?? 'NoPeers'));
    const messages = [
      ...degraded.map((d) => d.message),
      ...failedFaults.map((f) => {
        const why = f.message ?? f.targets?.find((y) => y.lastError)?.lastError ?? 'failed';
        return why.startsWith(`fault "${f.name}"`) ? why : `fault "${f.name}": ${why}`;
      }),
      ...idle.map(
        (f) =>
          f.message ?? f.targets?.find((y) => y.reason === 'NoPeers')?.lastError ?? `fault "${f.name}" acts on nothing`,
      ),
    ];
    return setCondition(
      status.conditions,
      'Degraded',
      'True',
      reason,
      [...new Set(messages)].slice(0, 5).join('; '),
      t,
    );
  }
  if ((x.scenario.spec.faults ?? []).length)
    return setCondition(
      status.conditions,
      'Degraded',
      'False',
      'AsDeclared',
      'every active fault is in place as declared',
      t,
    );
  return status.conditions;
}

function dedupe<T extends { fault: string; reason: string; message: string }>(xs: T[]): T[] {
  const seen = new Map<string, T>();
  for (const d of xs) seen.set(`${d.fault}\u0000${d.reason}\u0000${d.message}`, d);
  return [...seen.values()];
}

/** The status of a file whose spec is invalid: Failed, Valid=False, every issue located. */
export function invalidStatus(prev: ScenarioStatus, file: string, issues: Issue[], now: Date): ScenarioStatus {
  const first = issues[0];
  const message = `${issues.length} problem${issues.length === 1 ? '' : 's'}: ${formatIssue(file, first)}${issues.length > 1 ? ' (see status.issues)' : ''}`;
  return {
    ...prev,
    phase: 'Failed',
    conditions: setCondition(prev.conditions, 'Valid', 'False', 'InvalidSpec', message, now.toISOString()),
    issues: issues.map(({ code, path, message: m, line, column }) => ({ code, path, message: m, line, column })),
  };
}

/** The status of one of several files that claim the same scenario name. */
export function duplicateNameStatus(prev: ScenarioStatus, issue: Issue, now: Date): ScenarioStatus {
  return {
    ...prev,
    phase: 'Failed',
    conditions: setCondition(prev.conditions, 'Valid', 'False', 'NameConflict', issue.message, now.toISOString()),
    issues: [issue],
  };
}

/** Compare statuses ignoring fields that change on every write (so an idle resync writes nothing). */
export function statusChanged(a: ScenarioStatus, b: ScenarioStatus): boolean {
  const strip = (s: ScenarioStatus) => stableStringify({ ...s, specHash: undefined, observedAt: undefined });
  return strip(a) !== strip(b);
}
