// The network-fault engine: ONE ledger per container network namespace, merged from every
// scenario that touches the container, each entry tagged "<scenario>/<fault>".
//
//   sync(scenario S, its active faults, snapshot)
//     1. resolve targets' peers (container names/labels → their addresses; CIDRs as given) and
//        partitions (groups → "who must not receive from whom") → S's entries per container
//     2. registry[S] := those entries; affected = containers that had or now have S's entries
//     3. for each affected container, under its lock (scenarios reconcile in parallel):
//          read back → ledger = union of every scenario's entries → compile → diff → run the
//          steps → read back again → a key is verified when the second diff has nothing pending
//   forget(S): registry[S] := ∅ and the same for every container S touched
//   sweep(): at start, read every running container back; keys of scenarios with no file are
//     reported so the controller reconciles them as deleted (after a SIGKILL nothing is lost).
//
// Until every live scenario has registered once after a start, a container whose kernel still
// holds entries of a live-but-unregistered scenario is not rewritten (its entries would vanish
// for a moment): the sync reports it pending and retries shortly.
import type { Logger } from 'pino';
import type { FaultSpec, FaultTargetStatus, Scenario } from '../api/types.js';
import {
  blockedSenders,
  buildEntries,
  compileLedger,
  diffLedger,
  ownedButUnwanted,
  parseProbe,
  partitionBlocks,
  partitionGroups,
  PROBE_PROGRAM,
  type Capabilities,
  type Degraded,
  type LedgerEntry,
  type ProbeResult,
  type ResolvedFault,
} from '../netfaults/index.js';
import { LABEL_ROLE } from '../api/ownership.js';
import type { ObservedContainer, Snapshot } from '../plan/observed.js';
import { resolveSelector } from '../plan/desired.js';
import type { ActiveFaultInput, FaultTarget } from '../plan/faults.js';
import type { NetnsExec } from '../ports/index.js';
import { readNetns, type NetnsReadback } from '../observe/netns.js';
import { contentHash } from '../api/hash.js';
import { runSteps } from '../apply/netns.js';
import { pool } from '../apply/execute.js';
import type { NetFaultResult, NetFaultSync } from './faults.js';

/** A namespace with nothing else in it, for the capability probe. */
export interface ScratchNetns {
  pid: number;
  containerId: string;
  release(): Promise<void>;
}

export interface NetnsEngineOptions {
  /**
   * The controller's identity. Kernel rules are tagged "<scope>.<scenario>/<fault>", so that
   * controllers of different directories sharing containers never sweep each other's rules.
   */
  scope: string;
  exec: NetnsExec;
  scratch: () => Promise<ScratchNetns>;
  log: Logger;
  /** Is there a scenario file with this name (live)? Set by the controller. */
  isLive?: (scenario: string) => boolean;
  concurrency?: number; // namespaces processed in parallel (default 8)
  /** Re-read an unchanged namespace at most this often (drift detection). Default 30 s. */
  reverifyMs?: number;
  now?: () => number;
}

const REVERIFY_MS = 30_000;

/** Every key of ours found in a namespace's read-back (iptables comments and tc tags). */
function keysIn(observed: NetnsReadback['observed']): Set<string> {
  return new Set(ownedButUnwanted(observed, []).flatMap((o) => ('key' in o && o.key ? [o.key] : 'keys' in o ? o.keys : [])));
}

const isNetFault = (f: FaultSpec) => !!(f.netem || f.bandwidth || f.partition || f.blackhole || f.reject);
const keyOf = (scoped: string, fault: string) => `${scoped}/${fault}`;

interface ContainerEntries {
  id: string;
  name: string;
  display: string; // how the scenario names it (status records)
  pid: number;
  entries: LedgerEntry[];
}

interface NsOutcome {
  verified: Set<string>; // keys present in desired and verified in the kernel
  pending: Set<string>;
  mechanisms: Map<string, string[]>;
  error?: string;
  deferred?: boolean;
  commands: number;
  writes: number;
  /** What the compiler had to leave out or approximate in this namespace (keys of every scope). */
  degraded: Degraded[];
}

