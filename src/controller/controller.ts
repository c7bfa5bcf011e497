// The controller: watches a directory of Scenario files and the Docker engine, and keeps them
// converged. Events never carry state; they only put a scenario name on the work queue:
//   file add/change/unlink ─┐
//   Docker events ──────────┼─► WorkQueue (coalescing, backoff, timers) ─► Reconciler.reconcile(name)
//   periodic resync ────────┘                                  ▲                    │
//                                                              └── requeueAfter ────┘
// Docker events first update the view (observe/docker-view: list once, then inspect only what an
// event names), and only then queue the scenarios they concern.
//
// Timed transitions are ARMED: once a reconcile knows the next instant T, the controller compiles
// the namespace plan for T shortly before it (the kernel engine starts the programs it will need,
// waiting on their input), and a timer at T applies it without waiting for a worker; the reconcile
// queued at T then verifies, handles the Docker-level faults and writes the status.
//
// A file whose metadata.name can't be read is queued under "file:<path>" so its problems still
// reach its status. Two files claiming one name are both refused (nothing is changed in Docker).
//
// Exactly one controller acts on a directory (lease.ts): start() stands by while another holds it.
// A status the filesystem refuses (read-only, full, not writable) does not stop the faults: it is
// logged once, kept, shown in the controller's health record (health.ts: what `get` and
// `describe` read), and written again with backoff until it lands.
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Issue, Scenario, ScenarioStatus } from '../api/types.js';
import { formatIssue } from '../api/format.js';
import { failpoint } from '../api/failpoint.js';
import { LABEL_SCENARIO } from '../api/ownership.js';
import { DNS_LABEL_RE, MAX_SCENARIO_NAME } from '../api/patterns.js';
import { readName } from '../store/index.js';
import { scenariosWithResources } from '../plan/plan.js';
import { resolveFaults } from '../resolve/index.js';
import { evaluateRecorded } from '../timeline/index.js';
import { duplicateNameStatus } from '../status/index.js';
import type { Clock, DirEvent, DirStore, DockerPort, KernelPort, MetricsSink } from '../ports/index.js';
import type { ViewChange } from '../observe/docker-view.js';
import { EngineViews } from '../observe/engines.js';
import { DEFAULT_ENGINE } from '../api/ownership.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconcile.js';
import { controllerIdFor, holdLease, LEASE_RENEW_MS, type HeldLease } from './lease.js';
import { writeHealth, type StatusWriteProblem } from './health.js';
import { hostname } from 'node:os';
import type { StatusWriteResult } from '../ports/index.js';
import type { AddressPool } from '../plan/addresses.js';

export interface ControllerOptions {
  dir: string;
  /** Identity (default: derived from the directory's real path, see controllerIdFor). */
  id?: string;
  docker: DockerPort;
  /**
   * Other engines by name (`--engine`, `--context`); `docker` is the default one. Each is listed
   * and followed on its own; one that cannot be reached leaves its part of every scenario waiting.
   */
  engines?: ReadonlyMap<string, DockerPort>;
  /** How often each engine is pinged for reachability (several engines only). Default 2 s. */
  enginePingMs?: number;
  store: DirStore;
  clock: Clock;
  log: Logger;
  workers?: number; // default 4
  resyncMs?: number; // default 60 s
  /** Time a vanished file must stay vanished before its scenario is torn down (editors rename). */
  deleteGraceMs?: number; // default 500 ms
  /** Network faults in namespaces (absent: network faults are reported, not applied). */
  kernel?: KernelPort;
  /** How long before a transition its namespace plan is compiled and its programs started. Default 1 s. */
  armAheadMs?: number;
  /**
   * Where the health record goes (health.ts), besides `<dir>/.faultline/`. Absent: only there.
   */
  stateDir?: string;
  /** Subnets for networks declared without one (plan/addresses.ts); absent: Docker's defaults. */
  addressPools?: AddressPool[];
  /** Routes of the engine's host, which those subnets must not cover. */
  hostRoutes?: () => Promise<string[]>;
  /**
   * Called once the queue has stayed empty for `quietMs` (default 20 s) after a burst of work: a
   * chance to give memory back (the CLI runs a full garbage collection there).
   */
  onQuiet?: () => void;
  quietMs?: number;
  /** Where the controller reports what it does (Prometheus, through adapters/metrics.ts). */
  metrics?: MetricsSink;
}

