// Reconcile ONE scenario, level-triggered: read the file → validate → observe Docker once → plan
// (pure) → execute → observe again → write status → tell the queue when to come back.
// It never acts on an event's content: whatever woke it, it looks at the world as it is now.
import type { Logger } from 'pino';
import { parseScenario } from '../api/parse.js';
import { formatIssue } from '../api/format.js';
import { stableStringify } from '../api/hash.js';
import type { Issue, Scenario, ScenarioStatus, StatusEvent } from '../api/types.js';
import { desiredState, type DesiredState } from '../plan/desired.js';
import { isEmptyPlan, planOps, planScenario, type Plan } from '../plan/plan.js';
import { dockerStatus } from '../plan/status.js';
import type { Snapshot } from '../plan/observed.js';
import type { Clock, DockerPort } from '../ports/index.js';
import { executePlan, type ExecResult } from '../apply/execute.js';
import { generationOf } from '../store/index.js';
import { pushEvents, setCondition } from './conditions.js';
import { evaluateTimeline, faultStatuses, resolveFaults, type NetFaultSync } from './faults.js';
import type { Document } from 'yaml';

/** What the reconciler needs of the directory of files (store/ implements it). */
export interface ScenarioFiles {
  /** `unsettled`: the file kept changing while it was read (a save in progress). */
  read(path: string): Promise<{ text: string; unsettled?: boolean } | { missing: true }>;
  /** reconciledSpecHash: hash of the spec this status describes (the store bumps generation past it if the file moved on). */
  /** `own: false` when the write merged a newer spec saved meanwhile (reconcile again). */
  writeStatus(path: string, status: ScenarioStatus, reconciledSpecHash?: string): Promise<{ written: boolean; own?: boolean; reason?: string }>;
}

export interface ReconcileDeps {
  /** This controller's identity (label faultline.dev/controller on what it creates). */
  controller: string;
  docker: DockerPort;
  files: ScenarioFiles;
  clock: Clock;
  log: Logger;
  /** Network faults in container namespaces (absent: network faults are reported, not applied). */
  netFaults?: NetFaultSync;
}

export interface ReconcileResult {
  /** Come back after this long (e.g. the next timeline transition, or a pending container). */
  requeueAfterMs?: number;
  /** A transient failure: requeue with backoff. */
  error?: Error;
  ops: number;
  /** The scenario parsed from the file (for the controller's event routing), when valid. */
  scenario?: Scenario;
  desired?: DesiredState;
  issues?: Issue[];
  /** The status written (or that would have been). */
  status?: ScenarioStatus;
  /** Programs run in container namespaces, and how many of them changed the kernel. */
  kernelCommands?: number;
  kernelWrites?: number;
}

const READY_RECHECK_MS = 2_000;

export class Reconciler {
  constructor(private readonly deps: ReconcileDeps) {}

  /** The scenario's file is gone (or never existed): remove everything it owns. */
  async reconcileDeleted(name: string, snapshot?: Snapshot): Promise<ReconcileResult> {
    const { docker, log } = this.deps;
    const before = snapshot ?? (await docker.snapshot());
    const empty: Scenario = { apiVersion: 'faultline.dev/v1alpha1', kind: 'Scenario', metadata: { name }, spec: {} };
    const net = this.deps.netFaults ? await this.deps.netFaults.forget(name, before) : undefined;
    const plan = planScenario(desiredState(this.deps.controller, empty, before), before);
    if (net?.errors.length) return { ops: net.commands, error: new Error(net.errors.map((e) => e.error).join('; ')) };
    if (isEmptyPlan(plan)) return { ops: net?.commands ?? 0 };
    log.info({ scenario: name, operations: planOps(plan).length }, 'scenario deleted: removing what it owns');
    const exec = await executePlan(plan, docker, { onOp: (r) => this.logOp(name, r) });
    const failed = exec.results.filter((r) => !r.ok);
    if (failed.length) return { ops: exec.results.length, error: new Error(failed.map((f) => f.error).join('; ')) };
    return { ops: exec.results.length };
  }

