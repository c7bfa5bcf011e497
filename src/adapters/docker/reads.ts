// Reading the engine: the one-pass snapshot() the planner works from, and the granular
// inspectContainer() / inspectNetwork() that an event-fed cache refreshes one object with. Both
// map through mapping.ts, so a container reads the same either way.
import type { ObservedContainer, ObservedNetwork, Snapshot } from '../../resolve/index.js';
import type { EngineSummary } from '../../ports/index.js';
import { LABEL_MANAGED_BY } from '../../api/ownership.js';
import type { EngineCalls } from './client.js';
import { listVolumes } from './volumes.js';
import type { DockerError } from './errors.js';
import {
  containerFromInspect,
  containerFromSummary,
  toNetwork,
  unresolvedNetworks,
  type MappedContainer,
  type RawContainerInspect,
  type RawContainerSummary,
  type RawNetwork,
} from './mapping.js';

export interface SnapshotOptions {
  /**
   * Also inspect these containers (beyond the faultline-labelled ones and those on faultline
   * networks), e.g. fault targets selected by name: only inspected containers get a pid, aliases
   * and startedAt.
   */
  alsoInspect?: (c: { id: string; name: string; labels: Record<string, string> }) => boolean;
}

export interface Readers {
  snapshot(opts?: SnapshotOptions): Promise<Snapshot>;
  summary(): Promise<EngineSummary>;
  inspectContainer(idOrName: string): Promise<ObservedContainer | undefined>;
  inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined>;
}

/** The engine's inspect of a container; undefined when it does not exist (404). */
export function inspectContainerRaw(
  e: EngineCalls,
  idOrName: string,
  operation = `inspect container ${idOrName}`,
): Promise<RawContainerInspect | undefined> {
  return e.tolerant(
    operation,
    (abortSignal) => e.client.getContainer(idOrName).inspect({ abortSignal } as object) as Promise<RawContainerInspect>,
  );
}

/**
 * The engine's inspect of a network; undefined when it does not exist (404). dockerode's
 * Network.inspect does not pass an abortSignal on (so none is given); the deadline's race still
 * bounds the call.
 */
export function inspectNetworkRaw(
  e: EngineCalls,
  idOrName: string,
  alsoFine?: (err: DockerError) => boolean,
): Promise<RawNetwork | undefined> {
  return e.tolerant(
    `inspect network "${idOrName}"`,
    () => e.client.getNetwork(idOrName).inspect() as Promise<RawNetwork>,
    alsoFine,
  );
}

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

