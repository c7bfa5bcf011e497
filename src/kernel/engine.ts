// The kernel engine: ONE ledger per network namespace, merged from every scenario that touches it,
// applied as a whole and read back. Two kinds of namespace:
//   * a container's (key: the id of the container owning it): tc and iptables programs compiled by
//     netfaults/compile from the merged ledger, diffed against the namespace as last read back;
//   * the host's (key "host"): faultline's chains under mangle FORWARD for cuts between containers
//     bridged on this host (netfaults/host.ts), one iptables-restore for any number of containers.
//
//   apply(plan of scenario S as of instant T)
//     1. registry[S] := plan (unless a newer instant of S was applied: then `superseded`)
//     2. affected := namespaces S touches now, touched before, or where S's keys were last seen
//     3. per affected namespace, in parallel, under its lock (scenarios reconcile concurrently):
//          ledger := union of every scenario's entries → compile → diff against the cached read-back
//          (or a fresh read when none is recent) → write (one program per table touched) → read
//          back exactly what was written → a key is verified when the re-diff has nothing pending
//   forget(S) = apply(empty plan of S) and drop S from the registry.
//   sweep() at start: read every running container and the host back; keys of scenarios that have
//   no file are reported, so the controller reconciles them as deleted (nothing survives a SIGKILL).
//
// Until every live scenario has registered once after a start, a namespace whose kernel still holds
// entries of a live-but-unregistered scenario is not rewritten (its entries would vanish for a
// moment): the outcome is `deferred` and the controller comes back shortly.
//
// Read-back costs: an unchanged namespace read back less than `reverifyMs` ago costs nothing; a
// changed one is diffed against that read-back and only the tables written are read again.
import type { Logger } from 'pino';
import { contentHash } from '../api/hash.js';
import {
  compileLedger,
  diffLedger,
  ownedButUnwanted,
  parseIptablesSave,
  parseProbe,
  PROBE_PROGRAM,
  type Capabilities,
  type ExecStep,
  type IptablesState,
  type LedgerEntry,
  type ProbeResult,
} from '../netfaults/index.js';
import {
  compileHost,
  diffHost,
  hostKeysIn,
  hostRootChain,
  hostScenariosIn,
  HOST_TABLE,
  hostTeardown,
  observeHost,
  type HostEntry,
  type HostHooks,
} from '../netfaults/host.js';
import {
  HOST_KEY,
  hostEntryOf,
  type HostCut,
  type HostPath,
  type NetPlan,
  type NetnsTarget,
} from '../netplan/index.js';
import type {
  BridgePortsReader,
  KernelPort,
  KernelReport,
  NetnsExec,
  NetnsOutcome,
  PreparedRun,
  ProbeRequest,
  ScratchNetns,
} from '../ports/index.js';
import type { Snapshot } from '../resolve/index.js';
import { readNetns, rereadNetns, type NetnsReadback, type ReadPart } from '../observe/readback.js';
import { runSteps } from '../apply/steps.js';
import { pool } from '../apply/pool.js';
import { LABEL_ROLE } from '../api/ownership.js';
import type { Measurement } from '../netfaults/probe.js';
import { measure } from './probe.js';

export interface KernelEngineOptions {
  /**
   * The controller's identity. Kernel rules are tagged "<scope>.<scenario>/<fault>", so that
   * controllers of different directories sharing containers never sweep each other's rules.
   */
  scope: string;
  exec: NetnsExec;
  scratch: () => Promise<ScratchNetns>;
  /** How capabilities are found. Default: PROBE_PROGRAM run in a scratch namespace. */
  probe?: () => Promise<Capabilities>;
  log: Logger;
  /** auto: cuts between bridged containers go to the host's FORWARD path when the probe allows. */
  hostRules?: 'auto' | 'off';
  /** A process in the host's network namespace (the Docker daemon's). Default: pid 1. */
  hostPid?: () => Promise<number>;
  /** How the host path names containers (their bridge ports). Absent: no host path. */
  bridgePorts?: BridgePortsReader;
  /** Is there a scenario file with this name (live)? Set by the controller's sweep. */
  isLive?: (scenario: string) => boolean;
  /** Namespaces processed in parallel. Default 8. */
  concurrency?: number;
  /** Re-read an unchanged namespace at most this often (drift detection). Default 30 s. */
  reverifyMs?: number;
  now?: () => number;
}

const REVERIFY_MS = 30_000;
/** A converge with a key waiting for a passing reason (a bridge port not there yet) is tried again this soon. */
const WAITING_RETRY_MS = 1_000;

/** One namespace (or the host) after a converge: what it shows, the programs run, when the last write ended. */
type Converged = NetnsOutcome & { commands: number; writes: number; warm?: number; writtenAt?: number };

