// NetnsExec through a helper container: for when the controller cannot nsenter itself (it is not
// root, runs in a container of its own, or talks to a remote engine). One helper per engine,
// named `faultline-netns-helper`, owned and started on demand by the controller:
//
//   docker exec faultline-netns-helper nsenter --net=/proc/<pid>/ns/net -- tc -batch -
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
// ensure() recreates a helper whose hash or image differs, starts a stopped one, and refuses to
// touch a same-named container that is not faultline's.
//
// A program that outlives timeoutMs: the attach stream is dropped and the process (the exec's pid,
// a host pid the pid=host helper can signal) is killed with `kill -KILL` through a second exec.
import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type { NetnsExec } from '../ports/index.js';
import { LABEL_HASH, LABEL_MANAGED_BY, LABEL_ROLE, MANAGED_BY } from '../api/ownership.js';
import { callWithDeadline, DockerError } from './docker/errors.js';
import { describeArgv, ExecError, validateArgv, type RunResult } from './exec.js';

export const HELPER_NAME = 'faultline-netns-helper';
export const HELPER_IMAGE = 'faultline/netns-helper:latest';
/** Added to an otherwise empty capability set (CapDrop ALL); see the header for why each. */
export const HELPER_CAPABILITIES: readonly string[] = Object.freeze(['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE']);

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
}

/** NetnsExec plus the helper's lifecycle; run() calls ensure() itself when needed. */
export interface HelperExec extends NetnsExec {
  /** Makes the helper exist, match this configuration and run. Idempotent; concurrent calls share one attempt. */
  ensure(): Promise<void>;
  /** Removes the helper container (only if it is faultline's). Absent is fine. */
  remove(): Promise<void>;
}

interface Live {
  id: string;
  pid: number;
}

interface RawInspect {
  Id: string;
  Image: string;
  Config?: { Labels?: Record<string, string> | null };
  State?: { Status?: string; Running?: boolean; Paused?: boolean; Pid?: number; Error?: string; ExitCode?: number };
}

/** The create body minus name and labels: what the config hash covers (with the image id). */
function helperHostConfig(): Record<string, unknown> {
  return {
    PidMode: 'host',
    NetworkMode: 'none',
    CapDrop: ['ALL'],
    CapAdd: [...HELPER_CAPABILITIES],
    SecurityOpt: ['no-new-privileges:true', 'apparmor=unconfined'],
    ReadonlyRootfs: true,
    Tmpfs: { '/run': 'rw,nosuid,nodev,noexec,size=1m' },
    RestartPolicy: { Name: 'no' },
    Privileged: false,
  };
}

