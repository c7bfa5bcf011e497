// Container operations. Remove, stop, pause and unpause of a container already gone (404) succeed,
// as do remove of one whose removal is already in progress (409), stop of a stopped one and start
// of a running one (304), pause of a paused one and unpause of one not paused (409): the goal state
// already holds. start, kill and restart of a missing container fail. A start refused because a
// network still holds the container's endpoint from before an engine restart is repaired once
// (see dropStaleEndpoint).
import type Docker from 'dockerode';
import type { ContainerCreateRequest, DockerPort } from '../../ports/index.js';
import type { EngineCalls } from './client.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../api/ownership.js';
import { DockerError } from './errors.js';
import { containerCreateBody } from './translate.js';

export type ContainerOps = Pick<
  DockerPort,
  | 'createContainer'
  | 'startContainer'
  | 'stopContainer'
  | 'pauseContainer'
  | 'unpauseContainer'
  | 'killContainer'
  | 'restartContainer'
  | 'removeContainer'
>;

export function containerOps(e: EngineCalls): ContainerOps {
  const { client: docker, call, tolerant, timeoutMs } = e;
  const inspect = (id: string) =>
    call(`inspect container ${id}`, (abortSignal) => docker.getContainer(id).inspect({ abortSignal } as object));

  /** Remove with its anonymous volumes; gone already (404) or being removed (409) is done. */
  const remove = (id: string) =>
    tolerant(
      `remove container ${id}`,
      (abortSignal) =>
        docker.getContainer(id).remove({ force: true, v: true, abortSignal } as object) as Promise<unknown>,
      (err) => err.statusCode === 409 && /already in progress/i.test(err.dockerMessage ?? ''),
    );

  /**
   * An engine stopped part-way through a container's start (a daemon restart while the container
   * ran, or while it was being started again) can keep that container's endpoint in a network's
   * store; every later start is then refused with 403 "endpoint with name <container> already
   * exists in network <network>" (moby#20398, #33796). Docker's remedy is a forced disconnect. The
   * container is then connected again with the endpoint it had (addresses, aliases, options) and
   * may be started. True when that was done; false when `err` is anything else, or names another
   * container's endpoint.
   */
  async function dropStaleEndpoint(id: string, err: unknown): Promise<boolean> {
    if (!(err instanceof DockerError) || err.statusCode !== 403) return false;
    const m = /endpoint with name (\S+) already exists in network (\S+)/i.exec(err.dockerMessage ?? '');
    if (!m) return false;
    const [, endpoint, network] = m;
    const info = await inspect(id);
    const had = info.NetworkSettings?.Networks?.[network] as
      | { IPAMConfig?: object | null; Aliases?: string[] | null; Links?: string[] | null; DriverOpts?: object | null }
      | undefined;
    if (info.Name.replace(/^\//, '') !== endpoint || !had) return false;
    const net = docker.getNetwork(network);
    await call(
      `disconnect container ${id} from network "${network}" (a stale endpoint)`,
      (abortSignal) => net.disconnect({ Container: id, Force: true, abortSignal } as object) as Promise<unknown>,
    );
    await call(
      `connect container ${id} to network "${network}" again`,
      (abortSignal) =>
        net.connect({
          Container: id,
          EndpointConfig: {
            ...(had.IPAMConfig ? { IPAMConfig: had.IPAMConfig } : {}),
            ...(had.Aliases?.length ? { Aliases: had.Aliases } : {}),
            ...(had.Links?.length ? { Links: had.Links } : {}),
            ...(had.DriverOpts ? { DriverOpts: had.DriverOpts } : {}),
          },
          abortSignal,
        } as object) as Promise<unknown>,
    );
    return true;
  }

  /**
   * A start that dockerd refuses with 500 "task <id>: already exists": containerd still holds a
   * task of this container from a start that raced the engine's shutdown (dockerd stopped before
   * it recorded it; after the restart it shows the container exited, and refuses every start —
   * seen in CI after a daemon restart). Docker offers no way to start it again. A container
   * faultline made is removed, and made again by the next reconcile from its spec (named volumes
   * stay); anyone else's is left alone and the error says what to do. Throws in both cases.
   */
  async function dropStaleTask(id: string, err: unknown): Promise<void> {
    if (!(err instanceof DockerError) || err.statusCode !== 500) return;
    if (!/\btask [0-9a-f]+: already exists/i.test(err.dockerMessage ?? '')) return;
    const info = await inspect(id);
    const ours = info.Config?.Labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
    if (ours) await remove(id);
    const why = 'Docker kept a task of this container from before the engine restarted and cannot start it again';
    throw err.explained(
      ours ? `${why}: removed, to be made again from the spec` : `${why}: remove the container and create it again`,
    );
  }

  return {
    async createContainer(req: ContainerCreateRequest) {
      const operation = `create container "${req.name}"`;
      const body = containerCreateBody(req);
      const c = await call(operation, (abortSignal) =>
        docker.createContainer({ ...body, abortSignal } as unknown as Docker.ContainerCreateOptions),
      );
      return c.id;
    },

    async startContainer(id) {
      const start = () =>
        call(
          `start container ${id}`,
          (abortSignal) => docker.getContainer(id).start({ abortSignal } as object) as Promise<unknown>,
        );
      try {
        await start();
      } catch (err) {
        if (err instanceof DockerError && err.statusCode === 304) return; // already running
        await dropStaleTask(id, err);
        if (!(await dropStaleEndpoint(id, err))) throw err;
        try {
          await start();
        } catch (again) {
          if (again instanceof DockerError && again.statusCode === 304) return;
          throw again;
        }
      }
    },

    async stopContainer(id, timeoutSeconds) {
      const operation = `stop container ${id}`;
      // The engine holds the request open for the whole grace period, so the deadline grows with it.
      const budget = timeoutMs + (timeoutSeconds ?? 10) * 1000;
      await tolerant(
        operation,
        (abortSignal) =>
          docker.getContainer(id).stop({
            ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}),
            abortSignal,
          } as object) as Promise<unknown>,
        (err) => err.statusCode === 304, // already stopped
        budget,
      );
    },

    async pauseContainer(id) {
      await tolerant(
        `pause container ${id}`,
        (abortSignal) => docker.getContainer(id).pause({ abortSignal } as object) as Promise<unknown>,
        (err) => err.statusCode === 409 && /already paused/i.test(err.dockerMessage ?? ''),
      );
    },

    async unpauseContainer(id) {
      await tolerant(
        `unpause container ${id}`,
        (abortSignal) => docker.getContainer(id).unpause({ abortSignal } as object) as Promise<unknown>,
        (err) => err.statusCode === 409 && /not paused/i.test(err.dockerMessage ?? ''),
      );
    },

    async killContainer(id, signal) {
      await call(
        `kill container ${id} with ${signal ?? 'SIGKILL'}`,
        (abortSignal) =>
          docker.getContainer(id).kill({ signal: signal ?? 'SIGKILL', abortSignal } as object) as Promise<unknown>,
      );
    },

    async restartContainer(id, timeoutSeconds) {
      await call(
        `restart container ${id}`,
        (abortSignal) =>
          docker.getContainer(id).restart({
            ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}),
            abortSignal,
          } as object) as Promise<unknown>,
        timeoutMs + (timeoutSeconds ?? 10) * 1000,
      );
    },

    async removeContainer(id) {
      await remove(id);
    },
  };
}