function addressesOf(c: ObservedContainer): { v4: string[]; v6: string[] } {
  return {
    v4: c.endpoints.flatMap((e) => (e.ipv4Address ? [`${e.ipv4Address}/32`] : [])),
    v6: c.endpoints.flatMap((e) => (e.ipv6Address ? [`${e.ipv6Address}/128`] : [])),
  };
}

export class NetnsEngine implements NetFaultSync {
  private caps?: Promise<Capabilities>;
  /** scenario → container id → entries. */
  private readonly registry = new Map<string, Map<string, ContainerEntries>>();
  /** container id → keys seen in its kernel at the last read-back. */
  private readonly seen = new Map<string, Set<string>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** container id → what was last applied and read back there (see converge). */
  private readonly applied = new Map<string, { hash: string; pid: number; at: number; readback: NetnsReadback; outcome: NsOutcome }>();
  /** Last degradations per scenario (from buildEntries and compile). */
  constructor(private readonly o: NetnsEngineOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  capabilities(): Promise<Capabilities> {
    this.caps ??= this.probe().catch((e) => {
      this.caps = undefined; // try again next time
      throw e;
    });
    return this.caps;
  }

  private async probe(): Promise<Capabilities> {
    const scratch = await this.o.scratch();
    try {
      const results: ProbeResult[] = [];
      for (const step of PROBE_PROGRAM) {
        const r = await this.o.exec.run(scratch, step.argv);
        results.push({ id: step.id, code: r.code, stdout: r.stdout, stderr: r.stderr });
      }
      const caps = parseProbe(results);
      this.o.log.info({ caps }, 'kernel capabilities probed');
      return caps;
    } finally {
      await scratch.release().catch(() => undefined);
    }
  }

  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(id, next.catch(() => undefined));
    return next;
  }

  /** Entries of one scenario's active network faults, per target container id. */
  /** "<scope>.<scenario>": the scenario part of every key this engine writes. */
  private scoped(scenario: string): string {
    return `${this.o.scope}.${scenario}`;
  }

  /** The scenario of a key written by THIS engine's scope, else undefined. */
  private ours(key: string): string | undefined {
    const prefix = `${this.o.scope}.`;
    if (!key.startsWith(prefix)) return undefined;
    return key.slice(prefix.length).split('/')[0];
  }

  private entriesOf(scn: Scenario, active: ActiveFaultInput[], snapshot: Snapshot, caps: Capabilities, seed: number) {
    const scenario = scn.metadata.name;
    const scoped = this.scoped(scenario);
    const per = new Map<string, ContainerEntries>();
    const degraded: Degraded[] = [];
    const skipped = new Map<string, Map<string, string>>(); // fault → container → why not applied
    const byName = new Map(snapshot.containers.map((c) => [c.name, c]));
    for (const a of active) {
      const f = a.fault;
      if (!isNetFault(f)) continue;
      // peers: containers (by selector) → their addresses; CIDRs as written.
      let peers: { v4: string[]; v6: string[] } | undefined;
      if (f.peers) {
        peers = { v4: [], v6: [] };
        if (f.peers.names || f.peers.labels) {
          const { matches } = resolveSelector(scenario, { names: f.peers.names, labels: f.peers.labels }, scn.spec.containers ?? [], snapshot);
          for (const m of matches) {
            const c = byName.get(m.container);
            if (!c) continue;
            const ad = addressesOf(c);
            peers.v4.push(...ad.v4);
            peers.v6.push(...ad.v6);
          }
        }
        for (const cidr of f.peers.cidrs ?? []) (cidr.includes(':') ? peers.v6 : peers.v4).push(cidr);
      }
      // partition: groups of display names → who must not receive from whom.
      let dropFrom: Map<string, string[]> | undefined;
      const displayToTarget = new Map(a.targets.map((t) => [t.display, t]));
      if (f.partition) {
        const groups = f.partition.groups ?? partitionGroups(f.partition.generator!, a.targets.map((t) => t.display), seed, f.partition.count);
        const dir = f.direction === 'egress' || f.direction === 'ingress' ? f.direction : 'both';
        dropFrom = blockedSenders(partitionBlocks(groups, dir));
      }
      for (const t of a.targets) {
        const why = this.unusable(scn, t);
        if (why) {
          if (!skipped.has(f.name)) skipped.set(f.name, new Map());
          skipped.get(f.name)!.set(t.display, why);
          continue;
        }
        const c = t.observed!;
        const resolved: ResolvedFault = {};
        if (peers) {
          resolved.peersV4 = peers.v4;
          resolved.peersV6 = peers.v6;
        }
        if (dropFrom) {
          const from = { v4: [] as string[], v6: [] as string[] };
          for (const sender of dropFrom.get(t.display) ?? []) {
            const s = displayToTarget.get(sender)?.observed;
            if (!s) continue;
            const ad = addressesOf(s);
            from.v4.push(...ad.v4);
            from.v6.push(...ad.v6);
          }
          if (from.v4.length === 0 && from.v6.length === 0) continue; // nobody to drop here
          resolved.partitionDropFrom = from;
        }
        const built = buildEntries(scoped, f, resolved, caps);
        degraded.push(...built.degraded);
        if (!built.entries.length) continue;
        const ce = per.get(c.id) ?? { id: c.id, name: c.name, display: t.display, pid: c.pid, entries: [] };
        ce.entries.push(...built.entries);
        per.set(c.id, ce);
      }
    }
    return { per, degraded, skipped };
  }

