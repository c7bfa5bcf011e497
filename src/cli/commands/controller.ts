// `faultline controller`: the reconcile loop over a directory, until SIGINT/SIGTERM.
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Option, type Command } from 'commander';
import { Controller } from '../../controller/controller.js';
import type { AddressPool } from '../../plan/addresses.js';
import { controllerIdFor } from '../../controller/lease.js';
import { systemClock } from '../../store/index.js';
import { createLogger } from '../log.js';
import { createDirStore, engineHostRoutes, type StatusIn } from '../wiring.js';
import { stateDirOf, watchedDir } from '../input.js';
import {
  dirOption,
  duration,
  examples,
  hostRulesOption,
  addressPoolOption,
  listenAddress,
  logLevelOption,
  UserError,
  netnsOption,
  stateDirOption,
  wholeNumber,
} from '../options.js';

interface Opts {
  addressPool: AddressPool[];
  statusIn: StatusIn;
  metricsAddr?: ReturnType<typeof listenAddress>;
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
    .addOption(
      new Option(
        '--status-in <where>',
        'where each status is written: file (into the scenario file) or sidecar (.faultline/<file>.status.yaml beside it; the committed file is never written)',
      )
        .choices(['file', 'sidecar'])
        .env('FAULTLINE_STATUS_IN')
        .default('file'),
    )
    .addOption(
      new Option(
        '--metrics-addr <[host]:port>',
        'serve Prometheus metrics (/metrics) and health (/healthz, /readyz) there; off when not given',
      )
        .argParser(listenAddress)
        .env('FAULTLINE_METRICS_ADDR'),
    )
    .action(async (opts: Opts, self: Command) => {
      const log = createLogger(opts.logLevel);
      const dir = resolve(await watchedDir(self));
      // Loaded when needed: dockerode and its dependencies cost a CLI command that needs no engine ~0.3 s.
      const [{ createDockerPort }, { createKernel }, { dockerdPid, hostRoutes }] = await Promise.all([
        import('../../adapters/docker/port.js'),
        import('../netfaults.js'),
        import('../../adapters/hostns.js'),
      ]);
      // Metrics first: /healthz answers and /readyz says 503 while the controller starts.
      const metrics = opts.metricsAddr ? await import('../../adapters/metrics.js') : undefined;
      const prom = metrics?.createPrometheusMetrics();
      const server =
        metrics && prom && opts.metricsAddr
          ? await metrics.serveMetrics(prom, opts.metricsAddr).catch((e: Error) => {
              throw new UserError(`--metrics-addr ${opts.metricsAddr?.text}: cannot listen (${e.message})`);
            })
          : undefined;
      if (server) log.info({ metrics: server.address }, 'serving /metrics, /healthz and /readyz');
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
        store: createDirStore(dir, undefined, { statusIn: opts.statusIn }),
        kernel,
        clock: systemClock(),
        log,
        workers: opts.workers,
        resyncMs: opts.resync,
        stateDir: stateDirOf(self),
        addressPools: opts.addressPool,
        hostRoutes: engineHostRoutes(dockerdPid, hostRoutes),
        // When a burst of work is over (100 scenarios converging from a cold start), a full
        // collection gives back the heap it grew: measured 108 → 86 MiB RSS with 100 scenarios.
        onQuiet: fullGc(),
        metrics: prom?.sink,
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
        if (controller.signal.aborted) {
          await server?.close();
          return; // stopped while standing by
        }
        throw e;
      }
      await new Promise<void>((resolveStop) => {
        if (controller.signal.aborted) resolveStop();
        controller.signal.addEventListener('abort', () => resolveStop(), { once: true });
      });
      await controller.stop();
      await server?.close();
      if (controller.lost) process.exitCode = 1;
    });
  return examples(cmd, [
    'faultline controller --dir scenarios &',
    'FAULTLINE_DIR=scenarios FAULTLINE_WORKERS=8 faultline controller --log-level debug',
    'faultline controller --netns-exec helper    # not root on the engine host',
    'faultline controller --metrics-addr :9464   # then: curl localhost:9464/metrics',
    'faultline controller --status-in sidecar    # a git checkout stays clean; echo .faultline/ >> .gitignore',
  ]);
}

/** A full garbage collection, when node allows one to be asked for (--expose-gc, set here at run time). */
function fullGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? () => (gc as () => void)() : undefined;
  } catch {
    return undefined;
  }
}
