// Desired Docker state of ONE scenario, computed purely from its (validated) spec and the view
// of Docker (needed only to resolve selectors over existing containers: resolve/).
//
// Naming follows compose: scenario "split-brain", network "unstable" → Docker network
// "split-brain_unstable"; container "db" → "split-brain_db", reachable as "db" (a DNS alias on every
// scenario network it joins), so two scenarios can both declare a "db".
//
// With several engines, the desired state says where each thing lives: a declared container on its
// `engine`, a bridge/macvlan/ipvlan network on its `engine`, an overlay network on the Swarm (no
// engine: created once through a manager, joined from any engine). A membership is on the engine of
// its container. A member that cannot be (a container of engine b on a bridge network of engine a)
// is unresolved, with what to do.
import { contentHash } from '../api/hash.js';
import type { ContainerSpec, MemberSpec, NetworkSpec, Scenario } from '../api/types.js';
import { dockerName, engineOf, engineTag, memberKey, ownerLabels } from '../api/ownership.js';
import type { Snapshot } from '../resolve/index.js';
import type { ContainerCreateRequest, EndpointRequest, NetworkCreateRequest } from './requests.js';
import type { ContainerFaultOp, DockerFaultEffects } from './fault-effects.js';
import { resolveSelector } from '../resolve/index.js';

export interface DesiredNetwork {
  name: string; // short name in the spec
  dockerName: string;
  /** An overlay network: one object on the Swarm, created through a manager, joined from any engine. */
  swarm: boolean;
  /** The engine of a local network, when not the default one (a swarm network has none). */
  engine?: string;
  index: number; // position in spec.networks (for error paths)
  hash: string;
  request: NetworkCreateRequest;
}

export interface DesiredContainer {
  name: string;
  dockerName: string;
  /** Its engine, when not the default one. */
  engine?: string;
  index: number;
  hash: string;
  /** request.network is filled by the planner with the first membership (Docker attaches one at create). */
  request: ContainerCreateRequest;
  dependsOn: string[];
}

/** One container that should be on one scenario network. */
export interface DesiredMember {
  network: string; // short network name
  networkDockerName: string;
  /** Docker name of the container (declared: "<scenario>_<name>"; adopted: its own name). */
  container: string;
  /** The container's engine (where the membership is made), when not the default one. */
  engine?: string;
  /** How status and people refer to it: the short name for declared containers, else the Docker name. */
  display: string;
  declared: boolean;
  memberIndex: number;
  endpoint: EndpointRequest;
}

/** A selector term that matched nothing (yet): reported in status, not an error of the plan. */
export interface Unresolved {
  network: string;
  memberIndex: number;
  /** true: named containers that do not exist (not ready); false: a label selector matching nobody yet. */
  missing: boolean;
  message: string;
}

export interface DesiredState {
  /** The controller that owns what this state creates (label faultline.dev/controller). */
  controller: string;
  scenario: string;
  networks: DesiredNetwork[];
  containers: DesiredContainer[];
  members: DesiredMember[];
  unresolved: Unresolved[];
  /** Members an active `disconnect` fault keeps off their network ("net\0container"). */
  disconnected: Set<string>;
  /** Containers an active fault holds paused or stopped: never started/unpaused by convergence. */
  holds: Map<string, 'paused' | 'stopped'>;
  /** Container operations of faults (pause, stop, kill, restart, and their release). */
  faultOps: ContainerFaultOp[];
}

function networkRequest(
  controller: string,
  scenario: string,
  n: NetworkSpec,
): { hash: string; request: NetworkCreateRequest } {
  // Only what Docker can't change in place goes into the hash: any change means recreate.
  const config = {
    driver: n.driver ?? 'bridge',
    options: n.options ?? {},
    ipam: n.ipam
      ? {
          driver: n.ipam.driver ?? 'default',
          config: (n.ipam.config ?? []).map((c) => ({
            subnet: c.subnet,
            gateway: c.gateway,
            ipRange: c.ipRange,
            auxAddresses: c.auxAddresses,
          })),
          options: n.ipam.options ?? {},
        }
      : undefined,
    internal: n.internal ?? false,
    attachable: n.attachable ?? n.driver === 'overlay',
    enableIPv6: n.enableIPv6 ?? (n.ipam?.config ?? []).some((c) => c.subnet.includes(':')),
    labels: n.labels ?? {},
  };
  const hash = contentHash(config);
  const request: NetworkCreateRequest = {
    name: dockerName(scenario, n.name),
    driver: config.driver,
    labels: { ...config.labels, ...ownerLabels(controller, scenario, n.name, 'network', hash) },
    internal: config.internal,
    attachable: config.attachable,
    enableIPv6: config.enableIPv6,
    options: config.options,
    ipam: config.ipam,
  };
  return { hash, request };
}

