// `faultline delete NAME | -f FILE`: remove scenario files; the controller removes what they owned.
import type { Command } from 'commander';
import { peekName } from '../../controller/controller.js';
import { deleteScenario } from '../wiring.js';
import { controllerWatching, inputFiles, inputLabel, readInput, watchedDir } from '../input.js';
import { dirOption, examples, filenameOption, UserError } from '../options.js';

export function deleteCommand(program: Command): Command {
  const cmd = program
    .command('delete')
    .description('delete scenarios from the watched directory; the controller removes what they own')
    .argument('[name]', 'scenario name')
    .addOption(filenameOption('delete the scenario(s) named in this file or directory'))
    .addOption(dirOption())
    .action(async (name: string | undefined, opts: { filename?: string }, self: Command) => {
      const dir = await watchedDir(self);
      const names: string[] = [];
      if (name) names.push(name);
      if (opts.filename) {
        for (const f of await inputFiles(opts.filename)) {
          const n = peekName(await readInput(f));
          if (!n)
            throw new UserError(
              `${inputLabel(f)}: metadata.name is missing or not a DNS label; cannot tell which scenario to delete`,
            );
          names.push(n);
        }
      }
      if (names.length === 0) throw new UserError('name a scenario, or give -f FILE');
      for (const n of names) {
        const file = await deleteScenario(dir, n);
        if (!file) throw new UserError(`scenario "${n}" not found in ${dir}`);
        process.stdout.write(`scenario.faultline.dev/${n} deleted (${file})\n`);
      }
      if (!(await controllerWatching(dir))) {
        process.stderr.write(
          `warning: no controller is watching ${dir}; its networks and containers are removed when one starts: faultline controller --dir ${dir}\n`,
        );
      }
    });
  return examples(cmd, ['faultline delete echo', 'faultline delete -f examples/bastion.yaml --dir scenarios']);
}
