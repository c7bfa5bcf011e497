// Wiring of the kernel engine (kernel/engine.ts): a namespace executor chosen by --netns-exec
// (auto: nsenter when we are root on the engine's host, else the helper container), a scratch
// namespace for the capability probe, and --host-rules. The helper, the probe and the scratch
// container use the Docker port's own client, so they are on the engine the port talks to.
import type { Logger } from 'pino';
import type Docker from 'dockerode';
import { KernelEngine } from '../kernel/engine.js';
import { EngineKernels } from '../kernel/engines.js';
import type { KernelPort } from '../ports/index.js';
import type { DockerAdapter } from '../adapters/docker/port.js';
import { createNetnsExec, type NetnsExecMode } from '../adapters/executor.js';
import { HELPER_IMAGE } from '../adapters/helper/container.js';
import { createScratchContainer, createScratchNetns } from '../adapters/scratch.js';
import { dockerdPid } from '../adapters/hostns.js';
import { createSysfsBridgePorts } from '../adapters/bridgeports.js';

export interface KernelWiring {
  mode: string;
  hostRules?: 'auto' | 'off';
  /** Read an unchanged namespace again at most this often (drift). Default: the engine's, 30 s. */
  reverifyMs?: number;
  /** Copy the helper image from this engine when it is absent on the engine (never pulled). */
  loadFrom?: Docker;
  /** Per program through the helper container (default 10 s; a remote or emulated host may need more). */
  execTimeoutMs?: number;
}

export async function createKernel(
  docker: DockerAdapter,
  w: KernelWiring,
  log: Logger,
  scope: string,
): Promise<KernelPort> {
  const choice = await createNetnsExec({
    mode: w.mode as NetnsExecMode,
    docker: docker.client,
    helper: {
      ...(w.loadFrom ? { loadFrom: w.loadFrom } : {}),
      ...(w.execTimeoutMs ? { timeoutMs: w.execTimeoutMs } : {}),
    },
  });
  log.info({ mode: choice.mode, reason: choice.reason }, 'network namespaces entered through ' + choice.mode);
  if (choice.helper) await choice.helper.ensure();
  const scratch =
    choice.mode === 'nsenter' ? () => createScratchNetns() : () => createScratchContainer(docker.client, HELPER_IMAGE);
  // nsenter: the daemon runs beside us, its namespace is the host's. The helper sees host pids
  // (pid=host) and enters pid 1's namespace.
  const hostPid = choice.mode === 'nsenter' ? () => dockerdPid(process.pid) : async () => 1;
  // The host path names containers by their bridge ports, read from sysfs: only when the controller
  // is root on the engine's host (nsenter). Through the helper, every cut stays in the namespaces.
  const bridgePorts = choice.mode === 'nsenter' ? createSysfsBridgePorts(hostPid) : undefined;
  return new KernelEngine({
    scope,
    exec: choice.exec,
    scratch,
    log,
    hostRules: w.hostRules ?? 'auto',
    hostPid,
    bridgePorts,
    reverifyMs: w.reverifyMs,
  });
}

/**
 * Several engines: a kernel engine per engine, each entering namespaces through its own executor
 * (on an engine other than the controller's own host that is the helper container, its image
 * copied there from `loadFrom`), merged by EngineKernels. `reachable` says which may be written now.
 * An engine whose executor cannot be set up now (unreachable at start) is set up when first needed.
 */
export function createEngineKernels(
  ports: ReadonlyMap<string, DockerAdapter>,
  w: KernelWiring,
  log: Logger,
  scope: string,
  reachable: () => ReadonlySet<string>,
): KernelPort {
  const kernels = new Map<string, KernelPort>();
  for (const [name, port] of ports) {
    let made: Promise<KernelPort> | undefined;
    const get = () => {
      made ??= createKernel(port, w, log.child({ engine: name }), scope);
      made.catch(() => (made = undefined));
      return made;
    };
    kernels.set(name, lazyKernel(get));
  }
  return new EngineKernels(kernels, reachable);
}

/** A KernelPort made on first use (an engine away at start gets its executor when it is back). */
function lazyKernel(get: () => Promise<KernelPort>): KernelPort {
  let ready: KernelPort | undefined;
  const k = async () => (ready = await get());
  return {
    capabilities: async () => (await k()).capabilities(),
    hostPath: async () => (await k()).hostPath(),
    apply: async (plan, asOf) => (await k()).apply(plan, asOf),
    prepare: async (plan, asOf) => (await k()).prepare?.(plan, asOf),
    forget: async (s) => (await k()).forget(s),
    sweep: async (v, live) => (await k()).sweep(v, live),
    invalidate: () => ready?.invalidate(),
    close: () => ready?.close?.(),
  };
}
