// What the planner asks Docker to create. Plain data, defined here (not in ports/) because the
// pure planner builds them; ports/ re-exports them for the adapters.

export interface NetworkCreateRequest {
  name: string;
  driver: string;
  labels: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  options: Record<string, string>;
  ipam?: {
    driver: string;
    config: { subnet: string; gateway?: string; ipRange?: string; auxAddresses?: Record<string, string> }[];
    options: Record<string, string>;
  };
}

export interface EndpointRequest {
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  /** Driver options of the endpoint: faultline marks its endpoints on external networks with one. */
  driverOpts?: Record<string, string>;
}

/** A mount of a container: a named volume, a bind of a host path, or a tmpfs. */
export type MountRequest =
  | {
      type: 'volume';
      source: string;
      target: string;
      readOnly: boolean;
      /** How Docker creates the volume if it is absent at create (as volume.create would: owned, labelled). */
      create?: VolumeCreateRequest;
    }
  | { type: 'bind'; source: string; target: string; readOnly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number };

export interface VolumeCreateRequest {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export interface ContainerCreateRequest {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  env: string[]; // KEY=value
  labels: Record<string, string>;
  hostname?: string;
  workingDir?: string;
  user?: string;
  capAdd: string[];
  capDrop: string[];
  restartPolicy: string;
  ports: { containerPort: string; hostIp?: string; hostPort?: string }[]; // containerPort "80/tcp"
  stopSignal?: string;
  stopTimeout?: number;
  /** First network to attach at create time (Docker attaches one network at create). */
  network?: { name: string; endpoint: EndpointRequest };
  /** pid=host and similar, for the helper container only. */
  pidMode?: string;
  /** "none", "host" or "container:<docker name>" (otherwise the first network's name, at create). */
  networkMode?: string;
  mounts?: MountRequest[];
}
