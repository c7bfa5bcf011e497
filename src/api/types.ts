// The Scenario resource: TypeScript view of crds/scenario.yaml (the single source of validation).
// These types describe a document that has PASSED schema validation (api/validate.ts); nothing
// here is trusted before that. Field names follow the CRD exactly (camelCase, Kubernetes habits).

export const API_VERSION = 'faultline.dev/v1alpha1';
export const KIND = 'Scenario';

/** Duration string: Go-style units, e.g. "150ms", "30s", "2m", "1h30m". Parsed by api/duration.ts. */
export type Duration = string;
/** Percentage string "25%" or "0.1%" (0..100). Parsed by api/quantity.ts. */
export type Percent = string;
/** Rate string with tc units: "1mbit", "50kbit", "10mbps" (bytes), "500bit". */
export type Rate = string;
/** Size string with tc units: "32kb", "1mb", "1500b". */
export type Size = string;

export interface ObjectMeta {
  name: string; // DNS label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 40 chars (prefixes Docker names)
  generation?: number; // written by the controller when the spec's hash changes
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Scenario {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ScenarioSpec;
  status?: ScenarioStatus;
}

export interface ScenarioSpec {
  description?: string;
  networks?: NetworkSpec[];
  containers?: ContainerSpec[];
  members?: MemberSpec[];
  faults?: FaultSpec[];
  /** Scenario timeline start (RFC 3339). Absent: when the controller first reconciles it. */
  startAt?: string;
  /** Scenario length; after it phase is Completed and faults are removed. */
  duration?: Duration;
  /** What to do when `duration` has elapsed: keep networks/containers (default) or delete them. */
  onComplete?: 'keep' | 'delete';
  /** true: every fault removed, networks stay. Object form can freeze the timeline while suspended. */
  suspend?: boolean | { freezeTimeline?: boolean };
  /** Allow targets that live in the host network namespace (`--network host`). Default false. */
  allowHostNetwork?: boolean;
  /** Seed for every random choice (random targets, partition generators, random windows). */
  seed?: number;
  /** Named Docker volumes the scenario owns (created, labelled, removed with it unless `keep`). */
  volumes?: VolumeSpec[];
}

// ---------------------------------------------------------------- networks

/** Drivers built into Docker; any other name is a network plugin's, passed through to Docker. */
export const BUILTIN_DRIVERS = ['bridge', 'macvlan', 'ipvlan', 'overlay'] as const;
export type BuiltinDriver = (typeof BUILTIN_DRIVERS)[number];
/** A built-in driver, or a plugin's name (e.g. "weave", "weaveworks/net-plugin:latest_release"). */
export type NetworkDriver = BuiltinDriver | (string & {});

/**
 * A network faultline does not own: it only connects members to it and disconnects them again,
 * never creates, changes or removes it. `true`: the Docker network named like the entry
 * (e.g. `bridge`, Docker's default). `{name}`: another Docker name. `{compose}`: the network a
 * compose project made (labels com.docker.compose.project and com.docker.compose.network).
 */
export type ExternalNetwork = boolean | { name?: string; compose?: { project: string; network: string } };

export interface IpamConfig {
  subnet: string; // CIDR, IPv4 or IPv6
  gateway?: string; // address inside subnet
  ipRange?: string; // CIDR inside subnet
  auxAddresses?: Record<string, string>;
}

export interface NetworkSpec {
  name: string; // DNS label; Docker name is `<scenario>_<name>` (external: see `external`)
  /** Not created by faultline: an existing Docker network members join (see ExternalNetwork). */
  external?: ExternalNetwork;
  driver?: NetworkDriver; // default bridge
  options?: Record<string, string>; // driver options (e.g. parent for macvlan)
  ipam?: { driver?: string; config?: IpamConfig[]; options?: Record<string, string> };
  internal?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  labels?: Record<string, string>;
  /**
   * The engine a bridge, macvlan or ipvlan network is created on (a name the controller was given
   * with --engine or --context; default "default"). Not for overlay networks: they span every engine
   * of a Swarm and are created through a manager.
   */
  engine?: string;
}

// ---------------------------------------------------------------- containers

export interface ContainerSpec {
  name: string; // DNS label; Docker name is `<scenario>_<name>`; alias `<name>` on every network
  image: string;
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  hostname?: string;
  workingDir?: string;
  user?: string;
  capAdd?: string[];
  capDrop?: string[];
  restart?: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** Expose ports to the host: "8080:80", "127.0.0.1:5000:5000/udp". */
  ports?: string[];
  /** Containers to start before this one (names from spec.containers). Like blockade's `links`. */
  dependsOn?: string[];
  stopSignal?: string;
  stopTimeout?: number; // seconds
  /** The engine it runs on (a name given to the controller with --engine or --context; default "default"). */
  engine?: string;
  /**
   * Docker network mode: `none` (loopback only), `host` (the host's namespace; faults there need
   * spec.allowHostNetwork), or `container:<name>` (the namespace of a container declared in
   * spec.containers: one namespace, one ledger). Absent: the networks of spec.members.
   */
  networkMode?: string;
  /** Named volumes (from spec.volumes) and bind mounts (absolute host paths). */
  volumes?: VolumeMount[];
  tmpfs?: TmpfsMount[];
}

export interface VolumeMount {
  /** A name from spec.volumes, or an absolute path on the engine's host (a bind mount). */
  source: string;
  target: string; // absolute path in the container
  readOnly?: boolean;
}

export interface TmpfsMount {
  target: string; // absolute path in the container
  size?: Size; // e.g. 64m; absent: Docker's default (half the memory)
  mode?: string; // octal, e.g. "1777"
}

// ---------------------------------------------------------------- volumes

export interface VolumeSpec {
  name: string; // DNS label; Docker name is `<scenario>_<name>`
  driver?: string; // default "local"
  options?: Record<string, string>; // driver options
  labels?: Record<string, string>;
  /** Keep the volume (and its data) when the scenario is deleted. Recorded when it is created. */
  keep?: boolean;
}

// ---------------------------------------------------------------- selection

/**
 * Which containers. Every given criterion must match (AND); within `names`, any (OR).
 * `names` matches a container declared in spec.containers by its short name first, then an
 * existing container by its Docker name (without the leading "/").
 */
export interface Selector {
  names?: string[];
  labels?: Record<string, string>;
  compose?: { project?: string; service?: string | string[] };
  /** Only for fault targets: choose some of the matches, reproducibly from the scenario's seed. */
  random?: { count?: number; percent?: Percent };
  /** Only containers on this engine (names, labels and compose otherwise match on every engine). */
  engine?: string;
}

export interface MemberSpec {
  network: string; // a name from spec.networks
  select: Selector;
  aliases?: string[];
  ipv4Address?: string; // only valid when the selector resolves to exactly one container
  ipv6Address?: string;
}

// ---------------------------------------------------------------- faults

export type Direction = 'egress' | 'ingress' | 'both';
export type Protocol = 'tcp' | 'udp' | 'icmp' | 'all';

export interface NetemSpec {
  delay?: Duration;
  jitter?: Duration;
  correlation?: Percent; // delay correlation
  distribution?: 'uniform' | 'normal' | 'pareto' | 'paretonormal';
  loss?: Percent | { percent: Percent; correlation?: Percent };
  gemodel?: { p: Percent; r?: Percent; h?: Percent; k?: Percent }; // Gilbert-Elliott loss
  /**
   * 4-state Markov loss (tc `loss state p13 p31 p32 p23 p14`): states 1 good reception, 2 good
   * within a burst, 3 burst loss, 4 isolated loss. Absent transitions take tc's defaults
   * (p31 = 100% - p13, p32 = 0%, p23 = 100%, p14 = 0%).
   */
  lossState?: { p13: Percent; p31?: Percent; p32?: Percent; p23?: Percent; p14?: Percent };
  /** Mark ECN-capable packets Congestion Experienced instead of dropping them (needs a loss model). */
  ecn?: boolean;
  /** Deliver in slots (tc `slot`): packets wait for the next slot, every minDelay..maxDelay. */
  slot?: { minDelay: Duration; maxDelay?: Duration; packets?: number; bytes?: Size };
  /** netem's queue, in packets (tc default 1000). */
  limit?: number;
  duplicate?: Percent | { percent: Percent; correlation?: Percent };
  corrupt?: Percent | { percent: Percent; correlation?: Percent };
  reorder?: { percent: Percent; correlation?: Percent; gap?: number };
  /** "1mbit", or with the per-packet overhead tc adds to each packet's length for the rate. */
  rate?: Rate | { rate: Rate; packetOverhead?: number; cellSize?: number; cellOverhead?: number };
}

export interface BandwidthSpec {
  rate: Rate;
  burst?: Size;
  limit?: Size; // queue size in bytes
  latency?: Duration; // tbf latency (alternative to limit)
  /**
   * htb: `rate` is guaranteed and the fault's traffic may borrow up to `ceil` while the target's
   * other shaped traffic leaves room (all ceil-shaped traffic of a device shares one parent class).
   */
  ceil?: Rate;
  /** tbf: a burst leaves at most this fast (above rate); needs a one-packet `mtu` bucket. */
  peakrate?: Rate;
  /** tbf's peak bucket with peakrate: the largest packet (default 1514b, one Ethernet frame). */
  mtu?: Size;
}

export type PartitionGenerator = 'halves' | 'majority' | 'isolate' | 'ring' | 'bridge';

export interface PartitionSpec {
  /** Explicit groups of container names (short names of declared containers or Docker names). */
  groups?: string[][];
  /** Or a seeded generator over the fault's targets. */
  generator?: PartitionGenerator;
  /** For `isolate`: how many nodes are cut off (default 1). */
  count?: number;
}

export interface RejectSpec {
  with: 'tcp-reset' | 'icmp-port-unreachable';
}

export interface DisconnectSpec {
  network: string; // a name from spec.networks
}

/** Docker's embedded resolver (127.0.0.11 in the container): its queries vanish, wait or are refused. */
export interface DnsSpec {
  action: 'drop' | 'delay' | 'refuse';
  /** For delay: how long each query waits. */
  delay?: Duration;
  /** Only queries for these names and the names under them (db matches db and a.db); absent: all. */
  names?: string[];
}

export interface ContainerActionSpec {
  action: 'pause' | 'stop' | 'kill' | 'restart';
  signal?: string; // for kill, e.g. SIGKILL (default) / SIGTERM
}

/** A time window: from `at` (or `startAt`) for `duration`, possibly repeating. */
export interface TimingSpec {
  /** Offset from the scenario start; or a range for a random start (seeded). */
  at?: Duration | { min: Duration; max: Duration };
  startAt?: string; // RFC 3339, absolute
  duration?: Duration; // absent: until the scenario ends
  repeat?: { every: Duration; times?: number };
  /** 5- or 6-field cron; windows start at each fire time and last `duration` (required). */
  schedule?: string;
  timeZone?: string; // IANA zone for `schedule`; default UTC
  /** When a new window would start while the previous one is still open. Default forbid. */
  concurrency?: 'forbid' | 'allow';
}

/** What every fault has, whatever its action. */
export interface FaultBase extends TimingSpec {
  name: string; // DNS label, unique within the scenario
  targets?: Selector; // required for every action but `partition` with explicit groups
  peers?: { names?: string[]; labels?: Record<string, string>; cidrs?: string[]; engine?: string };
  ports?: string[]; // "5432", "8000-8100": either end of the packet
  /** Only packets whose source port is in one of these (not with ports). */
  sourcePorts?: string[];
  /** Only packets whose destination port is in one of these (not with ports). */
  destinationPorts?: string[];
  protocol?: Protocol; // default all (tcp when ports are given and no protocol)
  direction?: Direction; // default: FAULT_KINDS[kind].defaultDirection (api/kinds.ts)
  /** readback (default): verified when the kernel shows the rules; probe: also measured by packets. */
  verify?: 'readback' | 'probe';
}

/** The action keys of a fault and their specs. A new fault kind starts here (see CONTRIBUTING.md). */
export interface FaultActions {
  netem: NetemSpec;
  bandwidth: BandwidthSpec;
  partition: PartitionSpec;
  blackhole: Record<string, never>;
  reject: RejectSpec;
  dns: DnsSpec;
  disconnect: DisconnectSpec;
  container: ContainerActionSpec;
}

export type FaultAction = keyof FaultActions;

/** Exactly one action key present (the others absent): a union the compiler can check. */
type ExactlyOneAction = {
  [K in FaultAction]: { [P in K]: FaultActions[P] } & { [P in Exclude<FaultAction, K>]?: never };
}[FaultAction];

export type FaultSpec = FaultBase & ExactlyOneAction;

/** What the timeline reads of a scenario: timing only (its functions accept any action, or none). */
export type TimedFault = Pick<FaultBase, 'name'> & TimingSpec;
export type TimelineSpec = Omit<ScenarioSpec, 'faults'> & { faults?: TimedFault[] };

// ---------------------------------------------------------------- status (controller-owned)

export type ScenarioPhase = 'Pending' | 'Running' | 'Completed' | 'Suspended' | 'Failed' | 'Terminating';

export type ConditionType = 'Valid' | 'Ready' | 'Degraded';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string; // CamelCase machine word, e.g. InvalidSpec, Converged, KernelLacksNetem
  message: string;
  lastTransitionTime: string; // RFC 3339
}

