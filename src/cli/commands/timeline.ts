// `faultline timeline NAME | -f FILE`: a scenario's timeline as a text or SVG Gantt chart.
import { Option, type Command } from 'commander';
import type { Scenario } from '../../api/types.js';
import { findScenario, loadValid, watchedDir } from '../input.js';
import { at, instantArg, offsetArg, timelineChart, type ChartFormat } from '../chart.js';
import { dirOption, examples, filenameOption, UserError, wholeNumber } from '../options.js';

export function timelineCommand(program: Command): Command {
  const cmd = program
    .command('timeline')
    .description("render a scenario's timeline (past, current and next windows) as text or SVG")
    .argument('[name]', 'a scenario in --dir (its recorded start and status are used)')
    .addOption(filenameOption('or a Scenario file (drawn as it would run if it started now)'))
    .addOption(new Option('--format <format>', 'chart format').choices(['text', 'svg']).default('text'))
    .addOption(
      new Option('--width <n>', 'columns (text) or pixels (svg); default: the terminal width, or 900 px').argParser(
        wholeNumber(10, 10_000),
      ),
    )
    .addOption(
      new Option('--at <offset>', 'draw it as it is at this offset from the start (e.g. 30s)').argParser(offsetArg),
    )
    .addOption(
      new Option('--start <time>', 'the start to count from (RFC 3339; default: the recorded start, or now)').argParser(
        instantArg,
      ),
    )
    .addOption(dirOption())
    .action(
      async (
        name: string | undefined,
        opts: { filename?: string; format: ChartFormat; width?: number; at?: number; start?: Date },
        self: Command,
      ) => {
        let scenario: Scenario | undefined;
        if (opts.filename) scenario = (await loadValid(opts.filename)).scenario;
        else if (name) scenario = (await findScenario(await watchedDir(self), name)).scenario as Scenario | undefined;
        else throw new UserError('name a scenario or give -f FILE');
        const width = opts.width ?? (opts.format === 'svg' ? 900 : Math.max(40, (process.stdout.columns ?? 100) - 30));
        const when = at(scenario, opts);
        process.stdout.write(timelineChart(when.scenario, opts.format, width, when.now) ?? 'no faults\n');
      },
    );
  return examples(cmd, [
    'faultline timeline echo',
    'faultline timeline -f examples/network-partition.yaml --width 80',
    'faultline timeline unstable --format svg > unstable.svg',
    'faultline timeline -f examples/unstable.yaml --format svg --start 2026-01-01T00:00:00Z --at 1m',
  ]);
}