  async reconcileFile(name: string, file: string): Promise<ReconcileResult> {
    const { docker, files, clock, log } = this.deps;
    const startedMs = clock.now().getTime();
    const mark = (() => {
      const t: Record<string, number> = {};
      let last = performance.now();
      return (k: string) => {
        const n = performance.now();
        t[k] = Math.round(n - last);
        last = n;
        return t;
      };
    })();
    const read = await files.read(file);
    if ('missing' in read) return { ops: 0, error: new Error(`${file} disappeared while reconciling`) };
    // Never act on a file that is being written right now: look again shortly.
    if (read.unsettled) return { ops: 0, requeueAfterMs: 250 };
    mark('read');
    const parsed = parseScenario(read.text, file);
    mark('parse');
    if (!parsed.ok) {
      for (const i of parsed.issues) log.warn({ scenario: name, file, code: i.code }, formatIssue(file, i));
      if (parsed.doc) await this.writeInvalid(file, parsed.doc, parsed.issues);
      // Terminal until the file changes: never touch Docker on the strength of an invalid spec.
      return { ops: 0, issues: parsed.issues };
    }
    const scenario = parsed.scenario;
    const prev = (parsed.doc.toJS()?.status ?? {}) as ScenarioStatus;
    const gen = generationOf(parsed.doc);

    const before = await docker.snapshot();
    mark('snapshot');
    const now = clock.now();
    const time = evaluateTimeline(scenario, prev, now);
    const faults = resolveFaults(scenario, time.result, before, time.seed, prev.faults);
    const teardown = time.result.scenarioPhase === 'Completed' && scenario.spec.onComplete === 'delete';
    const desired = teardown
      ? desiredState(this.deps.controller, { ...scenario, spec: {} }, before)
      : desiredState(this.deps.controller, scenario, before, faults.effects);
    const plan = planScenario(desired, before);
    mark('plan');
    let exec: ExecResult | undefined;
    let after = before;
    if (!isEmptyPlan(plan)) {
      log.info({ scenario: name, operations: planOps(plan).length }, 'converging');
      exec = await executePlan(plan, docker, { onOp: (r) => this.logOp(name, r) });
      after = await docker.snapshot();
    }
    // Network faults: this scenario's active entries go into the per-container ledgers (shared
    // with every other scenario touching those containers), which are applied and read back.
    const net = this.deps.netFaults
      ? await this.deps.netFaults.sync(scenario, teardown ? [] : faults.active, after, time.seed)
      : undefined;
    mark('netns');
    const done = clock.now();
    const status = this.composeStatus(prev, gen.generation, desired, plan, after, exec, done, startedMs);
    status.seed = time.seed;
    status.startedAt = time.startedAt;
    status.frozenMs = time.frozenMs || undefined;
    status.frozenSince = time.frozenSince;
    status.observedAt = now.toISOString();
    status.nextTransitionAt = time.result.nextTransitionAt?.toISOString();
    status.faults = faultStatuses(scenario, time.result, faults, after, prev.faults, net?.targets, exec?.errors);
    const degraded = net?.degraded ?? [];
    const failedFaults = (status.faults ?? []).filter((f) => f.phase === 'Failed' || f.targets?.some((t) => t.phase === 'Failed'));
    if (degraded.length || failedFaults.length) {
      const first = degraded[0];
      status.conditions = setCondition(
        status.conditions,
        'Degraded',
        'True',
        first?.reason ?? 'FaultFailed',
        [
          ...new Set([
            ...degraded.map((d) => d.message),
            ...failedFaults.map((f) => {
              const why = f.message ?? f.targets?.find((t) => t.lastError)?.lastError ?? 'failed';
              return why.startsWith(`fault "${f.name}"`) ? why : `fault "${f.name}": ${why}`;
            }),
          ]),
        ]
          .slice(0, 5)
          .join('; '),
        done.toISOString(),
      );
    } else if ((scenario.spec.faults ?? []).length) {
      status.conditions = setCondition(status.conditions, 'Degraded', 'False', 'AsDeclared', 'every active fault is in place as declared', done.toISOString());
    }
    const tlPhase = time.result.scenarioPhase;
    if (status.phase !== 'Failed') {
      status.phase = tlPhase === 'Running' && status.phase === 'Pending' ? 'Pending' : tlPhase;
    }
    if (time.result.issues.length) status.issues = time.result.issues;

    const changed = statusChanged(prev, status);
    mark('status');
    let newerSpec = false;
    if (changed) {
      const w = await files.writeStatus(file, status, gen.specHash);
      if (!w.written) log.debug({ scenario: name, reason: w.reason }, 'status not written');
      // The file moved on while we worked (a person's save merged into our write): do not rely
      // on the watcher's event for it, come back at once.
      newerSpec = w.written && w.own === false;
    }
    log.debug({ scenario: name, ms: mark('write'), active: time.result.active.length }, 'reconciled');
    const failed = [...(exec?.results.filter((r) => !r.ok) ?? []), ...(net?.errors ?? [])];
    const result: ReconcileResult = {
      ops: (exec?.results.length ?? 0) + (net?.writes ?? 0),
      scenario,
      desired,
      status,
      kernelCommands: net?.commands ?? 0,
      kernelWrites: net?.writes ?? 0,
    };
    if (failed.length) result.error = new Error(failed.map((f) => f.error).join('; '));
    let wake = time.result.nextTransitionAt ? Math.max(0, time.result.nextTransitionAt.getTime() - done.getTime()) : undefined;
    if (status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') {
      // e.g. a container still starting, or a named container not there yet (its Docker event
      // will wake us too; this is the safety net).
      wake = Math.min(wake ?? Infinity, READY_RECHECK_MS);
    }
    if (net?.retryAfterMs !== undefined) wake = Math.min(wake ?? Infinity, net.retryAfterMs);
    if (newerSpec) wake = 0;
    result.requeueAfterMs = wake;
    return result;
  }

