// `faultline describe NAME`: one scenario in detail, its timeline last.
import type { Command } from 'commander';
import type { Scenario } from '../../api/types.js';
import { findScenario, stateDirOf, watchedDir } from '../input.js';
import { renderDescribe } from '../tables.js';
import { timelineChart } from '../chart.js';
import { dirOption, examples, stateDirOption } from '../options.js';

export function describeCommand(program: Command): Command {
  const cmd = program
    .command('describe')
    .description('show one scenario in detail: conditions, networks, members, faults, events')
    .argument('<name>')
    .addOption(dirOption())
    .addOption(stateDirOption())
    .action(async (name: string, _opts: unknown, self: Command) => {
      const it = await findScenario(await watchedDir(self), name, stateDirOf(self));
      process.stdout.write(renderDescribe(it, new Date()));
      const chart = timelineChart(
        it.scenario as Scenario | undefined,
        'text',
        Math.max(40, (process.stdout.columns ?? 100) - 30),
      );
      if (chart) process.stdout.write(`\nTimeline:\n${chart}`);
    });
  return examples(cmd, ['faultline describe echo', 'faultline describe bastion --dir scenarios']);
}