interface NsCache {
  pid: number;
  hash: string;
  at: number;
  readback: NetnsReadback;
  outcome: NetnsOutcome;
}

interface HostCache {
  hash: string;
  at: number;
  v4: IptablesState | null;
  v6: IptablesState | null;
  outcome: NetnsOutcome;
}

const emptyOutcome = (): NetnsOutcome => ({
  verified: new Set(),
  pending: new Set(),
  mechanisms: new Map(),
  degraded: [],
});

/** The namespaces where `plan` asks for other entries (or another container) than `old` did. */
function changedNamespaces(old: NetPlan | undefined, plan: NetPlan): string[] {
  const keys = new Set([...(old?.namespaces.keys() ?? []), ...plan.namespaces.keys()]);
  return [...keys].filter((k) => {
    const a = old?.namespaces.get(k);
    const b = plan.namespaces.get(k);
    return !a || !b || a.target.pid !== b.target.pid || contentHash(a.entries) !== contentHash(b.entries);
  });
}

/** Every key of ours found in a namespace's read-back (iptables comments and tc tags). */
function keysIn(observed: NetnsReadback['observed']): Set<string> {
  return new Set(
    ownedButUnwanted(observed, []).flatMap((o) => ('key' in o && o.key ? [o.key] : 'keys' in o ? o.keys : [])),
  );
}

/** Which read-back parts a set of steps touched. */
function touched(steps: readonly ExecStep[]): Set<ReadPart> {
  const parts = new Set<ReadPart>();
  for (const s of steps) {
    if (s.argv[0] === 'iptables-restore') parts.add('iptables');
    else if (s.argv[0] === 'ip6tables-restore') parts.add('ip6tables');
    else if (s.argv[0] === 'tc') parts.add('tc');
    else if (s.argv[0] === 'ip') parts.add('links');
  }
  return parts;
}

export class KernelEngine implements KernelPort {
  private caps?: Promise<Capabilities>;
  private hooks?: Promise<HostHooks>;
  /** scenario → its last applied plan and the instant it was computed for. */
  private readonly registry = new Map<string, { asOf: number; plan: NetPlan }>();
  /** namespace key → keys of ours seen in its kernel at the last read-back. */
  private readonly seen = new Map<string, Set<string>>();
  private readonly cache = new Map<string, NsCache>();
  private hostCache?: HostCache;
  private readonly locks = new Map<string, Promise<unknown>>();
  private measuring: Promise<unknown> = Promise.resolve();
  /** Namespaces known to run (target by key), from the latest plans and the sweep. */
  private readonly targets = new Map<string, NetnsTarget>();
  private readonly root: string;
  private hostTarget?: Promise<NetnsTarget>;

  constructor(private readonly o: KernelEngineOptions) {
    this.root = hostRootChain(o.scope);
  }