/** A validation problem, as data (zod-style). */
export interface Issue {
  code: string; // e.g. yaml.syntax, schema.type, name.duplicate, cidr.invalid
  /** Path in the document, e.g. ["spec","networks",0,"ipam","config",0,"subnet"]. */
  path: (string | number)[];
  message: string; // what is wrong AND what to do
  line?: number; // 1-based, when known
  column?: number; // 1-based, when known
}

export interface NetworkStatus {
  name: string;
  dockerName: string;
  /** The engine it lives on, when not "default"; "swarm" for an overlay network (every engine of the Swarm). */
  engine?: string;
  id?: string;
  phase: 'Pending' | 'Ready' | 'Failed';
  /** Not owned by faultline (spec external): only joined and left. */
  external?: boolean;
  driver?: string;
  subnets?: string[];
  message?: string;
}

export interface VolumeStatus {
  name: string;
  dockerName: string;
  phase: 'Pending' | 'Ready' | 'Failed';
  /** Kept when the scenario is deleted (as recorded on the volume when it was created). */
  keep?: boolean;
  message?: string;
}

export interface MemberStatus {
  network: string;
  container: string; // short name for declared containers, Docker name otherwise
  containerId?: string;
  /** The container's engine, when not "default". */
  engine?: string;
  ipv4Address?: string;
  ipv6Address?: string;
  aliases?: string[];
  phase: 'Pending' | 'Connected' | 'Failed';
  /** Why it is Pending or Failed, when there is a word for it (EngineUnreachable, EngineNotInSwarm…). */
  reason?: string;
  message?: string;
}

