// Choosing how to enter network namespaces: nsenter from this process, or the helper container.
//
//   auto     nsenter when all of these hold, else the helper:
//            1. we run as uid 0 with CAP_SYS_ADMIN (setns) and CAP_SYS_PTRACE (open another
//               process's /proc/<pid>/ns/net) in our effective set;
//            2. the engine is local: a unix socket (a tcp/ssh engine's pids are another host's);
//            3. a running container's /proc/<State.Pid>/ns/net opens here, that pid is that
//               container (its /proc/<pid>/cgroup names the container id: in another PID namespace
//               the same number is some other process, or none), and
//               `nsenter --net=... -- tc -V` succeeds.
//            The probe container is `probeTarget` when given, else any running container the
//            engine lists; with none running, (1) and (2) decide and the reason says so.
//   nsenter  forced; the same checks still run and a failing one is appended to the reason.
//   helper   forced; nothing is probed (the helper is started on first use).
//
// The reason is one sentence for the log line at start-up, e.g.
//   nsenter: running as root with CAP_SYS_ADMIN+CAP_SYS_PTRACE, engine on unix socket
//   /var/run/docker.sock, and /proc/4242/ns/net of container 3f2a9c1d0e4b opened and entered here
import type Docker from 'dockerode';
import { open, readFile } from 'node:fs/promises';
import type { NetnsExec } from '../ports/index.js';
import { LABEL_ROLE } from '../api/ownership.js';
import { connectEngine } from './docker/client.js';
import { wrapDockerError } from './docker/errors.js';
import { ExecError } from './exec.js';
import { createHelperExec, type HelperExec, type HelperExecOptions } from './helper/helper.js';
import { createNsenterExec, type NsenterOptions } from './nsenter.js';

export type NetnsExecMode = 'auto' | 'nsenter' | 'helper';

export interface NetnsExecOptions {
  /** Default 'auto' (the CLI's --netns-exec). */
  mode?: NetnsExecMode;
  /** A dockerode client for the helper and the probe. Default: one built from socketPath / host. */
  docker?: Docker;
  /** Unix socket of the engine (wins over host), as for createDockerPort. */
  socketPath?: string;
  /** DOCKER_HOST-style address. Default: DOCKER_HOST, read when this function runs, else the local socket. */
  host?: string;
  /** A running container to probe with; without it one is looked up (any running container). */
  probeTarget?: { pid: number; containerId: string };
  nsenter?: NsenterOptions;
  helper?: HelperExecOptions;
  /** For tests: pretend to be this uid / read this /proc. */
  uid?: number;
  procRoot?: string;
}

export interface NetnsExecChoice {
  exec: NetnsExec;
  mode: 'nsenter' | 'helper';
  /** Why this mode: for the start-up log line and `describe`. */
  reason: string;
  /** Set in helper mode: its lifecycle (ensure() to fail early, remove() to clean up). */
  helper?: HelperExec;
}

const CAP_SYS_PTRACE = 19n;
const CAP_SYS_ADMIN = 21n;
const PROBE_API_TIMEOUT_MS = 10_000;

/** Where the engine is: a unix socket path, or a remote address. */
function engineAddress(opts: NetnsExecOptions): { local: boolean; where: string } {
  if (opts.socketPath) return { local: true, where: `unix socket ${opts.socketPath}` };
  if (opts.host) return classify(opts.host);
  if (opts.docker) {
    const m = opts.docker.modem as unknown as {
      socketPath?: unknown;
      host?: string;
      protocol?: string;
      port?: unknown;
    };
    if (typeof m.socketPath === 'string' && m.socketPath) return { local: true, where: `unix socket ${m.socketPath}` };
    if (m.host) return { local: false, where: `${m.protocol ?? 'http'}://${m.host}:${String(m.port ?? '')}` };
  }
  const env = process.env.DOCKER_HOST;
  return env ? classify(env) : { local: true, where: 'unix socket /var/run/docker.sock' };
}

function classify(host: string): { local: boolean; where: string } {
  if (host.startsWith('unix://')) return { local: true, where: `unix socket ${host.slice('unix://'.length)}` };
  if (host.startsWith('/')) return { local: true, where: `unix socket ${host}` };
  // tcp://127.0.0.1 may well be this machine, but nothing proves its pids are ours: the probe
  // below would have to be trusted alone, and a forwarded port says nothing about namespaces.
  return { local: false, where: host };
}