/** A failed status write is tried again after 1 s, 2 s, 4 s … at most this long. */
const STATUS_RETRY_MAX_MS = 30_000;

const FILE_KEY = 'file:';
/** A reconcile a transition's armed path stands in for comes this much after the instant anyway. */
const ARMED_SAFETY_NET_MS = 1_000;
/**
 * After an armed transition, its reconcile (read-back verdict, Docker-level faults, status) comes
 * at most once per this long per scenario: with windows 200 ms apart, a reconcile after each one
 * would take the cores the next transition needs. The status lags the kernel by at most this.
 */
const POST_FIRE_GAP_MS = 1_000;
/** …and not from this long before an armed instant until this long after it (a reconcile takes ~100 ms). */
const QUIET_BEFORE_INSTANT_MS = 250;
const AFTER_INSTANT_MS = 50;

/** metadata.name when it can be read and is a valid scenario name (nothing else is validated). */
export function peekName(text: string): string | undefined {
  const r = readName(text);
  return 'name' in r ? validName(r.name) : undefined;
}

function validName(name: string | undefined): string | undefined {
  return name !== undefined && DNS_LABEL_RE.test(name) && name.length <= MAX_SCENARIO_NAME ? name : undefined;
}

interface Armed {
  at: number;
  /** The spec the transition was compiled from. */
  specHash: string;
  timer: ReturnType<typeof setTimeout>;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly view: EngineViews;
  private readonly reconciler: Reconciler;
  private readonly pathName = new Map<string, string | undefined>();
  private readonly scenarios = new Map<string, Scenario>(); // last valid spec per name (event routing)
  /** Docker network name -> the scenarios that declare it (several may join one external network). */
  private readonly ownedNames = new Map<string, Set<string>>();
  private readonly armed = new Map<string, Armed>();
  /** When each scenario's last reconcile started (ms since the epoch), to space those after armed transitions. */
  private readonly reconciledAt = new Map<string, number>();
  /** The last instant the armed path applied, per scenario. */
  private readonly fired = new Map<string, number>();
  /** Faults whose window is open, by kind, per scenario (summed for the active-faults gauge). */
  private readonly activeKinds = new Map<string, Partial<Record<string, number>>>();
  private readonly abort = new AbortController();
  private lease?: HeldLease;
  /** Scenarios whose status the filesystem refused, by name (health.ts). */
  private readonly statusProblems = new Map<string, StatusWriteProblem>();
  private leaseWriteFailed = false;
  private workers: Promise<void>[] = [];
  private background: Promise<unknown>[] = [];
  /** Reconcile counters, for tests and benchmarks. */
  readonly stats = { reconciles: 0, errors: 0, operations: 0, kernelCommands: 0, kernelWrites: 0, armedFired: 0 };
  private idleWaiters: (() => void)[] = [];

  readonly id: string;

