// The kernel side of several engines: one KernelEngine per engine, each entering namespaces on its
// own host through that engine's executor (nsenter where the controller is the engine's host,
// otherwise the helper container on that engine), each with its own probed capabilities and host
// path. A scenario's NetPlan is split by the engine of each namespace's target; host cuts are only
// ever the default engine's (the host path never joins two engines). Engines that cannot be reached
// now are not written to: their part waits (netplan marks their targets EngineUnreachable).
//
//   plan of "xs": namespaces {a (default), b (engine b)}  →  default: {a} + host cuts;  b: {b}
import type { Capabilities } from '../netfaults/index.js';
import type { HostPath, NetPlan } from '../netplan/index.js';
import type { KernelPort, KernelReport } from '../ports/index.js';
import { onEngine, type Snapshot } from '../resolve/index.js';
import { DEFAULT_ENGINE, engineOf } from '../api/ownership.js';

/** What planning needs of the other engines: each reachable one's capabilities and host path. */
export interface EngineFacts {
  engineFacts(): Promise<Map<string, { caps: Capabilities; hostPath: HostPath }>>;
}

export class EngineKernels implements KernelPort, EngineFacts {
  constructor(
    private readonly kernels: ReadonlyMap<string, KernelPort>,
    /** The engines that can be reached now. */
    private readonly reachable: () => ReadonlySet<string>,
  ) {}

  private get main(): KernelPort {
    return this.kernels.get(DEFAULT_ENGINE) ?? [...this.kernels.values()][0];
  }

  private live(): [string, KernelPort][] {
    const r = this.reachable();
    return [...this.kernels].filter(([name]) => r.has(name));
  }

  capabilities(): Promise<Capabilities> {
    return this.main.capabilities();
  }

  hostPath(): Promise<HostPath> {
    return this.main.hostPath();
  }

  async engineFacts(): Promise<Map<string, { caps: Capabilities; hostPath: HostPath }>> {
    const out = new Map<string, { caps: Capabilities; hostPath: HostPath }>();
    await Promise.all(
      this.live()
        .filter(([name]) => name !== DEFAULT_ENGINE)
        .map(async ([name, k]) => {
          try {
            out.set(name, { caps: await k.capabilities(), hostPath: await k.hostPath() });
          } catch {
            // Cannot probe it now: its targets wait, as on an unreachable engine.
          }
        }),
    );
    return out;
  }

  /** The part of a plan that is one engine's. */
  private part(plan: NetPlan, engine: string): NetPlan {
    return {
      ...plan,
      namespaces: new Map([...plan.namespaces].filter(([, c]) => engineOf(c.target) === engine)),
      host: engine === DEFAULT_ENGINE ? plan.host : [],
    };
  }

  async apply(plan: NetPlan, asOf: number): Promise<KernelReport> {
    return merge(await Promise.all(this.live().map(([name, k]) => k.apply(this.part(plan, name), asOf))));
  }

  async prepare(plan: NetPlan, asOf: number): Promise<void> {
    await Promise.all(this.live().map(([name, k]) => k.prepare?.(this.part(plan, name), asOf)));
  }

  async forget(scenario: string): Promise<KernelReport> {
    return merge(await Promise.all(this.live().map(([, k]) => k.forget(scenario))));
  }

  async sweep(view: Snapshot, isLive: (scenario: string) => boolean): Promise<string[]> {
    const found = await Promise.all(
      this.live().map(([name, k]) => k.sweep(onEngine(view, name), isLive).catch(() => [] as string[])),
    );
    return [...new Set(found.flat())].sort();
  }

  invalidate(): void {
    for (const k of this.kernels.values()) k.invalidate();
  }

  close(): void {
    for (const k of this.kernels.values()) k.close?.();
  }
}

function merge(reports: KernelReport[]): KernelReport {
  const out: KernelReport = { outcomes: new Map(), present: new Set(), errors: [], commands: 0, writes: 0 };
  for (const r of reports) {
    for (const [k, v] of r.outcomes) out.outcomes.set(k, v);
    for (const k of r.present) out.present.add(k);
    out.errors.push(...r.errors);
    out.commands += r.commands;
    out.writes += r.writes;
    if (r.retryAfterMs !== undefined) out.retryAfterMs = Math.min(out.retryAfterMs ?? Infinity, r.retryAfterMs);
    if (r.superseded) out.superseded = true;
  }
  return out;
}
