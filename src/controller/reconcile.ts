// Reconcile ONE scenario, level-triggered. Whatever woke it (a save, a Docker event, a timer), it
// looks at the world as it is now and tells its story in this order:
//
//   read the file → parse and validate (cached by content) → the timeline at `now` (recorded start,
//   seed, freezes) → resolve fault targets over the view of Docker → plan Docker (pure) → plan the
//   namespaces (pure) → execute the Docker plan, refresh what it touched → apply the namespace plan
//   (kernel written, then read back) → status from what Docker and the kernel showed → write it if
//   it changed → come back at the next timeline transition.
//
// An invalid file is a final answer until the file changes: its issues go into its status once,
// nothing is retried, nothing in Docker or the kernel is touched on its strength.
import type { Logger } from 'pino';
import { parseScenario, type ParseResult } from '../api/parse.js';
import { formatIssue } from '../api/format.js';
import type { FaultAction, FaultSpec, Issue, ObservedEffect, Scenario, ScenarioStatus } from '../api/types.js';
import { kindOf } from '../api/kinds.js';
import { desiredState, type DesiredState } from '../plan/desired.js';
import { allocateSubnets, type AddressPool } from '../plan/addresses.js';
import { dockerFaultEffects } from '../plan/fault-effects.js';
import { faultNetworks } from '../plan/external.js';
import { isEmptyPlan, planOps, planScenario, type Plan } from '../plan/plan.js';
import { planNetns, type NetPlan } from '../netplan/index.js';
import { planProbes } from '../netplan/probe.js';
import { judge } from '../netplan/probe.js';
import { resolveFaults, type ActiveFault, type Snapshot } from '../resolve/index.js';
import { evaluateRecorded } from '../timeline/index.js';
import { invalidStatus, reconciledStatus, statusChanged, withObserved } from '../status/index.js';
import type {
  Clock,
  DockerPort,
  HeldStatus,
  KernelPort,
  KernelReport,
  MetricsSink,
  ScenarioFiles,
  StatusWriteResult,
} from '../ports/index.js';
import { executePlan, type ExecResult } from '../apply/execute.js';
import type { EngineState } from '../observe/engines.js';
import { DEFAULT_ENGINE } from '../api/ownership.js';
import { SINGLE_ENGINE, type PlanEngines } from '../plan/engines.js';
import { generationOf, readStatus, splitTrailingStatus } from '../store/index.js';

export interface ReconcileDeps {
  /** This controller's identity (label faultline.dev/controller, prefix of every kernel key). */
  controller: string;
  docker: DockerPort;
  /** Several engines: the port of each by name (absent: `docker` is the only, default, engine). */
  engines?: (engine: string) => DockerPort;
  view: ReconcileView;
  files: ScenarioFiles;
  clock: Clock;
  log: Logger;
  /** Network faults in namespaces (absent: network faults are reported, not applied). */
  kernel?: KernelPort;
  /**
   * Where networks declared without a subnet get one (plan/addresses.ts). Absent or empty: Docker
   * picks from its own default pools, as before.
   */
  addressPools?: AddressPool[];
  /** Routes of the engine's host (CIDRs), which a block from the pools must not cover. */
  hostRoutes?: () => Promise<string[]>;
  /** Phase durations, Docker operations, errors by reason (absent: nothing is measured). */
  metrics?: MetricsSink;
}

/** The view a reconcile reads (one engine: DockerView; several: EngineViews). */
export interface ReconcileView {
  current(): Snapshot;
  refresh(
    what: { containers?: string[]; networks?: string[]; all?: boolean },
    engines?: readonly string[],
  ): Promise<Snapshot>;
  /** Reachability and the Swarm (absent: one engine, its own manager). */
  state?(): EngineState;
}