  /** Why a target's namespace must not (or cannot) be touched, or undefined when it can. */
  private unusable(scn: Scenario, t: FaultTarget): string | undefined {
    const c = t.observed;
    if (!c) return 'container not found';
    if (c.labels[LABEL_ROLE] === 'helper') return 'faultline never acts on its own helper container';
    if (c.networkMode === 'host' && !scn.spec.allowHostNetwork)
      return 'the container uses the host network namespace; set spec.allowHostNetwork: true to allow faults there';
    if (c.state !== 'running' || !c.pid) return `container is ${c.state}`;
    return undefined;
  }

  /** Converge one container's namespace to the union of every scenario's entries. */
  private async converge(id: string, pid: number): Promise<NsOutcome> {
    const { exec } = this.o;
    const target = { pid, containerId: id };
    return this.withLock(id, async () => {
      const caps = await this.capabilities();
      const entries: LedgerEntry[] = [];
      for (const m of this.registry.values()) entries.push(...(m.get(id)?.entries ?? []));
      const hash = contentHash(entries);
      const now = this.now();
      const cached = this.applied.get(id);
      const fresh = cached && cached.pid === pid && now - cached.at < (this.o.reverifyMs ?? REVERIFY_MS);
      // Unchanged ledger, same namespace, verified recently: the kernel was read back then, and
      // reading it again on every transition of every scenario would not scale. A full re-read
      // happens at least every reverifyMs (drift: someone else changed the rules).
      if (fresh && cached.hash === hash && !cached.outcome.error) return { ...cached.outcome, commands: 0, writes: 0 };
      // Changed ledger: diff against the state read back last time when that is recent,
      // otherwise read the kernel first.
      const before = fresh && !cached.outcome.error ? cached.readback : await readNetns(exec, target);
      let commands = before === cached?.readback ? 0 : before.commands;
      const inKernel = keysIn(before.observed);
      this.seen.set(id, inKernel);
      // Do not drop entries of a live scenario that has not registered since the start.
      const waiting = [...inKernel].flatMap((k) => this.ours(k) ?? []).filter((s) => !this.registry.has(s) && (this.o.isLive?.(s) ?? false));
      const compiled = compileLedger({ netns: id, interfaces: before.interfaces, entries }, caps);
      const mechanisms = new Map(compiled.mechanisms.map((m) => [keyOf(m.scenario, m.fault), m.mechanisms]));
      const keys = new Set(entries.map((e) => keyOf(e.scenario, e.fault)));
      if (waiting.length) return { verified: new Set(), pending: keys, mechanisms, deferred: true, commands, writes: 0, degraded: compiled.degraded };
      const diff = diffLedger(compiled, before.observed);
      let error: string | undefined;
      let writes = 0;
      if (!diff.empty) {
        const r = await runSteps(exec, target, diff.steps);
        commands += r.ran;
        writes = r.ran;
        error = r.error;
      }
      // Read back: what the kernel shows now is the only proof.
      const after = diff.empty && before !== cached?.readback ? before : await readNetns(exec, target);
      if (after !== before) commands += after.commands;
      const check = diffLedger(compiled, after.observed);
      const pending = new Set(check.pendingKeys);
      for (const c of check.conflicts) error ??= c.message;
      if (!check.empty && !error) error = `kernel state still differs after applying: ${check.steps.map((s) => s.what).join(', ')}`;
      this.seen.set(id, keysIn(after.observed));
      const verified = new Set([...keys].filter((k) => !pending.has(k) && !(error && !check.empty)));
      const outcome = { verified, pending, mechanisms, error, commands, writes, degraded: compiled.degraded };
      this.applied.set(id, { hash, pid, at: this.now(), readback: after, outcome });
      return outcome;
    });
  }


