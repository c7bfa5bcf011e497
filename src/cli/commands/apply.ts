// `faultline apply -f`: copy scenarios into the watched directory (kubectl apply; status kept).
import type { Command } from 'commander';
import { applyFile } from '../wiring.js';
import { controllerWatching, inputFiles, loadValid, watchedDir } from '../input.js';
import { dirOption, examples, filenameOption } from '../options.js';

export function applyCommand(program: Command): Command {
  const cmd = program
    .command('apply')
    .description('create or update scenarios in the watched directory (the status is kept)')
    .addOption(filenameOption('a Scenario file, or a directory of them').makeOptionMandatory())
    .addOption(dirOption())
    .action(async (opts: { filename: string }, self: Command) => {
      const dir = await watchedDir(self);
      const loaded = [];
      for (const f of await inputFiles(opts.filename)) loaded.push(await loadValid(f)); // all valid, or nothing applied
      for (const { scenario, text } of loaded) {
        const r = await applyFile(dir, text);
        process.stdout.write(`scenario.faultline.dev/${scenario.metadata.name} ${r.result} (${r.file})\n`);
      }
      if (!(await controllerWatching(dir))) {
        process.stderr.write(
          `warning: no controller is watching ${dir}; nothing changes in Docker until one runs: faultline controller --dir ${dir}\n`,
        );
      }
    });
  return examples(cmd, [
    'faultline apply -f examples/echo.yaml',
    'faultline apply -f examples/ --dir scenarios',
    'generate-scenario | faultline apply -f -',
  ]);
}