export function helperConfigHash(imageId: string, labels: Record<string, string>): string {
  const canonical = JSON.stringify({ v: 1, imageId, hostConfig: helperHostConfig(), labels: Object.entries(labels).sort() });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

const shortId = (id: string) => id.slice(0, 12);
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createHelperExec(docker: Docker, opts: HelperExecOptions = {}): HelperExec {
  const name = opts.name ?? HELPER_NAME;
  const image = opts.image ?? HELPER_IMAGE;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxOutputBytes = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  const apiTimeoutMs = opts.apiTimeoutMs ?? 30_000;
  const extraLabels = { ...(opts.labels ?? {}) };
  // The one piece of state: the running helper, shared by concurrent callers while it is found or
  // made. Dropped when an exec says the container is gone or stopped.
  let live: Promise<Live> | undefined;

  const call = <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => callWithDeadline(operation, fn, apiTimeoutMs);

  async function inspectHelper(): Promise<RawInspect | undefined> {
    try {
      return await call(`inspect helper container "${name}"`, (abortSignal) =>
        docker.getContainer(name).inspect({ abortSignal } as object) as Promise<RawInspect>,
      );
    } catch (e) {
      if (e instanceof DockerError && e.statusCode === 404) return undefined;
      throw e;
    }
  }

  async function removeById(id: string): Promise<void> {
    try {
      await call(`remove helper container "${name}"`, (abortSignal) =>
        docker.getContainer(id).remove({ force: true, v: true, abortSignal } as object) as Promise<unknown>,
      );
    } catch (e) {
      // Gone already, or its removal is in progress (409): the goal holds or soon will.
      if (e instanceof DockerError && (e.statusCode === 404 || e.statusCode === 409)) return;
      throw e;
    }
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
      img = await call(`inspect helper image "${image}"`, (abortSignal) =>
        docker.getImage(image).inspect({ abortSignal } as object) as Promise<{ Id: string }>,
      );
    } catch (e) {
      if (e instanceof DockerError && e.statusCode === 404) {
        throw new DockerError(
          {
            code: 'NotFound',
            operation: op,
            statusCode: 404,
            dockerMessage: e.dockerMessage,
            message:
              `helper image "${image}" is not on the Docker engine; build it with scripts/build-helper-image.sh ` +
              '(against that engine: DOCKER_HOST=...); faultline never pulls it',
          },
          { cause: e },
        );
      }
      throw e;
    }
    const labels = { ...extraLabels, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_ROLE]: 'helper' };
    const hash = helperConfigHash(img.Id, labels);
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
              HostConfig: helperHostConfig(),
              abortSignal,
            } as unknown as Docker.ContainerCreateOptions),
          );
        } catch (e) {
          if (!(e instanceof DockerError && e.statusCode === 409)) throw e; // someone else created it: re-read
        }
        continue;
      }
      assertOurs(c);
      const st = c.State ?? {};
      lastState = st.Status ?? 'unknown';
      if (c.Config?.Labels?.[LABEL_HASH] !== hash || c.Image !== img.Id || st.Status === 'dead' || st.Status === 'removing') {
        await removeById(c.Id);
        if (st.Status === 'removing') await delay(100 * (round + 1));
        continue;
      }
      if (st.Running && !st.Paused && !st.Status?.startsWith('restarting') && (st.Pid ?? 0) > 0) {
        return { id: c.Id, pid: st.Pid as number };
      }
      if (st.Paused) {
        await call(`unpause helper container "${name}"`, (abortSignal) =>
          docker.getContainer(c.Id).unpause({ abortSignal } as object) as Promise<unknown>,
        ).catch((e) => {
          if (!(e instanceof DockerError && e.statusCode === 409)) throw e;
        });
        continue;
      }
      try {
        await call(`start helper container "${name}"`, (abortSignal) =>
          docker.getContainer(c.Id).start({ abortSignal } as object) as Promise<unknown>,
        );
      } catch (e) {
        if (!(e instanceof DockerError && (e.statusCode === 304 || e.statusCode === 404 || e.statusCode === 409))) throw e;
      }
    }
    throw new DockerError({
      code: 'DockerError',
      operation: op,
      message: `${op}: it did not reach "running" (last state: ${lastState}); see \`docker logs ${name}\` and \`docker inspect ${name}\``,
    });
  }

  function ensureShared(): Promise<Live> {
    if (!live) {
      const attempt = ensureLive();
      live = attempt;
      attempt.catch(() => {
        if (live === attempt) live = undefined;
      });
    }
    return live;
  }

  /** Best effort: SIGKILL the exec's process (a host pid; the helper shares the host PID namespace). */
  async function killExec(helperId: string, exec: Docker.Exec): Promise<void> {
    try {
      const info = (await call('inspect exec', (abortSignal) => exec.inspect({ abortSignal }))) as Docker.ExecInspectInfo;
      // Only while Docker still reports it running: after exit the pid may be reused.
      if (!info.Running || !(info.Pid > 0)) return;
      const killer = await call('create kill exec', (abortSignal) =>
        docker.getContainer(helperId).exec({ Cmd: ['kill', '-KILL', String(info.Pid)], abortSignal } as Docker.ExecCreateOptions),
      );
      const res = await call('start kill exec', (abortSignal) => killer.start({ Detach: true, abortSignal } as object) as Promise<unknown>);
      // The (empty) answer is a stream: drop it, or its socket keeps the process alive.
      (res as { destroy?: () => void } | undefined)?.destroy?.();
    } catch {
      // The caller already reports the timeout; a failed kill must not mask it.
    }
  }

  /** One docker exec of argv in the helper; resolves with the exit code, or rejects. */
  async function execIn(helper: Live, target: { containerId: string }, full: string[], stdin: string | undefined): Promise<RunResult> {
    const what = `container ${shortId(target.containerId)}: ${describeArgv(full)}`;
    const exec = await call(`create exec in helper "${name}"`, (abortSignal) =>
      docker.getContainer(helper.id).exec({
        Cmd: full,
        AttachStdin: stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        // Like runProcess: tool output in the one format our parsers understand.
        Env: ['LC_ALL=C'],
        abortSignal,
      } as Docker.ExecCreateOptions),
    );
    const stream = (await call(`start exec in helper "${name}"`, (abortSignal) =>
      exec.start({ hijack: true, stdin: stdin !== undefined, Detach: false, Tty: false, abortSignal } as object),
    )) as unknown as Duplex;

    const output = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      let settled = false;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      const stderrSoFar = () => Buffer.concat(err).toString('utf8');
      const finish = (e?: ExecError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (e) {
          stream.destroy();
          void killExec(helper.id, exec);
          reject(e);
        } else {
          resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: stderrSoFar() });
        }
      };
      const timer = setTimeout(() => {
        finish(new ExecError('Timeout', `${what}: no exit after ${timeoutMs} ms; killed`, stderrSoFar()));
      }, timeoutMs);
      const sink = (chunks: Buffer[], which: 'stdout' | 'stderr') =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            if (!settled) {
              const size = which === 'stdout' ? (outBytes += chunk.length) : (errBytes += chunk.length);
              if (size > maxOutputBytes) {
                finish(
                  new ExecError(
                    'OutputTooLarge',
                    `${what}: ${which} exceeded ${maxOutputBytes} bytes; killed (output would be incomplete)`,
                    stderrSoFar(),
                  ),
                );
              } else {
                chunks.push(chunk);
              }
            }
            cb();
          },
        });
      docker.modem.demuxStream(stream, sink(out, 'stdout'), sink(err, 'stderr'));
      // The frames are written synchronously by demuxStream's 'data' handler, so at 'end' all
      // output has been collected.
      stream.on('end', () => finish());
      stream.on('close', () => finish());
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // A program that exits without reading all its stdin: as in runProcess, its exit code and
        // stderr say more than EPIPE does; the read side still delivers them.
        if (e.code === 'EPIPE') return;
        finish(new ExecError('SpawnFailed', `${what}: the exec stream failed: ${e.message}`, stderrSoFar(), { cause: e }));
      });
      // Half-close after the input: Docker then closes the program's stdin (EOF for tc -batch -).
      if (stdin !== undefined) stream.end(stdin);
    });

    // The stream ends when the process's output does; its exit code can lag a few ms behind.
    const deadline = Date.now() + apiTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      const info = (await call('inspect exec', (abortSignal) => exec.inspect({ abortSignal }))) as Docker.ExecInspectInfo;
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) {
        return { code: info.ExitCode, ...output };
      }
      if (Date.now() > deadline) {
        throw new DockerError({
          code: 'Timeout',
          operation: 'inspect exec',
          message: `${what}: output ended but Docker reports no exit code after ${apiTimeoutMs} ms`,
        });
      }
      await delay(wait);
    }
  }
  return {
    ensure: async () => {
      await ensureShared();
    },

    async remove() {
      live = undefined;
      const c = await inspectHelper();
      if (!c) return;
      assertOurs(c);
      await removeById(c.Id);
    },

    async run(target, argv, stdin) {
      validateArgv(argv);
      const who = `container ${shortId(target.containerId)}`;
      if (!Number.isSafeInteger(target.pid) || target.pid <= 0) {
        throw new ExecError('InvalidArgv', `${who}: no network namespace to enter (pid ${target.pid}); is the container running?`);
      }
      if (target.pid === 1) {
        throw new ExecError('InvalidArgv', `${who}: refusing pid 1: in the helper's (host) PID namespace that is the host's init, whose netns is the host's`);
      }
      const full = ['nsenter', `--net=/proc/${target.pid}/ns/net`, '--', ...argv];
      for (let attempt = 0; ; attempt++) {
        const helper = await ensureShared();
        if (target.pid === helper.pid || (target.containerId.length >= 12 && helper.id.startsWith(target.containerId))) {
          throw new ExecError(
            'InvalidArgv',
            `${who}: refusing to act on the netns helper itself (container ${shortId(helper.id)}, pid ${helper.pid}); ` +
              'the helper is infrastructure, never a fault target',
          );
        }
        try {
          return await execIn(helper, target, full, stdin);
        } catch (e) {
          // The helper was removed or stopped under us (404 / 409): make it again, once.
          if (attempt === 0 && e instanceof DockerError && (e.statusCode === 404 || e.statusCode === 409)) {
            live = undefined;
            continue;
          }
          throw e;
        }
      }
    },
  };
}
