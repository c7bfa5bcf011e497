// `faultline reseed NAME`: new random choices, by writing spec.seed.
import { randomInt } from 'node:crypto';
import { Option, type Command } from 'commander';
import { ScenarioStore } from '../../store/index.js';
import { findScenario, watchedDir } from '../input.js';
import { dirOption, examples, UserError, wholeNumber } from '../options.js';

export function reseedCommand(program: Command): Command {
  const cmd = program
    .command('reseed')
    .description(
      'choose new random targets, partitions and random start times: set spec.seed (a new random one, or --seed N)',
    )
    .argument('<name>')
    .addOption(new Option('--seed <n>', 'the seed to use').argParser(wholeNumber(0, Number.MAX_SAFE_INTEGER)))
    .addOption(dirOption())
    .action(async (name: string, opts: { seed?: number }, self: Command) => {
      const seed = opts.seed ?? randomInt(0, 2 ** 31 - 1);
      const it = await findScenario(await watchedDir(self), name);
      const r = await new ScenarioStore().updateFile(it.file, (docOf) => {
        const doc = docOf();
        doc.setIn(['spec', 'seed'], seed);
      });
      if (!r.written) throw new UserError(`cannot write ${it.file}: ${r.message}`);
      process.stdout.write(`scenario.faultline.dev/${name} reseeded: spec.seed = ${seed}\n`);
    });
  return examples(cmd, ['faultline reseed unstable', 'faultline reseed unstable --seed 42']);
}
