// Ports: the interfaces through which the core reaches the outside world. Adapters implement
// them (adapters/), tests fake them. Nothing in this folder does I/O.
import type { ObservedContainer, ObservedNetwork, Snapshot } from '../plan/observed.js';
import type { ContainerCreateRequest, EndpointRequest, NetworkCreateRequest } from '../plan/requests.js';

export type { ContainerCreateRequest, EndpointRequest, NetworkCreateRequest } from '../plan/requests.js';

export interface Clock {
  now(): Date;
  /** Resolves after ms, or rejects with AbortError when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface DockerEvent {
  type: 'container' | 'network' | 'daemon' | string;
  action: string; // start, die, destroy, connect, disconnect, ...
  actorId: string;
  attributes: Record<string, string>; // labels, name, container (for network events) ...
  time: number; // unix seconds
}

/** Everything faultline asks of a Docker engine. Errors carry Docker's message. */
export interface DockerPort {
  ping(): Promise<void>;
  snapshot(): Promise<Snapshot>;
  /** One container as snapshot() shows it (pid, endpoints, aliases, startedAt); undefined when absent. */
  inspectContainer(idOrName: string): Promise<ObservedContainer | undefined>;
  /** One network as snapshot() shows it (containerIds: live endpoints); undefined when absent. */
  inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined>;
  createNetwork(req: NetworkCreateRequest): Promise<string>;
  removeNetwork(idOrName: string): Promise<void>;
  createContainer(req: ContainerCreateRequest): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  removeContainer(id: string): Promise<void>; // force, with anonymous volumes
  pauseContainer(id: string): Promise<void>; // already paused: no-op
  unpauseContainer(id: string): Promise<void>; // not paused: no-op
  killContainer(id: string, signal?: string): Promise<void>; // default SIGKILL
  restartContainer(id: string, timeoutSeconds?: number): Promise<void>;
  connect(network: string, containerId: string, endpoint: EndpointRequest): Promise<void>;
  disconnect(network: string, containerId: string): Promise<void>; // force
  imageExists(ref: string): Promise<boolean>;
  /**
   * Stream engine events to onEvent until signal aborts. Reconnects after the daemon restarts
   * (onReconnect is called each time the stream is re-established, so callers can resync).
   */
  watchEvents(onEvent: (e: DockerEvent) => void, signal: AbortSignal, onReconnect?: () => void): Promise<void>;
}

/** Runs a program inside a network namespace (nsenter or a helper container). Argument arrays only. */
export interface NetnsExec {
  run(
    target: { pid: number; containerId: string },
    argv: string[],
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}
