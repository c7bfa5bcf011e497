// The namespace planner (pure): one scenario's active network faults, resolved over the view of
// Docker, become ledger entries per network namespace — and, for cuts between containers bridged
// on this host, entries of the host's FORWARD ledger (netfaults/host.ts). The kernel engine
// (kernel/) merges these contributions with every other scenario's, applies them and reads them
// back; this layer decides only WHAT each namespace must hold and WHERE a fault is enforced.
//
//   partition halves over a,b (group 1) and c,d (group 2), all four on one user-defined bridge,
//   host path available:
//     host: receiver a ← senders c,d; b ← c,d; c ← a,b; d ← a,b     (one restore on the host)
//     namespaces: none
//   the same with d on a macvlan network (its traffic never crosses the host bridge):
//     host: a ← c; b ← c; c ← a,b
//     namespaces: a ← d, b ← d (INPUT drops in a's and b's namespaces); d ← a,b (in d's)
//
// Containers that share one network namespace (`network_mode: container:<x>`) share one ledger:
// its key is the namespace owner's id, its addresses are the owner's. A fault that hits both puts
// its entries there once (they are the same rules: one namespace, one set of rules), and hits both.
// A container in network mode `none` has nothing but loopback: a network fault on it is refused
// (NoNetwork), never reported as injected.
import type { FaultSpec, Scenario } from '../api/types.js';
import { LABEL_ROLE } from '../api/ownership.js';
import {
  blockedSenders,
  buildEntries,
  partitionBlocks,
  partitionGroups,
  type Capabilities,
  type Degraded,
  type LedgerEntry,
  type MatchProtocol,
  type ResolvedFault,
} from '../netfaults/index.js';
import { parsePorts, type PeerSet } from '../netfaults/ledger.js';
import type { HostEntry } from '../netfaults/host.js';

import { actionOf, directionOf, isNetnsFault } from '../api/kinds.js';
import {
  resolvePeers,
  type ActiveFault,
  type FaultTarget,
  type ObservedContainer,
  type Snapshot,
} from '../resolve/index.js';

/** A network namespace faultline can enter: a container's (by its owner's pid), or the host's. */
export interface NetnsTarget {
  /** The ledger's key: the id of the container that owns the namespace, or "host". */
  key: string;
  pid: number;
  containerId: string;
  /** Docker name of the owner (for messages). */
  name: string;
}

/** The key of the host's network namespace (the engine's, where the bridges and FORWARD are). */
export const HOST_KEY = 'host';

export interface NetnsContribution {
  target: NetnsTarget;
  entries: LedgerEntry[];
}

export type SkipReason =
  | 'ContainerNotFound'
  | 'ContainerNotRunning'
  | 'HelperContainer'
  | 'HostNetwork'
  | 'NoNetwork'
  | 'NoPeers'
  | 'NoEmbeddedResolver';

/** What became of one target of one active fault. */
export interface TargetPlacement {
  /** How the scenario names it (status records). */
  display: string;
  containerId?: string;
  /** Key of the namespace holding its entries, when it has some there. */
  netns?: string;
  /** It has entries in the host's FORWARD ledger. */
  host: boolean;
  /** Nothing could be placed, and why. */
  skip?: { phase: 'Pending' | 'Failed'; reason: SkipReason; message: string };
  /** Nothing to place, and nothing is wrong (a partition member nobody must be cut from). */
  noneNeeded?: boolean;
}

/** A container namespace at one end of a host cut, and the address families it speaks. */
export interface CutEnd {
  target: NetnsTarget;
  v4: boolean;
  v6: boolean;
  /** The networks it is on (ids, sorted): its bridge ports change exactly when these do. */
  networks: string[];
}

/**
 * "Packets from `senders` to `receiver` vanish", for the host's FORWARD path: the kernel engine
 * names each end by its bridge ports (netfaults/host.ts) when it applies the cut.
 */
export interface HostCut {
  /** "<scope>.<scenario>". */
  scenario: string;
  fault: string;
  receiver: CutEnd;
  senders: CutEnd[];
  protocol: MatchProtocol;
  ports?: [number, number][];
  sourcePorts?: [number, number][];
  destinationPorts?: [number, number][];
}

/** Which families the host path can cut (probed: a hook chain and br_netfilter for each). */
export interface HostPath {
  v4: boolean;
  v6: boolean;
}

