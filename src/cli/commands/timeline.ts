// `faultline timeline NAME | -f FILE`: a scenario's timeline as a text or SVG Gantt chart.
import type { Command } from 'commander';
import type { Scenario } from '../../api/types.js';
import { findScenario, loadValid } from '../input.js';
import { timelineChart } from '../chart.js';
import { dirOption, filenameOption, UserError } from '../options.js';

export function timelineCommand(program: Command): Command {
  const cmd = program
    .command('timeline')
    .description("render a scenario's timeline (past, current and next windows) as text or SVG")
    .argument('[name]', 'a scenario in --dir (its recorded start and status are used)')
    .addOption(filenameOption('or a Scenario file (previewed as if it started now)'))
    .option('--format <format>', 'text | svg', 'text')
    .option('--width <n>', 'columns (text) or pixels (svg)')
    .addOption(dirOption())
    .action(async (name: string | undefined, opts: { filename?: string; format: string; width?: string; dir: string }) => {
      let scenario: Scenario | undefined;
      if (opts.filename) scenario = (await loadValid(opts.filename)).scenario;
      else if (name) scenario = (await findScenario(opts.dir, name)).scenario as Scenario | undefined;
      else throw new UserError('name a scenario or give -f FILE');
      if (opts.format !== 'text' && opts.format !== 'svg') throw new UserError('--format must be text or svg');
      const width = opts.width ? Number(opts.width) : opts.format === 'svg' ? 900 : Math.max(40, (process.stdout.columns ?? 100) - 30);
      process.stdout.write(timelineChart(scenario, opts.format, width) ?? 'no faults\n');
    });
  return cmd;
}