export interface ContainerStatus {
  name: string;
  dockerName: string;
  /** The engine it runs on, when not "default". */
  engine?: string;
  id?: string;
  state?: string; // Docker's State.Status
  phase: 'Pending' | 'Running' | 'Exited' | 'Failed';
  /** Why it is Pending or Failed, when there is a word for it (EngineUnreachable, UnknownEngine…). */
  reason?: string;
  message?: string;
}

export interface FaultTargetStatus {
  container: string;
  containerId?: string;
  /** The container's engine, when not "default". */
  engine?: string;
  phase: 'Pending' | 'Injected' | 'Recovered' | 'Failed';
  mechanism?: string; // netem | tbf | htb | iptables | iptables-forward | iptables-statistic | docker, joined by +
  /** Why it is Pending or Failed (NoPeers, ContainerNotRunning, HostNetwork…). */
  reason?: string;
  verified?: boolean; // true only when read back from the kernel / engine
  injected?: number;
  recovered?: number;
  lastError?: string;
  /** 0-based index of the window in which the fault was last injected into this target. */
  window?: number;
  /** Windows that opened and closed while this target's engine was unreachable (never replayed). */
  missed?: number;
  /**
   * While its engine is unreachable: when that was first seen, and how many windows of the fault had
   * started by then (the windows after those that end before the engine returns are `missed`).
   */
  unreachable?: { since: string; windowsRun: number };
  /**
   * disconnect on an external network: the endpoint the target had there, given back as it was when
   * the window closes (owner: the mark it carried, "<controller>/<scenario>"; absent: not faultline's).
   */
  restore?: { network: string; aliases?: string[]; owner?: string };
  /** verify: probe — what packets showed, beside what was requested. */
  observed?: ObservedEffect;
}

