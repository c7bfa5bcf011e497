// Desired Docker state of ONE scenario, computed purely from its (validated) spec and the view
// of Docker (needed only to resolve selectors over existing containers: resolve/).
//
// Naming follows compose: scenario "split-brain", network "unstable" → Docker network
// "split-brain_unstable"; container "db" → "split-brain_db", reachable as "db" (a DNS alias on every
// scenario network it joins), so two scenarios can both declare a "db". Volumes likewise
// ("split-brain_data"). External networks keep their own names (plan/external.ts).
//
// A container with a network mode joins no network of spec.members: `none` has loopback only,
// `host` is the host's namespace, `container:db` is db's namespace (db starts first, and db's config
// hash is part of the sharer's, so recreating db recreates what shares its namespace).
import { contentHash } from '../api/hash.js';
import type { ContainerSpec, MemberSpec, NetworkSpec, Scenario, VolumeSpec } from '../api/types.js';
import { dockerName, ENDPOINT_OWNER_OPT, endpointOwner, LABEL_KEEP, memberKey, ownerLabels } from '../api/ownership.js';
import { parseSizeBytes } from '../api/quantity.js';
import type { Snapshot } from '../resolve/index.js';
import type {
  ContainerCreateRequest,
  EndpointRequest,
  MountRequest,
  NetworkCreateRequest,
  VolumeCreateRequest,
} from './requests.js';
import type { ContainerFaultOp, DockerFaultEffects, Reconnect } from './fault-effects.js';
import { findExternal, isExternal, type ExternalNetwork } from './external.js';
import { resolveSelector } from '../resolve/index.js';

export interface DesiredNetwork {
  name: string; // short name in the spec
  dockerName: string;
  index: number; // position in spec.networks (for error paths)
  hash: string; // '' for an external network
  /** What to create; absent for an external network (never created, changed or removed). */
  request?: NetworkCreateRequest;
  external?: ExternalNetwork;
  /** It must not be created, and why (e.g. no subnet left in the address pool: addresses.ts). */
  blockedBy?: { reason: string; message: string };
}

export interface DesiredVolume {
  name: string;
  dockerName: string;
  index: number;
  hash: string;
  keep: boolean;
  request: VolumeCreateRequest;
}

export interface DesiredContainer {
  name: string;
  dockerName: string;
  index: number;
  hash: string;
  /** request.network is filled by the planner with the first membership (Docker attaches one at create). */
  request: ContainerCreateRequest;
  /** Short names it starts after: spec dependsOn, and the owner of the namespace it shares. */
  dependsOn: string[];
  /** spec networkMode: it joins no network of spec.members. */
  networkMode?: string;
}

/** One container that should be on one scenario network. */
export interface DesiredMember {
  network: string; // short network name
  networkDockerName: string;
  /** Docker name of the container (declared: "<scenario>_<name>"; adopted: its own name). */
  container: string;
  /** How status and people refer to it: the short name for declared containers, else the Docker name. */
  display: string;
  declared: boolean;
  memberIndex: number;
  endpoint: EndpointRequest;
  /** On a network faultline does not own: it disconnects only endpoints carrying its mark. */
  external: boolean;
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
  volumes: DesiredVolume[];
  containers: DesiredContainer[];
  members: DesiredMember[];
  unresolved: Unresolved[];
  /** The mark of this scenario's endpoints on external networks (driver option faultline.dev/owner). */
  endpointOwner: string;
  /** Endpoints a closed disconnect window gives back to containers that are not members (as they were). */
  reconnects: Reconnect[];
  /** Members an active `disconnect` fault keeps off their network ("net\0container"). */
  disconnected: Set<string>;
  /** Containers an active fault holds paused or stopped: never started/unpaused by convergence. */
  holds: Map<string, 'paused' | 'stopped'>;
  /** Container operations of faults (pause, stop, kill, restart, and their release). */
  faultOps: ContainerFaultOp[];
}