  /** The host's network namespace, entered like any other (nsenter or the helper). */
  private host(): Promise<NetnsTarget> {
    this.hostTarget ??= (this.o.hostPid ?? (async () => 1))().then((pid) => ({
      key: HOST_KEY,
      pid,
      containerId: 'host',
      name: 'host',
    }));
    return this.hostTarget;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  capabilities(): Promise<Capabilities> {
    this.caps ??= (this.o.probe ?? (() => this.probe()))().catch((e) => {
      this.caps = undefined; // try again next time
      throw e;
    });
    return this.caps;
  }

  /** Hooks for the host path; both null when it is off, unusable, or br_netfilter is not active. */
  hostHooks(): Promise<HostHooks> {
    this.hooks ??= this.probeHost().catch((e) => {
      this.hooks = undefined;
      throw e;
    });
    return this.hooks;
  }

  async hostPath(): Promise<HostPath> {
    const h = await this.hostHooks();
    return { v4: h.v4 !== null, v6: h.v6 !== null };
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

  /**
   * The host path needs, per family: iptables with the comment match (the namespace probe), bridged
   * traffic handed to iptables (br_netfilter's bridge-nf-call-ip(6)tables = 1: otherwise rules in
   * FORWARD would be read back and never see a packet — a silent success), and the host's mangle
   * table to read (netfaults/host says why mangle). What an earlier version left in the filter
   * table is removed here, once per probe.
   */
  private async probeHost(): Promise<HostHooks> {
    const off: HostHooks = { v4: null, v6: null };
    if (this.o.hostRules === 'off' || !this.o.bridgePorts) return off;
    const caps = await this.capabilities();
    const host = await this.host();
    const sysctl = async (name: string) => {
      const r = await this.o.exec.run(host, ['cat', `/proc/sys/net/bridge/${name}`]).catch(() => undefined);
      return r?.code === 0 && r.stdout.trim() === '1';
    };
    const readable = async (tool: string) => {
      const r = await this.o.exec.run(host, [tool, '-t', HOST_TABLE]).catch(() => undefined);
      return r?.code === 0 && (parseIptablesSave(r.stdout).tables[HOST_TABLE]?.chains ?? []).includes('FORWARD');
    };
    const [nf4, nf6, m4, m6] = await Promise.all([
      sysctl('bridge-nf-call-iptables'),
      sysctl('bridge-nf-call-ip6tables'),
      readable('iptables-save'),
      readable('ip6tables-save'),
    ]);
    const hooks: HostHooks = {
      v4: caps.iptables && nf4 && m4 ? 'FORWARD' : null,
      v6: caps.ip6tables && nf6 && m6 ? 'FORWARD' : null,
    };
    this.o.log.info(
      { hooks, bridgeNfCallIptables: nf4, bridgeNfCallIp6tables: nf6 },
      hooks.v4
        ? 'host path: cuts between bridged containers go to the host FORWARD chain (mangle)'
        : 'host path unavailable: every rule goes into container namespaces',
    );
    for (const [save, restore] of [
      ['iptables-save', 'iptables-restore'],
      ['ip6tables-save', 'ip6tables-restore'],
    ] as const)
      await this.dropLegacyHost(host, save, restore).catch((e) =>
        this.o.log.warn(
          { err: (e as Error).message },
          `host path: cannot remove the chains an earlier version left (${save} -t filter)`,
        ),
      );
    if (hooks.v4 && caps.iptables === 'nft') this.keepStandby(host, ['iptables-restore', '--wait=5', '--noflush']);
    return hooks;
  }

  /** Remove this controller's chains from the host's filter table (where versions before mangle put them). */
  private async dropLegacyHost(host: NetnsTarget, save: string, restore: string): Promise<void> {
    const r = await this.o.exec.run(host, [save, '-t', 'filter']);
    if (r.code !== 0) return; // no such family here
    const program = hostTeardown(parseIptablesSave(r.stdout), this.root, 'filter');
    if (!program) return;
    const w = await this.o.exec.run(host, [restore, '--wait=5', '--noflush'], program);
    if (w.code !== 0) throw new Error(`${restore} exited ${w.code}: ${w.stderr.trim()}`);
    this.o.log.info({ table: 'filter', tool: restore }, 'host path: removed the chains an earlier version left');
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }

  /** The scenario of a key written by THIS engine's scope ("<scope>.<scenario>/<fault>"), else undefined. */
  private ours(key: string): string | undefined {
    const prefix = `${this.o.scope}.`;
    if (!key.startsWith(prefix)) return undefined;
    return key.slice(prefix.length).split('/')[0];
  }

  /** Live scenarios with rules in these keys that have not registered since the start. */
  private waitingFor(keys: Iterable<string>): string[] {
    return [...new Set([...keys].flatMap((k) => this.ours(k) ?? []))].filter(
      (s) => !this.registry.has(s) && (this.o.isLive?.(s) ?? false),
    );
  }

  // ------------------------------------------------------------------ container namespaces

  private entriesFor(key: string, registry = this.registry): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const { plan } of registry.values()) out.push(...(plan.namespaces.get(key)?.entries ?? []));
    return out;
  }

  // ------------------------------------------------------------------ armed transitions

  /** Programs started ahead of an armed transition, by namespace and argv, until they expire. */
  private readonly warm = new Map<string, { run: PreparedRun; until: number }[]>();

  private warmKey(t: { pid: number }, argv: string[]): string {
    return `${t.pid}\u0000${argv.join('\u0000')}`;
  }

  /**
   * Programs kept waiting at all times (not only ahead of a transition): the host's
   * `iptables-restore`, through which every cut between bridged containers is written. When one is
   * used, the next is started. Only with the nf_tables backend, where a waiting restore holds no lock.
   */
  private readonly standby = new Map<string, { target: NetnsTarget; argv: string[] }>();

  private run(target: { pid: number; containerId: string }, argv: string[], stdin?: string, used?: { warm: number }) {
    this.expireWarm();
    const k = this.warmKey(target, argv);
    const list = this.warm.get(k);
    const w = list?.shift();
    if (list && !list.length) this.warm.delete(k);
    const s = this.standby.get(k);
    if (s) this.startWarm(s.target, s.argv, Number.MAX_SAFE_INTEGER);
    if (w && used) used.warm++;
    return w ? w.run.run(stdin) : this.o.exec.run(target, argv, stdin);
  }

  private keepStandby(target: NetnsTarget, argv: string[]): void {
    if (!this.o.exec.prepare) return;
    this.standby.set(this.warmKey(target, argv), { target, argv });
    this.startWarm(target, argv, Number.MAX_SAFE_INTEGER);
  }

