// Container operations. Remove, stop, pause and unpause of a container already gone (404) succeed,
// as do remove of one whose removal is already in progress (409), stop of a stopped one and start
// of a running one (304), pause of a paused one and unpause of one not paused (409): the goal state
// already holds. start, kill and restart of a missing container fail.
import type Docker from 'dockerode';
import type { ContainerCreateRequest, DockerPort } from '../../ports/index.js';
import type { EngineCalls } from './client.js';
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
      try {
        await call(
          `start container ${id}`,
          (abortSignal) => docker.getContainer(id).start({ abortSignal } as object) as Promise<unknown>,
        );
      } catch (err) {
        if (err instanceof DockerError && err.statusCode === 304) return; // already running
        throw err;
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
      await tolerant(
        `remove container ${id}`,
        (abortSignal) =>
          docker.getContainer(id).remove({ force: true, v: true, abortSignal } as object) as Promise<unknown>,
        (err) => err.statusCode === 409 && /already in progress/i.test(err.dockerMessage ?? ''),
      );
    },
  };
}