/** A volume: only its driver, options and labels are Docker's; `keep` is recorded as a label at create. */
function volumeRequest(
  controller: string,
  scenario: string,
  v: VolumeSpec,
): { hash: string; request: VolumeCreateRequest } {
  const config = { driver: v.driver ?? 'local', options: v.options ?? {}, labels: v.labels ?? {} };
  const hash = contentHash(config);
  return {
    hash,
    request: {
      name: dockerName(scenario, v.name),
      driver: config.driver,
      options: config.options,
      labels: {
        ...config.labels,
        ...ownerLabels(controller, scenario, v.name, 'volume', hash),
        [LABEL_KEEP]: v.keep ? 'true' : 'false',
      },
    },
  };
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

/** "none" | "host" as is; "container:db" names db's Docker container. */
function networkModeOf(scenario: string, mode: string | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const shared = /^container:(.+)$/.exec(mode);
  return shared ? `container:${dockerName(scenario, shared[1])}` : mode;
}

/** The short name of the container whose namespace `mode` shares, if any. */
export function namespaceOwnerOf(mode: string | undefined): string | undefined {
  return mode ? /^container:(.+)$/.exec(mode)?.[1] : undefined;
}

/**
 * A container's mounts. A named volume's mount carries the volume's own create request: should its
 * volume.create have failed, Docker creates it at container create exactly as faultline would
 * (labelled, so owned), never as an anonymous, unlabelled volume.
 */
function mountsOf(
  scenario: string,
  c: ContainerSpec,
  volumes: ReadonlyMap<string, VolumeCreateRequest>,
): MountRequest[] | undefined {
  const mounts: MountRequest[] = [];
  for (const v of c.volumes ?? []) {
    const readOnly = v.readOnly ?? false;
    if (v.source.startsWith('/')) mounts.push({ type: 'bind', source: v.source, target: v.target, readOnly });
    else {
      const create = volumes.get(v.source);
      mounts.push({
        type: 'volume',
        source: dockerName(scenario, v.source),
        target: v.target,
        readOnly,
        ...(create ? { create } : {}),
      });
    }
  }
  for (const t of c.tmpfs ?? []) {
    mounts.push({
      type: 'tmpfs',
      target: t.target,
      ...(t.size !== undefined ? { sizeBytes: parseSizeBytes(t.size) } : {}),
      ...(t.mode !== undefined ? { mode: parseInt(t.mode, 8) } : {}),
    });
  }
  return mounts.length ? mounts : undefined;
}

function containerRequest(
  controller: string,
  scenario: string,
  c: ContainerSpec,
  ownerHash: string | undefined,
  volumes: ReadonlyMap<string, VolumeCreateRequest>,
): { hash: string; request: ContainerCreateRequest } {
  // A container sharing another's namespace must be recreated with it: the owner's hash is part of
  // its own (absent otherwise, so the hashes of every other container stay what they were).
  const hash = contentHash({ ...c, dependsOn: undefined, ...(ownerHash ? { namespaceOwnerHash: ownerHash } : {}) });
  const networkMode = networkModeOf(scenario, c.networkMode);
  const mounts = mountsOf(scenario, c, volumes);
  const request: ContainerCreateRequest = {
    name: dockerName(scenario, c.name),
    image: c.image,
    command: c.command,
    entrypoint: c.entrypoint,
    env: Object.entries(c.env ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`),
    labels: { ...(c.labels ?? {}), ...ownerLabels(controller, scenario, c.name, 'container', hash) },
    // Docker refuses a host name beside container:<x> (the namespace's owner names it).
    hostname: networkMode?.startsWith('container:') ? undefined : (c.hostname ?? c.name),
    workingDir: c.workingDir,
    user: c.user,
    capAdd: c.capAdd ?? [],
    capDrop: c.capDrop ?? [],
    restartPolicy: c.restart ?? 'no',
    ports: (c.ports ?? []).map(parsePort),
    stopSignal: c.stopSignal,
    stopTimeout: c.stopTimeout,
    ...(networkMode ? { networkMode } : {}),
    ...(mounts ? { mounts } : {}),
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
  const owner = endpointOwner(controller, scenario);
  const networks: DesiredNetwork[] = (spec.networks ?? []).map((n, index) => {
    if (isExternal(n)) {
      const external = findExternal(n, snapshot);
      return { name: n.name, dockerName: external.observed?.name ?? '', index, hash: '', external };
    }
    const { hash, request } = networkRequest(controller, scenario, n);
    return { name: n.name, dockerName: request.name, index, hash, request };
  });
  const volumes: DesiredVolume[] = (spec.volumes ?? []).map((v, index) => {
    const { hash, request } = volumeRequest(controller, scenario, v);
    return { name: v.name, dockerName: request.name, index, hash, keep: v.keep ?? false, request };
  });
  const volumeRequests = new Map(volumes.map((v) => [v.name, v.request]));
  const declared = spec.containers ?? [];
  // Owners of shared namespaces first: their hashes are part of their sharers' (no chains: validated).
  const hashes = new Map<string, string>();
  const containers: DesiredContainer[] = [];
  for (const pass of [false, true]) {
    declared.forEach((c, index) => {
      const ns = namespaceOwnerOf(c.networkMode);
      if ((ns !== undefined) !== pass) return;
      const { hash, request } = containerRequest(
        controller,
        scenario,
        c,
        ns ? (hashes.get(ns) ?? '') : undefined,
        volumeRequests,
      );
      hashes.set(c.name, hash);
      containers[index] = {
        name: c.name,
        dockerName: request.name,
        index,
        hash,
        request,
        dependsOn: [...new Set([...(c.dependsOn ?? []), ...(ns ? [ns] : [])])],
        ...(c.networkMode ? { networkMode: c.networkMode } : {}),
      };
    });
  }
  const withMode = new Map(containers.filter((c) => c.networkMode).map((c) => [c.dockerName, c.networkMode!]));
  const restores = effects?.restores ?? new Map<string, EndpointRequest>();
  const members: DesiredMember[] = [];
  const unresolved: Unresolved[] = [];
  const seen = new Map<string, DesiredMember>();
  (spec.members ?? []).forEach((m: MemberSpec, memberIndex) => {
    const net = networks.find((n) => n.name === m.network);
    if (!net) return; // validation reports unknown networks
    if (net.external?.problem) {
      unresolved.push({ network: m.network, memberIndex, missing: true, message: net.external.problem });
      return;
    }
    const { matches, missing, refused } = resolveSelector(scenario, m.select, declared, snapshot);
    for (const why of refused)
      unresolved.push({
        network: m.network,
        memberIndex,
        missing: true,
        message: `spec.members[${memberIndex}].select: ${why}`,
      });
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
      const key = memberKey(net.dockerName, r.container);
      if (effects?.disconnected.has(key)) continue; // a disconnect fault's window is open
      const mode = withMode.get(r.container) ?? adoptedMode(snapshot, r.container);
      if (mode) {
        unresolved.push({
          network: m.network,
          memberIndex,
          missing: false,
          message: `container ${r.display} has network mode ${mode} and joins no network; spec.members[${memberIndex}] leaves it out`,
        });
        continue;
      }
      // Docker's default bridge takes no aliases (and has no DNS to use them).
      const aliases = new Set(net.external?.defaultBridge ? [] : (m.aliases ?? []));
      if (r.declared && !net.external?.defaultBridge) aliases.add(r.display);
      const prev = seen.get(key);
      if (prev) {
        // Several member entries put one container on one network: union their aliases.
        for (const a of prev.endpoint.aliases) aliases.add(a);
        prev.endpoint.aliases = [...aliases].sort();
        prev.endpoint.ipv4Address ??= m.ipv4Address;
        prev.endpoint.ipv6Address ??= m.ipv6Address;
        continue;
      }
      const endpoint: EndpointRequest = {
        aliases: [...aliases].sort(),
        ipv4Address: m.ipv4Address,
        ipv6Address: m.ipv6Address,
        ...(net.external ? { driverOpts: { [ENDPOINT_OWNER_OPT]: owner } } : {}),
      };
      // A disconnect window just closed on an external network: give the endpoint back as it was
      // (unmarked when it was not faultline's), with the aliases the member asks for.
      const restore = restores.get(key);
      if (restore) {
        endpoint.aliases = [...new Set([...endpoint.aliases, ...restore.aliases])].sort();
        if (restore.driverOpts) endpoint.driverOpts = restore.driverOpts;
        else delete endpoint.driverOpts;
      }
      const member: DesiredMember = {
        network: net.name,
        networkDockerName: net.dockerName,
        container: r.container,
        display: r.display,
        declared: r.declared,
        memberIndex,
        endpoint,
        external: !!net.external,
      };
      seen.set(key, member);
      members.push(member);
    }
  });
  const reconnects = (effects?.reconnects ?? []).filter((x) => !seen.has(memberKey(x.network, x.container)));
  return {
    controller,
    scenario,
    networks,
    volumes,
    containers,
    members,
    unresolved,
    endpointOwner: owner,
    reconnects,
    disconnected: effects?.disconnected ?? new Set(),
    holds: effects?.holds ?? new Map(),
    faultOps: effects?.ops ?? [],
  };
}

/** The network mode of an existing container that joins no network (host, none, container:…). */
function adoptedMode(snapshot: Snapshot, name: string): string | undefined {
  const mode = snapshot.containers.find((c) => c.name === name)?.networkMode;
  return mode === 'host' || mode === 'none' || mode?.startsWith('container:') ? mode : undefined;
}