  private startWarm(target: NetnsTarget, argv: string[], until: number): void {
    const k = this.warmKey(target, argv);
    if (this.warm.get(k)?.length) return; // one waiting program per namespace and argv is enough
    this.warm.set(k, [{ run: this.o.exec.prepare!(target, argv), until }]);
  }

  private expireWarm(): void {
    const now = this.now();
    for (const [k, list] of this.warm) {
      for (const w of list.filter((x) => x.until < now)) w.run.cancel();
      const left = list.filter((x) => x.until >= now);
      if (left.length) this.warm.set(k, left);
      else this.warm.delete(k);
    }
  }

  /**
   * An armed transition: `plan` will be applied at `asOf`. Compile what each namespace it touches
   * would need against what is known of it now, and start those programs (waiting on their input),
   * so the apply at the instant writes into running programs instead of starting them. Nothing is
   * decided here: the apply compiles again at the instant and uses a waiting program only when
   * the argv it needs is the one started.
   */
  async prepare(plan: NetPlan, asOf: number): Promise<void> {
    if (!this.o.exec.prepare) return;
    const until = asOf + 5_000;
    const old = this.registry.get(plan.scenario);
    const caps = await this.capabilities();
    // Only the namespaces whose entries of this scenario change at the instant, all at once: the
    // others have nothing to start, and waiting on their locks (a reconcile converging them) would
    // only hold up the arming.
    await Promise.all(
      changedNamespaces(old?.plan, plan).map(async (key) => {
        const target = plan.namespaces.get(key)?.target ?? this.targets.get(key);
        if (!target) return;
        // A namespace never read (its first fault is the one armed): read it now, ahead of the
        // instant, by converging it to what is registered today (usually nothing to write).
        if (this.cache.get(key)?.pid !== target.pid) await this.convergeNetns(target).catch(() => undefined);
        // Under the namespace's lock: a write still in flight (the transition just fired, armed
        // right before its own apply) is compared against, not the state before it. Compiled
        // against that older state, the next transition looks like no change, and its program
        // would be started cold at the instant.
        await this.withLock(key, async () => {
          const cached = this.cache.get(key);
          if (!cached || cached.pid !== target.pid) return;
          const would = new Map(this.registry);
          would.set(plan.scenario, { asOf, plan });
          const compiled = compileLedger(
            { netns: key, interfaces: cached.readback.interfaces, entries: this.entriesFor(key, would) },
            caps,
          );
          for (const step of diffLedger(compiled, cached.readback.observed).steps)
            this.startWarm(target, step.argv, until);
        });
      }),
    );
    if (contentHash(old?.plan.host ?? []) !== contentHash(plan.host)) {
      const hooks = await this.hostHooks();
      const host = await this.host();
      if (hooks.v4) this.startWarm(host, ['iptables-restore', '--wait=5', '--noflush'], until);
      if (hooks.v6 && plan.host.some((c) => c.receiver.v6 || c.senders.some((x) => x.v6)))
        this.startWarm(host, ['ip6tables-restore', '--wait=5', '--noflush'], until);
    }
  }

  /** Read back recently, from the same namespace, without an error: what the cache says still holds. */
  private fresh(cached: NsCache | undefined, target: NetnsTarget): cached is NsCache {
    return (
      !!cached &&
      cached.pid === target.pid &&
      this.now() - cached.at < (this.o.reverifyMs ?? REVERIFY_MS) &&
      !cached.outcome.error
    );
  }

  /**
   * What convergeNetns would answer at once, without waiting for a pool slot: nobody is converging
   * the namespace and its ledger is the one read back recently. Undefined: it has to be converged.
   */
  private settled(target: NetnsTarget): Converged | undefined {
    if (this.locks.has(target.key)) return undefined;
    return this.unchanged(target, contentHash(this.entriesFor(target.key)));
  }

  /** Unchanged ledger (`hash`), same namespace, read back recently: nothing to do, nothing to read. */
  private unchanged(target: NetnsTarget, hash: string): Converged | undefined {
    const cached = this.cache.get(target.key);
    if (!this.fresh(cached, target) || cached.hash !== hash) return undefined;
    return { ...cached.outcome, commands: 0, writes: 0 };
  }

