// Engine API JSON -> the observed types of resolve/view.ts. Pure: no calls here.
//
// What the mapping decides:
// - Aliases: Docker 20.10 adds the container's 12-character short id to every user-defined
//   network endpoint's Aliases (also before start); that alias is stripped. 20.10 does NOT add the
//   container name (later engines list it under DNSNames instead); an alias equal to the name is
//   kept, because then the user asked for it.
// - Addresses lose their prefix length ("10.0.0.2/24" -> "10.0.0.2").
// - A created (never started) container's endpoints have no NetworkID yet; the caller resolves
//   them by network name.
// - An endpoint is live (the container counts as attached to the network) only with an EndpointID.
// - pid, aliases and startedAt come only from an inspect; a container list entry has none of them.
import { ENDPOINT_OWNER_OPT } from '../../api/ownership.js';
import type { ObservedContainer, ObservedEndpoint, ObservedNetwork } from '../../resolve/index.js';

// ---------------------------------------------------------------------------------------------
// Raw Engine API shapes (only the fields we read; the engine sends more)

export interface RawEndpoint {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  NetworkID?: string;
  EndpointID?: string;
  IPAddress?: string;
  GlobalIPv6Address?: string;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

export interface RawNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Scope?: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  /** Only in a network inspect (the list has {}): the containers with a live endpoint, by id. */
  Containers?: Record<string, unknown> | null;
}

export interface RawContainerSummary {
  Id: string;
  Names?: string[];
  Image: string;
  Labels?: Record<string, string> | null;
  State: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, RawEndpoint> | null } | null;
}

export interface RawContainerInspect {
  Id: string;
  Name: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: { Status?: string; Pid?: number; StartedAt?: string };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, RawEndpoint> | null };
}

// ---------------------------------------------------------------------------------------------
// Mapping

/** "10.0.0.2/24" -> "10.0.0.2"; "" -> undefined. */
export function stripPrefix(addr: string | undefined | null): string | undefined {
  if (!addr) return undefined;
  const slash = addr.indexOf('/');
  return slash >= 0 ? addr.slice(0, slash) : addr;
}

const nonEmpty = (s: string | undefined | null): string | undefined => (s ? s : undefined);

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Resolves a network name to its id (for endpoints that lack a NetworkID); undefined when unknown. */
export type NetworkIdOf = (name: string) => string | undefined;

/** A mapped container, plus the ids of the networks it has a live endpoint on. */
export interface MappedContainer {
  container: ObservedContainer;
  attachedTo: string[];
}

/** The networks whose endpoints lack a NetworkID: what a NetworkIdOf must answer for. */
export function unresolvedNetworks(nets: Record<string, RawEndpoint> | null | undefined): string[] {
  return Object.entries(nets ?? {})
    .filter(([, ep]) => !nonEmpty(ep.NetworkID))
    .map(([name]) => name);
}

/** Endpoints as ObservedEndpoint, plus whether the endpoint is live (has an EndpointID). */
function toEndpoints(
  containerId: string,
  nets: Record<string, RawEndpoint> | null | undefined,
  networkIdOf: NetworkIdOf,
): { endpoint: ObservedEndpoint; active: boolean }[] {
  const shortId = containerId.slice(0, 12);
  return Object.entries(nets ?? {}).map(([name, ep]) => ({
    active: !!ep.EndpointID,
    endpoint: {
      // A created (never started) container's endpoints have no NetworkID yet: resolve by name.
      networkId: nonEmpty(ep.NetworkID) ?? networkIdOf(name) ?? '',
      networkName: name,
      ipv4Address: stripPrefix(ep.IPAddress),
      ipv6Address: stripPrefix(ep.GlobalIPv6Address),
      aliases: (ep.Aliases ?? []).filter((a) => a !== shortId),
      macAddress: nonEmpty(ep.MacAddress),
      ...(ep.DriverOpts?.[ENDPOINT_OWNER_OPT] ? { owner: ep.DriverOpts[ENDPOINT_OWNER_OPT] } : {}),
    },
  }));
}

function mapped(container: ObservedContainer, eps: { endpoint: ObservedEndpoint; active: boolean }[]): MappedContainer {
  return { container, attachedTo: eps.filter((e) => e.active).map((e) => e.endpoint.networkId) };
}

/** An inspected container. `listed` (its list entry, when there is one) fills what inspect omits. */
export function containerFromInspect(
  ins: RawContainerInspect,
  networkIdOf: NetworkIdOf,
  listed?: RawContainerSummary,
): MappedContainer {
  const eps = toEndpoints(ins.Id, ins.NetworkSettings?.Networks, networkIdOf);
  const running =
    ins.State?.Status === 'running' || ins.State?.Status === 'paused' || ins.State?.Status === 'restarting';
  return mapped(
    {
      id: ins.Id,
      name: ins.Name.replace(/^\//, ''),
      image: ins.Config?.Image ?? listed?.Image ?? '',
      labels: { ...(ins.Config?.Labels ?? {}) },
      state: ins.State?.Status ?? listed?.State ?? '',
      pid: ins.State?.Pid ?? 0,
      networkMode: ins.HostConfig?.NetworkMode ?? listed?.HostConfig?.NetworkMode ?? '',
      endpoints: eps.map((e) => e.endpoint),
      startedAt: running && ins.State?.StartedAt && ins.State.StartedAt !== ZERO_TIME ? ins.State.StartedAt : undefined,
    },
    eps,
  );
}

/** A container known only from the list call (not inspected): the list has no aliases, pid or start time. */
export function containerFromSummary(c: RawContainerSummary, networkIdOf: NetworkIdOf): MappedContainer {
  const eps = toEndpoints(c.Id, c.NetworkSettings?.Networks, networkIdOf);
  return mapped(
    {
      id: c.Id,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      labels: { ...(c.Labels ?? {}) },
      state: c.State,
      pid: 0,
      networkMode: c.HostConfig?.NetworkMode ?? '',
      endpoints: eps.map((e) => e.endpoint),
    },
    eps,
  );
}

/**
 * A network. containerIds is filled only from an inspect's Containers (the list leaves it empty;
 * snapshot() fills it from the containers' live endpoints instead). Keys `ep-<id>` are endpoints
 * of containers on other hosts (overlay networks), not containers of this engine.
 */
export function toNetwork(n: RawNetwork): ObservedNetwork {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    ...(n.Scope ? { scope: n.Scope } : {}),
    labels: { ...(n.Labels ?? {}) },
    internal: !!n.Internal,
    attachable: !!n.Attachable,
    enableIPv6: !!n.EnableIPv6,
    subnets: (n.IPAM?.Config ?? [])
      .filter((c) => !!c.Subnet)
      .map((c) => ({ subnet: c.Subnet as string, gateway: nonEmpty(c.Gateway), ipRange: nonEmpty(c.IPRange) })),
    options: { ...(n.Options ?? {}) },
    containerIds: Object.keys(n.Containers ?? {})
      .filter((id) => !id.startsWith('ep-'))
      .sort(),
  };
}