/** The kernel's facts about engines other than the default one (kernel/engines.ts). */
interface WithEngineFacts {
  engineFacts?(): Promise<NetPlanEngines>;
}
type NetPlanEngines = NonNullable<Parameters<typeof planNetns>[0]['engines']>;

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
  /** Programs run in namespaces, and how many of them changed the kernel. */
  kernelCommands?: number;
  kernelWrites?: number;
  /** The file now names this scenario instead: index it again and reconcile that name. */
  misnamed?: string;
  /** The file is gone (its deletion was not seen yet): index it again, the name is reconciled as deleted. */
  gone?: boolean;
  /** requeueAfterMs is the next transition: an armed transition, which queues a reconcile once applied, may stand in for it. */
  requeueForTransition?: boolean;
  /** The next timeline transition (the controller arms it), and the spec it belongs to. */
  nextTransitionAt?: Date;
  specHash?: string;
  /** A status write was attempted: what became of it (the controller reports and retries failures). */
  statusWrite?: StatusWriteResult;
  /** Faults whose window is open now, by kind (for the active-faults gauge). */
  activeKinds?: Partial<Record<FaultAction, number>>;
}

/**
 * A parsed file: the spec, the status it holds, and its generation bookkeeping. A valid file keeps
 * no YAML Document (a hundred cached Documents would cost the idle controller tens of MiB).
 */
type Parsed =
  | { ok: true; scenario: Scenario; prev: ScenarioStatus; generation: number; specHash: string }
  | { ok: false; result: Extract<ParseResult, { ok: false }> };

const READY_RECHECK_MS = 2_000;

/** The instants and containers one reconcile plans for (also what an armed transition compiles). */
export interface NetnsIntent {
  scenario: Scenario;
  active: ActiveFault[];
  seed: number;
  view: Snapshot;
}

export class Reconciler {
  /**
   * Files whose last status write failed (StatusWriteFailed), and the status the controller keeps
   * for each instead: the file holds an older one, so every reconcile (even of a text a person
   * edited meanwhile) starts from the kept status, and writes even if nothing changed.
   */
  private readonly unwritten = new Map<string, ScenarioStatus>();
  /** Subnets chosen from the address pools, by network Docker name (this controller's book). */
  private readonly subnets = new Map<string, string>();
  /**
   * path → the last text read (and the held status's, when status is kept beside the file) and its
   * parse: a file read again unchanged is not parsed again.
   */
  private readonly parsed = new Map<string, { text: string; held?: string; parsed: Parsed }>();
  /** path → the invalid text (and held status) last reported: not reported again while unchanged. */
  private readonly refused = new Map<string, string>();
  /** path → the status block that ends its text (store/yamlEdit.ts splitTrailingStatus) and its value, last read or written. */
  private readonly tails = new Map<string, { tail: string; status: ScenarioStatus }>();
  /**
   * The spec part of a person's save, parsed when the controller indexed the file (`nameOf`), for
   * the reconcile that follows it. One slot, taken by that reconcile: no Document is kept longer.
   */
  private head?: { file: string; text: string; result: ParseResult };

  constructor(private readonly deps: ReconcileDeps) {}

  /** The scenario's file is gone (or never existed): remove everything it owns. */
  async reconcileDeleted(name: string): Promise<ReconcileResult> {
    const { docker, log, view } = this.deps;
    const empty: Scenario = { apiVersion: 'faultline.dev/v1alpha1', kind: 'Scenario', metadata: { name }, spec: {} };
    const plan = planScenario(
      desiredState(this.deps.controller, empty, view.current()),
      view.current(),
      this.engines(),
    );
    let exec: ExecResult | undefined;
    if (!isEmptyPlan(plan)) {
      log.info({ scenario: name, operations: planOps(plan).length }, 'scenario deleted: removing what it owns');
      exec = await executePlan(plan, this.deps.engines ?? docker, { onOp: (r) => this.logOp(name, r) });
      await view.refresh(touchedBy(plan), enginesOf(plan));
    }
    if (exec?.results.some((r) => !r.ok)) this.deps.metrics?.error('docker');
    // The namespaces after the containers: a namespace that stays unreadable (its container is
    // going away) must not keep the containers that end it from being removed.
    const net = this.deps.kernel ? await this.deps.kernel.forget(name) : undefined;
    if (net) this.countPrograms(net);
    if (net?.errors.length) this.deps.metrics?.error('kernel');
    for (const n of this.subnets.keys()) if (n.startsWith(`${name}_`)) this.subnets.delete(n);
    const errors = [
      ...(exec?.results.filter((r) => !r.ok).map((r) => r.error ?? r.name) ?? []),
      ...(net?.errors ?? []),
    ];
    const ops = (exec?.results.length ?? 0) + (net?.writes ?? 0);
    return errors.length ? { ops, error: new Error(errors.join('; ')) } : { ops };
  }