  /** Converge one container namespace to the union of every scenario's entries. */
  private convergeNetns(target: NetnsTarget): Promise<Converged> {
    const { exec } = this.o;
    return this.withLock(target.key, async () => {
      const caps = await this.capabilities();
      const entries = this.entriesFor(target.key);
      const hash = contentHash(entries);
      const cached = this.cache.get(target.key);
      const fresh = this.fresh(cached, target);
      const unchanged = this.unchanged(target, hash);
      if (unchanged) return unchanged;
      const before = fresh ? cached.readback : await readNetns(exec, target);
      let commands = fresh ? 0 : before.commands;
      const inKernel = keysIn(before.observed);
      this.seen.set(target.key, inKernel);
      const compiled = compileLedger({ netns: target.key, interfaces: before.interfaces, entries }, caps);
      const mechanisms = new Map(compiled.mechanisms.map((m) => [`${m.scenario}/${m.fault}`, m.mechanisms]));
      const keys = new Set(entries.map((e) => `${e.scenario}/${e.fault}`));
      // Do not drop entries of a live scenario that has not registered since the start.
      if (this.waitingFor(inKernel).length) {
        return {
          verified: new Set<string>(),
          pending: keys,
          mechanisms,
          deferred: true,
          commands,
          writes: 0,
          degraded: compiled.degraded,
        };
      }
      const diff = diffLedger(compiled, before.observed);
      let error: string | undefined;
      let writes = 0;
      let after = before;
      let writtenAt: number | undefined;
      const used = { warm: 0 };
      if (!diff.empty) {
        const r = await runSteps({ run: (t, argv, stdin) => this.run(t, argv, stdin, used) }, target, diff.steps);
        writtenAt = this.now();
        commands += r.ran;
        writes = r.ran;
        error = r.error;
        // Read back what the programs touched: what the kernel shows now is the only proof.
        after = error ? await readNetns(exec, target) : await rereadNetns(exec, target, before, touched(diff.steps));
        commands += after.commands;
      }
      const check = diffLedger(compiled, after.observed);
      const pending = new Set(check.pendingKeys);
      for (const c of check.conflicts) error ??= c.message;
      if (!check.empty && !error)
        error = `kernel state still differs after applying: ${check.steps.map((s) => s.what).join(', ')}`;
      this.seen.set(target.key, keysIn(after.observed));
      const verified = new Set([...keys].filter((k) => !pending.has(k) && !(error && !check.empty)));
      const outcome: NetnsOutcome = { verified, pending, mechanisms, error, degraded: compiled.degraded };
      this.cache.set(target.key, { hash, pid: target.pid, at: this.now(), readback: after, outcome });
      return { ...outcome, commands, writes, warm: used.warm, writtenAt };
    });
  }

  // ------------------------------------------------------------------ the host's FORWARD path

  /** namespace key → its bridge ports, valid for one pid and one set of networks (a restart or a connect changes them). */
  private readonly ports = new Map<string, { stamp: string; ports: string[] }>();

  /**
   * Every scenario's host cuts, their ends named by bridge ports (learned once per container start),
   * and the cuts with an end whose bridge ports were not found (key → names): such a cut is not in
   * the kernel, and must not count as verified. An empty answer is not kept: read again next time.
   */
  private async hostEntries(): Promise<{ entries: HostEntry[]; unported: Map<string, string[]> }> {
    const cuts: HostCut[] = [];
    for (const { plan } of this.registry.values()) cuts.push(...plan.host);
    const ends = new Map<string, { target: NetnsTarget; stamp: string }>();
    for (const c of cuts)
      for (const e of [c.receiver, ...c.senders])
        ends.set(e.target.key, { target: e.target, stamp: `${e.target.pid}/${e.networks.join(',')}` });
    const unknown = [...ends.values()].filter((e) => this.ports.get(e.target.key)?.stamp !== e.stamp);
    if (unknown.length) {
      for (const [key, ports] of await this.o.bridgePorts!.portsOf(unknown.map((e) => e.target)))
        if (ports.length) this.ports.set(key, { stamp: ends.get(key)!.stamp, ports });
        else this.ports.delete(key);
    }
    const portsOf = (t: NetnsTarget) => this.ports.get(t.key)?.ports ?? [];
    const unported = new Map<string, string[]>();
    for (const c of cuts) {
      const missing = [c.receiver, ...c.senders].filter((e) => !portsOf(e.target).length).map((e) => e.target.name);
      if (missing.length) {
        const key = `${c.scenario}/${c.fault}`;
        unported.set(key, [...new Set([...(unported.get(key) ?? []), ...missing])].sort());
      }
    }
    return { entries: cuts.map((c) => hostEntryOf(c, portsOf)), unported };
  }

