// Wiring of the network-fault engine (controller/netns.ts): a namespace executor chosen by
// --netns-exec (auto: nsenter when we are root on the engine's host, else the helper container)
// and a scratch namespace for the capability probe. The helper, the probe and the scratch
// container use the Docker port's own client, so they are on the engine the port talks to.
import type { Logger } from 'pino';
import type { NetFaultSync } from '../controller/faults.js';
import { NetnsEngine } from '../controller/netns.js';
import type { DockerAdapter } from '../adapters/docker/port.js';
import { createNetnsExec, type NetnsExecMode } from '../adapters/netns.js';
import { HELPER_IMAGE } from '../adapters/helper/container.js';
import { createScratchContainer, createScratchNetns } from '../adapters/scratch.js';

export async function createNetFaults(docker: DockerAdapter, mode: string, log: Logger, scope: string): Promise<NetFaultSync> {
  const choice = await createNetnsExec({ mode: mode as NetnsExecMode, docker: docker.client });
  log.info({ mode: choice.mode, reason: choice.reason }, 'network namespaces entered through ' + choice.mode);
  if (choice.helper) await choice.helper.ensure();
  const scratch = choice.mode === 'nsenter' ? () => createScratchNetns() : () => createScratchContainer(docker.client, HELPER_IMAGE);
  return new NetnsEngine({ scope, exec: choice.exec, scratch, log });
}
