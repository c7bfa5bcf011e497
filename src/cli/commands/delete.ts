// `faultline delete NAME | -f FILE`: remove scenario files; the controller removes what they owned.
import { Option, type Command } from 'commander';
import { peekName } from '../../controller/controller.js';
import { deleteScenario } from '../wiring.js';
import { controllerWatching, inputFiles, inputLabel, readInput, splitDocuments, watchedDir } from '../input.js';
import { dirOption, examples, filenameOption, UserError } from '../options.js';

export function deleteCommand(program: Command): Command {
  const cmd = program
    .command('delete')
    .description('delete scenarios from the watched directory; the controller removes what they own')
    .argument('[name]', 'scenario name')
    .addOption(filenameOption('delete the scenario(s) named in this file or directory'))
    .addOption(dirOption())
    .addOption(new Option('--dry-run', 'say which files would be deleted; delete nothing'))
    .action(async (name: string | undefined, opts: { filename?: string; dryRun?: boolean }, self: Command) => {
      const dir = await watchedDir(self);
      const names: string[] = [];
      if (name) names.push(name);
      if (opts.filename) {
        for (const f of await inputFiles(opts.filename)) {
          // Every document of the file (several are separated by ---).
          for (const doc of splitDocuments(await readInput(f))) {
            const n = peekName(doc.text);
            if (!n)
              throw new UserError(
                `${inputLabel(f)}:${doc.line}: metadata.name is missing or not a DNS label; cannot tell which scenario to delete`,
              );
            names.push(n);
          }
        }
      }
      if (names.length === 0) throw new UserError('name a scenario, or give -f FILE');
      for (const n of names) {
        const file = await deleteScenario(dir, n, { dryRun: opts.dryRun });
        if (!file) throw new UserError(`scenario "${n}" not found in ${dir}`);
        process.stdout.write(`scenario.faultline.dev/${n} deleted${opts.dryRun ? ' (dry run)' : ''} (${file})\n`);
      }
      if (!opts.dryRun && !(await controllerWatching(dir))) {
        process.stderr.write(
          `warning: no controller is watching ${dir}; its networks and containers are removed when one starts: faultline controller --dir ${dir}\n`,
        );
      }
    });
  return examples(cmd, [
    'faultline delete echo',
    'faultline delete -f examples/bastion.yaml --dir scenarios',
    'faultline delete -f all-scenarios.yaml --dry-run',
  ]);
}
