// Network operations: create, remove, and connecting containers to networks.
//
// - removeNetwork of a network already gone (404) succeeds; so does disconnect of a container or
//   network already gone, and of a container that is not connected (Docker 20.10 answers 500 "is
//   not connected to the network").
// - connect of an already-connected container: if the existing endpoint already has every
//   requested alias and the requested static IPs, it is a no-op; otherwise it fails with code
//   AlreadyConnected (disconnect first to change an endpoint). This is checked by inspecting the
//   container first, because Docker 20.10 answers 200 to a second connect of a *created* container
//   and silently keeps the old endpoint; for a running one it answers 403 "endpoint with name X
//   already exists", which is mapped the same way.
// - removeNetwork refused with 403 "has active endpoints" by endpoints whose containers are gone (an
//   engine that stopped part-way through a container's removal keeps them: moby#17217, #23302)
//   drops those endpoints with a forced disconnect by endpoint name, Docker's remedy, and removes
//   the network again. An endpoint of a container that still exists is left alone, and so is a
//   count of endpoints Docker does not list (moby#42119: only an engine restart clears it); the
//   error then says which.
import type Docker from 'dockerode';
import type { DockerPort, EndpointRequest, NetworkCreateRequest } from '../../ports/index.js';
import type { EngineCalls } from './client.js';
import { DockerError } from './errors.js';
import { stripPrefix, type RawEndpoint } from './mapping.js';
import { inspectContainerRaw, inspectNetworkRaw } from './reads.js';
import { endpointConfig, networkCreateBody } from './translate.js';

export type NetworkOps = Pick<DockerPort, 'createNetwork' | 'removeNetwork' | 'connect' | 'disconnect'>;