  async reconcileFile(name: string, file: string): Promise<ReconcileResult> {
    const { docker, files, clock, log, view } = this.deps;
    const startedMs = clock.now().getTime();
    const lap = laps();
    const read = await files.read(file);
    lap('read');
    if ('missing' in read) return { ops: 0, gone: true };
    // Never act on a file that is being written right now: look again shortly.
    if (read.unsettled) return { ops: 0, requeueAfterMs: 250 };
    const parsed = this.parse(file, read.text, read.size, read.held);
    lap('parse');
    if (!parsed.ok) return this.refuse(name, file, parsed.result, read);
    this.refused.delete(file);
    const { scenario } = parsed;
    // The file names another scenario than the one this reconcile is for (its name could not be
    // read when it was indexed, or it was renamed since): never act under the wrong name.
    if (scenario.metadata.name !== name) return { ops: 0, misnamed: scenario.metadata.name };
    const { prev } = parsed;

    const now = clock.now();
    const time = evaluateRecorded(name, scenario.spec, prev, now);
    const before = view.current();
    const resolved = resolveFaults(scenario, time.result, before, time.seed);
    const teardown = time.result.scenarioPhase === 'Completed' && scenario.spec.onComplete === 'delete';
    const networks = faultNetworks(name, scenario.spec, before);
    const effects = dockerFaultEffects(name, resolved.active, resolved.inactive, prev.faults, networks, before);
    const desired = desiredState(
      this.deps.controller,
      teardown ? { ...scenario, spec: {} } : scenario,
      before,
      teardown ? undefined : effects,
    );
    await this.assignSubnets(name, desired, before, prev);
    const plan = planScenario(desired, before, this.engines());
    lap('plan');

    let exec: ExecResult | undefined;
    let after = before;
    if (!isEmptyPlan(plan)) {
      log.info({ scenario: name, operations: planOps(plan).length }, 'converging');
      exec = await executePlan(plan, this.deps.engines ?? docker, { onOp: (r) => this.logOp(name, r) });
      after = await view.refresh(touchedBy(plan), enginesOf(plan));
    }
    lap('docker');
    // Targets as they are now: containers this plan created or started are there to be hit.
    const targets = exec ? resolveFaults(scenario, time.result, after, time.seed) : resolved;
    const net = await this.applyNetns(
      { scenario, active: teardown ? [] : targets.active, seed: time.seed, view: after },
      now.getTime(),
    );
    // An armed transition of this scenario applied a later instant meanwhile: plan again from now.
    lap('netns');
    if (net) this.countPrograms(net.kernel);
    if (exec?.results.some((r) => !r.ok)) this.deps.metrics?.error('docker');
    if (net?.kernel.errors.length) this.deps.metrics?.error('kernel');
    if (net?.kernel.superseded) return { ops: exec?.results.length ?? 0, requeueAfterMs: 0, scenario, desired };

    const computed = reconciledStatus({
      prev,
      generation: parsed.generation,
      scenario,
      time,
      observedAt: now,
      now: clock.now(),
      startedMs,
      desired,
      plan,
      exec,
      resolved: targets,
      before,
      networks,
      after,
      netplan: net?.plan,
      kernel: net?.kernel,
    });
    lap('status');
    const status = await this.probe(scenario, net?.plan, after, computed, prev, parsed.generation);
    lap('probe');
    const written = await this.write(name, file, { text: read.text, held: read.held?.text }, parsed, status);
    const newerSpec = written?.written === true && written.own === false;
    const phases = lap('write');
    log.debug({ scenario: name, ms: phases, commands: net?.kernel.commands, writes: net?.kernel.writes }, 'reconciled');
    const { metrics } = this.deps;
    if (metrics) for (const [phase, ms] of Object.entries(phases)) metrics.reconcilePhase(phase, ms / 1000);

    const failed = [
      ...(exec?.results.filter((r) => !r.ok).map((r) => r.error ?? r.name) ?? []),
      ...(net?.kernel.errors ?? []),
    ];
    const result: ReconcileResult = {
      ops: (exec?.results.length ?? 0) + (net?.kernel.writes ?? 0),
      scenario,
      desired,
      status,
      kernelCommands: net?.kernel.commands ?? 0,
      kernelWrites: net?.kernel.writes ?? 0,
      nextTransitionAt: time.result.nextTransitionAt,
      specHash: parsed.specHash,
      ...(written ? { statusWrite: written } : {}),
      activeKinds: teardown ? {} : countKinds(targets.active.map((a) => a.fault)),
    };
    if (failed.length) result.error = new Error(failed.join('; '));
    const wake = this.comeBack(time.result.nextTransitionAt, status, net?.kernel, newerSpec);
    if (wake) {
      result.requeueAfterMs = wake.ms;
      if (wake.transition) result.requeueForTransition = true;
    }
    return result;
  }

