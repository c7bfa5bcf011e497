// createDockerPort(): the DockerPort over dockerode, composed from this folder's parts: reads
// (snapshot, inspect), network and container operations, and the event stream.
//
// Behaviours chosen here (the planner and executor rely on them):
// - Idempotent removals: removeNetwork / removeContainer / disconnect / stopContainer of something
//   already gone (404) succeed; so does disconnect of a container that is not connected (Docker
//   20.10 answers 500 "is not connected to the network") and remove of a container whose removal
//   is already in progress (409). The goal state already holds. (containers.ts, networks.ts)
// - startContainer of a running container (304) succeeds. startContainer of a missing one fails.
// - connect of an already-connected container: if the existing endpoint already has every
//   requested alias and the requested static IPs, it is a no-op; otherwise it fails with code
//   AlreadyConnected (disconnect first to change an endpoint). This is checked by inspecting the
//   container first, because Docker 20.10 answers 200 to a second connect of a *created* container
//   and silently keeps the old endpoint; for a running one it answers 403 "endpoint with name X
//   already exists", which is mapped the same way. (networks.ts)
// - Aliases: Docker 20.10 adds the container's 12-character short id to every user-defined
//   network endpoint's Aliases (also before start); that alias is stripped. 20.10 does NOT add the
//   container name (later engines list it under DNSNames instead); an alias equal to the name is
//   kept, because then the user asked for it. (mapping.ts)
// - inspectContainer / inspectNetwork of something absent (404) resolve to undefined; they map
//   exactly as snapshot() does. (reads.ts)
// - Every call has a deadline (timeoutMs; stop and restart add their grace period). (engine.ts)
// - Every error is a DockerError: what we tried, on what, Docker's own words, HTTP statusCode.
//   (errors.ts)
import type Docker from 'dockerode';
import type { DockerPort, EngineSummary } from '../../ports/index.js';
import type { Snapshot } from '../../resolve/index.js';
import { containerOps } from './containers.js';
import { connectEngine, engineCalls, type EngineOptions } from './client.js';
import { engineEventSource, watchWithReconnect, type EventStreamSource, type WatchOptions } from './events.js';
import { networkOps } from './networks.js';
import { readers, type SnapshotOptions } from './reads.js';
import { volumeOps } from './volumes.js';

export interface DockerPortOptions extends WatchOptions, EngineOptions {
  /** Limit per API call (stop adds its own grace period). Default 30 s. */
  timeoutMs?: number;
  /** Parallel container inspects during snapshot(). Default 8. */
  inspectConcurrency?: number;
  /** Replaces the real /events stream (tests). */
  eventSource?: EventStreamSource;
}

/** DockerPort plus what the port does not (yet) express. */
export interface DockerAdapter extends DockerPort {
  /** See SnapshotOptions. */
  snapshot(opts?: SnapshotOptions): Promise<Snapshot>;
  summary(): Promise<EngineSummary>;
  /**
   * The dockerode client this port talks through, for the other adapters that must reach the same
   * engine (the netns helper, the probe's scratch container). Wiring passes it on; the core never
   * sees it.
   */
  readonly client: Docker;
}

/** Creates the Docker adapter. Reads DOCKER_HOST etc. (through dockerode) only when called. */
export function createDockerPort(opts: DockerPortOptions = {}): DockerAdapter {
  const client = connectEngine(opts);
  const e = engineCalls(client, opts.timeoutMs ?? 30_000);
  return {
    client,

    async ping() {
      await e.call('ping the Docker engine', (abortSignal) => e.loose.ping({ abortSignal }));
    },

    ...readers(e, { inspectConcurrency: opts.inspectConcurrency ?? 8, now: opts.now ?? Date.now }),
    ...networkOps(e),
    ...containerOps(e),
    ...volumeOps(e),

    async imageExists(ref) {
      const found = await e.tolerant(
        `inspect image "${ref}"`,
        (abortSignal) => client.getImage(ref).inspect({ abortSignal } as object) as Promise<unknown>,
      );
      return found !== undefined;
    },

    async swarm() {
      const info = (await e.call("read the engine's info", (abortSignal) =>
        (client as unknown as { info(o: object): Promise<unknown> }).info({ abortSignal }),
      )) as {
        Swarm?: {
          LocalNodeState?: string;
          ControlAvailable?: boolean;
          Cluster?: { ID?: string };
          NodeAddr?: string;
          NodeID?: string;
        };
      };
      const sw = info.Swarm ?? {};
      const nodes = sw.ControlAvailable
        ? await e.call("list the Swarm's nodes", (abortSignal) =>
            (client as unknown as { listNodes(o: object): Promise<{ ID: string }[]> }).listNodes({ abortSignal }),
          )
        : undefined;
      return {
        ...(sw.NodeID ? { nodeId: sw.NodeID } : {}),
        ...(nodes ? { nodeIds: nodes.map((n) => n.ID) } : {}),
        state: sw.LocalNodeState ?? 'inactive',
        manager: !!sw.ControlAvailable,
        ...(sw.Cluster?.ID ? { clusterId: sw.Cluster.ID } : {}),
        ...(sw.NodeAddr ? { nodeAddr: sw.NodeAddr } : {}),
      };
    },

    watchEvents(onEvent, signal, onReconnect) {
      return watchWithReconnect(opts.eventSource ?? engineEventSource(e), onEvent, signal, onReconnect, opts);
    },
  };
}