export function readers(e: EngineCalls, opts: { inspectConcurrency: number; now: () => number }): Readers {
  /** The three list calls, at once. */
  const lists = () =>
    Promise.all([
      e.call(
        'list networks',
        (abortSignal) => e.client.listNetworks({ abortSignal } as object) as unknown as Promise<RawNetwork[]>,
      ),
      e.call(
        'list containers',
        (abortSignal) =>
          e.client.listContainers({ all: true, abortSignal } as object) as unknown as Promise<RawContainerSummary[]>,
      ),
      listVolumes(e),
    ]);

  /** One pass over the engine; `dangling` says whether it changed under us. */
  async function readOnce(so: SnapshotOptions): Promise<{ snapshot: Snapshot; dangling: boolean }> {
    const takenAt = new Date(opts.now()).toISOString();
    // The network list lacks attached containers (Containers is {} there); rather than one inspect
    // per network, attachment is derived from the containers' own endpoints below, which also
    // keeps the two halves of the snapshot referentially consistent.
    const [rawNets, rawCtrs, volumes] = await lists();

    const networks = rawNets.map((n) => ({ ...toNetwork(n), containerIds: [] as string[] }));
    const netById = new Map(networks.map((n) => [n.id, n]));
    const networkIdByName = new Map(networks.map((n) => [n.name, n.id]));
    const networkIdOf = (name: string) => networkIdByName.get(name);
    const ownedNets = new Set(networks.filter((n) => LABEL_MANAGED_BY in n.labels).flatMap((n) => [n.id, n.name]));

    const matters = (c: RawContainerSummary): boolean => {
      const labels = c.Labels ?? {};
      if (LABEL_MANAGED_BY in labels) return true;
      // A running container may be a fault target (selected by name or labels): its pid is needed
      // to enter its network namespace, and only inspect gives it.
      if (c.State === 'running') return true;
      const eps = c.NetworkSettings?.Networks ?? {};
      if (
        Object.entries(eps).some(([name, ep]) => ownedNets.has(name) || (!!ep.NetworkID && ownedNets.has(ep.NetworkID)))
      ) {
        return true;
      }
      return !!so.alsoInspect?.({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), labels: { ...labels } });
    };

    const inspected = new Map<string, RawContainerInspect | undefined>();
    const toInspect = rawCtrs.filter(matters);
    await mapLimit(toInspect, opts.inspectConcurrency, async (c) => {
      inspected.set(c.Id, await inspectContainerRaw(e, c.Id));
    });

    const containers: ObservedContainer[] = [];
    for (const c of rawCtrs) {
      let m: MappedContainer;
      if (inspected.has(c.Id)) {
        const ins = inspected.get(c.Id);
        if (!ins) continue; // removed between list and inspect
        m = containerFromInspect(ins, networkIdOf, c);
      } else {
        // Not ours: the list call's data is enough (no aliases, no pid).
        m = containerFromSummary(c, networkIdOf);
      }
      containers.push(m.container);
      for (const id of m.attachedTo) netById.get(id)?.containerIds.push(m.container.id);
    }

    const dangling = containers.some((c) =>
      c.endpoints.some((ep) => ep.networkId !== '' && !netById.has(ep.networkId)),
    );
    for (const n of networks) n.containerIds.sort();
    return { snapshot: { networks, containers, volumes, takenAt }, dangling };
  }

  return {
    async summary() {
      const [rawNets, rawCtrs, volumes] = await lists();
      // A created (never started) container's endpoints carry no NetworkID: its name says which.
      const idByName = new Map(rawNets.map((n) => [n.Name, n.Id]));
      return {
        containers: rawCtrs.map((c) => ({
          id: c.Id,
          state: c.State,
          networkIds: [
            ...new Set(
              Object.entries(c.NetworkSettings?.Networks ?? {})
                .map(([name, ep]) => ep.NetworkID || idByName.get(name) || '')
                .filter(Boolean),
            ),
          ].sort(),
        })),
        networks: rawNets.map((n) => n.Id),
        volumes: volumes.map((v) => v.name),
      };
    },

    /**
     * Reads networks, containers and (bounded, in parallel) the inspects of the containers that
     * matter. If a container turns out attached to a network the network list did not have (it was
     * created mid-read), the read is repeated, up to 3 times in all; the last one is returned as is.
     */
    async snapshot(so: SnapshotOptions = {}) {
      let last: Snapshot | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        const { snapshot, dangling } = await readOnce(so);
        if (!dangling) return snapshot;
        last = snapshot;
      }
      return last as Snapshot;
    },

    /**
     * One container as snapshot() shows an inspected one. Endpoints of a created (never started)
     * container carry no NetworkID; each such network is inspected by name to fill it in ('' when
     * that network is gone, as in snapshot(), or when two networks have that name).
     */
    async inspectContainer(idOrName) {
      const ins = await inspectContainerRaw(e, idOrName);
      if (!ins) return undefined;
      const names = unresolvedNetworks(ins.NetworkSettings?.Networks);
      const ids = new Map<string, string>();
      for (const name of names) {
        const n = await inspectNetworkRaw(e, name, (err) => err.statusCode === 400);
        if (n) ids.set(name, n.Id);
      }
      return containerFromInspect(ins, (name) => ids.get(name)).container;
    },

    /**
     * One network as snapshot() shows it, containerIds from the inspect (the containers with a live
     * endpoint, sorted). By id, or by a name only one network has: a name two networks share
     * (a create race can leave that) is Docker's 400 "is ambiguous", an InvalidRequest DockerError.
     */
    async inspectNetwork(idOrName) {
      const n = await inspectNetworkRaw(e, idOrName);
      return n ? toNetwork(n) : undefined;
    },
  };
}
