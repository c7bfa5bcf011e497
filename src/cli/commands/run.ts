// `faultline run -f FILE`: the CI entry point (see ../run.ts); exit 0 only if every fault was
// applied and verified.
import { Option, type Command } from 'commander';
import { createLogger } from '../log.js';
import { loadValid } from '../input.js';
import { renderSummary, runScenario } from '../runner.js';
import {
  duration,
  examples,
  filenameOption,
  hostRulesOption,
  logLevelOption,
  netnsOption,
  outputOption,
} from '../options.js';

interface Opts {
  filename: string;
  timeout?: number;
  keep: boolean;
  output?: 'text' | 'json';
  logLevel: string;
  netnsExec: string;
  hostRules: 'auto' | 'off';
}

export function runCommand(program: Command): Command {
  const cmd = program
    .command('run')
    .description(
      'apply a scenario, follow its timeline in the foreground, remove it at the end; exit 0 only if every fault was applied and verified (for CI)',
    )
    .addOption(filenameOption('Scenario file').makeOptionMandatory())
    .addOption(
      new Option(
        '--timeout <duration>',
        'stop after this long; for a timeline without an end (endless repeat, schedule) this is a normal end',
      ).argParser(duration(1, '1ms')),
    )
    .option('--keep', 'at the end, remove the faults but keep networks and containers', false)
    .addOption(outputOption(['text', 'json']))
    .addOption(logLevelOption('warn', 'controller log level (logs go to stderr)'))
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .action(async (opts: Opts) => {
      const { scenario, text } = await loadValid(opts.filename);
      // Loaded when needed: dockerode and its dependencies cost a CLI command that needs no engine ~0.3 s.
      const [{ createDockerPort }, { createKernel }] = await Promise.all([
        import('../../adapters/docker/port.js'),
        import('../netfaults.js'),
      ]);
      const docker = createDockerPort();
      const log = createLogger(opts.logLevel);
      const kernel = await createKernel(
        docker,
        { mode: opts.netnsExec, hostRules: opts.hostRules },
        log,
        `run-${scenario.metadata.name}`,
      );
      const summary = await runScenario({
        text,
        scenario,
        docker,
        kernel,
        log,
        timeoutMs: opts.timeout,
        keep: opts.keep,
        out: opts.output === 'json' ? process.stderr : process.stdout,
      });
      if (opts.output === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else process.stdout.write(renderSummary(summary));
      if (!summary.ok) process.exitCode = 1;
    });
  return examples(cmd, [
    'faultline run -f examples/network-partition.yaml',
    'faultline run -f chaos.yaml --timeout 10m -o json > summary.json   # a repeat without times ends at 10m, exit 0 if verified',
    'faultline run -f chaos.yaml --keep',
  ]).addHelpText(
    'after',
    '\nExit status: 0 when the timeline ended (or, for a timeline without an end, --timeout was reached) and every fault applied was verified; 1 otherwise.\n',
  );
}
