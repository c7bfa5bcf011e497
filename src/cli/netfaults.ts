// Wiring of the network-fault engine (controller/netns.ts) with a namespace executor and a
// scratch namespace for the capability probe.
import type { Logger } from 'pino';
import type { NetFaultSync } from '../controller/faults.js';
import { NetnsEngine } from '../controller/netns.js';
import type { DockerPort } from '../ports/index.js';
import { createNsenterExec } from '../adapters/nsenter.js';
import { createScratchNetns } from '../adapters/scratch.js';

export async function createNetFaults(_docker: DockerPort, mode: string, log: Logger, scope: string): Promise<NetFaultSync> {
  if (mode === 'helper') throw new Error('--netns-exec helper is not available yet; run the controller as root on the Docker host (nsenter)');
  return new NetnsEngine({ scope, exec: createNsenterExec(), scratch: () => createScratchNetns(), log });
}
