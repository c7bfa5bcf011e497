// `faultline validate -f`: schema and semantic checks, no Docker. A file may hold several
// scenarios separated by `---`.
import type { Command } from 'commander';
import { inputFiles, loadAllValid } from '../input.js';
import { examples, filenameOption } from '../options.js';

export function validateCommand(program: Command): Command {
  const cmd = program
    .command('validate')
    .description('check Scenario files against the schema and the semantic rules (no Docker needed)')
    .addOption(
      filenameOption(
        'a Scenario file (several documents separated by ---), or a directory of them',
      ).makeOptionMandatory(),
    )
    .action(async (opts: { filename: string }) => {
      let bad = 0;
      for (const f of await inputFiles(opts.filename)) {
        try {
          for (const { scenario, label } of await loadAllValid(f))
            process.stdout.write(`${label}: scenario "${scenario.metadata.name}" is valid\n`);
        } catch (e) {
          bad++;
          process.stderr.write(`${(e as Error).message}\n`);
        }
      }
      if (bad) process.exitCode = 1;
    });
  return examples(cmd, [
    'faultline validate -f examples/',
    'faultline validate -f scenario.yaml',
    'cat scenario.yaml | faultline validate -f -',
  ]);
}