  /**
   * The namespace side of one scenario at one instant: plan (pure), then the kernel engine merges it
   * with every other scenario's, writes and reads back. Also the path an armed transition takes.
   */
  async applyNetns(intent: NetnsIntent, asOf: number): Promise<{ plan: NetPlan; kernel: KernelReport } | undefined> {
    const plan = await this.planNetnsAt(intent);
    if (!plan) return undefined;
    return { plan, kernel: await this.deps.kernel!.apply(plan, asOf) };
  }

  /** The namespace plan of an intent (pure, with the kernel's capabilities), for an armed transition. */
  async planNetnsAt(intent: NetnsIntent): Promise<NetPlan | undefined> {
    const { kernel } = this.deps;
    if (!kernel) return undefined;
    const [caps, hostPath, engines] = await Promise.all([
      kernel.capabilities(),
      kernel.hostPath(),
      (kernel as KernelPort & WithEngineFacts).engineFacts?.(),
    ]);
    return planNetns({
      ...(engines ? { engines } : {}),
      scope: this.deps.controller,
      scenario: intent.scenario,
      active: intent.active,
      view: intent.view,
      caps,
      seed: intent.seed,
      hostPath,
    });
  }

  /** The engines the planner may act on now. */
  private engines(): PlanEngines {
    const st = this.deps.view.state?.();
    return st
      ? { reachable: st.reachable, unreachable: st.unreachable, manager: st.manager, swarm: st.swarm }
      : SINGLE_ENGINE;
  }

  /**
   * verify: probe — after the read-back, measure the effect of each `verify: probe` fault on its
   * verified targets by packets (netplan/probe.ts decides what is due; the kernel engine measures,
   * one at a time) and write what was observed beside what was requested.
   */
  private async probe(
    scenario: Scenario,
    plan: NetPlan | undefined,
    view: Snapshot,
    status: ScenarioStatus,
    prev: ScenarioStatus,
    generation: number,
  ): Promise<ScenarioStatus> {
    const { kernel, clock, log } = this.deps;
    if (!plan || !(scenario.spec.faults ?? []).some((f) => f.verify === 'probe')) return status;
    const decisions = planProbes({
      scenario,
      plan,
      view,
      faults: status.faults ?? [],
      prev: prev.faults,
      respec: prev.observedGeneration !== generation,
      now: clock.now(),
    });
    const observed = new Map<string, Map<string, ObservedEffect>>();
    for (const d of decisions) {
      let o: ObservedEffect;
      if ('observed' in d) o = d.observed;
      else if (!kernel?.measure)
        o = judge(
          d.measure.spec,
          { peer: d.measure.peer.address, samples: 0, error: 'this controller cannot measure' },
          clock.now(),
        );
      else {
        const m = await kernel.measure(d.measure);
        o = judge(d.measure.spec, m, clock.now());
        log.info(
          { scenario: scenario.metadata.name, fault: d.fault, target: d.target, observed: o },
          `probe: ${o.verdict}`,
        );
      }
      if (!observed.has(d.fault)) observed.set(d.fault, new Map());
      observed.get(d.fault)!.set(d.target, o);
    }
    return withObserved(status, observed, clock.now());
  }

  /** The valid scenario and status of `file` as last read (no I/O). */
  cachedParse(file: string): { scenario: Scenario; prev: ScenarioStatus; specHash: string } | undefined {
    const p = this.parsed.get(file)?.parsed;
    return p?.ok ? { scenario: p.scenario, prev: p.prev, specHash: p.specHash } : undefined;
  }