export interface NetPlan {
  scenario: string;
  /** "<scope>.<scenario>": the scenario part of every key this plan's entries carry. */
  scoped: string;
  namespaces: Map<string, NetnsContribution>;
  host: HostCut[];
  /** Per active network fault, per target. */
  placements: Map<string, TargetPlacement[]>;
  /** What the capabilities force out (e.g. netem delay without sch_netem). */
  degraded: Degraded[];
}

export interface NetPlanInput {
  /** The controller's identity: every key is "<scope>.<scenario>/<fault>". */
  scope: string;
  scenario: Scenario;
  active: readonly ActiveFault[];
  view: Snapshot;
  caps: Capabilities;
  seed: number;
  /** Cuts between containers bridged on this host may go to the host's FORWARD path (per family). */
  hostPath: HostPath;
}

export function scopedName(scope: string, scenario: string): string {
  return `${scope}.${scenario}`;
}

/** The namespace a container's traffic lives in, or why it cannot be entered. */
export function netnsOf(
  c: ObservedContainer,
  view: Snapshot,
):
  { target: NetnsTarget; owner: ObservedContainer } | { why: string; reason: SkipReason; phase: 'Pending' | 'Failed' } {
  let owner = c;
  const shared = /^container:(.+)$/.exec(c.networkMode);
  if (shared) {
    const ref = shared[1];
    const o = view.containers.find((x) => x.id === ref || x.id.startsWith(ref) || x.name === ref);
    if (!o)
      return {
        why: `shares the network namespace of ${ref}, which does not exist`,
        reason: 'ContainerNotFound',
        phase: 'Pending',
      };
    owner = o;
  }
  if (owner.state !== 'running' || !owner.pid) {
    return {
      why:
        owner === c
          ? `container is ${c.state}`
          : `the container owning its network namespace (${owner.name}) is ${owner.state}`,
      reason: 'ContainerNotRunning',
      phase: 'Pending',
    };
  }
  return { target: { key: owner.id, pid: owner.pid, containerId: owner.id, name: owner.name }, owner };
}

/** A container's addresses (its namespace owner's), as /32 and /128 CIDRs. */
export function addressesOf(c: ObservedContainer, view: Snapshot): PeerSet {
  const ns = netnsOf(c, view);
  const o = 'owner' in ns ? ns.owner : c;
  return {
    v4: o.endpoints.flatMap((e) => (e.ipv4Address ? [`${e.ipv4Address}/32`] : [])),
    v6: o.endpoints.flatMap((e) => (e.ipv6Address ? [`${e.ipv6Address}/128`] : [])),
  };
}

/**
 * Does all traffic between a and b cross this host's bridge FORWARD path? Only when every
 * endpoint of both (of their namespace owners) is on a `bridge` network of this engine: macvlan and
 * ipvlan bypass the host, overlay leaves it, the host network and `none` never reach a bridge.
 */
export function bridgedOnHost(a: ObservedContainer, b: ObservedContainer, view: Snapshot): boolean {
  const drivers = new Map(view.networks.map((n) => [n.id, n.driver]));
  const ok = (c: ObservedContainer) => {
    const ns = netnsOf(c, view);
    if (!('owner' in ns)) return false;
    const o = ns.owner;
    if (o.networkMode === 'host' || o.networkMode === 'none') return false;
    return o.endpoints.length > 0 && o.endpoints.every((e) => drivers.get(e.networkId) === 'bridge');
  };
  return ok(a) && ok(b);
}

/** The end of a cut a container stands for: its namespace owner, and the families it speaks. */
function cutEnd(c: ObservedContainer, view: Snapshot): CutEnd | undefined {
  const ns = netnsOf(c, view);
  if (!('target' in ns)) return undefined;
  const a = addressesOf(c, view);
  return {
    target: ns.target,
    v4: a.v4.length > 0,
    v6: a.v6.length > 0,
    networks: ns.owner.endpoints.map((e) => e.networkId).sort(),
  };
}

/** May the cut between a and b go to the host path (bridged, and every family they speak is cut there)? */
function onHostPath(a: ObservedContainer, b: ObservedContainer, view: Snapshot, path: HostPath): boolean {
  if (!path.v4 && !path.v6) return false;
  if (!bridgedOnHost(a, b, view)) return false;
  const fa = addressesOf(a, view);
  const fb = addressesOf(b, view);
  const v4 = fa.v4.length > 0 || fb.v4.length > 0;
  const v6 = fa.v6.length > 0 || fb.v6.length > 0;
  return (!v4 || path.v4) && (!v6 || path.v6);
}

