// NetnsExec through a helper container: for when the controller cannot nsenter itself (it is not
// root, runs in a container of its own, or talks to a remote engine). One helper per engine,
// owned and started on demand by the controller (container.ts):
//
//   docker exec faultline-netns-helper nsenter --net=/proc/<pid>/ns/net -- tc -batch -
//
// (dockerExec.ts runs it.) Refused targets: pid 0 (not running), pid 1 (in the helper's host PID
// namespace that is the host's init, whose netns is the host's), and the helper itself.
import type Docker from 'dockerode';
import type { NetnsExec } from '../../ports/index.js';
import { engineCalls } from '../docker/client.js';
import { DockerError } from '../docker/errors.js';
import { describeArgv, ExecError, validateArgv } from '../exec.js';
import { HELPER_CAPABILITIES, HELPER_IMAGE, HELPER_NAME, helperContainer } from './container.js';
import { dockerExec } from './dockerExec.js';

export interface HelperExecOptions {
  /** Container name. Default faultline-netns-helper (tests use their own). */
  name?: string;
  /** Image reference. Default faultline/netns-helper:latest; never pulled. */
  image?: string;
  /** Per command, from exec start to exit; the process is killed after it. Default 10 s. */
  timeoutMs?: number;
  /** Cap on stdout and on stderr, each. Default 16 MiB. Exceeding it rejects (never truncates). */
  maxOutputBytes?: number;
  /** Per Docker API call (inspect, create, exec create...). Default 30 s. */
  apiTimeoutMs?: number;
  /** Extra labels on the helper container (tests mark theirs). Part of the config hash. */
  labels?: Record<string, string>;
  /**
   * Its capabilities (CapDrop ALL, then these). Default HELPER_CAPABILITIES, the smallest set that
   * works (container.ts says why each); a test takes one away to see the failure it makes.
   */
  capabilities?: readonly string[];
}

/** NetnsExec plus the helper's lifecycle; run() calls ensure() itself when needed. */
export interface HelperExec extends NetnsExec {
  /** Makes the helper exist, match this configuration and run. Idempotent; concurrent calls share one attempt. */
  ensure(): Promise<void>;
  /** Removes the helper container (only if it is faultline's). Absent is fine. */
  remove(): Promise<void>;
}

const shortId = (id: string) => id.slice(0, 12);

/** What the kernel says when the helper lacks a capability (setns, /proc/<pid>/ns/net, netlink). */
const DENIED = /Operation not permitted|Permission denied/;

/** Said after such an error: which capabilities the helper must hold, and what takes them away. */
function denied(name: string): string {
  return (
    `faultline: the netns helper "${name}" was refused by the kernel: it needs the capabilities ` +
    `${HELPER_CAPABILITIES.join(', ')} (and apparmor=unconfined), each for a reason given in adapters/helper/README.md; ` +
    `check that the engine (user namespaces, a runtime or policy that drops capabilities) leaves them to it, ` +
    `or run the controller as root on the engine's host (--netns-exec nsenter)`
  );
}

export function createHelperExec(docker: Docker, opts: HelperExecOptions = {}): HelperExec {
  const name = opts.name ?? HELPER_NAME;
  const e = engineCalls(docker, opts.apiTimeoutMs ?? 30_000);
  const helper = helperContainer(e, {
    name,
    image: opts.image ?? HELPER_IMAGE,
    labels: opts.labels ?? {},
    capabilities: opts.capabilities,
  });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxOutputBytes = opts.maxOutputBytes ?? 16 * 1024 * 1024;

  return {
    ensure: async () => {
      await helper.live();
    },

    remove: () => helper.remove(),

    async run(target, argv, stdin) {
      validateArgv(argv);
      const who = `container ${shortId(target.containerId)}`;
      if (!Number.isSafeInteger(target.pid) || target.pid <= 0) {
        throw new ExecError(
          'InvalidArgv',
          `${who}: no network namespace to enter (pid ${target.pid}); is the container running?`,
        );
      }
      if (target.pid === 1) {
        throw new ExecError(
          'InvalidArgv',
          `${who}: refusing pid 1: in the helper's (host) PID namespace that is the host's init, whose netns is the host's`,
        );
      }
      const full = ['nsenter', `--net=/proc/${target.pid}/ns/net`, '--', ...argv];
      for (let attempt = 0; ; attempt++) {
        const live = await helper.live();
        if (target.pid === live.pid || (target.containerId.length >= 12 && live.id.startsWith(target.containerId))) {
          throw new ExecError(
            'InvalidArgv',
            `${who}: refusing to act on the netns helper itself (container ${shortId(live.id)}, pid ${live.pid}); ` +
              'the helper is infrastructure, never a fault target',
          );
        }
        try {
          const r = await dockerExec(e, live.id, full, stdin, {
            where: `helper "${name}"`,
            what: `${who}: ${describeArgv(full)}`,
            timeoutMs,
            maxOutputBytes,
          });
          return r.code !== 0 && DENIED.test(r.stderr) ? { ...r, stderr: `${r.stderr.trimEnd()}\n${denied(name)}` } : r;
        } catch (err) {
          // The helper was removed or stopped under us (404 / 409): make it again, once.
          if (attempt === 0 && err instanceof DockerError && (err.statusCode === 404 || err.statusCode === 409)) {
            helper.forget();
            continue;
          }
          throw err;
        }
      }
    },
  };
}
