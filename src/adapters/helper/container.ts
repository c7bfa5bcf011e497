// The helper container's lifecycle: one per engine, named `faultline-netns-helper`, found, started,
// or (re)created on demand by its config hash.
//
// The helper runs the image from scripts/build-helper-image.sh (tc, ip, iptables*, nsenter from the
// host that built it; busybox only for PID 1). Its shape, and why each part is there:
// - PidMode host: Docker's State.Pid is a host pid; the helper must see /proc/<that pid>.
// - NetworkMode none: it needs no network of its own, and its own netns is an empty one, so a
//   mistaken target of "the helper's pid" could never land rules in the host's netns (with
//   network host it would).
// - CapDrop ALL, then CapAdd (measured on engine 20.10 / kernel with nf_tables; see the test):
//     SYS_ADMIN   setns(2) into the target netns ("reassociate to namespace 'ns/net' failed:
//                 Operation not permitted" without it).
//     SYS_PTRACE  opening /proc/<pid>/ns/net is a ptrace-read access check. Without SYS_PTRACE it
//                 passes only for targets with the same uid AND a capability set that is a subset
//                 of the helper's; a target running as a non-root user or with an extra capability
//                 gives "cannot open /proc/<pid>/ns/net: Permission denied".
//     NET_ADMIN   tc, ip, iptables (netlink / setsockopt) in the target netns.
//     NET_RAW     iptables-legacy opens a raw socket; the nf_tables backend does not need it.
//   Not privileged; no new privileges; read-only root with a tmpfs /run (iptables-legacy -w
//   takes /run/xtables.lock).
// - apparmor=unconfined: docker-default only allows ptrace-read of peers confined by the same
//   profile, which would fail for targets running under another profile. (This engine has no
//   AppArmor or seccomp, so that part is by the profile's documentation, not measured here.) The
//   default seccomp profile already allows setns when SYS_ADMIN is added.
//
// Ownership: the helper carries faultline.dev/managed-by=faultline, faultline.dev/role=helper (the
// planner never selects it) and faultline.dev/config-hash over its image id and the settings above.
// live() recreates a helper whose hash or image differs, starts a stopped one, and refuses to
// touch a same-named container that is not faultline's.
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { LABEL_HASH, LABEL_MANAGED_BY, LABEL_ROLE, MANAGED_BY } from '../../api/ownership.js';
import type { EngineCalls } from '../docker/client.js';
import { DockerError } from '../docker/errors.js';

export const HELPER_NAME = 'faultline-netns-helper';
export const HELPER_IMAGE = 'faultline/netns-helper:latest';
/** Added to an otherwise empty capability set (CapDrop ALL); see the header for why each. */
export const HELPER_CAPABILITIES: readonly string[] = Object.freeze([
  'NET_ADMIN',
  'NET_RAW',
  'SYS_ADMIN',
  'SYS_PTRACE',
]);

/** The running helper. */
export interface Live {
  id: string;
  pid: number;
}

export interface HelperContainer {
  /** The running helper, found, started or made to match this configuration; concurrent callers share one attempt. */
  live(): Promise<Live>;
  /** Forgets the remembered helper (an exec found it removed or stopped): the next live() looks again. */
  forget(): void;
  /** Removes the helper container (only if it is faultline's). Absent is fine. */
  remove(): Promise<void>;
}

interface RawInspect {
  Id: string;
  Image: string;
  Config?: { Labels?: Record<string, string> | null };
  State?: { Status?: string; Running?: boolean; Paused?: boolean; Pid?: number; Error?: string; ExitCode?: number };
}

/** The create body minus name and labels: what the config hash covers (with the image id). */
function helperHostConfig(capabilities: readonly string[] = HELPER_CAPABILITIES): Record<string, unknown> {
  return {
    PidMode: 'host',
    NetworkMode: 'none',
    CapDrop: ['ALL'],
    CapAdd: [...capabilities],
    SecurityOpt: ['no-new-privileges:true', 'apparmor=unconfined'],
    ReadonlyRootfs: true,
    Tmpfs: { '/run': 'rw,nosuid,nodev,noexec,size=1m' },
    RestartPolicy: { Name: 'no' },
    Privileged: false,
  };
}

