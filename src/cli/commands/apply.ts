// `faultline apply -f`: copy scenarios into the watched directory (kubectl apply; status kept).
// A file may hold several scenarios separated by `---`; each gets its own file in the directory.
import { Option, type Command } from 'commander';
import { applyFile } from '../wiring.js';
import { controllerWatching, inputFiles, loadAllValid, watchedDir } from '../input.js';
import { dirOption, examples, filenameOption, UserError } from '../options.js';

export function applyCommand(program: Command): Command {
  const cmd = program
    .command('apply')
    .description('create or update scenarios in the watched directory (the status is kept)')
    .addOption(
      filenameOption(
        'a Scenario file (several documents separated by ---), or a directory of them',
      ).makeOptionMandatory(),
    )
    .addOption(dirOption())
    .addOption(new Option('--dry-run', 'say what would be created, configured or unchanged; write nothing'))
    .action(async (opts: { filename: string; dryRun?: boolean }, self: Command) => {
      const dir = await watchedDir(self);
      const loaded = [];
      // All valid, or nothing applied.
      for (const f of await inputFiles(opts.filename)) loaded.push(...(await loadAllValid(f)));
      const names = new Map<string, string>();
      for (const { scenario, label } of loaded) {
        const n = scenario.metadata.name;
        if (names.has(n))
          throw new UserError(`scenario "${n}" is given twice (${names.get(n)} and ${label}); nothing was applied`);
        names.set(n, label);
      }
      const suffix = opts.dryRun ? ' (dry run)' : '';
      for (const { scenario, text } of loaded) {
        const r = await applyFile(dir, text, { dryRun: opts.dryRun });
        process.stdout.write(`scenario.faultline.dev/${scenario.metadata.name} ${r.result}${suffix} (${r.file})\n`);
      }
      if (!opts.dryRun && !(await controllerWatching(dir))) {
        process.stderr.write(
          `warning: no controller is watching ${dir}; nothing changes in Docker until one runs: faultline controller --dir ${dir}\n`,
        );
      }
    });
  return examples(cmd, [
    'faultline apply -f examples/echo.yaml',
    'faultline apply -f examples/ --dir scenarios',
    'faultline apply -f all-scenarios.yaml --dry-run    # several documents, separated by ---',
    'generate-scenario | faultline apply -f -',
  ]);
}
