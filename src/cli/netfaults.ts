// Wiring of the network-fault engine (controller/netns.ts) with a namespace executor.
import type { Logger } from 'pino';
import type { NetFaultSync } from '../controller/faults.js';
import type { DockerPort } from '../ports/index.js';

export async function createNetFaults(_docker: DockerPort, _mode: string, _log: Logger): Promise<NetFaultSync | undefined> {
  return undefined; // filled in when the netns engine lands
}
