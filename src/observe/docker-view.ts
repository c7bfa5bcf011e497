// The view of Docker, kept current by Docker's own events, the way controller-runtime's informers
// keep their caches: list everything once, then follow /events and inspect only what an event
// names. A reconcile reads the view (no API call); after running its own operations it refreshes
// exactly the objects it touched (read-your-writes, without waiting for their events).
//
//   start:     snapshot() → the view; then the event stream
//   event:     container <id> start|die|… → inspect that container     (404: it is gone)
//              network <id> connect|disconnect (container <cid>) → inspect both
//              network <id> create|destroy → inspect it                (404: it is gone)
//              volume <name> create|destroy → inspect it                (404: it is gone)
//   reconnect: the engine restarted or the stream broke: list everything again, then onResync
//   audit:     every auditMs, the list calls alone (no inspect) are compared with the view; what
//              differs (an event Docker dropped: it drops them for a reader that falls behind, or
//              an inspect that failed) is inspected as if an event had named it
//
// Events mark objects dirty; one flush inspects every dirty object (bounded, in parallel) and only
// then tells the controller which objects changed, so the reconcile it queues reads a view that
// already holds what the event announced. An object dirtied again during its inspect is inspected
// again: the last inspect always starts after the last event.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { DockerEvent, DockerPort } from '../ports/index.js';
import type { ObservedContainer, ObservedNetwork, ObservedVolume, Snapshot } from '../resolve/index.js';
import { pool } from '../apply/pool.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Events that change nothing the view holds (exec_*, attach, top, resize…) are ignored. */
const CONTAINER_ACTIONS = new Set([
  'create',
  'start',
  'restart',
  'die',
  'kill',
  'stop',
  'pause',
  'unpause',
  'destroy',
  'rename',
  'update',
  'oom',
  'health_status',
]);
const NETWORK_ACTIONS = new Set(['create', 'destroy', 'remove', 'connect', 'disconnect', 'update']);
const VOLUME_ACTIONS = new Set(['create', 'destroy']);

export interface ViewChange {
  /** The event that caused it (absent for a refresh or a resync). */
  event?: DockerEvent;
  /** Containers changed: their old and new records (undefined: absent before / gone now). */
  containers: { before?: ObservedContainer; after?: ObservedContainer }[];
  networks: { before?: ObservedNetwork; after?: ObservedNetwork }[];
  volumes?: { before?: ObservedVolume; after?: ObservedVolume }[];
}

export interface DockerViewOptions {
  log: Logger;
  /** Called after each batch of changes is in the view. */
  onChange?: (c: ViewChange) => void;
  /** Called after the view was listed again (stream reconnected: events may have been lost). */
  onResync?: () => void;
  /** Parallel inspects in a flush. Default 8. */
  concurrency?: number;
  /** How often the view is compared with Docker's lists (0: never). Default 60 s. */
  auditMs?: number;
}

export class DockerView {
  private containers = new Map<string, ObservedContainer>();
  private networks = new Map<string, ObservedNetwork>();
  private volumes = new Map<string, ObservedVolume>();
  private memo?: Snapshot;
  private readonly dirtyContainers = new Set<string>();
  private readonly dirtyNetworks = new Set<string>();
  private readonly dirtyVolumes = new Set<string>();
  private readonly causes = new Map<string, DockerEvent>();
  private flushing?: Promise<void>;
  private started = false;
  /** Inspects run since start (for benchmarks and tests: an idle view costs none). */
  readonly stats = { lists: 0, inspects: 0, events: 0, audits: 0, missed: 0 };

  constructor(
    private readonly docker: DockerPort,
    private readonly o: DockerViewOptions,
  ) {}

  /**
   * List everything and follow events until `signal` aborts. Resolves once the first list is in,
   * with `following`: the event loop, which settles when it stops.
   */
  async start(signal: AbortSignal): Promise<{ following: Promise<void> }> {
    await this.relist();
    this.started = true;
    const following = this.docker
      .watchEvents(
        (e) => this.onEvent(e),
        signal,
        () => void this.relistAfterReconnect(signal),
      )
      .catch((e) => {
        if (!signal.aborted) this.o.log.error({ err: e }, 'Docker event stream stopped');
      });
    return { following: Promise.all([following, this.audits(signal)]).then(() => undefined) };
  }

  private reconnects = 0;

