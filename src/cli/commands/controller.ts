// `faultline controller`: the reconcile loop over a directory, until SIGINT/SIGTERM.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Controller } from '../../controller/controller.js';
import { controllerIdFor } from '../../controller/lease.js';
import { systemClock } from '../../controller/queue.js';
import { createDockerPort } from '../../adapters/docker/port.js';
import { createKernel } from '../netfaults.js';
import { createLogger } from '../log.js';
import { createDirStore } from '../wiring.js';
import { parseDuration } from '../../api/duration.js';
import { dirOption, hostRulesOption, netnsOption, UserError } from '../options.js';

interface Opts {
  dir: string;
  resync: string;
  workers: string;
  logLevel: string;
  netnsExec: string;
  hostRules: 'auto' | 'off';
}

export function controllerCommand(program: Command): Command {
  const cmd = program
    .command('controller')
    .description('run the reconcile loop over a directory of Scenario files')
    .addOption(dirOption())
    .option('--resync <duration>', 'full resync period', '60s')
    .option('--workers <n>', 'scenarios reconciled in parallel', '4')
    .option('--log-level <level>', 'trace|debug|info|warn|error', 'info')
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .action(async (opts: Opts) => {
      const log = createLogger(opts.logLevel);
      const dir = resolve(opts.dir);
      await stat(dir).catch(() => {
        throw new UserError(`--dir ${opts.dir}: no such directory; create it (mkdir -p ${opts.dir}) or point --dir at your scenarios`);
      });
      const docker = createDockerPort();
      const kernel = await createKernel(docker, { mode: opts.netnsExec, hostRules: opts.hostRules }, log, controllerIdFor(dir));
      const controller = new Controller({
        dir,
        docker,
        store: createDirStore(dir),
        kernel,
        clock: systemClock,
        log,
        workers: Number(opts.workers),
        resyncMs: parseDuration(opts.resync),
      });
      await controller.start();
      await new Promise<void>((resolveStop) => {
        const stop = (sig: string) => {
          log.info({ signal: sig }, 'stopping');
          controller.stop().then(resolveStop, resolveStop);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
  return cmd;
}
