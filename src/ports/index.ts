// Ports: the interfaces through which the core reaches the outside world. Adapters implement
// them (adapters/), tests fake them. Nothing in this folder does I/O.
import type { ScenarioStatus } from '../api/types.js';
import type { Capabilities, Degraded } from '../netfaults/index.js';
import type { Measurement } from '../netfaults/probe.js';
import type { ProbeRequest } from '../netplan/probe.js';
import type { HostPath, NetPlan, NetnsTarget } from '../netplan/index.js';
import type { ObservedContainer, ObservedNetwork, ObservedVolume, Snapshot } from '../resolve/index.js';
import type {
  ContainerCreateRequest,
  EndpointRequest,
  NetworkCreateRequest,
  VolumeCreateRequest,
} from '../plan/requests.js';

export type {
  ContainerCreateRequest,
  EndpointRequest,
  MountRequest,
  NetworkCreateRequest,
  VolumeCreateRequest,
} from '../plan/requests.js';

export interface Clock {
  now(): Date;
  /** Resolves after ms, or rejects with AbortError when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface DockerEvent {
  type: 'container' | 'network' | 'daemon' | string;
  action: string; // start, die, destroy, connect, disconnect, ...
  actorId: string;
  attributes: Record<string, string>; // labels, name, container (for network events) ...
  time: number; // unix seconds
}

/** An engine's place in a Swarm, as `docker info` shows it. */
export interface SwarmInfo {
  /** inactive | pending | active | error | locked */
  state: string;
  /** It is a manager (can create swarm-scoped networks). */
  manager: boolean;
  /** The Swarm it is in (absent: none). */
  clusterId?: string;
  /** Its address in the Swarm. */
  nodeAddr?: string;
  /** Its node id in the Swarm. */
  nodeId?: string;
  /** A manager: the ids of every node of its Swarm (a worker's info has no cluster id: this is how it is known). */
  nodeIds?: string[];
}

/** The list calls' view of an engine (DockerPort.summary). */
export interface EngineSummary {
  containers: { id: string; state: string; networkIds: string[] }[];
  networks: string[];
  volumes: string[];
}

/** Everything faultline asks of a Docker engine. Errors carry Docker's message. */
export interface DockerPort {
  ping(): Promise<void>;
  snapshot(): Promise<Snapshot>;
  /**
   * What the list calls alone show (no inspect): every container with its state and the networks
   * its endpoints name, every network id, every volume name. Cheap; used to find what a view that
   * follows events missed (Docker drops events for a reader that falls behind). Absent: no audit.
   */
  summary?(): Promise<EngineSummary>;
  /** One container as snapshot() shows it (pid, endpoints, aliases, startedAt); undefined when absent. */
  inspectContainer(idOrName: string): Promise<ObservedContainer | undefined>;
  /** One network as snapshot() shows it (containerIds: live endpoints); undefined when absent. */
  inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined>;
  createNetwork(req: NetworkCreateRequest): Promise<string>;
  removeNetwork(idOrName: string): Promise<void>;
  /** One volume as snapshot() shows it; undefined when absent. */
  inspectVolume(name: string): Promise<ObservedVolume | undefined>;
  createVolume(req: VolumeCreateRequest): Promise<void>;
  removeVolume(name: string): Promise<void>; // already gone: no-op
  createContainer(req: ContainerCreateRequest): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  removeContainer(id: string): Promise<void>; // force, with anonymous volumes
  pauseContainer(id: string): Promise<void>; // already paused: no-op
  unpauseContainer(id: string): Promise<void>; // not paused: no-op
  killContainer(id: string, signal?: string): Promise<void>; // default SIGKILL
  restartContainer(id: string, timeoutSeconds?: number): Promise<void>;
  connect(network: string, containerId: string, endpoint: EndpointRequest): Promise<void>;
  disconnect(network: string, containerId: string): Promise<void>; // force
  imageExists(ref: string): Promise<boolean>;
  /** The engine's place in a Swarm (docker info): optional, a single-engine port need not answer. */
  swarm?(): Promise<SwarmInfo>;
  /**
   * Stream engine events to onEvent until signal aborts. Reconnects after the daemon restarts
   * (onReconnect is called each time the stream is re-established, so callers can resync).
   */
  watchEvents(onEvent: (e: DockerEvent) => void, signal: AbortSignal, onReconnect?: () => void): Promise<void>;
}

/**
 * The bridge ports (host-side veth names) of container namespaces, by namespace key: how the host
 * path names the ends of a cut. Read from sysfs: the container's `/sys/class/net/<if>/iflink` is its
 * peer's ifindex in the host.
 */
export interface BridgePortsReader {
  portsOf(targets: readonly NetnsTarget[]): Promise<Map<string, string[]>>;
}

/** A program started ahead of need inside a namespace, waiting for its input. */
export interface PreparedRun {
  /** Hand it its input (or none) and collect the result. */
  run(stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Not needed after all: stop it before it reads anything. */
  cancel(): void;
}

/** Runs a program inside a network namespace (nsenter or a helper container). Argument arrays only. */
export interface NetnsExec {
  run(
    target: { pid: number; containerId: string },
    argv: string[],
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * Start argv in the namespace now and let it wait for its input (an armed transition: the
   * program is running before the instant it must act). Optional: executors that cannot keep a
   * program waiting simply run it when asked.
   */
  prepare?(target: { pid: number; containerId: string }, argv: string[]): PreparedRun;
}

/** A network namespace with nothing else in it, for the capability probe. */
export interface ScratchNetns {
  pid: number;
  containerId: string;
  release(): Promise<void>;
}

// ---------------------------------------------------------------- the kernel engine

/** What one namespace showed after a converge (read back from the kernel). */
export interface NetnsOutcome {
  /** Keys ("<scope>.<scenario>/<fault>") wanted there and verified in the kernel. */
  verified: Set<string>;
  /** Keys wanted there and not (yet) in the kernel as wanted. */
  pending: Set<string>;
  /** How each key is enforced there (netem, tbf, iptables, iptables-forward…). */
  mechanisms: Map<string, string[]>;
  error?: string;
  /**
   * Keys wanted there that cannot be placed yet for a passing reason (Pending with it, not Failed):
   * the converge is tried again soon (KernelReport.retryAfterMs).
   */
  waiting?: Map<string, { reason: string; message: string }>;
  /** Not written: a live scenario with rules there has not registered since the start. */
  deferred?: boolean;
  /** What the compiler left out of the merged ledger (every scenario's, keyed by scope). */
  degraded: Degraded[];
}

/** One scenario's view of a converge: the namespaces it touched, and what they show. */
export interface KernelReport {
  /** By namespace key ("host" for the host's FORWARD ledger). */
  outcomes: Map<string, NetnsOutcome>;
  /** Keys of this scenario still present in the kernel anywhere after the converge. */
  present: Set<string>;
  errors: string[];
  /** Programs run: reads (read-back) and writes (programs that change the kernel). */
  commands: number;
  writes: number;
  /** Of the writes, how many went to a program started ahead (armed transition, host standby). */
  warm?: number;
  /** Come back soon (a namespace deferred), in ms. */
  retryAfterMs?: number;
  /** When the last program of this converge that changed the kernel finished (ms since the epoch). */
  writtenAt?: number;
  /** A newer instant of this scenario was applied meanwhile (an armed transition): re-plan. */
  superseded?: boolean;
}

/** The namespace side: every scenario's contributions merged per namespace, applied, read back. */
export interface KernelPort {
  capabilities(): Promise<Capabilities>;
  /** Which families cuts between bridged containers may use the host's FORWARD path for (probed + allowed). */
  hostPath(): Promise<HostPath>;
  /**
   * Register the scenario's contributions as of the timeline instant `asOf` (ms) and converge every
   * namespace they touch (or touched before). A call with an older `asOf` than the last one applied
   * for the scenario changes nothing and reports `superseded`.
   */
  apply(plan: NetPlan, asOf: number): Promise<KernelReport>;
  /**
   * An armed transition: `plan` will be applied at `asOf`. Compile it against what is known now and
   * start the programs it will need, waiting for their input, so that applying it at the instant
   * costs no process start-up. Optional: applying works without it.
   */
  prepare?(plan: NetPlan, asOf: number): Promise<void>;
  /** The scenario is gone: remove its entries everywhere. */
  forget(scenario: string): Promise<KernelReport>;
  /**
   * At start: read every running container (and the host) back; returns scenarios that own rules
   * but have no file (to reconcile as deleted). `isLive` tells which scenarios have a file.
   */
  sweep(view: Snapshot, isLive: (scenario: string) => boolean): Promise<string[]>;
  /** Forget what was read back (the engine restarted, or drift is suspected): read again next time. */
  invalidate(): void;
  /** The controller stops: release what the engine holds (programs started ahead of a transition). */
  close?(): void;
  /**
   * verify: probe — measure one fault's effect by packets from inside the target's namespace
   * against a peer of the scenario (one measurement at a time). Optional: without it, probes are
   * reported Inconclusive.
   */
  measure?(req: ProbeRequest): Promise<Measurement>;
}

export type { ProbeEnd, ProbeRequest } from '../netplan/probe.js';

// ---------------------------------------------------------------- the directory of files

/**
 * A status write's outcome. Not written: `reason` says why — 'StatusWriteFailed' when the
 * filesystem refused (then `errno`: EROFS, EACCES, ENOSPC…), or why the file cannot take a status
 * at all (notEditable, missing…); `message` says what to do.
 */
export interface StatusWriteResult {
  written: boolean;
  own?: boolean;
  reason?: string;
  errno?: string;
  message?: string;
  text?: string;
  generation?: number;
  /** The held status's new text, when the status is kept beside the file. */
  heldText?: string;
}

/**
 * The status of a scenario kept outside its file (`--status-in sidecar`): what the controller
 * wrote last, its generation, and the text it was read from ('' when none was written yet).
 */
export interface HeldStatus {
  status: ScenarioStatus;
  generation?: number;
  text: string;
}

/** What the reconciler needs of the directory of files (store/ implements it). */
export interface ScenarioFiles {
  /**
   * `unsettled`: the file kept changing while it was read (a save in progress). `size`: its size
   * in bytes (the text of a file over the limit is only its beginning). `held`: present when the
   * status is kept beside the file (then the file's own status entry, if any, is not the status).
   */
  read(
    path: string,
  ): Promise<{ text: string; unsettled?: boolean; size?: number; held?: HeldStatus } | { missing: true }>;
  /**
   * Write `status` into the file. `reconciledSpecHash`: hash of the spec this status describes
   * (the store bumps generation past it if the file moved on). `own: false` when the write merged
   * a newer spec saved meanwhile (reconcile again).
   */
  writeStatus(path: string, status: ScenarioStatus, reconciledSpecHash?: string): Promise<StatusWriteResult>;
}

export interface DirEvent {
  path: string;
  kind: 'add' | 'change' | 'unlink';
}

/** What the controller needs of the directory (store/ implements it; tests may fake it). */
export interface DirStore extends ScenarioFiles {
  list(): Promise<string[]>;
  /** One read of the file as it is now, no waiting for a save to settle (to index it by name). */
  peek(path: string): Promise<{ text: string } | { missing: true }>;
  isOwnWrite(path: string, text: string): boolean;
  /**
   * Report changes until signal aborts; the promise resolves once the watcher is ready. A *.yaml
   * name refused as a scenario file (a symlink out of the directory, a named pipe) comes as `refused`, once.
   */
  watch(
    onEvent: (e: DirEvent) => void,
    signal: AbortSignal,
    onRefused?: (path: string, message: string, code: string) => void,
  ): Promise<void>;
  /** The *.yaml names refused as scenario files now (symlinks out of the directory, pipes...), with why. */
  refused?(): Promise<{ file: string; message: string; code: string }[]>;
  /**
   * The file is gone for good: drop what is kept beside it (a status kept outside the file), so
   * that a new file of the same name starts afresh. Optional: nothing to drop when status lives in
   * the file.
   */
  forget?(path: string): Promise<void>;
  /**
   * Tidy what interrupted status writes left in the directory (store/tidy.ts): removed when it
   * holds nothing the file lacks, otherwise kept under a recovered name. Called once at start-up.
   */
  tidy?(): Promise<{ removed: string[]; kept: { temp: string; as: string; why: string }[] }>;
}

export type { NetnsTarget, ObservedContainer, ObservedNetwork };

// ---------------------------------------------------------------- metrics

/**
 * What the controller reports for monitoring. adapters/metrics.ts keeps it in Prometheus form;
 * absent, nothing is measured. Every method is cheap, synchronous and never throws: a metric must
 * never change what a reconcile does.
 */
export interface MetricsSink {
  /** Seconds one phase of a reconcile took: read, parse, plan, docker, netns, status, write. */
  reconcilePhase(phase: string, seconds: number): void;
  /** A reconcile ended: ok, error, invalid, requeued, deleted. */
  reconciled(outcome: string): void;
  /**
   * An armed transition: seconds from its instant to when its kernel write completed (late is
   * positive; a transition with nothing to write is measured to the end of its apply).
   */
  transitionLateness(seconds: number): void;
  /** Faults whose window is open now, by kind (every scenario's, summed): the whole table each time. */
  activeFaults(byKind: Readonly<Record<string, number>>): void;
  /** Programs run in namespaces: `read` (read-back) or `write` (a program that changes the kernel). */
  kernelPrograms(kind: 'read' | 'write', n: number): void;
  /** One Docker operation by its kind (network.create, member.connect, ...) and outcome. */
  dockerOperation(kind: string, ok: boolean): void;
  /** Something failed, by a stable reason: docker, kernel, status_write, invalid_spec, crash, ... */
  error(reason: string): void;
  /** The controller is serving (watching its directory, the view listed, workers running), or not. */
  ready(ready: boolean): void;
}
