// The view of several engines: one DockerView per engine (listed once, then followed through its
// own events), merged into one Snapshot in which every object of an engine other than `default`
// carries its engine. Each engine is watched for reachability: a ping every `pingMs`; an engine
// that stops answering is `unreachable` (its objects stay in the view as last seen, and the
// planner leaves its part of every scenario waiting); when it answers again it is listed again and
// every scenario is looked at (onResync). A single engine is the same with one entry.
//
//   engines default (unix socket), b (tcp, TLS)
//   start:  default listed (must answer, as before); b listed if it answers, else unreachable
//   every pingMs: ping each; b fails → unreachable(b), onResync; b answers → relist b, onResync
//
// The Swarm: each reachable engine's `docker info` (state, manager, cluster id) is read when it is
// listed; planEngines() names the manager (the first manager by name, default first) and the
// engines of its Swarm.
import type { Logger } from 'pino';
import { DEFAULT_ENGINE, engineTag } from '../api/ownership.js';
import type { DockerPort, SwarmInfo } from '../ports/index.js';
import type { Snapshot } from '../resolve/index.js';
import { DockerView, type ViewChange } from './docker-view.js';

export interface EngineViewsOptions {
  log: Logger;
  onChange?: (c: ViewChange, engine: string) => void;
  /** An engine was listed again, came back or went away: look at everything. */
  onResync?: (engine: string) => void;
  /** Reachability ping period (ms). Default 2 s. */
  pingMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What the planner needs to know of the engines (plan/engines.ts PlanEngines). */
export interface EngineState {
  reachable: string[];
  unreachable: Map<string, string>;
  manager?: string;
  swarm?: string[];
}

interface Entry {
  name: string;
  port: DockerPort;
  view: DockerView;
  started: boolean;
  /** Why it cannot be reached now (absent: reachable). */
  away?: string;
  swarm?: SwarmInfo;
  memo?: Snapshot;
  memoOf?: Snapshot;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class EngineViews {
  private readonly entries = new Map<string, Entry>();
  private merged?: { parts: Snapshot[]; snap: Snapshot };
  private signal?: AbortSignal;
  private readonly background: Promise<unknown>[] = [];

  constructor(
    ports: ReadonlyMap<string, DockerPort>,
    private readonly o: EngineViewsOptions,
  ) {
    for (const [name, port] of [...ports].sort(([a], [b]) => order(a, b))) {
      const view = new DockerView(port, {
        log: o.log.child({ engine: name }),
        onChange: (c) => {
          this.merged = undefined;
          o.onChange?.(c, name);
        },
        onResync: () => {
          this.merged = undefined;
          void this.readSwarm(this.entries.get(name)!).then(() => o.onResync?.(name));
        },
      });
      this.entries.set(name, { name, port, view, started: false });
    }
  }

  /** The engines by name (default first). */
  get names(): string[] {
    return [...this.entries.keys()];
  }

  port(engine: string): DockerPort {
    const e = this.entries.get(engine);
    if (!e) throw new Error(`engine "${engine}" is not configured`);
    return e.port;
  }

  /**
   * List every engine and follow its events. The default engine must answer (as a single-engine
   * controller's must); any other that does not is unreachable until it does.
   */
  async start(signal: AbortSignal): Promise<{ following: Promise<void> }> {
    this.signal = signal;
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        try {
          await this.startOne(e);
        } catch (err) {
          if (e.name === DEFAULT_ENGINE) throw err;
          this.markAway(e, (err as Error).message);
        }
      }),
    );
    if (this.entries.size > 1) this.background.push(this.watchReachability(signal));
    return { following: Promise.allSettled(this.background).then(() => undefined) };
  }

  private async startOne(e: Entry): Promise<void> {
    const { following } = await e.view.start(this.signal!);
    e.started = true;
    this.background.push(following);
    await this.readSwarm(e);
    this.merged = undefined;
  }

  private async readSwarm(e: Entry): Promise<void> {
    if (!e.port.swarm) return;
    try {
      e.swarm = await e.port.swarm();
    } catch (err) {
      this.o.log.debug({ engine: e.name, err: (err as Error).message }, "cannot read the engine's Swarm state");
    }
  }

  private markAway(e: Entry, why: string): void {
    if (e.away !== undefined) return;
    e.away = why;
    this.o.log.warn({ engine: e.name, reason: why }, `engine ${e.name} is unreachable`);
    this.merged = undefined;
  }

  private async watchReachability(signal: AbortSignal): Promise<void> {
    const sleep = this.o.sleep ?? defaultSleep;
    while (!signal.aborted) {
      await sleep(this.o.pingMs ?? 2_000, signal);
      if (signal.aborted) return;
      await Promise.all(
        [...this.entries.values()].map(async (e) => {
          try {
            await e.port.ping();
          } catch (err) {
            if (e.away === undefined) {
              this.markAway(e, (err as Error).message);
              this.o.onResync?.(e.name);
            }
            return;
          }
          if (e.away === undefined) return;
          try {
            if (!e.started) await this.startOne(e);
            else {
              await e.view.refresh({ all: true });
              await this.readSwarm(e);
            }
          } catch (err) {
            this.o.log.debug(
              { engine: e.name, err: (err as Error).message },
              'engine answers but cannot be listed yet',
            );
            return;
          }
          this.o.log.info({ engine: e.name }, `engine ${e.name} is reachable again: listed again`);
          e.away = undefined;
          this.merged = undefined;
          this.o.onResync?.(e.name);
        }),
      );
    }
  }

  /** Is the default engine listed (the controller may plan)? */
  get ready(): boolean {
    return this.entries.get(DEFAULT_ENGINE)?.started ?? [...this.entries.values()].some((e) => e.started);
  }

  /** Every engine's view, merged; objects of a non-default engine carry it. Immutable. */
  current(): Snapshot {
    const parts = [...this.entries.values()].map((e) => (e.started ? e.view.current() : undefined));
    const live = parts.filter((p): p is Snapshot => !!p);
    if (this.merged && this.merged.parts.length === live.length && this.merged.parts.every((p, i) => p === live[i]))
      return this.merged.snap;
    const snap: Snapshot = { networks: [], containers: [], takenAt: new Date().toISOString() };
    [...this.entries.values()].forEach((e, i) => {
      const p = parts[i];
      if (!p) return;
      const tag = engineTag(e.name);
      if (!tag.engine) {
        snap.networks.push(...p.networks);
        snap.containers.push(...p.containers);
        if (p.volumes) (snap.volumes ??= []).push(...p.volumes);
      } else {
        snap.networks.push(...p.networks.map((n) => ({ ...n, ...tag })));
        snap.containers.push(...p.containers.map((c) => ({ ...c, ...tag })));
        if (p.volumes) (snap.volumes ??= []).push(...p.volumes.map((v) => ({ ...v, ...tag })));
      }
    });
    this.merged = { parts: live, snap };
    return snap;
  }

  /**
   * Re-inspect what a plan touched, on the engines it touched (a plan's operations name their
   * engine; `engines` absent: every reachable engine).
   */
  async refresh(
    what: { containers?: string[]; networks?: string[]; all?: boolean },
    engines?: readonly string[],
  ): Promise<Snapshot> {
    await Promise.all(
      [...this.entries.values()]
        .filter((e) => e.started && e.away === undefined && (!engines || engines.includes(e.name)))
        .map((e) =>
          e.view.refresh(what).catch((err) => {
            this.o.log.debug({ engine: e.name, err: (err as Error).message }, 'refresh failed');
          }),
        ),
    );
    this.merged = undefined;
    return this.current();
  }

  /** Reachability and the Swarm, for the planner. */
  state(): EngineState {
    const all = [...this.entries.values()];
    const reachable = all.filter((e) => e.started && e.away === undefined).map((e) => e.name);
    const unreachable = new Map(
      all.filter((e) => !(e.started && e.away === undefined)).map((e) => [e.name, e.away ?? 'not listed yet']),
    );
    const single = all.length === 1;
    // A single engine without Swarm facts plans as before: itself the manager of any overlay.
    if (single && !all[0].swarm) return { reachable, unreachable, manager: all[0].name, swarm: [all[0].name] };
    const mgr = all.find((e) => e.swarm?.manager && e.swarm.state === 'active');
    if (!mgr) return { reachable, unreachable };
    // A worker's info names no cluster: it is in the manager's Swarm when the manager lists its node.
    const { clusterId, nodeIds } = mgr.swarm!;
    const inSwarm = (s?: SwarmInfo) =>
      s?.state === 'active' &&
      ((s.clusterId !== undefined && s.clusterId === clusterId) ||
        (s.nodeId !== undefined && (nodeIds ?? []).includes(s.nodeId)));
    const swarm = all.filter((e) => e === mgr || inSwarm(e.swarm)).map((e) => e.name);
    return { reachable, unreachable, manager: mgr.name, swarm };
  }

  /** Per engine: started, reachable, Swarm role (describe, tests). */
  describe(): { name: string; reachable: boolean; reason?: string; swarm?: SwarmInfo }[] {
    return [...this.entries.values()].map((e) => ({
      name: e.name,
      reachable: e.started && e.away === undefined,
      ...(e.away !== undefined ? { reason: e.away } : {}),
      ...(e.swarm ? { swarm: e.swarm } : {}),
    }));
  }

  /** Inspects and lists made, summed over engines (benchmarks). */
  get stats(): { lists: number; inspects: number; events: number; audits: number; missed: number } {
    const s = { lists: 0, inspects: 0, events: 0, audits: 0, missed: 0 };
    for (const e of this.entries.values()) {
      s.lists += e.view.stats.lists;
      s.inspects += e.view.stats.inspects;
      s.events += e.view.stats.events;
      s.audits += e.view.stats.audits;
      s.missed += e.view.stats.missed;
    }
    return s;
  }
}

function order(a: string, b: string): number {
  if (a === b) return 0;
  if (a === DEFAULT_ENGINE) return -1;
  if (b === DEFAULT_ENGINE) return 1;
  return a < b ? -1 : 1;
}