function parsePort(spec: string): { containerPort: string; hostIp?: string; hostPort?: string } {
  // "80", "8080:80", "127.0.0.1:8080:80", any of them with "/udp". Validated by the schema.
  const [body, proto = 'tcp'] = spec.split('/');
  const parts = body.split(':');
  const containerPort = `${parts[parts.length - 1]}/${proto}`;
  if (parts.length === 1) return { containerPort };
  if (parts.length === 2) return { containerPort, hostPort: parts[0] };
  return { containerPort, hostIp: parts.slice(0, -2).join(':'), hostPort: parts[parts.length - 2] };
}

function containerRequest(
  controller: string,
  scenario: string,
  c: ContainerSpec,
): { hash: string; request: ContainerCreateRequest } {
  const hash = contentHash({ ...c, dependsOn: undefined });
  const request: ContainerCreateRequest = {
    name: dockerName(scenario, c.name),
    image: c.image,
    command: c.command,
    entrypoint: c.entrypoint,
    env: Object.entries(c.env ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`),
    labels: { ...(c.labels ?? {}), ...ownerLabels(controller, scenario, c.name, 'container', hash) },
    hostname: c.hostname ?? c.name,
    workingDir: c.workingDir,
    user: c.user,
    capAdd: c.capAdd ?? [],
    capDrop: c.capDrop ?? [],
    restartPolicy: c.restart ?? 'no',
    ports: (c.ports ?? []).map(parsePort),
    stopSignal: c.stopSignal,
    stopTimeout: c.stopTimeout,
  };
  return { hash, request };
}

export function desiredState(
  controller: string,
  scn: Scenario,
  snapshot: Snapshot,
  effects?: DockerFaultEffects,
): DesiredState {
  const scenario = scn.metadata.name;
  const spec = scn.spec;
  const networks: DesiredNetwork[] = (spec.networks ?? []).map((n, index) => {
    const { hash, request } = networkRequest(controller, scenario, n);
    const swarm = (n.driver ?? 'bridge') === 'overlay';
    return {
      name: n.name,
      dockerName: request.name,
      swarm,
      ...(swarm ? {} : engineTag(engineOf(n))),
      index,
      hash,
      request,
    };
  });
  const declared = spec.containers ?? [];
  const containers: DesiredContainer[] = declared.map((c, index) => {
    const { hash, request } = containerRequest(controller, scenario, c);
    return {
      name: c.name,
      dockerName: request.name,
      ...engineTag(engineOf(c)),
      index,
      hash,
      request,
      dependsOn: c.dependsOn ?? [],
    };
  });
  const members: DesiredMember[] = [];
  const unresolved: Unresolved[] = [];
  const seen = new Map<string, DesiredMember>();
  (spec.members ?? []).forEach((m: MemberSpec, memberIndex) => {
    const net = networks.find((n) => n.name === m.network);
    if (!net) return; // validation reports unknown networks
    const { matches, missing } = resolveSelector(scenario, m.select, declared, snapshot);
    for (const name of missing) {
      unresolved.push({
        network: m.network,
        memberIndex,
        missing: true,
        message: `no container named "${name}" exists and none is declared in spec.containers; start it or fix spec.members[${memberIndex}].select.names`,
      });
    }
    if (matches.length === 0 && missing.length === 0) {
      unresolved.push({
        network: m.network,
        memberIndex,
        missing: false,
        message: `spec.members[${memberIndex}].select matches no container yet; it will join when one appears`,
      });
    }
    for (const r of matches) {
      if (!net.swarm && engineOf(r) !== engineOf(net)) {
        unresolved.push({
          network: m.network,
          memberIndex,
          missing: false,
          message: `${r.display} runs on engine "${engineOf(r)}" but network ${m.network} is a local network on engine "${engineOf(net)}"; containers on different engines share only overlay networks (driver: overlay)`,
        });
        continue;
      }
      const key = memberKey(net.dockerName, r.container);
      if (effects?.disconnected.has(key)) continue; // a disconnect fault's window is open
      const aliases = new Set(m.aliases ?? []);
      if (r.declared) aliases.add(r.display);
      const prev = seen.get(`${key}\u0000${engineOf(r)}`);
      if (prev) {
        // Several member entries put one container on one network: union their aliases.
        for (const a of prev.endpoint.aliases) aliases.add(a);
        prev.endpoint.aliases = [...aliases].sort();
        prev.endpoint.ipv4Address ??= m.ipv4Address;
        prev.endpoint.ipv6Address ??= m.ipv6Address;
        continue;
      }
      const member: DesiredMember = {
        network: net.name,
        networkDockerName: net.dockerName,
        container: r.container,
        ...engineTag(engineOf(r)),
        display: r.display,
        declared: r.declared,
        memberIndex,
        endpoint: { aliases: [...aliases].sort(), ipv4Address: m.ipv4Address, ipv6Address: m.ipv6Address },
      };
      seen.set(`${key}\u0000${engineOf(r)}`, member);
      members.push(member);
    }
  });
  return {
    controller,
    scenario,
    networks,
    containers,
    members,
    unresolved,
    disconnected: effects?.disconnected ?? new Set(),
    holds: effects?.holds ?? new Map(),
    faultOps: effects?.ops ?? [],
  };
}
