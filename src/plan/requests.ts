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
  networkMode?: string;
}