  async sync(scn: Scenario, active: ActiveFaultInput[], snapshot: Snapshot, seed = 0): Promise<NetFaultResult> {
    const scenario = scn.metadata.name;
    const mine = (k: string) => this.ours(k) === scenario;
    const result: NetFaultResult = { targets: new Map(), degraded: [], errors: [], commands: 0 };
    const hasNet = (scn.spec.faults ?? []).some(isNetFault);
    if (!hasNet && !this.registry.has(scenario) && ![...this.seen.values()].some((s) => [...s].some(mine))) {
      return result; // nothing of ours, now or before: no probe, no read-back
    }
    let caps: Capabilities;
    try {
      caps = await this.capabilities();
    } catch (e) {
      result.errors.push({ error: `cannot probe kernel capabilities: ${(e as Error).message}` });
      return result;
    }
    const { per, degraded, skipped } = this.entriesOf(scn, active, snapshot, caps, seed);
    const old = this.registry.get(scenario) ?? new Map<string, ContainerEntries>();
    this.registry.set(scenario, per);
    const running = new Map(snapshot.containers.filter((c) => c.state === 'running' && c.pid > 0).map((c) => [c.id, c]));
    const affected = new Set<string>([...old.keys(), ...per.keys()]);
    for (const [id, keys] of this.seen) if ([...keys].some(mine)) affected.add(id);
    const outcomes = new Map<string, NsOutcome>();
    await pool([...affected].filter((id) => running.has(id)), this.o.concurrency ?? 8, async (id) => {
      try {
        const out = await this.converge(id, running.get(id)!.pid);
        outcomes.set(id, out);
        result.commands += out.commands;
        result.writes = (result.writes ?? 0) + out.writes;
        if (out.error) result.errors.push({ error: `container ${running.get(id)!.name}: ${out.error}` });
      } catch (e) {
        const msg = (e as Error).message;
        outcomes.set(id, { verified: new Set(), pending: new Set(), mechanisms: new Map(), error: msg, commands: 0, writes: 0, degraded: [] });
        result.errors.push({ error: `container ${running.get(id)!.name}: ${msg}` });
      }
    });
    if ([...outcomes.values()].some((o) => o.deferred)) result.retryAfterMs = 500;
    // Degradations found when compiling the merged ledger (e.g. a duplicating netem cannot share
    // a device with other netems): they belong to this scenario's faults when the key is ours.
    const scopedName = this.scoped(scenario);
    const compileDegraded = new Map<string, Degraded>();
    for (const o of outcomes.values()) for (const d of o.degraded) if (d.scenario === scopedName) compileDegraded.set(`${d.fault}\u0000${d.reason}`, d);
    degraded.push(...compileDegraded.values());
    // Per-fault, per-target records (phase from what the kernel showed).
    for (const a of active) {
      const f = a.fault;
      if (!isNetFault(f)) continue;
      const key = keyOf(this.scoped(scenario), f.name);
      const recs: FaultTargetStatus[] = [];
      for (const t of a.targets) {
        const why = skipped.get(f.name)?.get(t.display);
        const id = t.observed?.id;
        const out = id ? outcomes.get(id) : undefined;
        const hasEntry = id ? (per.get(id)?.entries ?? []).some((e) => keyOf(e.scenario, e.fault) === key) : false;
        if (why) {
          recs.push({ container: t.display, containerId: id, phase: why.startsWith('container is') || why === 'container not found' ? 'Pending' : 'Failed', verified: false, lastError: why });
        } else if (!hasEntry) {
          // e.g. a partition member with nobody to drop, or a fault fully degraded away
          const d = degraded.find((x) => x.fault === f.name);
          recs.push({ container: t.display, containerId: id, phase: d ? 'Failed' : 'Injected', verified: !d, mechanism: d ? undefined : 'none-needed', lastError: d?.message });
        } else if (out?.verified.has(key)) {
          // In the kernel as compiled; but if the compiler had to drop part of it, say so.
          const lost = out.degraded.find((d) => d.scenario === scopedName && d.fault === f.name);
          recs.push({
            container: t.display,
            containerId: id,
            phase: lost ? 'Failed' : 'Injected',
            verified: !lost,
            mechanism: (out.mechanisms.get(key) ?? []).join('+') || undefined,
            lastError: lost?.message,
          });
        } else {
          recs.push({ container: t.display, containerId: id, phase: out?.error ? 'Failed' : 'Pending', verified: false, mechanism: (out?.mechanisms.get(key) ?? []).join('+') || undefined, lastError: out?.error });
        }
      }
      result.targets.set(f.name, recs);
    }
    // Faults that were active before and are not now: verified removed from every container.
    const activeNames = new Set(active.map((a) => a.fault.name));
    for (const [id, ce] of old) {
      for (const e of ce.entries) {
        if (activeNames.has(e.fault)) continue;
        const out = outcomes.get(id);
        const gone = !!out && !out.error && !(this.seen.get(id)?.has(keyOf(this.scoped(scenario), e.fault)) ?? false);
        const recs = result.targets.get(e.fault) ?? [];
        if (!recs.some((r) => r.containerId === id)) {
          recs.push({ container: ce.display, containerId: id, phase: gone ? 'Recovered' : 'Failed', verified: gone, lastError: gone ? undefined : (out?.error ?? 'container not running') });
        }
        result.targets.set(e.fault, recs);
      }
    }
    result.degraded = degraded.map((d) => ({ fault: d.fault, reason: d.reason, message: d.message }));
    return result;
  }

