// The view of Docker that every pure layer works on: networks and containers as they are, kept
// current by observe/ (listed once, then followed through Docker's events) and handed to the
// resolvers and planners as an immutable value. Plain data; nothing here talks to Docker.
// Ownership labels and names: api/ownership.ts.
import { engineOf } from '../api/ownership.js';

export interface ObservedEndpoint {
  networkId: string;
  networkName: string;
  ipv4Address?: string; // without prefix length
  ipv6Address?: string;
  aliases: string[]; // user-visible aliases (Docker's own short-id alias removed)
  macAddress?: string;
  /**
   * Who connected it, when faultline did on a network it does not own (an external network):
   * "<controller>/<scenario>", from the endpoint's driver option faultline.dev/owner.
   */
  owner?: string;
}

export interface ObservedContainer {
  /** The engine it runs on; absent: the default engine (a single-engine view never carries one). */
  engine?: string;
  id: string;
  name: string; // without leading "/"
  image: string;
  labels: Record<string, string>;
  state: string; // created | running | paused | restarting | removing | exited | dead
  pid: number; // 0 when not running
  networkMode: string; // "bridge", "host", "none", "container:<id>", or a network name
  endpoints: ObservedEndpoint[];
  startedAt?: string;
}

export interface ObservedNetwork {
  /** The engine whose list shows it; absent: the default engine. */
  engine?: string;
  id: string;
  name: string;
  driver: string;
  /** Docker's Scope: "local", or "swarm" for an overlay network (every engine of the Swarm sees the same id). */
  scope?: string;
  labels: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  subnets: { subnet: string; gateway?: string; ipRange?: string }[];
  options: Record<string, string>;
  /** container ids attached (from network inspect) */
  containerIds: string[];
}

export interface ObservedVolume {
  /** The engine it is on; absent: the default engine. */
  engine?: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
}

export interface Snapshot {
  /**
   * Every network on the engine (small: engines have tens, not thousands). With several engines,
   * every engine's, each carrying its engine: a swarm network appears once per engine that lists it.
   */
  networks: ObservedNetwork[];
  /** Every container on the engine(s), running or not, with its endpoints. */
  containers: ObservedContainer[];
  /** Every volume on the engine (absent: not listed, e.g. a view built by hand in a test). */
  volumes?: ObservedVolume[];
  takenAt: string; // RFC 3339
}

/** Is this a swarm-scoped network (an overlay, one object across the engines of a Swarm)? */
export function isSwarmNetwork(n: { driver?: string; scope?: string }): boolean {
  return n.scope === 'swarm' || n.driver === 'overlay';
}

/** The part of a view that is on one engine (objects without an engine are the default engine's). */
export function onEngine(view: Snapshot, engine: string): Snapshot {
  const here = (x: { engine?: string }) => engineOf(x) === engine;
  const part: Snapshot = {
    networks: view.networks.filter(here),
    containers: view.containers.filter(here),
    takenAt: view.takenAt,
  };
  if (view.volumes) part.volumes = view.volumes.filter(here);
  return part;
}

/** A container by name on an engine (names are unique per engine, not across engines). */
export function containerNamed(view: Snapshot, name: string, engine: string): ObservedContainer | undefined {
  return view.containers.find((c) => c.name === name && engineOf(c) === engine);
}
