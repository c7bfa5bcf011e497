// `faultline get [NAME]`: list scenarios and their status.
import type { Command } from 'commander';
import { findScenario, listDir, stateDirOf, watchedDir, withHealth } from '../input.js';
import { printStructured } from '../output.js';
import { renderGet } from '../tables.js';
import { dirOption, examples, outputOption, stateDirOption } from '../options.js';

export function getCommand(program: Command): Command {
  const cmd = program
    .command('get')
    .description('list scenarios and their status')
    .argument('[name]', 'one scenario')
    .addOption(dirOption())
    .addOption(outputOption(['yaml', 'json', 'wide']))
    .addOption(stateDirOption())
    .action(async (name: string | undefined, opts: { output?: string }, self: Command) => {
      const dir = await watchedDir(self);
      const state = stateDirOf(self);
      const items = name ? [await findScenario(dir, name, state)] : await withHealth(dir, await listDir(dir), state);
      if (opts.output === 'yaml' || opts.output === 'json') {
        const objs = items.map((i) => i.scenario ?? { file: i.file, error: i.error });
        printStructured(name ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs }, opts.output);
        return;
      }
      if (items.length === 0) {
        process.stderr.write(`no scenarios in ${dir}\n`);
        return;
      }
      process.stdout.write(renderGet(items, new Date(), opts.output === 'wide'));
    });
  return examples(cmd, ['faultline get', 'faultline get echo -o yaml', 'faultline get -o wide --dir scenarios']);
}
