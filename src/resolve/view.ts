// The view of Docker that every pure layer works on: networks and containers as they are, kept
// current by observe/ (listed once, then followed through Docker's events) and handed to the
// resolvers and planners as an immutable value. Plain data; nothing here talks to Docker.
// Ownership labels and names: api/ownership.ts.

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
  id: string;
  name: string;
  driver: string;
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
  name: string;
  driver: string;
  labels: Record<string, string>;
}

export interface Snapshot {
  /** Every network on the engine (small: engines have tens, not thousands). */
  networks: ObservedNetwork[];
  /** Every container on the engine, running or not, with its endpoints. */
  containers: ObservedContainer[];
  /** Every volume on the engine (absent: not listed, e.g. a view built by hand in a test). */
  volumes?: ObservedVolume[];
  takenAt: string; // RFC 3339
}
