// The stages of a Docker plan, after compose's: networks, volumes, containers, memberships,
// creates and starts, then the operations of Docker-level faults. Each stage reads the desired
// state and the view, and adds operations to the phases of one PlanState; planScenario (plan.ts)
// runs them in this order. Pure.
import { assertNever } from '../api/kinds.js';
import { isOwnedBy, LABEL_HASH, LABEL_KEEP, LABEL_ROLE, memberKey } from '../api/ownership.js';
import {
  isSwarmNetwork,
  type ObservedContainer,
  type ObservedNetwork,
  type ObservedVolume,
  type Snapshot,
} from '../resolve/index.js';
import type { DesiredMember, DesiredNetwork, DesiredState } from './desired.js';
import type { ContainerFaultOp } from './fault-effects.js';
import { endpointSatisfies, ownerOf, type Blocked, type Op } from './plan.js';
import type { ContainerCreateRequest } from './requests.js';

/** What the stages share: the phases they fill, and what earlier stages decided. */
export interface PlanState {
  scenario: string;
  controller: string;
  desired: DesiredState;
  snapshot: Snapshot;
  /** 0 member.disconnect, 1 container.remove, 2 network.remove, 3 network.create, 4 container.create, 5 member.connect, 6.. starts, last fault ops. */
  phases: Op[][];
  blocked: Blocked[];
  netByName: Map<string, ObservedNetwork>;
  ctrByName: Map<string, ObservedContainer>;
  /** Owned networks that share a name with the one kept (a create that raced another). */
  extraNetworks: ObservedNetwork[];
  /** Docker names of the external networks the scenario joins (never created or removed). */
  externalNetworks: Set<string>;
  /** Declared volumes that exist and are not ours (or not as declared): containers mounting them wait. */
  blockedVolumes: Set<string>;
  /** Docker names removed / created / refused by this plan. */
  goneNetworks: Set<string>;
  freshNetworks: Set<string>;
  blockedNetworks: Set<string>;
  goneContainers: Set<string>;
  freshContainers: Set<string>;
  blockedContainers: Set<string>;
  toStart: Set<string>;
  /** A fresh container's first membership: attached at create (Docker attaches one network then). */
  firstNetwork: Map<string, DesiredMember>;
}

/**
 * What the swarm stage (engines.ts) decided about overlay networks, for one engine's stages: those
 * networks are created and removed through a manager, never by this engine's plan, but its members
 * join and leave them here.
 */
export interface SwarmDecisions {
  /** Swarm networks created by this plan (members connect to them now). */
  fresh: ReadonlySet<string>;
  /** Swarm networks removed by this plan (every endpoint on this engine is disconnected first). */
  gone: ReadonlySet<string>;
  /** Swarm networks that cannot be joined now (refused, no manager, or not there yet). */
  unusable: ReadonlySet<string>;
}

export function newPlanState(desired: DesiredState, snapshot: Snapshot, swarm?: SwarmDecisions): PlanState {
  const st: PlanState = {
    scenario: desired.scenario,
    controller: desired.controller,
    desired,
    snapshot,
    phases: [[], [], [], [], [], []],
    blocked: [],
    netByName: new Map(),
    ctrByName: new Map(snapshot.containers.map((c) => [c.name, c])),
    extraNetworks: [],
    externalNetworks: new Set(desired.networks.filter((n) => n.external && n.dockerName).map((n) => n.dockerName)),
    blockedVolumes: new Set(),
    goneNetworks: new Set(),
    freshNetworks: new Set(),
    blockedNetworks: new Set(),
    goneContainers: new Set(),
    freshContainers: new Set(),
    blockedContainers: new Set(),
    toStart: new Set(),
    firstNetwork: new Map(),
  };
  for (const n of swarm?.fresh ?? []) st.freshNetworks.add(n);
  for (const n of swarm?.gone ?? []) st.goneNetworks.add(n);
  for (const n of swarm?.unusable ?? []) st.blockedNetworks.add(n);
  const { scenario, controller, extraNetworks, netByName } = st;
  // Docker does not enforce unique network names atomically: a create sent by a controller that
  // was SIGKILLed can land after its successor looked. Keep one owned network per name (the one
  // with most endpoints, then the lowest id) and remove the others.
  const rank = (n: ObservedNetwork) => [-n.containerIds.length, n.id] as const;
  for (const n of [...snapshot.networks].sort(
    (a, b) => rank(a)[0] - rank(b)[0] || (rank(a)[1] < rank(b)[1] ? -1 : 1),
  )) {
    if (!netByName.has(n.name)) netByName.set(n.name, n);
    else if (isOwnedBy(n.labels, scenario, controller) && !isSwarmNetwork(n)) extraNetworks.push(n);
  }
  return st;
}