  /** The status a file holds now (read leniently, guarded), or undefined when the file is gone. */
  async statusOf(file: string): Promise<ScenarioStatus | undefined> {
    const r = await this.deps.files.read(file);
    if ('missing' in r) return undefined;
    if (r.held) return r.held.status;
    return (readStatus(r.text) ?? {}) as ScenarioStatus;
  }

  /**
   * Parse and validate, or reuse the parse of the same text. `held`: the status kept beside the
   * file; then it, not the file's status entry, is the previous status and holds the generation.
   */
  /**
   * The name a file's text gives its scenario, when the reconcile will read only the spec part
   * (a person's save that kept the status block last read or written): parsed once, here, for
   * the controller's index and for that reconcile. Undefined: read the name some other way.
   */
  nameOf(file: string, text: string): string | undefined {
    const split = splitTrailingStatus(text);
    if (!split || this.tails.get(file)?.tail !== split.tail) return undefined;
    const result = this.parseHead(file, split.head, Buffer.byteLength(text));
    if (!result.ok || result.doc.has('status')) return undefined;
    this.head = { file, text: split.head, result };
    return result.scenario.metadata.name;
  }

  private parseHead(file: string, head: string, bytes: number): ParseResult {
    const kept = this.head;
    this.head = undefined;
    if (kept?.file === file && kept.text === head) return kept.result;
    return parseScenario(head, file, { bytes });
  }

  private parse(file: string, text: string, bytes?: number, held?: HeldStatus): Parsed {
    const hit = this.parsed.get(file);
    if (hit && hit.text === text && hit.held === held?.text) return hit.parsed;
    // A person's save of a file the controller wrote: the status block at its end is the one read
    // (or written) last time, so only the part before it is parsed. With a 30-container scenario
    // that is 46 lines instead of 670 (2.7 ms instead of 13 here), on the path to the kernel.
    const split = held ? undefined : splitTrailingStatus(text);
    const known = split && this.tails.get(file);
    let result: ParseResult | undefined;
    let status: ScenarioStatus | undefined = held?.status;
    if (split && known?.tail === split.tail) {
      const head = this.parseHead(file, split.head, bytes ?? Buffer.byteLength(text));
      if (head.ok && !head.doc.has('status')) {
        result = head;
        status = known.status;
      }
    }
    result ??= parseScenario(text, file, bytes === undefined ? {} : { bytes });
    let parsed: Parsed;
    if (result.ok) {
      const js = (result.doc.toJS() ?? {}) as {
        metadata?: { generation?: unknown };
        spec?: unknown;
        status?: ScenarioStatus;
      };
      if (status === undefined && split && js.status) this.tails.set(file, { tail: split.tail, status: js.status });
      status ??= js.status;
      const g = generationOf({
        spec: js.spec,
        metadata: { generation: held ? held.generation : js.metadata?.generation },
        status,
      });
      parsed = {
        ok: true,
        scenario: result.scenario,
        prev: status ?? {},
        generation: g.generation,
        specHash: g.specHash,
      };
    } else parsed = { ok: false, result };
    const kept = this.unwritten.get(file);
    if (kept && parsed.ok) parsed.prev = kept;
    this.parsed.set(file, { text, held: held?.text, parsed });
    return parsed;
  }

  /**
   * Networks declared without an IPv4 subnet get one from the address pools (plan/addresses.ts):
   * written into their create request (not their config hash), or, none being left, blocked with
   * what to change. The choice is kept in this controller's book until the scenario is gone.
   */
  private async assignSubnets(
    name: string,
    desired: DesiredState,
    view: Snapshot,
    prev: ScenarioStatus,
  ): Promise<void> {
    const pools = this.deps.addressPools;
    if (!pools?.length) return;
    const routes = this.deps.hostRoutes ? await this.deps.hostRoutes().catch((): string[] => []) : [];
    const choices = allocateSubnets({
      scenario: name,
      networks: desired.networks,
      snapshot: view,
      pools,
      chosen: this.subnets,
      recorded: prev.networks,
      hostRoutes: routes,
    });
    const mine = new Set(desired.networks.map((n) => n.dockerName));
    for (const n of this.subnets.keys()) if (n.startsWith(`${name}_`) && !mine.has(n)) this.subnets.delete(n);
    for (const n of desired.networks) {
      const c = choices.get(n.dockerName);
      if (!c || !n.request) continue;
      if ('exhausted' in c) {
        n.blockedBy = { reason: 'AddressPoolExhausted', message: c.exhausted };
        this.subnets.delete(n.dockerName);
        continue;
      }
      this.subnets.set(n.dockerName, c.subnet);
      n.request = {
        ...n.request,
        ipam: {
          driver: n.request.ipam?.driver ?? 'default',
          config: [{ subnet: c.subnet }, ...(n.request.ipam?.config ?? [])], // an IPv6 subnet stays
          options: n.request.ipam?.options ?? {},
        },
      };
    }
  }

