// The observed snapshot: what live Docker looks like, read ONCE per reconcile (observe/) and
// handed to the pure planner. Plain data; nothing here talks to Docker.

/** Labels every owned Docker object carries. */
export const LABEL_SCENARIO = 'faultline.dev/scenario';
export const LABEL_MANAGED_BY = 'faultline.dev/managed-by';
export const LABEL_NAME = 'faultline.dev/name'; // short name inside the scenario
export const LABEL_HASH = 'faultline.dev/config-hash'; // hash of the object's desired config
export const LABEL_ROLE = 'faultline.dev/role'; // network | container | helper
/** Which controller owns it: several controllers (directories) may share one engine. */
export const LABEL_CONTROLLER = 'faultline.dev/controller';
export const MANAGED_BY = 'faultline';

export interface ObservedEndpoint {
  networkId: string;
  networkName: string;
  ipv4Address?: string; // without prefix length
  ipv6Address?: string;
  aliases: string[]; // user-visible aliases (Docker's own short-id alias removed)
  macAddress?: string;
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

export interface Snapshot {
  /** Every network on the engine (small: engines have tens, not thousands). */
  networks: ObservedNetwork[];
  /** Every container on the engine, running or not, with its endpoints. */
  containers: ObservedContainer[];
  takenAt: string; // RFC 3339
}