/**
 * A measurement by packets from inside the target's namespace against a peer of the scenario, e.g.
 * {delay: 101.2ms, loss: 19.5%, samples: 200, expected: {delay: 100ms}, verdict: AsRequested}.
 */
export interface ObservedEffect {
  /** When it was measured (RFC 3339), and the peer address it was measured against. */
  at: string;
  peer: string;
  /** Echo requests (or connects) sent. */
  samples: number;
  /** Mean round-trip time. */
  delay?: Duration;
  loss?: Percent;
  rate?: Rate;
  /** Did the peer answer at all (partition, blackhole: expected false). */
  reachable?: boolean;
  /** Was the connect refused at once (reject: expected true). */
  refused?: boolean;
  /** The requested effect, in the same words, as the probe expects to see it. */
  expected?: { delay?: Duration; loss?: Percent; rate?: Rate; reachable?: boolean; refused?: boolean };
  /** AsRequested, EffectMismatch (outside the tolerance), or Inconclusive (nothing to compare). */
  verdict: 'AsRequested' | 'EffectMismatch' | 'Inconclusive';
  message?: string;
}

export interface FaultStatus {
  name: string;
  /** Pending: in its window, but its targets (or every target's peers) match nothing (reason says which). */
  phase: 'Scheduled' | 'Pending' | 'Active' | 'Completed' | 'Missed' | 'Failed' | 'Suspended';
  window?: { from: string; until?: string };
  nextWindow?: { from: string; until?: string };
  windowsRun?: number;
  missed?: number;
  seed?: number;
  targets?: FaultTargetStatus[];
  /** Why the fault acts on nothing or is not as declared (NoTargets, NoPeers…). */
  reason?: string;
  message?: string;
}

export interface StatusEvent {
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ScenarioStatus {
  observedGeneration?: number;
  /** Hash of the spec at metadata.generation (lets the controller bump generation only on change). */
  specHash?: string;
  phase?: ScenarioPhase;
  startedAt?: string;
  seed?: number;
  conditions?: Condition[];
  networks?: NetworkStatus[];
  volumes?: VolumeStatus[];
  containers?: ContainerStatus[];
  members?: MemberStatus[];
  faults?: FaultStatus[];
  nextTransitionAt?: string;
  /** When the controller last evaluated the timeline (windows that end unseen after it are Missed). */
  observedAt?: string;
  /** Time spent suspended with freezeTimeline, in ms, not counting a freeze in progress. */
  frozenMs?: number;
  /** Start of the freeze in progress, if any. */
  frozenSince?: string;
  lastReconcile?: { time: string; durationMs: number; operations: number; error?: string };
  issues?: Issue[]; // validation problems, when Valid=False
  events?: StatusEvent[]; // bounded ring, newest last
}