/** Networks: create what is absent, recreate what changed, refuse what is not ours, remove what is no longer declared. */
export function planNetworks(st: PlanState): void {
  const {
    scenario,
    controller,
    desired,
    snapshot,
    phases,
    blocked,
    netByName,
    extraNetworks,
    goneNetworks,
    freshNetworks,
    blockedNetworks,
  } = st;
  const [, , networkRemoves, networkCreates] = phases;
  for (const n of desired.networks) {
    if (!n.request) continue; // external: never created, changed or removed
    if (n.swarm) continue; // created and removed through a Swarm manager (engines.ts)
    const o = netByName.get(n.dockerName);
    if (n.blockedBy && !o) {
      blocked.push({
        kind: 'network',
        name: n.name,
        dockerName: n.dockerName,
        index: n.index,
        message: n.blockedBy.message,
        reason: n.blockedBy.reason,
      });
      blockedNetworks.add(n.dockerName);
    } else {
      const d = decideNetwork(n, o, desired, 'Docker');
      if (d.step === 'blocked') {
        blocked.push(d.blocked);
        blockedNetworks.add(n.dockerName);
      } else if (d.step !== 'keep') {
        if (d.step === 'recreate') {
          networkRemoves.push(d.remove);
          goneNetworks.add(n.dockerName);
        }
        networkCreates.push(d.create);
        freshNetworks.add(n.dockerName);
      }
    }
  }
  for (const x of extraNetworks) {
    networkRemoves.push({
      kind: 'network.remove',
      network: `${x.name}@${x.id.slice(0, 12)}`,
      id: x.id,
      cause: `a second network named ${x.name} (a create that raced another); keep one`,
    });
  }
  const wantedNetworks = new Set(desired.networks.map((n) => n.dockerName));
  for (const o of snapshot.networks.filter(
    (x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'network' && !isSwarmNetwork(x),
  )) {
    if (wantedNetworks.has(o.name)) continue;
    networkRemoves.push({
      kind: 'network.remove',
      network: o.name,
      id: o.id,
      cause: 'no longer declared in spec.networks',
    });
    goneNetworks.add(o.name);
  }
}

/**
 * Volumes: create what is absent; refuse a name that is not ours; never recreate one whose config
 * changed (its data would be lost: the person decides); remove what is no longer declared, unless
 * it was created with keep.
 */
export function planVolumes(st: PlanState): void {
  const { scenario, controller, desired, snapshot, phases, blocked, blockedVolumes } = st;
  const [, , removes, creates] = phases;
  const volumes = snapshot.volumes ?? [];
  const byName = new Map<string, ObservedVolume>(volumes.map((v) => [v.name, v]));
  for (const v of desired.volumes) {
    const o = byName.get(v.dockerName);
    if (!o) {
      creates.push({
        kind: 'volume.create',
        volume: v.dockerName,
        request: v.request,
        cause: `declared in spec.volumes[${v.index}], absent`,
      });
    } else if (!isOwnedBy(o.labels, scenario, controller)) {
      blocked.push({
        kind: 'volume',
        name: v.name,
        dockerName: v.dockerName,
        index: v.index,
        message: `a Docker volume named "${v.dockerName}" already exists and is ${ownerOf(o.labels)}; faultline never uses or changes what it does not own: remove that volume or rename spec.volumes[${v.index}].name`,
      });
      blockedVolumes.add(v.dockerName);
    } else if (o.labels[LABEL_HASH] !== v.hash) {
      blocked.push({
        kind: 'volume',
        name: v.name,
        dockerName: v.dockerName,
        index: v.index,
        message: `volume "${v.dockerName}" was created with another driver, options or labels (hash ${o.labels[LABEL_HASH] ?? 'none'} → ${v.hash}); faultline never recreates a volume (its data would be lost): remove it (docker volume rm ${v.dockerName}) to have it created as declared, or restore spec.volumes[${v.index}]`,
      });
      blockedVolumes.add(v.dockerName);
    }
  }
  const wanted = new Set(desired.volumes.map((v) => v.dockerName));
  for (const o of volumes) {
    if (!isOwnedBy(o.labels, scenario, controller) || o.labels[LABEL_ROLE] !== 'volume' || wanted.has(o.name)) continue;
    if (o.labels[LABEL_KEEP] === 'true') continue; // created with keep: its data outlives the scenario
    removes.push({ kind: 'volume.remove', volume: o.name, cause: 'no longer declared in spec.volumes' });
  }
}

/** Containers: the same for declared containers; and which of them must be started. */
export function planContainers(st: PlanState): void {
  const {
    scenario,
    controller,
    desired,
    snapshot,
    phases,
    blocked,
    ctrByName,
    goneContainers,
    freshContainers,
    blockedContainers,
    toStart,
  } = st;
  const [, containerRemoves] = phases;
  for (const c of desired.containers) {
    const o = ctrByName.get(c.dockerName);
    const mounted = (c.request.mounts ?? []).find((m) => m.type === 'volume' && st.blockedVolumes.has(m.source));
    if (mounted && mounted.type === 'volume' && (!o || o.labels[LABEL_HASH] !== c.hash)) {
      blocked.push({
        kind: 'container',
        name: c.name,
        dockerName: c.dockerName,
        index: c.index,
        message: `it mounts volume "${mounted.source}", which is not as spec.volumes declares it (see the volume's status); it is created once the volume is`,
      });
      blockedContainers.add(c.dockerName);
      continue;
    }
    if (!o) {
      freshContainers.add(c.dockerName);
      toStart.add(c.dockerName);
    } else if (!isOwnedBy(o.labels, scenario, controller)) {
      blocked.push({
        kind: 'container',
        name: c.name,
        dockerName: c.dockerName,
        index: c.index,
        message: `a Docker container named "${c.dockerName}" already exists and is ${ownerOf(o.labels)}; faultline never changes what it does not own: remove that container or rename spec.containers[${c.index}].name`,
      });
      blockedContainers.add(c.dockerName);
    } else if (o.labels[LABEL_HASH] !== c.hash) {
      containerRemoves.push({
        kind: 'container.remove',
        container: c.dockerName,
        id: o.id,
        cause: `config of spec.containers[${c.index}] changed (hash ${o.labels[LABEL_HASH] ?? 'none'} → ${c.hash}); recreate`,
      });
      goneContainers.add(c.dockerName);
      freshContainers.add(c.dockerName);
      toStart.add(c.dockerName);
    } else if (
      o.state !== 'running' &&
      o.state !== 'paused' &&
      o.state !== 'restarting' &&
      o.state !== 'removing' &&
      !desired.holds.has(c.dockerName)
    ) {
      toStart.add(c.dockerName);
    }
  }
  const wantedContainers = new Set(desired.containers.map((c) => c.dockerName));
  for (const o of snapshot.containers.filter(
    (x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'container',
  )) {
    if (wantedContainers.has(o.name)) continue;
    containerRemoves.push({
      kind: 'container.remove',
      container: o.name,
      id: o.id,
      cause: 'no longer declared in spec.containers',
    });
    goneContainers.add(o.name);
  }
}

/** Memberships: connect what is missing, reconnect what differs, disconnect what is no longer declared. */
export function planMembers(st: PlanState): void {
  const {
    scenario,
    controller,
    desired,
    snapshot,
    phases,
    ctrByName,
    extraNetworks,
    goneNetworks,
    freshNetworks,
    blockedNetworks,
    goneContainers,
    freshContainers,
    blockedContainers,
    firstNetwork,
  } = st;
  const [disconnects, , , , , connects] = phases;
  const usable = (m: DesiredMember) => !blockedNetworks.has(m.networkDockerName) && !blockedContainers.has(m.container);
  const wantedMember = new Set(desired.members.filter(usable).map((m) => memberKey(m.networkDockerName, m.container)));
  for (const m of desired.members.filter(usable)) {
    if (freshContainers.has(m.container) && !firstNetwork.has(m.container)) firstNetwork.set(m.container, m);
  }
  for (const m of desired.members.filter(usable)) {
    if (firstNetwork.get(m.container) === m) continue; // attached at create
    const exists = ctrByName.get(m.container);
    if (!exists && !freshContainers.has(m.container)) continue; // unresolved: reported in status
    if (freshContainers.has(m.container) || freshNetworks.has(m.networkDockerName)) {
      connects.push({
        kind: 'member.connect',
        network: m.networkDockerName,
        container: m.container,
        endpoint: m.endpoint,
        cause: `spec.members[${m.memberIndex}]`,
      });
      continue;
    }
    const ep = exists!.endpoints.find((e) => e.networkName === m.networkDockerName);
    if (!ep) {
      connects.push({
        kind: 'member.connect',
        network: m.networkDockerName,
        container: m.container,
        endpoint: m.endpoint,
        cause: `spec.members[${m.memberIndex}], not connected`,
      });
      continue;
    }
    // On an external network, an endpoint faultline did not make is someone else's: left as it is.
    if (m.external && ep.owner !== desired.endpointOwner) continue;
    const why = endpointSatisfies(m.endpoint, ep);
    if (why) {
      disconnects.push({
        kind: 'member.disconnect',
        network: m.networkDockerName,
        container: m.container,
        cause: `reconnect: ${why}`,
      });
      connects.push({
        kind: 'member.connect',
        network: m.networkDockerName,
        container: m.container,
        endpoint: m.endpoint,
        cause: `spec.members[${m.memberIndex}], reconnect: ${why}`,
      });
    }
  }
  // A closed disconnect window on an external network gives endpoints back to non-members.
  for (const r of desired.reconnects) {
    const c = ctrByName.get(r.container);
    if (!c || c.endpoints.some((e) => e.networkName === r.network)) continue;
    connects.push({
      kind: 'member.connect',
      network: r.network,
      container: r.container,
      endpoint: r.endpoint,
      cause: r.cause,
    });
  }
  // External networks: disconnect what an open disconnect window takes (whoever made the
  // endpoint), and the endpoints faultline made that no member wants any more; nothing else there.
  for (const c of snapshot.containers) {
    if (goneContainers.has(c.name)) continue;
    for (const ep of c.endpoints) {
      if (!st.externalNetworks.has(ep.networkName)) continue;
      const key = memberKey(ep.networkName, c.name);
      if (desired.disconnected.has(key)) {
        disconnects.push({
          kind: 'member.disconnect',
          network: ep.networkName,
          container: c.name,
          cause: 'a disconnect fault window is open',
        });
      } else if (ep.owner === desired.endpointOwner && !wantedMember.has(key)) {
        disconnects.push({
          kind: 'member.disconnect',
          network: ep.networkName,
          container: c.name,
          cause: 'no longer a member',
        });
      }
    }
  }
  // Endpoints faultline made on networks that left spec.networks (external ones it joined); not
  // while an external network of the spec cannot be told (its endpoints could be among them).
  const unresolvedExternal = desired.networks.some((n) => n.external && !n.dockerName);
  for (const c of unresolvedExternal ? [] : snapshot.containers) {
    if (goneContainers.has(c.name)) continue;
    for (const ep of c.endpoints) {
      if (st.externalNetworks.has(ep.networkName) || ep.owner !== desired.endpointOwner) continue;
      disconnects.push({
        kind: 'member.disconnect',
        network: ep.networkName,
        container: c.name,
        cause: 'its network left spec.networks',
      });
    }
  }
  // Endpoints on this scenario's networks that nobody declares any more (adopted containers
  // included: they are only ever disconnected, never stopped or removed), and every endpoint of a
  // network about to be removed (Docker refuses to remove a network with active endpoints).
  const ownedNetworks = snapshot.networks.filter(
    (x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'network',
  );
  const ownedNames = new Set(ownedNetworks.map((n) => n.name));
  const extraIds = new Set(extraNetworks.map((x) => x.id));
  for (const c of snapshot.containers) {
    if (goneContainers.has(c.name)) continue; // removal takes its endpoints along
    for (const ep of c.endpoints) {
      const extra = extraNetworks.find((x) => x.id === ep.networkId);
      if (extra) {
        disconnects.push({
          kind: 'member.disconnect',
          network: extra.id,
          container: c.name,
          cause: `${extra.name}@${extra.id.slice(0, 12)} is a duplicate being removed`,
        });
        continue;
      }
      if (!ownedNames.has(ep.networkName) || extraIds.has(ep.networkId)) continue;
      const key = memberKey(ep.networkName, c.name);
      if (goneNetworks.has(ep.networkName)) {
        disconnects.push({
          kind: 'member.disconnect',
          network: ep.networkName,
          container: c.name,
          cause: `network ${ep.networkName} is being removed`,
        });
      } else if (!wantedMember.has(key)) {
        disconnects.push({
          kind: 'member.disconnect',
          network: ep.networkName,
          container: c.name,
          cause: 'no longer a member',
        });
      }
    }
  }
}

/** Creates (with their first network) and starts, one phase per dependsOn level. */
export function planStarts(st: PlanState): void {
  const { desired, phases, ctrByName, goneContainers, freshContainers, toStart, firstNetwork } = st;
  const containerCreates = phases[4];
  for (const c of desired.containers) {
    if (!freshContainers.has(c.dockerName)) continue;
    const first = firstNetwork.get(c.dockerName);
    const request: ContainerCreateRequest = first
      ? { ...c.request, network: { name: first.networkDockerName, endpoint: first.endpoint } }
      : c.request;
    const attach = first
      ? ` (network ${first.networkDockerName}, aliases ${first.endpoint.aliases.join(',') || 'none'})`
      : '';
    const cause = goneContainers.has(c.dockerName)
      ? `config of spec.containers[${c.index}] changed; recreate`
      : `declared in spec.containers[${c.index}], absent`;
    containerCreates.push({ kind: 'container.create', container: c.dockerName, request, cause: cause + attach });
  }
  // Start levels: a container starts in a later phase than everything it depends on.
  const level = new Map<string, number>();
  const byShort = new Map(desired.containers.map((c) => [c.name, c]));
  const levelOf = (name: string, depth = 0): number => {
    const c = byShort.get(name);
    if (!c || depth > byShort.size) return 0; // cycles are rejected by validation
    const known = level.get(name);
    if (known !== undefined) return known;
    const l = c.dependsOn.reduce((max, d) => Math.max(max, levelOf(d, depth + 1) + 1), 0);
    level.set(name, l);
    return l;
  };
  for (const c of desired.containers) {
    if (!toStart.has(c.dockerName)) continue;
    const l = levelOf(c.name);
    while (phases.length <= 6 + l) phases.push([]);
    const o = ctrByName.get(c.dockerName);
    const cause = freshContainers.has(c.dockerName)
      ? 'created by this plan'
      : `not running (state ${o?.state ?? 'unknown'})`;
    phases[6 + l].push({ kind: 'container.start', container: c.dockerName, cause });
  }
}

/** The operations of active Docker-level faults (pause, stop, kill, restart, and their release), last. */
export function planFaultOps(st: PlanState): void {
  const faultPhase = st.desired.faultOps.map(faultOp);
  if (faultPhase.length) st.phases.push(faultPhase);
}

function faultOp(f: ContainerFaultOp): Op {
  const base = { container: f.container, cause: f.cause };
  switch (f.kind) {
    case 'kill':
      return { ...base, kind: 'container.kill', signal: f.signal ?? 'SIGKILL' };
    case 'start':
      return { ...base, kind: 'container.start' };
    case 'pause':
      return { ...base, kind: 'container.pause' };
    case 'unpause':
      return { ...base, kind: 'container.unpause' };
    case 'stop':
      return { ...base, kind: 'container.stop' };
    case 'restart':
      return { ...base, kind: 'container.restart' };
    default:
      return assertNever(f.kind, 'container fault operation');
  }
}

type NetworkCreate = Extract<Op, { kind: 'network.create' }>;
type NetworkRemove = Extract<Op, { kind: 'network.remove' }>;

/**
 * One declared network against the network observed under its name: keep it, create it, recreate
 * it (its config changed), or refuse (a network of that name that is not ours). Shared by the local
 * path (here) and the Swarm path (engines.ts: through the manager), which differ only in words.
 */
export function decideNetwork(
  n: DesiredNetwork,
  o: ObservedNetwork | undefined,
  owner: { scenario: string; controller: string },
  kind: 'Docker' | 'Swarm',
):
  | { step: 'keep' }
  | { step: 'create'; create: NetworkCreate }
  | { step: 'recreate'; remove: NetworkRemove; create: NetworkCreate }
  | { step: 'blocked'; blocked: Blocked } {
  const request = n.request!;
  if (!o) {
    const through = kind === 'Swarm' ? ' (through the Swarm manager)' : '';
    return {
      step: 'create',
      create: {
        kind: 'network.create',
        network: n.dockerName,
        request,
        cause: `declared in spec.networks[${n.index}], absent${through}`,
      },
    };
  }
  if (!isOwnedBy(o.labels, owner.scenario, owner.controller))
    return {
      step: 'blocked',
      blocked: {
        kind: 'network',
        name: n.name,
        dockerName: n.dockerName,
        index: n.index,
        message: `a ${kind} network named "${n.dockerName}" already exists and is ${ownerOf(o.labels)}; faultline never changes what it does not own: remove that network or rename spec.networks[${n.index}].name`,
      },
    };
  if (o.labels[LABEL_HASH] === n.hash) return { step: 'keep' };
  return {
    step: 'recreate',
    remove: {
      kind: 'network.remove',
      network: n.dockerName,
      id: o.id,
      cause: `config of spec.networks[${n.index}] changed (hash ${o.labels[LABEL_HASH] ?? 'none'} → ${n.hash}); recreate`,
    },
    create: {
      kind: 'network.create',
      network: n.dockerName,
      request,
      cause: `config of spec.networks[${n.index}] changed; recreate`,
    },
  };
}