export function helperConfigHash(
  imageId: string,
  labels: Record<string, string>,
  capabilities: readonly string[] = HELPER_CAPABILITIES,
): string {
  const canonical = JSON.stringify({
    v: 1,
    imageId,
    hostConfig: helperHostConfig(capabilities),
    labels: Object.entries(labels).sort(),
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

const shortId = (id: string) => id.slice(0, 12);

export function helperContainer(
  e: EngineCalls,
  opts: { name: string; image: string; labels: Record<string, string>; capabilities?: readonly string[] },
): HelperContainer {
  const { client: docker, call, tolerant } = e;
  const { name, image } = opts;
  const extraLabels = { ...opts.labels };
  // The one piece of state: the running helper, shared by concurrent callers while it is found or
  // made. Dropped when an exec says the container is gone or stopped.
  let live: Promise<Live> | undefined;

  const inspectHelper = () =>
    tolerant(
      `inspect helper container "${name}"`,
      (abortSignal) => docker.getContainer(name).inspect({ abortSignal } as object) as Promise<RawInspect>,
    );

  async function removeById(id: string): Promise<void> {
    await tolerant(
      `remove helper container "${name}"`,
      (abortSignal) =>
        docker.getContainer(id).remove({ force: true, v: true, abortSignal } as object) as Promise<unknown>,
      // Gone already, or its removal is in progress (409): the goal holds or soon will.
      (err) => err.statusCode === 409,
    );
  }

  function assertOurs(c: RawInspect): void {
    const labels = c.Config?.Labels ?? {};
    if (labels[LABEL_MANAGED_BY] !== MANAGED_BY || labels[LABEL_ROLE] !== 'helper') {
      throw new DockerError({
        code: 'Conflict',
        operation: `ensure helper container "${name}"`,
        message:
          `a container named "${name}" (${shortId(c.Id)}) exists but is not faultline's netns helper ` +
          `(labels ${LABEL_MANAGED_BY}=${MANAGED_BY}, ${LABEL_ROLE}=helper missing); ` +
          'faultline never changes containers it does not own: remove or rename it, or choose another helper name',
      });
    }
  }

  async function ensureLive(): Promise<Live> {
    const op = `ensure helper container "${name}"`;
    let img: { Id: string };
    try {
      img = await call(
        `inspect helper image "${image}"`,
        (abortSignal) => docker.getImage(image).inspect({ abortSignal } as object) as Promise<{ Id: string }>,
      );
    } catch (err) {
      if (err instanceof DockerError && err.statusCode === 404) {
        throw new DockerError(
          {
            code: 'NotFound',
            operation: op,
            statusCode: 404,
            dockerMessage: err.dockerMessage,
            message:
              `helper image "${image}" is not on the Docker engine; build it with scripts/build-helper-image.sh ` +
              '(against that engine: DOCKER_HOST=...); faultline never pulls it',
          },
          { cause: err },
        );
      }
      throw err;
    }
    const labels = { ...extraLabels, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_ROLE]: 'helper' };
    const hash = helperConfigHash(img.Id, labels, opts.capabilities);
    let lastState = 'absent';

    // A few rounds, because another controller may be creating, starting or replacing the same
    // helper right now: every step re-reads instead of assuming its previous step held.
    for (let round = 0; round < 8; round++) {
      const c = await inspectHelper();
      if (!c) {
        try {
          await call(`create helper container "${name}"`, (abortSignal) =>
            docker.createContainer({
              name,
              Image: image,
              Labels: { ...labels, [LABEL_HASH]: hash },
              Tty: false,
              StopTimeout: 2,
              HostConfig: helperHostConfig(opts.capabilities),
              abortSignal,
            } as unknown as Docker.ContainerCreateOptions),
          );
        } catch (err) {
          if (!(err instanceof DockerError && err.statusCode === 409)) throw err; // someone else created it: re-read
        }
        continue;
      }
      assertOurs(c);
      const st = c.State ?? {};
      lastState = st.Status ?? 'unknown';
      if (
        c.Config?.Labels?.[LABEL_HASH] !== hash ||
        c.Image !== img.Id ||
        st.Status === 'dead' ||
        st.Status === 'removing'
      ) {
        await removeById(c.Id);
        if (st.Status === 'removing') await delay(100 * (round + 1));
        continue;
      }
      if (st.Running && !st.Paused && !st.Status?.startsWith('restarting') && (st.Pid ?? 0) > 0) {
        return { id: c.Id, pid: st.Pid as number };
      }
      if (st.Paused) {
        await call(
          `unpause helper container "${name}"`,
          (abortSignal) => docker.getContainer(c.Id).unpause({ abortSignal } as object) as Promise<unknown>,
        ).catch((err) => {
          if (!(err instanceof DockerError && err.statusCode === 409)) throw err;
        });
        continue;
      }
      try {
        await call(
          `start helper container "${name}"`,
          (abortSignal) => docker.getContainer(c.Id).start({ abortSignal } as object) as Promise<unknown>,
        );
      } catch (err) {
        if (!(
          err instanceof DockerError &&
          (err.statusCode === 304 || err.statusCode === 404 || err.statusCode === 409)
        ))
          throw err;
      }
    }
    throw new DockerError({
      code: 'DockerError',
      operation: op,
      message: `${op}: it did not reach "running" (last state: ${lastState}); see \`docker logs ${name}\` and \`docker inspect ${name}\``,
    });
  }

  return {
    live() {
      if (!live) {
        const attempt = ensureLive();
        live = attempt;
        attempt.catch(() => {
          if (live === attempt) live = undefined;
        });
      }
      return live;
    },

    forget() {
      live = undefined;
    },

    async remove() {
      live = undefined;
      const c = await inspectHelper();
      if (!c) return;
      assertOurs(c);
      await removeById(c.Id);
    },
  };
}