  /** The host's mangle tables of the families asked for (the others as `prev` had them). */
  private async readHost(
    hooks: HostHooks,
    only?: { v4: boolean; v6: boolean },
    prev?: { v4: IptablesState | null; v6: IptablesState | null },
  ): Promise<{ v4: IptablesState | null; v6: IptablesState | null; commands: number }> {
    const host = await this.host();
    const read = async (tool: string) => {
      const r = await this.o.exec.run(host, [tool, '-t', HOST_TABLE]);
      if (r.code !== 0) throw new Error(`${tool} -t ${HOST_TABLE} on the host exited ${r.code}: ${r.stderr.trim()}`);
      return parseIptablesSave(r.stdout);
    };
    const want4 = !!hooks.v4 && (only?.v4 ?? true);
    const want6 = !!hooks.v6 && (only?.v6 ?? true);
    const [v4, v6] = await Promise.all([
      want4 ? read('iptables-save') : (prev?.v4 ?? null),
      want6 ? read('ip6tables-save') : (prev?.v6 ?? null),
    ]);
    return { v4, v6, commands: (want4 ? 1 : 0) + (want6 ? 1 : 0) };
  }

  /** Converge the host's chains of this controller to the union of every scenario's host entries. */
  private convergeHost(): Promise<Converged> {
    return this.withLock(HOST_KEY, async () => {
      const t0 = performance.now();
      const hooks = await this.hostHooks();
      const { entries, unported } = await this.hostEntries();
      const tEntries = performance.now();
      const hash = contentHash(entries);
      const now = this.now();
      const c = this.hostCache;
      const fresh = !!c && now - c.at < (this.o.reverifyMs ?? REVERIFY_MS) && !c.outcome.error;
      if (fresh && c.hash === hash) return { ...c.outcome, commands: 0, writes: 0 };
      const keys = new Set(entries.map((e) => `${e.scenario}/${e.fault}`));
      const mechanisms = new Map([...keys].map((k) => [k, ['iptables-forward']]));
      if (!hooks.v4 && !hooks.v6) {
        // Nothing can be placed here (netplan only places entries when the probe allowed it).
        const error = keys.size ? 'the host path is not available (br_netfilter off, or no mangle table)' : undefined;
        return { verified: new Set(), pending: keys, mechanisms, error, degraded: [], commands: 0, writes: 0 };
      }
      let commands = 0;
      let before: { v4: IptablesState | null; v6: IptablesState | null };
      if (fresh) before = c;
      else {
        const r = await this.readHost(hooks);
        commands += r.commands;
        before = r;
      }
      const families = [
        { fam: 4 as const, hook: hooks.v4, state: () => before.v4, tool: 'iptables-restore' },
        { fam: 6 as const, hook: hooks.v6, state: () => before.v6, tool: 'ip6tables-restore' },
      ].filter((f) => f.hook !== null);
      const seenKeys = new Set<string>();
      for (const f of families) for (const k of hostKeysIn(observeHost(f.state(), this.root, f.hook))) seenKeys.add(k);
      this.seen.set(HOST_KEY, seenKeys);
      if (this.waitingFor(seenKeys).length)
        return { verified: new Set(), pending: keys, mechanisms, deferred: true, degraded: [], commands, writes: 0 };
      let writes = 0;
      let error: string | undefined;
      const tRead = performance.now();
      const used = { warm: 0 };
      const desired = families.map((f) => ({ ...f, desired: compileHost(this.o.scope, entries, f.fam, f.hook) }));
      const programs = desired.flatMap((f) => {
        const d = diffHost(f.desired, observeHost(f.state(), this.root, f.hook));
        return d.program ? [{ f, program: d.program }] : [];
      });
      // One restore per family that differs, in parallel (they are separate tables).
      await Promise.all(
        programs.map(async ({ f, program }) => {
          const r = await this.run(await this.host(), [f.tool, '--wait=5', '--noflush'], program, used);
          writes++;
          commands++;
          if (r.code !== 0)
            error ??= `${f.tool} on the host exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ')}`;
        }),
      );
      const tWrite = performance.now();
      const writtenAt = programs.length ? this.now() : undefined;
      let after = before;
      if (programs.length) {
        // Read back exactly the tables written.
        const r = await this.readHost(
          hooks,
          { v4: programs.some((p) => p.f.fam === 4), v6: programs.some((p) => p.f.fam === 6) },
          before,
        );
        commands += r.commands;
        after = r;
      }
      const pending = new Set<string>();
      const afterKeys = new Set<string>();
      for (const f of desired) {
        const obs = observeHost(f.fam === 4 ? after.v4 : after.v6, this.root, f.hook);
        diffHost(f.desired, obs).pendingKeys.forEach((k) => pending.add(k));
        hostKeysIn(obs).forEach((k) => afterKeys.add(k));
      }
      this.seen.set(HOST_KEY, afterKeys);
      if (pending.size && !error)
        error = `host chains still differ after applying (${[...pending].slice(0, 3).join(', ')})`;
      // A cut with an end whose bridge port was not found is not in the kernel: never verified, and
      // Pending (a container starting or stopping), its ports looked for again at the next try.
      const waiting = new Map<string, { reason: string; message: string }>();
      for (const [k, names] of unported) {
        pending.add(k);
        waiting.set(k, {
          reason: 'BridgePortNotFound',
          message: `the bridge port of ${names.join(', ')} was not found in the host (container starting or stopping?): not cut yet, looked for again`,
        });
      }
      const verified = new Set([...keys].filter((k) => !pending.has(k)));
      const outcome: NetnsOutcome = {
        verified,
        pending,
        mechanisms,
        error,
        degraded: [],
        ...(waiting.size && { waiting }),
      };
      this.hostCache = { hash, at: this.now(), v4: after.v4, v6: after.v6, outcome };
      const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
      this.o.log.debug(
        {
          ms: {
            entries: ms(t0, tEntries),
            read: ms(tEntries, tRead),
            compileWrite: ms(tRead, tWrite),
            readBack: ms(tWrite, performance.now()),
          },
          writes,
          fresh,
        },
        'host converged',
      );
      return { ...outcome, commands, writes, warm: used.warm, writtenAt };
    });
  }