  constructor(private readonly o: ControllerOptions) {
    this.id = o.id ?? controllerIdFor(o.dir);
    // One signal stops everything: loops, watchers, and a delete-grace sleep per vanished file
    // (a `rm *.yaml` of 50 scenarios is 50 listeners at once, not a leak).
    setMaxListeners(10_000, this.abort.signal);
    this.queue = new WorkQueue(o.clock);
    const ports = new Map<string, DockerPort>([[DEFAULT_ENGINE, o.docker]]);
    for (const [n, p] of o.engines ?? []) if (n !== DEFAULT_ENGINE) ports.set(n, p);
    this.view = new EngineViews(ports, {
      log: o.log,
      pingMs: o.enginePingMs,
      onChange: (c) => this.onViewChange(c),
      onResync: () => {
        // Events may have been lost (the engine restarted): read namespaces again, look at everything.
        o.kernel?.invalidate();
        // Failures while the engine was away say nothing about the next attempt: no backoff left
        // from them (a backoff grown to a minute would leave the scenario down that long after).
        this.queue.forgetAll();
        this.enqueueAll();
      },
    });
    this.reconciler = new Reconciler({
      controller: this.id,
      docker: o.docker,
      ...(ports.size > 1 ? { engines: (e: string) => this.view.port(e) } : {}),
      view: this.view,
      files: o.store,
      clock: o.clock,
      log: o.log,
      kernel: o.kernel,
      addressPools: o.addressPools,
      hostRoutes: o.hostRoutes,
      metrics: o.metrics,
    });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async start(): Promise<void> {
    const { o } = this;
    await o.docker.ping();
    const signal = this.abort.signal;
    let stoodBy = false;
    this.lease = await holdLease(o.dir, {
      clock: o.clock,
      signal,
      onStandby: (holder, how) => {
        stoodBy = true;
        o.log.info(
          { dir: o.dir, holder },
          `another controller${holder ? ` (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt})` : ''} acts on this directory (${how}): standing by, to take over when it is gone`,
        );
      },
    });
    if (stoodBy) o.log.info({ dir: o.dir, lease: this.lease.via }, 'the other controller is gone: taking over');
    // A health record left by an earlier run of this controller says nothing any more.
    await this.writeHealth();
    // What an interrupted status write left (store/tidy.ts): only under flock, where no other
    // controller can be writing; a leftover that may hold a save is kept and named.
    if (this.lease.via === 'flock' && o.store.tidy) {
      const t = await o.store.tidy();
      if (t.removed.length)
        o.log.info({ removed: t.removed }, 'removed what interrupted status writes left (nothing the files lack)');
      for (const k of t.kept)
        o.log.warn(
          { file: k.as, from: k.temp },
          `an interrupted status write left a text that may hold a save (${k.why}): kept as ${k.as}; compare it with the file, then delete it`,
        );
    }
    // Watch first (resolves when the watcher is ready), then index: a file saved in between is
    // seen by one or the other, never by neither.
    const refused = (file: string, message: string, code: string) => o.log.warn({ file, code }, message);
    await o.store.watch((e) => void this.onFileEvent(e), signal, refused);
    for (const path of await o.store.list()) await this.indexFile(path);
    for (const r of (await o.store.refused?.()) ?? []) refused(r.file, r.message, r.code);
    // The view: listed once, then kept current by events.
    this.background.push((await this.view.start(signal)).following);
    // Orphan sweep: scenarios that own Docker objects but have no file any more (deleted while we
    // were not running) are reconciled as deleted.
    const snapshot = this.view.current();
    const known = new Set([...this.pathName.values()].filter((n): n is string => !!n));
    const isLive = (s: string) => [...this.pathName.values()].includes(s);
    const orphans = new Set(scenariosWithResources(snapshot, this.id).filter((n) => !known.has(n)));
    // Rules left in namespaces by scenarios deleted while we were down (even SIGKILLed).
    if (o.kernel) for (const n of await o.kernel.sweep(snapshot, isLive)) orphans.add(n);
    for (const name of orphans) {
      o.log.info({ scenario: name }, 'found resources of a scenario with no file: sweeping');
      this.queue.add(name);
    }
    for (const [path, name] of this.pathName) this.queue.add(name ?? FILE_KEY + path);

    this.background.push(
      this.loop(o.resyncMs ?? 60_000, () => this.resync()),
      this.loop(LEASE_RENEW_MS, () => this.renew()),
    );
    for (let i = 0; i < (o.workers ?? 4); i++) this.workers.push(this.worker());
    o.metrics?.ready(true);
    o.log.info({ dir: o.dir, id: this.id, scenarios: known.size, lease: this.lease.via }, 'controller started');
  }

  /** Renew the lease; a lease taken over by another controller stops this one (it must not act on). */
  private async renew(): Promise<void> {
    let r: 'ok' | 'lost';
    try {
      r = await this.lease!.renew(this.o.clock.now());
    } catch (e) {
      // A read-only or full directory: the lock (flock) still holds; say it once.
      if (!this.leaseWriteFailed)
        this.o.log.warn(
          { err: (e as Error).message },
          'cannot renew the lease file in the directory; `apply` may think no controller is watching',
        );
      this.leaseWriteFailed = true;
      return;
    }
    if (this.leaseWriteFailed) this.o.log.info('the lease file is written again');
    this.leaseWriteFailed = false;
    if (r === 'lost') {
      this.o.log.error(
        { dir: this.o.dir },
        'another controller took over this directory (this one was not heard from in time): stopping',
      );
      this.lost = true;
      void this.stop();
    }
  }