/** Why a fault target's namespace must not (or cannot) be touched; undefined when it can. */
function unusable(scn: Scenario, t: FaultTarget, view: Snapshot): TargetPlacement['skip'] {
  const c = t.observed;
  if (!c) return { phase: 'Pending', reason: 'ContainerNotFound', message: 'container not found' };
  if (c.labels[LABEL_ROLE] === 'helper')
    return { phase: 'Failed', reason: 'HelperContainer', message: 'faultline never acts on its own helper container' };
  if (c.networkMode === 'host' && !scn.spec.allowHostNetwork)
    return {
      phase: 'Failed',
      reason: 'HostNetwork',
      message: 'the container uses the host network namespace; set spec.allowHostNetwork: true to allow faults there',
    };
  const ns = netnsOf(c, view);
  if ('why' in ns) return { phase: ns.phase, reason: ns.reason, message: ns.why };
  if (ns.owner.networkMode === 'none')
    return {
      phase: 'Failed',
      reason: 'NoNetwork',
      message: `${ns.owner === c ? 'the container has' : `it shares the namespace of ${ns.owner.name}, which has`} network mode none (loopback only): there is no traffic to fault; remove it from the fault's targets`,
    };
  return undefined;
}

/**
 * Does the container ask Docker's embedded resolver (127.0.0.11)? Docker gives it to containers on
 * a user-defined network; the default bridge, `host` and `none` keep the host's resolv.conf.
 */
export function usesEmbeddedResolver(c: ObservedContainer, view: Snapshot): boolean {
  const ns = netnsOf(c, view);
  const o = 'owner' in ns ? ns.owner : c;
  if (o.networkMode === 'host' || o.networkMode === 'none') return false;
  return o.endpoints.some((e) => e.networkName !== 'bridge');
}

function protocolOf(f: FaultSpec): MatchProtocol {
  return f.protocol ?? (f.ports?.length || f.sourcePorts?.length || f.destinationPorts?.length ? 'tcp' : 'all');
}

const union = (sets: PeerSet[]): PeerSet => ({ v4: sets.flatMap((s) => s.v4), v6: sets.flatMap((s) => s.v6) });