  /** The file is gone from the controller's index: drop what was cached for it. */
  forgetFile(file: string): void {
    this.parsed.delete(file);
    this.tails.delete(file);
    if (this.head?.file === file) this.head = undefined;
    this.unwritten.delete(file);
    this.refused.delete(file);
  }

  /**
   * An invalid file: report once in its status (or the log), never retry, never touch Docker. Once:
   * looked at again unchanged (a resync, another file's event), it is not reported again.
   */
  private async refuse(
    name: string,
    file: string,
    r: Extract<ParseResult, { ok: false }>,
    read: { text: string; held?: HeldStatus },
  ): Promise<ReconcileResult> {
    const held = read.held;
    const seen = `${read.text}\0${held?.text ?? ''}`;
    if (this.refused.get(file) === seen) return { ops: 0, issues: r.issues };
    this.refused.set(file, seen);
    this.deps.metrics?.error('invalid_spec');
    for (const i of r.issues) this.deps.log.warn({ scenario: name, file, code: i.code }, formatIssue(file, i));
    if (r.doc || held) {
      let prev: ScenarioStatus | undefined = held?.status;
      // Beside the file, the status can always be written; into the file, only when it is YAML data.
      if (!held)
        try {
          prev = (r.doc!.toJS({ maxAliasCount: 100 })?.status ?? {}) as ScenarioStatus;
        } catch {
          prev = undefined; // not convertible: nothing sensible can be written into it; the log has the issues
        }
      if (prev) {
        let status = invalidStatus(prev, file, r.issues, this.deps.clock.now());
        // Written, the text changes (the generation, the status) and with it the issues' lines:
        // the status is brought to the positions in the text as written (a pass or two, bounded),
        // and that text is the one reported, so a later look finds it unchanged.
        let text = read.text;
        for (let pass = 0; pass < 3 && statusChanged(prev, status); pass++) {
          const w = await this.deps.files.writeStatus(file, status);
          if (!w.written) break;
          const was = text;
          text = w.text ?? text;
          this.refused.set(file, `${text}\0${w.heldText ?? held?.text ?? ''}`);
          if (held || text === was) break; // beside the file: the text, and its positions, did not move
          // Parsed through the cache, so the next look at this text parses nothing.
          const again = this.parse(file, text);
          if (again.ok) break;
          prev = status;
          status = invalidStatus(prev, file, again.result.issues, this.deps.clock.now());
        }
      }
    }
    return { ops: 0, issues: r.issues };
  }

  /**
   * Write the status when it changed (or the file still lacks one we could not write). Undefined
   * when nothing was attempted; `own: false` when the write merged a newer save (reconcile again).
   */
  private async write(
    name: string,
    file: string,
    read: { text: string; held?: string },
    parsed: Extract<Parsed, { ok: true }>,
    status: ScenarioStatus,
  ): Promise<StatusWriteResult | undefined> {
    if (!statusChanged(parsed.prev, status) && !this.unwritten.has(file)) return undefined;
    const w = await this.deps.files.writeStatus(file, status, parsed.specHash);
    if (w.written) this.unwritten.delete(file);
    if (!w.written && w.reason === 'StatusWriteFailed') {
      // The filesystem refused (read-only, full, not writable). The faults keep running; this
      // status is kept as the file's until a write succeeds — the recorded start, the seed, the
      // counters — so the timeline does not start over meanwhile.
      this.unwritten.set(file, status);
      this.parsed.set(file, { text: read.text, held: read.held, parsed: { ...parsed, prev: status } });
      this.deps.metrics?.error('status_write');
    } else if (!w.written) {
      this.deps.log.debug({ scenario: name, reason: w.reason }, 'status not written');
      if (!w.reason?.startsWith('unchanged')) this.deps.metrics?.error('status_write');
    }
    // Our own text, with the spec we parsed and the status we wrote: the next reconcile need not
    // parse it again (a scenario of 200 faults is ~100 ms of YAML per parse).
    else if (w.own !== false && w.text !== undefined) {
      const split = w.heldText === undefined ? splitTrailingStatus(w.text) : undefined;
      if (split) this.tails.set(file, { tail: split.tail, status });
      this.parsed.set(file, {
        text: w.text,
        held: w.heldText,
        parsed: { ...parsed, prev: status, generation: w.generation ?? parsed.generation },
      });
    }
    // The file moved on while we worked (a person's save merged into our write): the caller does
    // not rely on the watcher's event for it and comes back at once.
    return w;
  }

