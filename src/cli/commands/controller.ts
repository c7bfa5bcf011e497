// `faultline controller`: the reconcile loop over a directory, until SIGINT/SIGTERM.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Controller } from '../../controller/controller.js';
import type { AddressPool } from '../../plan/addresses.js';
import { controllerIdFor } from '../../controller/lease.js';
import { systemClock } from '../../controller/queue.js';
import { createLogger } from '../log.js';
import { createDirStore, engineHostRoutes } from '../wiring.js';
import { stateDirOf, watchedDir } from '../input.js';
import {
  dirOption,
  duration,
  examples,
  hostRulesOption,
  addressPoolOption,
  logLevelOption,
  netnsOption,
  stateDirOption,
  wholeNumber,
} from '../options.js';

interface Opts {
  addressPool: AddressPool[];
  resync: number;
  workers: number;
  logLevel: string;
  netnsExec: string;
  hostRules: 'auto' | 'off';
}

export function controllerCommand(program: Command): Command {
  const cmd = program
    .command('controller')
    .description('run the reconcile loop over a directory of Scenario files')
    .addOption(dirOption())
    .addOption(
      new Option('--resync <duration>', 'full resync period')
        .argParser(duration(1000, '1s'))
        .env('FAULTLINE_RESYNC')
        .default(60_000, '60s'),
    )
    .addOption(
      new Option('--workers <n>', 'scenarios reconciled in parallel')
        .argParser(wholeNumber(1, 100))
        .env('FAULTLINE_WORKERS')
        .default(4),
    )
    .addOption(logLevelOption('info'))
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .addOption(stateDirOption())
    .addOption(addressPoolOption())
    .action(async (opts: Opts, self: Command) => {
      const log = createLogger(opts.logLevel);
      const dir = resolve(await watchedDir(self));
      // Loaded when needed: dockerode and its dependencies cost a CLI command that needs no engine ~0.3 s.
      const [{ createDockerPort }, { createKernel }, { dockerdPid, hostRoutes }] = await Promise.all([
        import('../../adapters/docker/port.js'),
        import('../netfaults.js'),
        import('../../adapters/hostns.js'),
      ]);
      const docker = createDockerPort();
      const kernel = await createKernel(
        docker,
        { mode: opts.netnsExec, hostRules: opts.hostRules },
        log,
        controllerIdFor(dir),
      );
      const controller = new Controller({
        dir,
        docker,
        store: createDirStore(dir),
        kernel,
        clock: systemClock,
        log,
        workers: opts.workers,
        resyncMs: opts.resync,
        stateDir: stateDirOf(self),
        addressPools: opts.addressPool,
        hostRoutes: engineHostRoutes(dockerdPid, hostRoutes),
      });
      // A signal while standing by (another controller acts on the directory) ends the wait too.
      const stop = (sig: string) => {
        log.info({ signal: sig }, 'stopping');
        void controller.stop();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      try {
        await controller.start();
      } catch (e) {
        if (controller.signal.aborted) return; // stopped while standing by
        throw e;
      }
      await new Promise<void>((resolveStop) => {
        if (controller.signal.aborted) resolveStop();
        controller.signal.addEventListener('abort', () => resolveStop(), { once: true });
      });
      await controller.stop();
      if (controller.lost) process.exitCode = 1;
    });
  return examples(cmd, [
    'faultline controller --dir scenarios &',
    'FAULTLINE_DIR=scenarios FAULTLINE_WORKERS=8 faultline controller --log-level debug',
    'faultline controller --netns-exec helper    # not root on the engine host',
  ]);
}
