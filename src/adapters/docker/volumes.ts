// Volume operations: list (for snapshot), inspect, create, remove. Remove of a volume already gone
// (404) succeeds; a volume in use is Docker's 409 "volume is in use", reported as it is.
import type Docker from 'dockerode';
import type { DockerPort, VolumeCreateRequest } from '../../ports/index.js';
import type { ObservedVolume } from '../../resolve/index.js';
import type { EngineCalls } from './client.js';

export type VolumeOps = Pick<DockerPort, 'inspectVolume' | 'createVolume' | 'removeVolume'>;

interface RawVolume {
  Name: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
}

export function toVolume(v: RawVolume): ObservedVolume {
  return { name: v.Name, driver: v.Driver ?? 'local', labels: { ...(v.Labels ?? {}) } };
}

/** Every volume on the engine. */
export async function listVolumes(e: EngineCalls): Promise<ObservedVolume[]> {
  const r = await e.call(
    'list volumes',
    (abortSignal) =>
      e.client.listVolumes({ abortSignal } as object) as unknown as Promise<{ Volumes?: RawVolume[] | null }>,
  );
  return (r.Volumes ?? []).map(toVolume);
}

export function volumeOps(e: EngineCalls): VolumeOps {
  const { client: docker, call, tolerant } = e;
  return {
    async inspectVolume(name) {
      const v = await tolerant(
        `inspect volume "${name}"`,
        (abortSignal) => docker.getVolume(name).inspect({ abortSignal } as object) as Promise<RawVolume>,
      );
      return v ? toVolume(v) : undefined;
    },

    async createVolume(req: VolumeCreateRequest) {
      await call(`create volume "${req.name}"`, (abortSignal) =>
        docker.createVolume({
          Name: req.name,
          Driver: req.driver,
          DriverOpts: req.options,
          Labels: req.labels,
          abortSignal,
        } as unknown as Docker.VolumeCreateOptions),
      );
    },

    async removeVolume(name) {
      await tolerant(
        `remove volume "${name}"`,
        (abortSignal) => docker.getVolume(name).remove({ abortSignal } as object) as Promise<unknown>,
      );
    },
  };
}
