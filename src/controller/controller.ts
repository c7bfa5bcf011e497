// The controller: watches a directory of Scenario files and the Docker engine, and keeps them
// converged. Events never carry state; they only put a scenario name on the work queue:
//   file add/change/unlink ─┐
//   Docker events ──────────┼─► WorkQueue (coalescing, backoff, timers) ─► Reconciler.reconcile(name)
//   periodic resync ────────┘                                  ▲                    │
//                                                              └── requeueAfter ────┘
// A file whose metadata.name can't be read is queued under "file:<path>" so its problems still
// reach its status. Two files claiming one name are both refused (nothing is changed in Docker).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { Issue, Scenario } from '../api/types.js';
import { formatIssue } from '../api/format.js';
import { readName } from '../store/index.js';
import { LABEL_SCENARIO } from '../api/ownership.js';
import { scenariosWithResources } from '../plan/plan.js';
import type { Clock, DockerEvent, DockerPort } from '../ports/index.js';
import { WorkQueue } from './queue.js';
import { Reconciler, type ScenarioFiles } from './reconcile.js';
import type { NetFaultSync } from './faults.js';
import { acquireLease, controllerIdFor, releaseLease, renewLease, LEASE_RENEW_MS, type Lease } from './lease.js';
import { setCondition } from './conditions.js';

export interface DirEvent {
  path: string;
  kind: 'add' | 'change' | 'unlink';
}