  /**
   * When to look again: the next transition (`transition`: nothing sooner is due); sooner while
   * not Ready or a namespace deferred.
   */
  private comeBack(
    next: Date | undefined,
    status: ScenarioStatus,
    kernel: KernelReport | undefined,
    newerSpec: boolean,
  ): { ms: number; transition: boolean } | undefined {
    if (newerSpec) return { ms: 0, transition: false };
    const atNext = next ? Math.max(0, next.getTime() - this.deps.clock.now().getTime()) : undefined;
    let wake = atNext ?? Infinity;
    // e.g. a container still starting, or a named container not there yet (its Docker event
    // will wake us too; this is the safety net).
    if (status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') wake = Math.min(wake, READY_RECHECK_MS);
    if (kernel?.retryAfterMs !== undefined) wake = Math.min(wake, kernel.retryAfterMs);
    if (wake === Infinity) return undefined;
    return { ms: wake, transition: wake === atNext };
  }

  /** Programs run in namespaces, for the counters: read-backs and writes. */
  private countPrograms(k: KernelReport): void {
    this.deps.metrics?.kernelPrograms('write', k.writes);
    this.deps.metrics?.kernelPrograms('read', k.commands - k.writes);
  }

  private logOp(scenario: string, r: { name: string; ok: boolean; error?: string; ms: number }): void {
    // Operation names are "<kind> <object>..." (plan/opName): the kind is the counter's label.
    this.deps.metrics?.dockerOperation(r.name.split(' ')[0], r.ok);
    if (r.ok) this.deps.log.info({ scenario, op: r.name, ms: r.ms }, r.name);
    else this.deps.log.warn({ scenario, op: r.name, ms: r.ms }, r.error);
  }
}

/** How many of `faults` there are of each kind. */
function countKinds(faults: readonly FaultSpec[]): Partial<Record<FaultAction, number>> {
  const out: Partial<Record<FaultAction, number>> = {};
  for (const f of faults) {
    const k = kindOf(f);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Milliseconds spent per phase of one reconcile, for the debug log and the metrics: lap('parse') closes a phase. */
function laps(): (phase: string) => Record<string, number> {
  const t: Record<string, number> = {};
  let last = performance.now();
  return (phase) => {
    const n = performance.now();
    t[phase] = Math.round((n - last) * 10) / 10;
    last = n;
    return t;
  };
}

/** The engines a plan's operations act on. */
export function enginesOf(plan: Plan): string[] {
  return [...new Set(planOps(plan).map((op) => op.engine ?? DEFAULT_ENGINE))];
}

/** The Docker objects a plan's operations name: what the view must re-read after it ran. */
export function touchedBy(plan: Plan): { containers: string[]; networks: string[]; volumes: string[] } {
  const containers = new Set<string>();
  const networks = new Set<string>();
  const volumes = new Set<string>();
  for (const op of planOps(plan)) {
    if ('volume' in op) volumes.add(op.volume);
    if ('container' in op) containers.add(op.container);
    if ('network' in op) networks.add('id' in op && op.kind === 'network.remove' ? op.id : op.network);
    if (op.kind === 'container.remove') containers.add(op.id);
  }
  return { containers: [...containers], networks: [...networks], volumes: [...volumes] };
}