  async forget(scenario: string, snapshot: Snapshot): Promise<NetFaultResult> {
    const scn = { apiVersion: 'faultline.dev/v1alpha1', kind: 'Scenario', metadata: { name: scenario }, spec: { faults: [] } } as unknown as Scenario;
    const r = await this.sync(scn, [], snapshot);
    this.registry.delete(scenario);
    return r;
  }

  /**
   * Read every running container back once (at start): remember which keys live where, and
   * return the scenarios that own rules but are not live (deleted while we were not running).
   */
  async sweep(snapshot: Snapshot, isLive?: (scenario: string) => boolean): Promise<string[]> {
    if (isLive) this.o.isLive = isLive;
    const orphans = new Set<string>();
    const unclaimed: ObservedContainer[] = [];
    const targets = snapshot.containers.filter((c) => c.state === 'running' && c.pid > 0 && c.labels[LABEL_ROLE] !== 'helper' && c.networkMode !== 'host');
    await pool(targets, this.o.concurrency ?? 8, async (c) => {
      try {
        const r = await readNetns(this.o.exec, { pid: c.pid, containerId: c.id });
        const owned = ownedButUnwanted(r.observed, []);
        const keys = keysIn(r.observed);
        if (keys.size) this.seen.set(c.id, keys);
        // Objects of ours that no key attributes (a SIGKILL between the iptables step, which
        // removes the tag map, and the tc step of a removal leaves an untagged htb class): no
        // scenario will ever claim them, so converge this namespace now; converge defers while
        // a live scenario that has rules there has not registered yet.
        if (owned.some((o) => !('key' in o && o.key) && !('keys' in o && o.keys.length))) unclaimed.push(c);
        for (const k of keys) {
          const s = this.ours(k);
          if (s !== undefined && !(this.o.isLive?.(s) ?? true)) orphans.add(s);
        }
      } catch (e) {
        this.o.log.debug({ container: c.name, err: (e as Error).message }, 'sweep: cannot read namespace');
      }
    });
    for (const c of unclaimed) {
      await this.converge(c.id, c.pid).catch((e) => this.o.log.warn({ container: c.name, err: (e as Error).message }, 'sweep: cannot clean unattributed rules'));
    }
    return [...orphans].sort();
  }
}