/** Effective capabilities of this process, from /proc/self/status (undefined when unreadable). */
async function effectiveCaps(procRoot: string): Promise<bigint | undefined> {
  try {
    const status = await readFile(`${procRoot}/self/status`, 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m ? BigInt(`0x${m[1]}`) : undefined;
  } catch {
    return undefined;
  }
}

/** Some running container to probe with (not a faultline helper), or undefined when none runs. */
async function findProbeTarget(docker: Docker): Promise<{ pid: number; containerId: string } | undefined> {
  const list = (await docker.listContainers({
    filters: { status: ['running'] },
    abortSignal: AbortSignal.timeout(PROBE_API_TIMEOUT_MS),
  } as object)) as { Id: string; Labels?: Record<string, string> }[];
  for (const c of list.slice(0, 5)) {
    if (c.Labels?.[LABEL_ROLE] === 'helper') continue;
    const info = (await docker
      .getContainer(c.Id)
      .inspect({ abortSignal: AbortSignal.timeout(PROBE_API_TIMEOUT_MS) } as object)) as { State?: { Pid?: number } };
    const pid = info.State?.Pid ?? 0;
    if (pid > 0) return { pid, containerId: c.Id };
  }
  return undefined;
}

/** Every reason nsenter would not work from here; empty means it does (as far as probing can tell). */
async function nsenterObstacles(
  opts: NetnsExecOptions,
  docker: Docker,
): Promise<{ obstacles: string[]; evidence: string }> {
  const procRoot = opts.procRoot ?? '/proc';
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const obstacles: string[] = [];
  const evidence: string[] = [];

  if (uid !== 0) {
    obstacles.push(`this process is not root (uid ${uid}); nsenter needs root on the Docker host`);
  } else {
    const caps = await effectiveCaps(procRoot);
    const missing = [
      [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
      [CAP_SYS_PTRACE, 'CAP_SYS_PTRACE'],
    ].filter(([bit]) => caps !== undefined && ((caps as bigint) >> (bit as bigint)) % 2n === 0n);
    if (missing.length) {
      obstacles.push(
        `running as root but without ${missing.map(([, n]) => n).join(' and ')} (a user namespace or a --cap-drop?)`,
      );
    } else {
      evidence.push('running as root with CAP_SYS_ADMIN+CAP_SYS_PTRACE');
    }
  }

  const engine = engineAddress(opts);
  if (!engine.local) {
    obstacles.push(
      `the Docker engine is not on a local unix socket (${engine.where}); its container pids are not this machine's`,
    );
    return { obstacles, evidence: evidence.join(', ') };
  }
  evidence.push(`engine on ${engine.where}`);
  if (obstacles.length) return { obstacles, evidence: evidence.join(', ') };

  let target = opts.probeTarget;
  if (!target) {
    let why = 'no running container';
    try {
      target = await findProbeTarget(docker);
    } catch (e) {
      why = `no container could be listed (${wrapDockerError('list running containers', e).message})`;
    }
    if (!target) {
      evidence.push(`${why} to probe /proc/<pid>/ns/net with, so sharing the engine's PID namespace is assumed`);
      return { obstacles, evidence: evidence.join(', ') };
    }
  }

  const short = target.containerId.slice(0, 12);
  const nsPath = `${procRoot}/${target.pid}/ns/net`;
  try {
    const fh = await open(nsPath, 'r');
    await fh.close();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    obstacles.push(
      code === 'ENOENT'
        ? `pid ${target.pid} of container ${short} does not exist here: this process is not in the engine's PID namespace (in a container without pid=host?)`
        : `cannot open ${nsPath} of container ${short} (${code ?? (e as Error).message})`,
    );
    return { obstacles, evidence: evidence.join(', ') };
  }
  let cgroup = '';
  try {
    cgroup = await readFile(`${procRoot}/${target.pid}/cgroup`, 'utf8');
  } catch {
    // unreadable: treated as not matching below
  }
  if (!cgroup.includes(target.containerId)) {
    obstacles.push(
      `pid ${target.pid} here is not container ${short} (its /proc/${target.pid}/cgroup does not name the container): ` +
        'this process is in another PID namespace than the engine',
    );
    return { obstacles, evidence: evidence.join(', ') };
  }
  try {
    const r = await createNsenterExec({ ...opts.nsenter, timeoutMs: 5_000 }).run(target, ['tc', '-V']);
    if (r.code !== 0) {
      obstacles.push(`\`nsenter --net=${nsPath} -- tc -V\` exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
      return { obstacles, evidence: evidence.join(', ') };
    }
  } catch (e) {
    obstacles.push(e instanceof ExecError ? e.message : String(e));
    return { obstacles, evidence: evidence.join(', ') };
  }
  evidence.push(`and /proc/${target.pid}/ns/net of container ${short} opened and entered here`);
  return { obstacles, evidence: evidence.join(', ') };
}

/**
 * Picks and builds the NetnsExec. Never throws for a failed probe (that only moves auto to the
 * helper); throws only for an unknown mode.
 */
export async function createNetnsExec(opts: NetnsExecOptions = {}): Promise<NetnsExecChoice> {
  const mode = opts.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'nsenter' && mode !== 'helper') {
    throw new Error(`netns exec mode "${String(mode)}" is not one of auto | nsenter | helper`);
  }
  const docker = opts.docker ?? connectEngine(opts);
  const helperChoice = (reason: string): NetnsExecChoice => {
    const helper = createHelperExec(docker, opts.helper);
    return { exec: helper, mode: 'helper', reason, helper };
  };

  if (mode === 'helper') return helperChoice('helper: chosen by option (--netns-exec helper)');

  const { obstacles, evidence } = await nsenterObstacles(opts, docker);
  if (mode === 'nsenter') {
    const warning = obstacles.length ? `; WARNING, it will likely fail: ${obstacles.join('; ')}` : `; ${evidence}`;
    return {
      exec: createNsenterExec(opts.nsenter),
      mode: 'nsenter',
      reason: `nsenter: chosen by option (--netns-exec nsenter)${warning}`,
    };
  }
  if (obstacles.length) {
    return helperChoice(`helper container: ${obstacles.join('; ')}`);
  }
  return { exec: createNsenterExec(opts.nsenter), mode: 'nsenter', reason: `nsenter: ${evidence}` };
}