/** What the controller needs of the directory (store/ implements it; tests may fake it). */
export interface DirStore extends ScenarioFiles {
  list(): Promise<string[]>;
  isOwnWrite(path: string, text: string): boolean;
  /** Report changes until signal aborts; the promise resolves once the watcher is ready. */
  watch(onEvent: (e: DirEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface ControllerOptions {
  dir: string;
  /** Identity (default: derived from the directory's real path, see controllerIdFor). */
  id?: string;
  docker: DockerPort;
  store: DirStore;
  clock: Clock;
  log: Logger;
  workers?: number; // default 2
  resyncMs?: number; // default 60 s
  /** Time a vanished file must stay vanished before its scenario is torn down (editors rename). */
  deleteGraceMs?: number; // default 500 ms
  /** Network faults in container namespaces (absent: network faults are reported, not applied). */
  netFaults?: NetFaultSync;
}

const FILE_KEY = 'file:';

const RELEVANT_EVENTS = new Set(['create', 'start', 'restart', 'die', 'kill', 'stop', 'pause', 'unpause', 'destroy', 'rename', 'update', 'connect', 'disconnect', 'remove', 'oom']);

/** metadata.name when it can be read and is a valid scenario name (nothing else is validated). */
export function peekName(text: string): string | undefined {
  const r = readName(text);
  return 'name' in r && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(r.name) && r.name.length <= 40 ? r.name : undefined;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly pathName = new Map<string, string | undefined>();
  private readonly scenarios = new Map<string, Scenario>(); // last valid spec per name (event routing)
  private readonly ownedNames = new Map<string, string>(); // docker object name -> scenario
  private readonly abort = new AbortController();
  private lease?: Lease;
  private workers: Promise<void>[] = [];
  private background: Promise<unknown>[] = [];
  /** Reconcile counters, for tests and `faultline get`-style introspection. */
  readonly stats = { reconciles: 0, errors: 0, operations: 0, kernelCommands: 0, kernelWrites: 0 };
  private idleWaiters: (() => void)[] = [];

  readonly id: string;

  constructor(private readonly o: ControllerOptions) {
    this.id = o.id ?? controllerIdFor(o.dir);
    // One signal stops everything: loops, watchers, and a delete-grace sleep per vanished file
    // (a `rm *.yaml` of 50 scenarios is 50 listeners at once, not a leak).
    setMaxListeners(10_000, this.abort.signal);
    this.queue = new WorkQueue(o.clock);
    this.reconciler = new Reconciler({ controller: this.id, docker: o.docker, files: o.store, clock: o.clock, log: o.log, netFaults: o.netFaults });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async start(): Promise<void> {
    const { o } = this;
    await o.docker.ping();
    this.lease = await acquireLease(o.dir, o.clock.now());
    const signal = this.abort.signal;
    // Watch first (resolves when the watcher is ready), then index: a file saved in between is
    // seen by one or the other, never by neither.
    await o.store.watch((e) => void this.onFileEvent(e), signal);
    for (const path of await o.store.list()) await this.indexFile(path);
    // Orphan sweep: scenarios that own Docker objects but have no file any more (deleted while we
    // were not running) are reconciled as deleted.
    const snapshot = await o.docker.snapshot();
    const known = new Set([...this.pathName.values()].filter((n): n is string => !!n));
    const isLive = (s: string) => [...this.pathName.values()].includes(s);
    const orphans = new Set(scenariosWithResources(snapshot, this.id).filter((n) => !known.has(n)));
    // Rules left in container namespaces by scenarios deleted while we were down (even SIGKILLed).
    if (o.netFaults?.sweep) for (const n of await o.netFaults.sweep(snapshot, isLive)) orphans.add(n);
    for (const name of orphans) {
      o.log.info({ scenario: name }, 'found resources of a scenario with no file: sweeping');
      this.queue.add(name);
    }
    for (const [path, name] of this.pathName) this.queue.add(name ?? FILE_KEY + path);

    this.background.push(
      o.docker
        .watchEvents((e) => this.onDockerEvent(e), signal, () => {
          o.log.info('Docker event stream (re)connected: resyncing every scenario');
          this.enqueueAll();
        })
        .catch((e) => {
          if (!signal.aborted) o.log.error({ err: e }, 'Docker event stream stopped');
        }),
      this.loop(o.resyncMs ?? 60_000, () => this.enqueueAll()),
      this.loop(LEASE_RENEW_MS, () => renewLease(o.dir, this.lease!, o.clock.now())),
    );
    for (let i = 0; i < (o.workers ?? 2); i++) this.workers.push(this.worker());
    o.log.info({ dir: o.dir, id: this.id, scenarios: known.size }, 'controller started');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.shutdown();
    await Promise.allSettled([...this.workers, ...this.background]);
    if (this.lease) await releaseLease(this.o.dir, this.lease).catch(() => undefined);
    this.o.log.info('controller stopped');
  }

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

  private enqueueAll(): void {
    for (const [path, name] of this.pathName) this.queue.add(name ?? FILE_KEY + path);
    for (const name of new Set(this.ownedNames.values())) this.queue.add(name);
  }

  private async indexFile(path: string): Promise<{ old?: string; now?: string; text?: string }> {
    const r = await this.o.store.read(path);
    const old = this.pathName.get(path);
    if ('missing' in r) {
      this.pathName.delete(path);
      return { old };
    }
    // A file that still exists but whose name cannot be read (a typo saved mid-edit) keeps the
    // name it had: it is a broken scenario to report, not a deleted one to tear down. Only a
    // readable, different name is a rename.
    const name = peekName(r.text) ?? old;
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
    await this.refresh(e.path, true);
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

  private onDockerEvent(e: DockerEvent): void {
    // exec_*, attach, top, resize… change nothing a reconcile looks at; every `docker exec` into
    // a member would otherwise cost a full reconcile.
    if (!RELEVANT_EVENTS.has(e.action)) return;
    const scenario = e.attributes[LABEL_SCENARIO];
    if (scenario) {
      this.queue.add(scenario);
      return;
    }
    if (e.type === 'network') {
      const owner = this.ownedNames.get(e.attributes.name ?? '');
      if (owner) this.queue.add(owner);
      return;
    }
    if (e.type === 'container') {
      // An adopted container came or went: wake the scenarios whose selectors could match it.
      const name = (e.attributes.name ?? '').replace(/^\//, '');
      for (const [sname, s] of this.scenarios) {
        const selectors = [...(s.spec.members ?? []).map((m) => m.select), ...(s.spec.faults ?? []).flatMap((f) => (f.targets ? [f.targets] : []))];
        if (selectors.some((sel) => !sel.names || sel.names.includes(name) || sel.labels || sel.compose)) this.queue.add(sname);
      }
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
        this.o.log.error({ key, err: e }, 'reconcile crashed; retrying with backoff');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
        if (this.queue.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  private filesNamed(name: string): string[] {
    return [...this.pathName].filter(([, n]) => n === name).map(([p]) => p).sort();
  }

  private async process(key: string): Promise<void> {
    const { o } = this;
    this.stats.reconciles++;
    const log = o.log.child({ scenario: key });
    if (key.startsWith(FILE_KEY)) {
      const path = key.slice(FILE_KEY.length);
      if (!this.pathName.has(path) || this.pathName.get(path)) return; // gone, or now has a name
      await new Reconciler({ ...o, controller: this.id, files: o.store, log }).reconcileFile('(unnamed)', path);
      return;
    }
    const files = this.filesNamed(key);
    if (files.length > 1) {
      for (const f of files) await this.refuseDuplicate(key, f, files);
      return;
    }
    const r = files.length === 0 ? await this.reconciler.reconcileDeleted(key) : await this.reconciler.reconcileFile(key, files[0]);
    this.stats.operations += r.ops;
    this.stats.kernelCommands += r.kernelCommands ?? 0;
    this.stats.kernelWrites += r.kernelWrites ?? 0;
    if (files.length === 0) {
      this.scenarios.delete(key);
      for (const [n, s] of this.ownedNames) if (s === key) this.ownedNames.delete(n);
    }
    if (r.scenario) this.scenarios.set(key, r.scenario);
    if (r.desired) for (const n of r.desired.networks) this.ownedNames.set(n.dockerName, key);
    if (r.error) {
      this.stats.errors++;
      const delay = this.queue.addRateLimited(key);
      log.warn({ retryInMs: delay }, r.error.message);
      return;
    }
    this.queue.forget(key);
    if (r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
  }

  private async refuseDuplicate(name: string, file: string, all: string[]): Promise<void> {
    const others = all.filter((f) => f !== file);
    const issue: Issue = {
      code: 'name.conflict',
      path: ['metadata', 'name'],
      message: `scenario name "${name}" is also used by ${others.join(', ')}; names must be unique in the directory: rename one of them (nothing is changed in Docker until then)`,
    };
    this.o.log.warn({ scenario: name, file }, formatIssue(file, issue));
    const r = await this.o.store.read(file);
    if ('missing' in r) return;
    const now = this.o.clock.now().toISOString();
    const doc = parseYaml(r.text) as { status?: Record<string, unknown> } | null;
    const prev = (doc?.status ?? {}) as { conditions?: never[] };
    await this.o.store.writeStatus(file, {
      ...(prev as object),
      phase: 'Failed',
      conditions: setCondition(prev.conditions, 'Valid', 'False', 'NameConflict', issue.message, now),
      issues: [issue],
    });
  }
}