  // ------------------------------------------------------------------ scenarios

  async apply(plan: NetPlan, asOf: number): Promise<KernelReport> {
    const scenario = plan.scenario;
    const report: KernelReport = { outcomes: new Map(), present: new Set(), errors: [], commands: 0, writes: 0 };
    const old = this.registry.get(scenario);
    if (old && old.asOf > asOf) return { ...report, superseded: true };
    const mine = (k: string) => this.ours(k) === scenario;
    const hadAny = !!old && (old.plan.namespaces.size > 0 || old.plan.host.length > 0);
    const hasAny = plan.namespaces.size > 0 || plan.host.length > 0;
    const seenAnywhere = [...this.seen.values()].some((s) => [...s].some(mine));
    this.registry.set(scenario, { asOf, plan });
    if (!hadAny && !hasAny && !seenAnywhere) return report; // nothing of ours, now or before
    for (const c of plan.namespaces.values()) this.targets.set(c.target.key, c.target);
    const affected = new Set<string>([...(old?.plan.namespaces.keys() ?? []), ...plan.namespaces.keys()]);
    for (const [key, keys] of this.seen) if (key !== HOST_KEY && [...keys].some(mine)) affected.add(key);
    const hostAffected =
      (old?.plan.host.length ?? 0) > 0 || plan.host.length > 0 || [...(this.seen.get(HOST_KEY) ?? [])].some(mine);
    const record = (key: string, out: Converged) => {
      const { commands, writes, warm, writtenAt, ...outcome } = out;
      report.outcomes.set(key, outcome);
      report.commands += commands;
      report.writes += writes;
      if (warm) report.warm = (report.warm ?? 0) + warm;
      if (writtenAt !== undefined) report.writtenAt = Math.max(report.writtenAt ?? 0, writtenAt);
      if (outcome.error)
        report.errors.push(
          `${key === HOST_KEY ? 'host' : `container ${this.targets.get(key)?.name ?? key.slice(0, 12)}`}: ${outcome.error}`,
        );
      if (outcome.deferred) report.retryAfterMs = 500;
      if (outcome.waiting?.size) report.retryAfterMs = Math.min(report.retryAfterMs ?? Infinity, WAITING_RETRY_MS);
    };
    const jobs: Promise<void>[] = [];
    if (hostAffected)
      jobs.push(
        this.convergeHost().then(
          (out) => record(HOST_KEY, out),
          (e) => record(HOST_KEY, { ...emptyOutcome(), error: (e as Error).message, commands: 0, writes: 0 }),
        ),
      );
    // The namespaces this change touches go first; one that nobody is converging and whose ledger
    // is the one read back is answered from the cache, without a pool slot (a timed transition
    // that changes 2 namespaces of 20 does not wait behind the other 18).
    const changed = new Set(changedNamespaces(old?.plan, plan));
    const running: NetnsTarget[] = [];
    for (const k of [...affected].sort((a, b) => Number(changed.has(b)) - Number(changed.has(a)))) {
      const t = plan.namespaces.get(k)?.target ?? this.targets.get(k);
      if (!t) continue;
      const done = changed.has(k) ? undefined : this.settled(t);
      if (done) record(k, done);
      else running.push(t);
    }
    jobs.push(
      pool(running, this.o.concurrency ?? 8, async (t) => {
        try {
          record(t.key, await this.convergeNetns(t));
        } catch (e) {
          // Gone (container stopped or removed): its rules went with its namespace.
          this.cache.delete(t.key);
          this.seen.delete(t.key);
          record(t.key, { ...emptyOutcome(), error: (e as Error).message, commands: 0, writes: 0 });
        }
      }),
    );
    await Promise.all(jobs);
    for (const keys of this.seen.values()) for (const k of keys) if (mine(k)) report.present.add(k);
    return report;
  }

