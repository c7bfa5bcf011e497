// Wiring of the kernel engine (kernel/engine.ts): a namespace executor chosen by --netns-exec
// (auto: nsenter when we are root on the engine's host, else the helper container), a scratch
// namespace for the capability probe, and --host-rules. The helper, the probe and the scratch
// container use the Docker port's own client, so they are on the engine the port talks to.
import type { Logger } from 'pino';
import { KernelEngine } from '../kernel/engine.js';
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
}

export async function createKernel(
  docker: DockerAdapter,
  w: KernelWiring,
  log: Logger,
  scope: string,
): Promise<KernelPort> {
  const choice = await createNetnsExec({ mode: w.mode as NetnsExecMode, docker: docker.client });
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