  /** True once the lease was taken over by another controller (the CLI exits non-zero). */
  lost = false;

  async stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.o.metrics?.ready(false);
      this.abort.abort();
      for (const a of this.armed.values()) clearTimeout(a.timer);
      this.armed.clear();
      if (this.quietTimer) clearTimeout(this.quietTimer);
      this.o.kernel?.close?.();
      this.queue.shutdown();
      await Promise.allSettled([...this.workers, ...this.background]);
      if (this.lease) {
        this.statusProblems.clear();
        await this.writeHealth();
        await this.lease.release().catch(() => undefined);
      }
      this.o.log.info('controller stopped');
    })();
    return this.stopping;
  }
  private stopping?: Promise<void>;

  /** Resolves when the queue is empty and no reconcile is running (tests, `run`). */
  idle(): Promise<void> {
    if (this.queue.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async loop(everyMs: number, fn: () => unknown): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.o.clock.sleep(everyMs, signal);
      } catch {
        return;
      }
      try {
        await fn();
      } catch (e) {
        this.o.log.warn({ err: e }, 'periodic task failed');
      }
    }
  }

  /**
   * The periodic resync lists the directory again, as the view lists Docker again: a file the
   * watcher never reported is indexed now, and one gone unreported is taken as deleted, after the
   * same grace as a reported deletion. Then every scenario is queued. (Seen once in CI: the last
   * of 903 files written at once was never added; chokidar's throttled directory reads have known
   * races that miss files: paulmillr/chokidar#1276, #1465.)
   */
  private async resync(): Promise<void> {
    const listed = new Set(await this.o.store.list());
    for (const path of listed)
      if (!this.pathName.has(path)) {
        this.o.log.info({ file: path }, 'a scenario file the watcher has not reported: indexed at the resync');
        await this.refresh(path, false);
      }
    for (const path of [...this.pathName.keys()])
      if (!listed.has(path)) void this.onFileEvent({ kind: 'unlink', path });
    this.enqueueAll();
  }

  private enqueueAll(): void {
    for (const [path, name] of this.pathName) this.queue.add(name ?? FILE_KEY + path);
    for (const name of new Set([...this.ownedNames.values()].flatMap((s) => [...s]))) this.queue.add(name);
  }

  private async indexFile(path: string): Promise<{ old?: string; now?: string; text?: string }> {
    // One plain read: indexing needs the name, and the reconcile reads the file again (waiting for
    // a save in progress to settle) before acting on it.
    const r = await this.o.store.peek(path);
    const old = this.pathName.get(path);
    if ('missing' in r) {
      this.pathName.delete(path);
      this.reconciler.forgetFile(path);
      await this.o.store.forget?.(path);
      return { old };
    }
    // A file that still exists but whose name cannot be read (a typo saved mid-edit) keeps the
    // name it had: it is a broken scenario to report, not a deleted one to tear down. Only a
    // readable, different name is a rename.
    // Our own status write changed nothing but the status: the name is the one indexed, and a
    // large file is not parsed again for it (200 faults: a quarter of the controller's CPU).
    const own = old !== undefined && this.o.store.isOwnWrite(path, r.text);
    const name = own ? old : (validName(this.reconciler.nameOf(path, r.text)) ?? peekName(r.text) ?? old);
    this.pathName.set(path, name);
    return { old, now: name, text: r.text };
  }

  private async onFileEvent(e: DirEvent): Promise<void> {
    const { o } = this;
    if (e.kind === 'unlink') {
      // Editors and git may remove and re-create a file: wait, then believe it only if still gone.
      try {
        await o.clock.sleep(o.deleteGraceMs ?? 500, this.abort.signal);
      } catch {
        return;
      }
    }
    // Nobody awaits an event: a file that cannot be read (an I/O error, a name too long, a loop of
    // links) is said here, and looked at again at its next event or the resync.
    await this.refresh(e.path, true).catch((err: unknown) =>
      o.log.warn(
        { file: e.path, err: (err as Error).message },
        `cannot read ${e.path}: ${(err as Error).message}; fix the file or its permissions, it is read again at its next change or the resync`,
      ),
    );
  }

  /** Re-read one file now and queue what it affects (also for callers that just changed it). */
  private async refresh(path: string, skipOwn: boolean): Promise<void> {
    const { old, now, text } = await this.indexFile(path);
    if (skipOwn && text !== undefined && this.o.store.isOwnWrite(path, text)) return; // our own status write
    if (old && old !== now) this.queue.add(old); // renamed or deleted: the old name may be gone
    if (now) this.queue.add(now);
    else if (text !== undefined) this.queue.add(FILE_KEY + path);
  }

  /**
   * The caller just changed or removed `path`: take it into account now (without waiting for the
   * watcher) and resolve when every resulting reconcile has finished (`faultline run`, tests).
   */
  async settle(path: string): Promise<void> {
    await this.refresh(path, false);
    await this.idle();
  }

  /** The view took in a change: queue the scenarios it concerns. */
  private onViewChange(c: ViewChange): void {
    for (const { before, after } of c.containers) {
      const o = after ?? before;
      if (!o) continue;
      const scenario = o.labels[LABEL_SCENARIO];
      if (scenario) this.queue.add(scenario);
      // Any container came, went or changed: wake the scenarios whose selectors could match it
      // (an adopted container, a fault target or peer by name or labels).
      for (const [sname, s] of this.scenarios) if (mayConcern(s, o.name, before?.name)) this.queue.add(sname);
    }
    for (const { before, after } of c.networks) {
      const n = after ?? before;
      if (!n) continue;
      const owner = n.labels[LABEL_SCENARIO];
      if (owner) this.queue.add(owner);
      for (const s of this.ownedNames.get(n.name) ?? []) this.queue.add(s);
    }
    for (const { before, after } of c.volumes ?? []) {
      const owner = (after ?? before)?.labels[LABEL_SCENARIO];
      if (owner) this.queue.add(owner);
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } catch (e) {
        this.stats.errors++;
        this.o.metrics?.error('crash');
        this.o.metrics?.reconciled('error');
        this.o.log.error({ key, err: e }, 'reconcile crashed; retrying with backoff');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
        if (this.queue.inFlight === 0 && this.queue.length === 0) {
          for (const w of this.idleWaiters.splice(0)) w();
          this.armQuiet();
        }
      }
    }
  }

  private quietTimer?: ReturnType<typeof setTimeout>;

  /** After the last reconcile of a burst, wait for quiet, then call onQuiet once. */
  private armQuiet(): void {
    if (!this.o.onQuiet || this.abort.signal.aborted) return;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      if (this.queue.inFlight === 0 && this.queue.length === 0) this.o.onQuiet?.();
    }, this.o.quietMs ?? 20_000);
    this.quietTimer.unref?.();
  }

  private filesNamed(name: string): string[] {
    return [...this.pathName]
      .filter(([, n]) => n === name)
      .map(([p]) => p)
      .sort();
  }

  private async process(key: string): Promise<void> {
    const { o } = this;
    this.stats.reconciles++;
    if (key.startsWith(FILE_KEY)) {
      const path = key.slice(FILE_KEY.length);
      if (!this.pathName.has(path) || this.pathName.get(path)) return; // gone, or now has a name
      const r = await this.reconciler.reconcileFile('(unnamed)', path);
      if (r.misnamed || r.gone) await this.refresh(path, false); // readable now (index it, queue its name), or gone
      return;
    }
    const files = this.filesNamed(key);
    this.reconciledAt.set(key, o.clock.now().getTime());
    if (files.length > 1) {
      this.disarm(key);
      o.metrics?.error('name_conflict');
      o.metrics?.reconciled('invalid');
      for (const f of files) await this.refuseDuplicate(key, f, files);
      return;
    }
    const r =
      files.length === 0
        ? await this.reconciler.reconcileDeleted(key)
        : await this.reconciler.reconcileFile(key, files[0]);
    if (r.misnamed || r.gone) {
      // Renamed since it was indexed (both names are queued), or deleted without the watcher
      // saying so (the name is queued, and reconciled as deleted: never an error retried forever).
      await this.refresh(files[0], false);
      return;
    }
    this.stats.operations += r.ops;
    this.stats.kernelCommands += r.kernelCommands ?? 0;
    this.stats.kernelWrites += r.kernelWrites ?? 0;
    if (files.length === 0 || !r.scenario) this.disarm(key);
    // Deleted: none; invalid: none; a reconcile that stopped early (a save in progress, superseded): as before.
    if (files.length === 0) this.setActive(key, undefined);
    else if (r.activeKinds || r.issues) this.setActive(key, r.activeKinds ?? {});
    o.metrics?.reconciled(
      r.error ? 'error' : r.issues ? 'invalid' : files.length === 0 ? 'deleted' : r.status ? 'ok' : 'requeued',
    );
    if (files.length === 0) {
      this.fired.delete(key);
      this.reconciledAt.delete(key);
      this.scenarios.delete(key);
      for (const [n, s] of this.ownedNames) if (s.delete(key) && s.size === 0) this.ownedNames.delete(n);
    }
    if (r.scenario) this.scenarios.set(key, r.scenario);
    if (r.desired) {
      for (const n of r.desired.networks) {
        if (!n.dockerName) continue; // an external network not found (yet): the not-Ready recheck finds it
        const s = this.ownedNames.get(n.dockerName) ?? new Set<string>();
        s.add(key);
        this.ownedNames.set(n.dockerName, s);
      }
    }
    if (files.length === 0) this.clearStatusProblem(key);
    else if (r.statusWrite) this.noteStatusWrite(key, files[0], r.statusWrite, r.status);
    if (r.error) {
      this.stats.errors++;
      const delay = this.queue.addRateLimited(key);
      o.log.child({ scenario: key }).warn({ retryInMs: delay }, r.error.message);
      return;
    }
    this.queue.forget(key);
    if (r.scenario && files.length === 1) this.arm(key, files[0], r.nextTransitionAt, r.specHash);
    if (r.requeueAfterMs === undefined) return;
    // The armed transition queues this reconcile once its kernel write is done: a second one at
    // the same instant would only compete with it for the cores. Kept, later, as the safety net.
    const armed = r.requeueForTransition && this.armed.get(key)?.at === r.nextTransitionAt?.getTime();
    this.queue.addAfter(key, r.requeueAfterMs + (armed ? ARMED_SAFETY_NET_MS : 0));
  }

  // ------------------------------------------------------------------ status the files refuse

  /**
   * What became of a status write. A refusal by the filesystem is logged when it starts (or its
   * errno changes), kept in the health record with the status it would have written, and tried
   * again with backoff; the first write that lands clears it. Faults are not touched either way.
   */
  private noteStatusWrite(name: string, file: string, w: StatusWriteResult, status: ScenarioStatus | undefined): void {
    if (w.written) return this.clearStatusProblem(name);
    if (w.reason !== 'StatusWriteFailed') return;
    const now = this.o.clock.now();
    const prev = this.statusProblems.get(name);
    const same = prev !== undefined && prev.errno === w.errno;
    const attempts = (same ? prev.attempts : 0) + 1;
    const delay = Math.min(STATUS_RETRY_MAX_MS, 1000 * 2 ** (attempts - 1));
    if (!same)
      this.o.log.error(
        { scenario: name, file, errno: w.errno, retryInMs: delay },
        `StatusWriteFailed: ${w.message ?? w.errno}; the faults keep running, the status is kept and written again when the file takes it (until then: faultline get / describe)`,
      );
    this.statusProblems.set(name, {
      scenario: name,
      file,
      reason: 'StatusWriteFailed',
      ...(w.errno ? { errno: w.errno } : {}),
      message: w.message ?? `status not written (${w.errno ?? 'unknown error'})`,
      since: same ? prev.since : now.toISOString(),
      attempts,
      retryAt: new Date(now.getTime() + delay).toISOString(),
      ...(status ? { status } : {}),
    });
    this.queue.addAfter(name, delay);
    void this.writeHealth();
  }

  private clearStatusProblem(name: string): void {
    const p = this.statusProblems.get(name);
    if (!p) return;
    this.statusProblems.delete(name);
    this.o.log.info(
      { scenario: name, file: p.file, attempts: p.attempts, since: p.since },
      'status written again: the file holds the current status',
    );
    void this.writeHealth();
  }

  /** The health record now (one write at a time; the last state wins). */
  private writeHealth(): Promise<void> {
    const next = () =>
      writeHealth(this.o.stateDir, {
        controller: this.id,
        dir: this.o.dir,
        pid: process.pid,
        hostname: hostname(),
        updatedAt: this.o.clock.now().toISOString(),
        statusWrites: [...this.statusProblems.values()].sort((a, b) => (a.scenario < b.scenario ? -1 : 1)),
      });
    this.healthWrite = this.healthWrite.then(next, next);
    return this.healthWrite;
  }
  private healthWrite: Promise<void> = Promise.resolve();

  /** The status-write problems now (tests, `run`). */
  statusWriteProblems(): StatusWriteProblem[] {
    return [...this.statusProblems.values()];
  }

  // ------------------------------------------------------------------ armed transitions

  private disarm(name: string): void {
    const a = this.armed.get(name);
    if (a) clearTimeout(a.timer);
    this.armed.delete(name);
  }

  /**
   * Arm the next transition of `name` at `at` for the spec with hash `specHash`: shortly before it
   * (armAheadMs) compile its namespace plan and let the engine start the programs it needs; at
   * `at`, apply it. An instant the armed path already applied is not armed again; a different spec
   * replaces what was armed for the old one.
   */
  private arm(name: string, file: string, at: Date | undefined, specHash: string | undefined): void {
    if (!this.o.kernel || !at || specHash === undefined) return this.disarm(name);
    const when = at.getTime();
    const cur = this.armed.get(name);
    const sameSpec = !cur || cur.specHash === specHash;
    if (sameSpec && cur?.at === when) return; // armed already
    // A reconcile that looked before the chain's latest instant: the chain is ahead, keep it.
    if (sameSpec && when <= (this.fired.get(name) ?? -Infinity)) return;
    this.disarm(name);
    const ahead = this.o.armAheadMs ?? 1_000;
    const delay = Math.max(0, when - this.o.clock.now().getTime() - ahead);
    const timer = setTimeout(() => void this.prepare(name, file, when, specHash), delay);
    this.armed.set(name, { at: when, specHash, timer });
  }

  private async prepare(name: string, file: string, at: number, specHash: string): Promise<void> {
    if (this.armed.get(name)?.at !== at || this.abort.signal.aborted) return;
    const untilAt = () => Math.max(0, at - this.o.clock.now().getTime());
    // Not armed after all: the reconcile at the instant applies it (its safety net comes later).
    const unarm = (err?: string) => {
      if (this.armed.get(name)?.at !== at) return;
      this.armed.delete(name);
      this.queue.addAfter(name, untilAt());
      this.o.log.debug(
        { scenario: name, err },
        'cannot arm the next transition; the reconcile at that instant applies it',
      );
    };
    try {
      const intent = await this.intentAt(file, at, specHash);
      if (!intent) return unarm('the spec armed for is no longer the one parsed');
      if (this.armed.get(name)?.at !== at) return;
      await this.o.kernel!.prepare?.(intent.plan, at);
      if (this.armed.get(name)?.at !== at) return;
      const timer = setTimeout(() => void this.fire(name, file, at, specHash, intent), untilAt());
      this.armed.set(name, { at, specHash, timer });
    } catch (e) {
      unarm((e as Error).message);
    }
  }

  /**
   * The namespace plan of the scenario in `file` at instant `at` (from the parse the last reconcile
   * cached, when it is of spec `specHash`, and the view now), and the transition after `at`.
   */
  private async intentAt(file: string, at: number, specHash: string) {
    const parsed = this.reconciler.cachedParse(file);
    if (!parsed || parsed.specHash !== specHash) return undefined;
    const { scenario, prev } = parsed;
    const time = evaluateRecorded(scenario.metadata.name, scenario.spec, prev, new Date(at));
    const teardown = time.result.scenarioPhase === 'Completed' && scenario.spec.onComplete === 'delete';
    const view = this.view.current();
    const resolved = resolveFaults(scenario, time.result, view, time.seed);
    const plan = await this.reconciler.planNetnsAt({
      scenario,
      active: teardown ? [] : resolved.active,
      seed: time.seed,
      view,
    });
    return plan ? { plan, next: time.result.nextTransitionAt } : undefined;
  }

  /** At the instant: apply, then arm the transition after it (the chain does not wait for a reconcile). */
  private async fire(
    name: string,
    file: string,
    at: number,
    specHash: string,
    intent: NonNullable<Awaited<ReturnType<Controller['intentAt']>>>,
  ): Promise<void> {
    if (this.armed.get(name)?.at !== at || this.abort.signal.aborted) return;
    this.armed.delete(name);
    this.fired.set(name, at);
    this.stats.armedFired++;
    const timerLateMs = Math.round(this.o.clock.now().getTime() - at);
    this.arm(name, file, intent.next, specHash);
    try {
      const r = await this.o.kernel!.apply(intent.plan, at);
      failpoint('transition');
      this.stats.kernelCommands += r.commands;
      this.stats.kernelWrites += r.writes;
      this.o.log.debug(
        {
          scenario: name,
          at: new Date(at).toISOString(),
          timerLateMs,
          lateMs: r.writtenAt === undefined ? undefined : Math.round((r.writtenAt - at) * 10) / 10,
          writes: r.writes,
          warm: r.warm ?? 0,
          commands: r.commands,
        },
        'armed transition applied',
      );
      const { metrics } = this.o;
      if (metrics) {
        // The instant against the end of its kernel write: what the application felt.
        metrics.transitionLateness(((r.writtenAt ?? this.o.clock.now().getTime()) - at) / 1000);
        metrics.kernelPrograms('write', r.writes);
        metrics.kernelPrograms('read', r.commands - r.writes);
        if (r.errors.length) metrics.error('kernel');
      }
    } catch (e) {
      this.o.metrics?.error('armed_transition');
      this.o.log.warn(
        { scenario: name, err: (e as Error).message },
        'armed transition failed; the reconcile applies it',
      );
    }
    // verify, Docker-level faults, status: coalesced (see POST_FIRE_GAP_MS), and not in the moments
    // before the next armed instant, where its work would compete with that transition's.
    const now = this.o.clock.now().getTime();
    let when = Math.max(now, (this.reconciledAt.get(name) ?? -Infinity) + POST_FIRE_GAP_MS);
    const next = this.armed.get(name)?.at;
    if (next !== undefined && when > next - QUIET_BEFORE_INSTANT_MS && when < next + AFTER_INSTANT_MS)
      when = next + AFTER_INSTANT_MS;
    this.queue.addAfter(name, when - now);
  }

  /** Record a scenario's open faults by kind (undefined: it is gone) and publish the sums. */
  private setActive(name: string, kinds: Partial<Record<string, number>> | undefined): void {
    const { metrics } = this.o;
    if (!metrics) return;
    if (kinds === undefined) this.activeKinds.delete(name);
    else this.activeKinds.set(name, kinds);
    const sum: Record<string, number> = {};
    for (const k of this.activeKinds.values())
      for (const [kind, n] of Object.entries(k)) sum[kind] = (sum[kind] ?? 0) + (n ?? 0);
    metrics.activeFaults(sum);
  }

  private async refuseDuplicate(name: string, file: string, all: string[]): Promise<void> {
    const others = all.filter((f) => f !== file);
    const issue: Issue = {
      code: 'name.conflict',
      path: ['metadata', 'name'],
      message: `scenario name "${name}" is also used by ${others.join(', ')}; names must be unique in the directory: rename one of them (nothing is changed in Docker until then)`,
    };
    this.o.log.warn({ scenario: name, file }, formatIssue(file, issue));
    const prev = await this.reconciler.statusOf(file);
    if (prev === undefined) return;
    await this.o.store.writeStatus(file, duplicateNameStatus(prev, issue, this.o.clock.now()));
  }
}

/** Could a container named `name` (or formerly `oldName`) be selected by the scenario? */
function mayConcern(s: Scenario, name: string, oldName?: string): boolean {
  const selectors = [
    ...(s.spec.members ?? []).map((m) => m.select),
    ...(s.spec.faults ?? []).flatMap((f) => [
      ...(f.targets ? [f.targets] : []),
      ...(f.peers ? [{ names: f.peers.names, labels: f.peers.labels }] : []),
      ...(f.partition?.groups ? [{ names: f.partition.groups.flat() }] : []),
    ]),
  ];
  return selectors.some(
    (sel) =>
      !sel.names ||
      sel.names.includes(name) ||
      (oldName !== undefined && sel.names.includes(oldName)) ||
      !!sel.labels ||
      !!('compose' in sel && sel.compose),
  );
}