  /**
   * The stream is back: list everything again, then tell the controller. A list that fails (an
   * engine still restoring its containers answers some inspects with errors) is tried again until
   * it succeeds — the view holds what it saw before the engine went away, and nothing else would
   * correct it before the next audit — unless a newer reconnect took over.
   */
  private async relistAfterReconnect(signal: AbortSignal): Promise<void> {
    const mine = ++this.reconnects;
    this.o.log.info('Docker event stream (re)connected: listing everything again');
    for (let wait = 200; !signal.aborted && mine === this.reconnects; wait = Math.min(wait * 2, 5_000)) {
      try {
        await this.relist();
        this.o.onResync?.();
        return;
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, retryInMs: wait }, 'cannot list Docker objects after a reconnect');
      }
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  private async audits(signal: AbortSignal): Promise<void> {
    const every = this.o.auditMs ?? 60_000;
    if (!every || !this.docker.summary) return;
    for (;;) {
      try {
        await sleep(every, undefined, { signal });
      } catch {
        return;
      }
      await this.audit().catch((e) =>
        this.o.log.debug({ err: (e as Error).message }, 'cannot compare the view with Docker now (next time)'),
      );
    }
  }

  /**
   * Compare the view with what Docker's lists show now, and inspect whatever differs (then tell the
   * controller, as for an event). Resolves with how many objects the view had wrong.
   */
  async audit(): Promise<number> {
    if (!this.docker.summary) return 0;
    const s = await this.docker.summary();
    this.stats.audits++;
    const before = new Map<string, { map: Map<string, unknown>; was: string }>();
    const suspect = (map: Map<string, unknown>, dirty: Set<string>, id: string) => {
      before.set(id, { map, was: JSON.stringify(map.get(id) ?? null) });
      dirty.add(id);
    };
    const listed = new Set<string>();
    for (const c of s.containers) {
      listed.add(c.id);
      const v = this.containers.get(c.id);
      const nets = v ? [...new Set(v.endpoints.map((e) => e.networkId).filter(Boolean))].sort() : [];
      if (v && v.state === c.state && nets.join() === c.networkIds.join()) continue;
      suspect(this.containers, this.dirtyContainers, c.id);
      // Its networks' member lists may be as stale as its endpoints.
      for (const n of new Set([...nets, ...c.networkIds]))
        if (!nets.includes(n) || !c.networkIds.includes(n)) suspect(this.networks, this.dirtyNetworks, n);
    }
    for (const id of this.containers.keys()) if (!listed.has(id)) suspect(this.containers, this.dirtyContainers, id);
    const nets = new Set(s.networks);
    for (const id of nets) if (!this.networks.has(id)) suspect(this.networks, this.dirtyNetworks, id);
    for (const id of this.networks.keys()) if (!nets.has(id)) suspect(this.networks, this.dirtyNetworks, id);
    const vols = new Set(s.volumes);
    for (const n of vols) if (!this.volumes.has(n)) suspect(this.volumes, this.dirtyVolumes, n);
    for (const n of this.volumes.keys()) if (!vols.has(n)) suspect(this.volumes, this.dirtyVolumes, n);
    if (!before.size) return 0;
    await this.flush();
    // An object that changed between the lists and the compare is inspected too, but it was not wrong.
    const wrong = [...before].filter(([id, b]) => JSON.stringify(b.map.get(id) ?? null) !== b.was).map(([id]) => id);
    if (wrong.length) {
      this.stats.missed += wrong.length;
      this.o.log.warn(
        { objects: wrong.slice(0, 10), count: wrong.length },
        'the view of Docker had missed changes (an event dropped or an inspect failed): corrected from the lists',
      );
    }
    return wrong.length;
  }