  private logOp(scenario: string, r: { name: string; ok: boolean; error?: string; ms: number }): void {
    if (r.ok) this.deps.log.info({ scenario, op: r.name, ms: r.ms }, r.name);
    else this.deps.log.warn({ scenario, op: r.name, ms: r.ms }, r.error);
  }

  private composeStatus(
    prev: ScenarioStatus,
    generation: number,
    desired: DesiredState,
    plan: Plan,
    after: Snapshot,
    exec: ExecResult | undefined,
    now: Date,
    startedMs: number,
  ): ScenarioStatus {
    const t = now.toISOString();
    const ds = dockerStatus(desired, after, plan.blocked, exec?.errors ?? new Map());
    let conditions = setCondition(prev.conditions, 'Valid', 'True', 'SpecValid', 'the spec passed validation', t);
    const failed = plan.blocked.length > 0 || (exec?.errors.size ?? 0) > 0;
    if (ds.ready) {
      conditions = setCondition(conditions, 'Ready', 'True', 'Converged', 'networks, containers and members match the spec', t);
    } else {
      const reason = plan.blocked.length ? 'Conflict' : failed ? 'ConvergeFailed' : 'Converging';
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
      if (!prev.events?.some((e) => e.message === b.message)) events.push({ time: t, type: 'Warning', reason: 'Conflict', message: b.message });
    }
    const status: ScenarioStatus = {
      observedGeneration: generation,
      phase: failed ? 'Failed' : ds.ready ? 'Running' : 'Pending',
      startedAt: prev.startedAt ?? t,
      conditions,
      networks: ds.networks.length ? ds.networks : undefined,
      containers: ds.containers.length ? ds.containers : undefined,
      members: ds.members.length ? ds.members : undefined,
      lastReconcile: exec
        ? { time: t, durationMs: now.getTime() - startedMs, operations: exec.results.length, error: failed ? 'see events' : undefined }
        : prev.lastReconcile,
      events: pushEvents(prev.events, events),
    };
    return status;
  }

  private async writeInvalid(file: string, doc: Document, issues: Issue[]): Promise<void> {
    let prev: ScenarioStatus;
    try {
      prev = (doc.toJS({ maxAliasCount: 100 })?.status ?? {}) as ScenarioStatus;
    } catch {
      return; // not convertible: nothing sensible can be written into it; the log has the issues
    }
    const t = this.deps.clock.now().toISOString();
    const first = issues[0];
    const message = `${issues.length} problem${issues.length === 1 ? '' : 's'}: ${formatIssue(file, first)}${issues.length > 1 ? ' (see status.issues)' : ''}`;
    const status: ScenarioStatus = {
      ...prev,
      phase: 'Failed',
      conditions: setCondition(prev.conditions, 'Valid', 'False', 'InvalidSpec', message, t),
      issues: issues.map(({ code, path, message: m, line, column }) => ({ code, path, message: m, line, column })),
    };
    if (statusChanged(prev, status)) await this.deps.files.writeStatus(file, status);
  }
}

/** Compare statuses ignoring fields that change on every write (so an idle resync writes nothing). */
export function statusChanged(a: ScenarioStatus, b: ScenarioStatus): boolean {
  const strip = (s: ScenarioStatus) => stableStringify({ ...s, specHash: undefined, observedAt: undefined });
  return strip(a) !== strip(b);
}