export function planNetns(input: NetPlanInput): NetPlan {
  const { scope, scenario: scn, view, caps, seed } = input;
  const scoped = scopedName(scope, scn.metadata.name);
  const plan: NetPlan = {
    scenario: scn.metadata.name,
    scoped,
    namespaces: new Map(),
    host: [],
    placements: new Map(),
    degraded: [],
  };
  const add = (target: NetnsTarget, entries: LedgerEntry[]) => {
    if (!entries.length) return;
    const c = plan.namespaces.get(target.key) ?? { target, entries: [] };
    // Two targets of one fault in one shared namespace contribute the same entries: keep one.
    const have = new Set(c.entries.map((e) => JSON.stringify(e)));
    c.entries.push(...entries.filter((e) => !have.has(JSON.stringify(e))));
    plan.namespaces.set(target.key, c);
  };
  for (const a of input.active) {
    const f = a.fault;
    if (!isNetnsFault(f)) continue;
    const action = actionOf(f);
    const placements: TargetPlacement[] = [];
    plan.placements.set(f.name, placements);
    // peers: the containers the selector names (their addresses) and CIDRs as written.
    let peers: PeerSet | undefined;
    if (f.peers) {
      const cidrs = f.peers.cidrs ?? [];
      peers = union([
        ...resolvePeers(scn, f, view).map((c) => addressesOf(c, view)),
        { v4: cidrs.filter((x) => !x.includes(':')), v6: cidrs.filter((x) => x.includes(':')) },
      ]);
    }
    // partition: groups of display names → who must not receive from whom.
    let dropFrom: Map<string, string[]> | undefined;
    const byDisplay = new Map(a.targets.map((t) => [t.display, t]));
    if (action.kind === 'partition') {
      const groups =
        action.spec.groups ??
        partitionGroups(
          action.spec.generator!,
          a.targets.map((t) => t.display),
          seed,
          action.spec.count,
        );
      const dir = directionOf(f);
      dropFrom = blockedSenders(partitionBlocks(groups, dir === 'both' ? 'both' : dir));
    }
    const ports = f.ports?.length ? parsePorts(f.ports) : undefined;
    const sourcePorts = f.sourcePorts?.length ? parsePorts(f.sourcePorts) : undefined;
    const destinationPorts = f.destinationPorts?.length ? parsePorts(f.destinationPorts) : undefined;
    for (const t of a.targets) {
      const place: TargetPlacement = { display: t.display, containerId: t.observed?.id, host: false };
      placements.push(place);
      const skip = unusable(scn, t, view);
      if (skip) {
        place.skip = skip;
        continue;
      }
      const c = t.observed!;
      const ns = netnsOf(c, view) as { target: NetnsTarget };
      if (action.kind === 'dns' && !usesEmbeddedResolver(c, view)) {
        place.skip = {
          phase: 'Failed',
          reason: 'NoEmbeddedResolver',
          message: `fault "${f.name}": the container is on no user-defined network, so its DNS queries do not go to Docker's embedded resolver (127.0.0.11), the only one a dns fault acts on; connect it to a network of the scenario`,
        };
        continue;
      }
      if (peers && peers.v4.length === 0 && peers.v6.length === 0) {
        place.skip = {
          phase: 'Pending',
          reason: 'NoPeers',
          message: `fault "${f.name}": its peers selector matches no container yet, so there is nothing to act on; it applies when a peer appears (check spec.faults peers)`,
        };
        continue;
      }
      const resolved: ResolvedFault = {};
      if (peers) {
        resolved.peersV4 = peers.v4;
        resolved.peersV6 = peers.v6;
      }
      if (dropFrom) {
        const viaHost: CutEnd[] = [];
        const viaNetns: PeerSet[] = [];
        const senders = dropFrom.get(t.display) ?? [];
        for (const sender of senders) {
          const s = byDisplay.get(sender)?.observed;
          const end = s && cutEnd(s, view);
          if (!s || !end) continue;
          if (onHostPath(c, s, view, input.hostPath)) viaHost.push(end);
          else viaNetns.push(addressesOf(s, view));
        }
        // Cut off from containers none of which is there (or has an address): nothing is cut, and
        // that is not a success (a group of one alone, cut from nobody, is: nothing to do).
        if (senders.length && !viaHost.length && !viaNetns.length) {
          place.skip = {
            phase: 'Pending',
            reason: 'NoPeers',
            message: `fault "${f.name}": ${t.display} is to be cut from ${senders.map((x) => `"${x}"`).join(', ')}, none of which is a running container with an address yet, so nothing is cut; it applies when one appears (check spec.faults partition groups)`,
          };
          continue;
        }
        const receiver = cutEnd(c, view);
        if (viaHost.length && receiver) {
          plan.host.push({
            scenario: scoped,
            fault: f.name,
            receiver,
            senders: viaHost,
            protocol: protocolOf(f),
            ...(ports ? { ports } : {}),
            ...(sourcePorts ? { sourcePorts } : {}),
            ...(destinationPorts ? { destinationPorts } : {}),
          });
          place.host = true;
        }
        const n = union(viaNetns);
        if (n.v4.length + n.v6.length === 0) {
          if (!place.host) place.noneNeeded = true;
          continue;
        }
        resolved.partitionDropFrom = n;
      }
      const built = buildEntries(scoped, f, resolved, caps);
      plan.degraded.push(...built.degraded);
      if (built.entries.length) {
        add(ns.target, built.entries);
        place.netns = ns.target.key;
      }
    }
  }
  return plan;
}

/** A cut with its ends named by bridge ports (how netfaults/host.ts names containers). */
export function hostEntryOf(c: HostCut, portsOf: (t: NetnsTarget) => string[]): HostEntry {
  return {
    scenario: c.scenario,
    fault: c.fault,
    receiver: { ports: portsOf(c.receiver.target), v4: c.receiver.v4, v6: c.receiver.v6 },
    senders: {
      ports: c.senders.flatMap((s) => portsOf(s.target)),
      v4: c.senders.some((s) => s.v4),
      v6: c.senders.some((s) => s.v6),
    },
    protocol: c.protocol,
    ...(c.ports ? { ports: c.ports } : {}),
    ...(c.sourcePorts ? { sourcePorts: c.sourcePorts } : {}),
    ...(c.destinationPorts ? { destinationPorts: c.destinationPorts } : {}),
  };
}
