// `faultline graph NAME | -f FILE`: the scenario's topology (engine, containers, networks) with the
// faults active now on the edges they act on, as SVG, Mermaid or Graphviz dot.
import { Option, type Command } from 'commander';
import type { Scenario } from '../../api/types.js';
import { findScenario, loadValid, watchedDir } from '../input.js';
import { activeFaults, at, instantArg, offsetArg } from '../chart.js';
import { buildGraph, renderGraph, type GraphFormat } from '../graph.js';
import { dirOption, examples, filenameOption, UserError } from '../options.js';

interface Opts {
  filename?: string;
  format: GraphFormat;
  all?: boolean;
  at?: number;
  start?: Date;
}

export function graphCommand(program: Command): Command {
  const cmd = program
    .command('graph')
    .description('draw the topology (engine, containers, networks) with the active faults on its edges')
    .argument('[name]', 'a scenario in --dir (its status says what was resolved and what is active)')
    .addOption(filenameOption('or a Scenario file (drawn as the spec names things)'))
    .addOption(new Option('--format <format>', 'picture format').choices(['svg', 'mermaid', 'dot']).default('svg'))
    .addOption(new Option('--all', 'draw every fault, active or not'))
    .addOption(
      new Option('--at <offset>', 'draw the faults active at this offset from the start (e.g. 30s)').argParser(
        offsetArg,
      ),
    )
    .addOption(
      new Option(
        '--start <time>',
        'with --at: the start to count from (RFC 3339; default: the recorded start, or now)',
      ).argParser(instantArg),
    )
    .addOption(dirOption())
    .action(async (name: string | undefined, opts: Opts, self: Command) => {
      let scenario: Scenario | undefined;
      if (opts.filename) scenario = (await loadValid(opts.filename)).scenario;
      else if (name) scenario = (await findScenario(await watchedDir(self), name)).scenario as Scenario | undefined;
      else throw new UserError('name a scenario or give -f FILE');
      if (!scenario?.spec) throw new UserError(`${name ?? opts.filename} cannot be read as a Scenario`);
      const when = at(scenario, opts);
      const active = opts.all
        ? new Set((scenario.spec.faults ?? []).map((f) => f.name))
        : activeFaults(when.scenario!, when.now);
      process.stdout.write(renderGraph(buildGraph(scenario, active), opts.format));
    });
  return examples(cmd, [
    'faultline graph bastion > bastion.svg',
    'faultline graph unstable --format mermaid',
    'faultline graph -f examples/network-partition.yaml --at 3s --format dot | dot -Tpng > np.png',
  ]);
}