export function networkOps(e: EngineCalls): NetworkOps {
  const { client: docker, call, tolerant } = e;

  /** The container's current endpoint on `network` (by name or id), if any. */
  async function findEndpoint(
    network: string,
    containerId: string,
    operation: string,
  ): Promise<RawEndpoint | undefined> {
    const ins = await inspectContainerRaw(e, containerId, operation);
    if (!ins) return undefined; // let the connect itself say "No such container"
    for (const [name, ep] of Object.entries(ins.NetworkSettings?.Networks ?? {})) {
      if (
        name === network ||
        (ep.NetworkID && (ep.NetworkID === network || (network.length >= 12 && ep.NetworkID.startsWith(network))))
      ) {
        return { ...ep, Aliases: (ep.Aliases ?? []).filter((a) => a !== ins.Id.slice(0, 12)) };
      }
    }
    return undefined;
  }

  /**
   * Forced disconnect of every endpoint on the network whose container is gone, after a removal
   * refused for active endpoints. Throws `refused`, with what Docker shows, when an endpoint's
   * container still exists or Docker lists no endpoint at all.
   */
  async function dropStaleEndpoints(network: string, refused: DockerError): Promise<void> {
    const info = await inspectNetworkRaw(e, network);
    if (!info) return; // gone meanwhile: the second removal succeeds
    const endpoints = Object.entries((info.Containers ?? {}) as Record<string, { Name?: string }>);
    const live: string[] = [];
    const stale: string[] = [];
    for (const [key, ep] of endpoints) {
      // Docker lists an endpoint without a container under "ep-<endpoint id>".
      const exists = !key.startsWith('ep-') && (await inspectContainerRaw(e, key)) !== undefined;
      (exists ? live : stale).push(ep.Name || key);
    }
    const why = live.length
      ? `containers still attached: ${live.join(', ')}`
      : stale.length === 0
        ? 'Docker counts endpoints on it that it does not list (a stale count, moby#42119): restart the Docker engine to clear it'
        : '';
    if (why) throw refused.explained(why);
    for (const name of stale)
      await tolerant(
        `disconnect endpoint "${name}" from network "${network}" (its container is gone)`,
        (abortSignal) =>
          docker
            .getNetwork(network)
            .disconnect({ Container: name, Force: true, abortSignal } as object) as Promise<unknown>,
        (err) => /is not connected to (the )?network/i.test(err.dockerMessage ?? ''),
      );
  }

  return {
    async createNetwork(req: NetworkCreateRequest) {
      const body = networkCreateBody(req);
      const net = await call(`create network "${req.name}"`, (abortSignal) =>
        docker.createNetwork({ ...body, abortSignal } as unknown as Docker.NetworkCreateOptions),
      );
      return net.id;
    },

    async removeNetwork(idOrName) {
      const remove = () =>
        tolerant(
          `remove network "${idOrName}"`,
          (abortSignal) => docker.getNetwork(idOrName).remove({ abortSignal } as object) as Promise<unknown>,
        );
      try {
        await remove();
      } catch (err) {
        if (!(
          err instanceof DockerError &&
          err.statusCode === 403 &&
          /has active endpoints/i.test(err.dockerMessage ?? '')
        ))
          throw err;
        await dropStaleEndpoints(idOrName, err);
        await remove();
      }
    },

    async connect(network, containerId, endpoint) {
      const operation = `connect container ${containerId} to network "${network}"`;
      const existing = await findEndpoint(network, containerId, operation);
      if (existing) return checkSameEndpoint(operation, containerId, existing, endpoint);
      try {
        await call(
          operation,
          (abortSignal) =>
            docker.getNetwork(network).connect({
              Container: containerId,
              EndpointConfig: endpointConfig(endpoint),
              abortSignal,
            } as object) as Promise<unknown>,
        );
      } catch (err) {
        // Raced with someone else's connect between our inspect and our call.
        if (err instanceof DockerError && err.statusCode === 403 && /already exists/i.test(err.dockerMessage ?? '')) {
          const now = await findEndpoint(network, containerId, operation);
          if (now) return checkSameEndpoint(operation, containerId, now, endpoint);
        }
        throw err;
      }
    },

    async disconnect(network, containerId) {
      await tolerant(
        `disconnect container ${containerId} from network "${network}"`,
        (abortSignal) =>
          docker
            .getNetwork(network)
            .disconnect({ Container: containerId, Force: true, abortSignal } as object) as Promise<unknown>,
        // 20.10: 500 "container <id> is not connected to the network <name>" (also when the
        // network does not exist but the container does).
        (err) => /is not connected to (the )?network/i.test(err.dockerMessage ?? ''),
      );
    },
  };
}

/** No-op when the existing endpoint already satisfies the request; otherwise AlreadyConnected. */
function checkSameEndpoint(operation: string, containerId: string, have: RawEndpoint, want: EndpointRequest): void {
  const aliases = have.Aliases ?? [];
  const missing = want.aliases.filter((a) => !aliases.includes(a));
  const v4 = have.IPAMConfig?.IPv4Address || have.IPAddress || undefined;
  const v6 = have.IPAMConfig?.IPv6Address || have.GlobalIPv6Address || undefined;
  const problems: string[] = [];
  if (missing.length) problems.push(`lacks aliases [${missing.join(', ')}] (has [${aliases.join(', ')}])`);
  if (want.ipv4Address && stripPrefix(v4) !== want.ipv4Address)
    problems.push(`has IPv4 ${v4 ?? 'none'}, not ${want.ipv4Address}`);
  if (want.ipv6Address && stripPrefix(v6) !== want.ipv6Address)
    problems.push(`has IPv6 ${v6 ?? 'none'}, not ${want.ipv6Address}`);
  if (problems.length === 0) return;
  throw new DockerError({
    code: 'AlreadyConnected',
    operation,
    message:
      `${operation}: container ${containerId} is already connected, but its endpoint ${problems.join('; ')}; ` +
      'Docker cannot change an endpoint in place: disconnect it first, then connect again',
  });
}