  async forget(scenario: string): Promise<KernelReport> {
    const empty: NetPlan = {
      scenario,
      scoped: `${this.o.scope}.${scenario}`,
      namespaces: new Map(),
      host: [],
      placements: new Map(),
      degraded: [],
    };
    const r = await this.apply(empty, Number.MAX_SAFE_INTEGER);
    if (r.errors.length === 0) this.registry.delete(scenario);
    return r;
  }

  /** A namespace's container stopped or was removed: its rules are gone with it. */
  drop(key: string): void {
    this.cache.delete(key);
    this.seen.delete(key);
    this.targets.delete(key);
  }

  /** Stop every program started ahead of a transition (the controller is stopping). */
  /** verify: probe — one measurement at a time, whatever the scenario (kernel/probe.ts). */
  measure(req: ProbeRequest): Promise<Measurement> {
    const next = this.measuring.then(() => measure(this.o.exec, req));
    this.measuring = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.standby.clear();
    for (const list of this.warm.values()) for (const w of list) w.run.cancel();
    this.warm.clear();
  }

  invalidate(): void {
    this.cache.clear();
    this.hostCache = undefined;
    this.hooks = undefined; // probed again (a daemon restart may have changed the host)
    this.hostTarget = undefined; // and the daemon's pid, whose namespace stands for the host's
    for (const k of this.standby.keys()) {
      for (const w of this.warm.get(k) ?? []) w.run.cancel();
      this.warm.delete(k);
    }
    this.standby.clear(); // started again by the next probe of the host
  }

  async sweep(view: Snapshot, isLive: (scenario: string) => boolean): Promise<string[]> {
    this.o.isLive = isLive;
    const orphans = new Set<string>();
    const unclaimed: NetnsTarget[] = [];
    const owners = view.containers.filter(
      (c) =>
        c.state === 'running' &&
        c.pid > 0 &&
        c.labels[LABEL_ROLE] !== 'helper' &&
        c.networkMode !== 'host' &&
        !c.networkMode.startsWith('container:'),
    );
    const note = (keys: Iterable<string>) => {
      for (const k of keys) {
        const s = this.ours(k);
        if (s !== undefined && !isLive(s)) orphans.add(s);
      }
    };
    await pool(owners, this.o.concurrency ?? 8, async (c) => {
      const target: NetnsTarget = { key: c.id, pid: c.pid, containerId: c.id, name: c.name };
      try {
        const r = await readNetns(this.o.exec, target);
        const owned = ownedButUnwanted(r.observed, []);
        const keys = keysIn(r.observed);
        if (keys.size) {
          this.seen.set(c.id, keys);
          this.targets.set(c.id, target);
        }
        // Objects of ours that no key attributes (a SIGKILL between the iptables step, which
        // removes the tag map, and the tc step of a removal leaves an untagged htb class): no
        // scenario will ever claim them, so converge this namespace now; converge defers while
        // a live scenario that has rules there has not registered yet. Never in a namespace that
        // holds another controller's keys: one removing a fault there shows, between its iptables
        // and tc steps, a class no key names, and converging that namespace for this controller
        // would remove all of its rules. (With no key at all, the objects are a removal's
        // leftovers, or a removal in progress: cleaning them is what their writer does anyway.)
        const foreign = [...keys].some((k) => this.ours(k) === undefined);
        if (!foreign && owned.some((x) => !('key' in x && x.key) && !('keys' in x && x.keys.length)))
          unclaimed.push(target);
        note(keys);
      } catch (e) {
        this.o.log.debug({ container: c.name, err: (e as Error).message }, 'sweep: cannot read namespace');
      }
    });
    try {
      const hooks = await this.hostHooks();
      if (hooks.v4 || hooks.v6) {
        const r = await this.readHost(hooks);
        const keys = new Set<string>();
        for (const [state, hook] of [
          [r.v4, hooks.v4],
          [r.v6, hooks.v6],
        ] as const) {
          const obs = observeHost(state, this.root, hook);
          hostKeysIn(obs).forEach((k) => keys.add(k));
          // A scenario chain jumped to with no fault rules left still names its scenario.
          for (const s of hostScenariosIn(obs, this.root)) keys.add(`${s}/`);
        }
        this.seen.set(HOST_KEY, keys);
        note(keys);
      }
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'sweep: cannot read the host chains');
    }
    for (const t of unclaimed) {
      await this.convergeNetns(t).catch((e) =>
        this.o.log.warn({ container: t.name, err: (e as Error).message }, 'sweep: cannot clean unattributed rules'),
      );
    }
    return [...orphans].sort();
  }
}