  /** The view as it is now: an immutable value (a new one after every change). */
  current(): Snapshot {
    this.memo ??= {
      networks: [...this.networks.values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1,
      ),
      containers: [...this.containers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      volumes: [...this.volumes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      takenAt: new Date().toISOString(),
    };
    return this.memo;
  }

  /** Is the view listed (the controller may plan from it)? */
  get ready(): boolean {
    return this.started;
  }

  private async relist(): Promise<void> {
    const s = await this.docker.snapshot();
    this.stats.lists++;
    this.containers = new Map(s.containers.map((c) => [c.id, c]));
    this.networks = new Map(s.networks.map((n) => [n.id, n]));
    this.volumes = new Map((s.volumes ?? []).map((v) => [v.name, v]));
    this.memo = undefined;
  }

  private onEvent(e: DockerEvent): void {
    this.stats.events++;
    if (e.type === 'container' && CONTAINER_ACTIONS.has(e.action.split(':')[0])) {
      this.dirtyContainers.add(e.actorId);
      this.causes.set(e.actorId, e);
    } else if (e.type === 'network' && NETWORK_ACTIONS.has(e.action)) {
      this.dirtyNetworks.add(e.actorId);
      this.causes.set(e.actorId, e);
      const c = e.attributes.container;
      if (c) {
        this.dirtyContainers.add(c);
        this.causes.set(c, e);
      }
    } else if (e.type === 'volume' && VOLUME_ACTIONS.has(e.action)) {
      this.dirtyVolumes.add(e.actorId);
      this.causes.set(e.actorId, e);
    } else return;
    void this.flush();
  }

  /**
   * Re-inspect these objects now and put what Docker shows into the view (after faultline's own
   * operations: read your writes). Names or ids; `all` lists everything again.
   */
  async refresh(what: {
    containers?: string[];
    networks?: string[];
    volumes?: string[];
    all?: boolean;
  }): Promise<Snapshot> {
    if (what.all) {
      await this.relist();
      return this.current();
    }
    const idOf = <T extends { id: string; name: string }>(m: Map<string, T>, ref: string) =>
      [...m.values()].find((x) => x.id === ref || x.name === ref)?.id ?? ref;
    for (const c of what.containers ?? []) this.dirtyContainers.add(idOf(this.containers, c));
    for (const n of what.networks ?? []) this.dirtyNetworks.add(idOf(this.networks, n));
    for (const v of what.volumes ?? []) this.dirtyVolumes.add(v);
    await this.flush();
    return this.current();
  }

  /** Inspect every dirty object; repeat while events keep dirtying. One flush at a time. */
  private flush(): Promise<void> {
    if (this.flushing)
      return this.flushing.then(() =>
        this.dirtyContainers.size || this.dirtyNetworks.size || this.dirtyVolumes.size ? this.flush() : undefined,
      );
    this.flushing = (async () => {
      try {
        while (this.dirtyContainers.size || this.dirtyNetworks.size || this.dirtyVolumes.size) {
          const cs = [...this.dirtyContainers];
          const ns = [...this.dirtyNetworks];
          const vs = [...this.dirtyVolumes];
          this.dirtyContainers.clear();
          this.dirtyNetworks.clear();
          this.dirtyVolumes.clear();
          const change: ViewChange = { containers: [], networks: [], volumes: [] };
          let event: DockerEvent | undefined;
          await pool(
            [
              ...cs.map((id) => ['c', id] as const),
              ...ns.map((id) => ['n', id] as const),
              ...vs.map((id) => ['v', id] as const),
            ],
            this.o.concurrency ?? 8,
            async ([kind, id]) => {
              event ??= this.causes.get(id);
              this.causes.delete(id);
              try {
                if (kind === 'c') change.containers.push(await this.reinspectContainer(id));
                else if (kind === 'n') change.networks.push(await this.reinspectNetwork(id));
                else change.volumes!.push(await this.reinspectVolume(id));
              } catch (e) {
                // Could not look (engine away): keep what we had; the reconnect relists everything.
                this.o.log.debug({ id, err: (e as Error).message }, 'inspect after an event failed');
              }
            },
          );
          // A look that found an object as it was is no change: nobody is woken for it (a failing
          // operation's own read-your-writes look would otherwise queue its scenario again at once,
          // past its backoff, in a loop).
          const moved = <T>(xs: { before?: T; after?: T }[]) => xs.filter((x) => !isDeepStrictEqual(x.before, x.after));
          change.containers = moved(change.containers);
          change.networks = moved(change.networks);
          change.volumes = moved(change.volumes!);
          if (!change.containers.length && !change.networks.length && !change.volumes.length) continue;
          if (event) change.event = event;
          this.memo = undefined;
          this.o.onChange?.(change);
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private reinspectContainer(id: string): Promise<ViewChange['containers'][number]> {
    return this.reinspect(this.containers, id, (x) => this.docker.inspectContainer(x));
  }

  private async reinspectVolume(name: string): Promise<NonNullable<ViewChange['volumes']>[number]> {
    const before = this.volumes.get(name);
    this.stats.inspects++;
    const after = await this.docker.inspectVolume(name);
    if (after) this.volumes.set(name, after);
    else this.volumes.delete(name);
    return { before, after };
  }

  private reinspectNetwork(id: string): Promise<ViewChange['networks'][number]> {
    return this.reinspect(this.networks, id, (x) => this.docker.inspectNetwork(x));
  }

  /** Inspect one object (by id, or a name when the id is not known yet) and put what Docker shows in `map`. */
  private async reinspect<T extends { id: string }>(
    map: Map<string, T>,
    id: string,
    inspect: (id: string) => Promise<T | undefined>,
  ): Promise<{ before?: T; after?: T }> {
    const before = map.get(id);
    this.stats.inspects++;
    const after = await inspect(id);
    if (after) {
      if (after.id !== id) map.delete(id);
      map.set(after.id, after);
    } else map.delete(before?.id ?? id);
    return { before, after };
  }
}
