// `faultline run -f FILE [-- command...]`: the CI entry point (see ../runner.ts). Exit status: the
// command's first, then the faults' (0 ok, 1 the command failed, 2 a fault was not applied or
// verified, 3 bad input).
import { Option, type Command, type CommanderError } from 'commander';
import { createLogger } from '../log.js';
import { loadValid } from '../input.js';
import { renderSummary, runScenario, RUN_EXIT, type Until } from '../runner.js';
import type { AddressPool } from '../../plan/addresses.js';
import { engineHostRoutes } from '../wiring.js';
import {
  addressPoolOption,
  duration,
  examples,
  filenameOption,
  hostRulesOption,
  logLevelOption,
  netnsOption,
  outputOption,
  UserError,
} from '../options.js';

interface Opts {
  addressPool: AddressPool[];
  filename: string;
  timeout?: number;
  until?: Until;
  keep: boolean;
  output?: 'text' | 'json';
  logLevel: string;
  netnsExec: string;
  hostRules: 'auto' | 'off';
}

const EXIT_HELP = `
Exit status (the command's result first, then the faults'):
  0  the command succeeded (or none was given) and every fault that had a window was applied and
     verified in every target; for a timeline without an end and no command, reaching --timeout
     is a normal end
  1  the command failed: it exited non-zero, could not be started, or was stopped at --timeout
  2  a fault was not applied or not verified, or the run did not end normally (interrupted, the
     scenario never became Ready, --timeout before the timeline's end)
  3  bad input: the scenario file or an option

With a command: it starts once the scenario is Ready, with FAULTLINE_DIR and FAULTLINE_SCENARIO
set (faultline describe "$FAULTLINE_SCENARIO" works inside it); its output is its own, faultline's
lines and the text summary go to stderr. --until command (the default) ends the run when the
command exits, so a timeline without an end ends with it; --until timeline ends the run with the
timeline and stops a command still running then (not a failure).
`;

export function runCommand(program: Command): Command {
  const cmd = program
    .command('run')
    .description(
      'apply a scenario, follow its timeline in the foreground (running a command meanwhile, if given after --), remove it at the end; the exit status says whether the command succeeded and every fault was applied and verified (for CI)',
    )
    .argument('[command...]', 'a command to run while the timeline plays; give it after --')
    .addOption(filenameOption('Scenario file').makeOptionMandatory())
    .addOption(
      new Option(
        '--until <what>',
        'with a command: end the run when the command exits (command, the default) or when the timeline ends (timeline)',
      ).choices(['command', 'timeline']),
    )
    .addOption(
      new Option(
        '--timeout <duration>',
        'stop after this long; for a timeline without an end (endless repeat, schedule) and no command this is a normal end',
      ).argParser(duration(1, '1ms')),
    )
    .option('--keep', 'at the end, remove the faults but keep networks and containers', false)
    .addOption(outputOption(['text', 'json']))
    .addOption(logLevelOption('warn', 'controller log level (logs go to stderr)'))
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .addOption(addressPoolOption())
    .action(async (argv: string[], opts: Opts) => {
      if (opts.until === 'command' && argv.length === 0)
        throw new UserError('--until command needs a command after --, e.g. faultline run -f s.yaml -- npm test', 3);
      const { scenario, text } = await loadValid(opts.filename).catch((e: Error) => {
        throw new UserError(e.message, RUN_EXIT.badInput);
      });
      // Loaded when needed: dockerode and its dependencies cost a CLI command that needs no engine ~0.3 s.
      const [{ createDockerPort }, { createKernel }, { startCommand }, { dockerdPid, hostRoutes }] = await Promise.all([
        import('../../adapters/docker/port.js'),
        import('../netfaults.js'),
        import('../../adapters/command.js'),
        import('../../adapters/hostns.js'),
      ]);
      const docker = createDockerPort();
      const log = createLogger(opts.logLevel);
      const kernel = await createKernel(
        docker,
        { mode: opts.netnsExec, hostRules: opts.hostRules },
        log,
        `run-${scenario.metadata.name}`,
      );
      // With a command, stdout is the command's: faultline's lines go to stderr.
      const quiet = opts.output === 'json' || argv.length > 0;
      const summary = await runScenario({
        text,
        scenario,
        docker,
        kernel,
        log,
        timeoutMs: opts.timeout,
        keep: opts.keep,
        addressPools: opts.addressPool,
        hostRoutes: engineHostRoutes(dockerdPid, hostRoutes),
        out: quiet ? process.stderr : process.stdout,
        command: argv.length ? { argv, until: opts.until ?? 'command', start: startCommand } : undefined,
      });
      if (opts.output === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else (quiet ? process.stderr : process.stdout).write(renderSummary(summary));
      process.exitCode = summary.exitCode;
    });
  // A usage error is bad input (3), like an invalid file; --help and --version stay 0.
  cmd.exitOverride((err: CommanderError) => {
    if (err.exitCode !== 0) err.exitCode = RUN_EXIT.badInput;
    throw err;
  });
  return examples(cmd, [
    'faultline run -f examples/network-partition.yaml',
    'faultline run -f chaos.yaml -- npm test        # exit 1 if the tests fail, 2 if a fault was not verified',
    'faultline run -f flaky-db.yaml --until timeline -- ./load.sh   # load while the timeline plays',
    'faultline run -f chaos.yaml --timeout 10m -o json > summary.json   # a repeat without times ends at 10m',
    'faultline run -f chaos.yaml --keep',
  ]).addHelpText('after', EXIT_HELP);
}
