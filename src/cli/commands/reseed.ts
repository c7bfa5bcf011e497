// `faultline reseed NAME`: new random choices, by writing spec.seed.
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { ScenarioStore } from '../../store/index.js';
import { findScenario } from '../input.js';
import { dirOption, UserError } from '../options.js';

export function reseedCommand(program: Command): Command {
  const cmd = program
    .command('reseed')
    .description('choose new random targets, partitions and random start times: set spec.seed (a new random one, or --seed N)')
    .argument('<name>')
    .option('--seed <n>', 'the seed to use (a non-negative integer)')
    .addOption(dirOption())
    .action(async (name: string, opts: { seed?: string; dir: string }) => {
      const seed = opts.seed !== undefined ? Number(opts.seed) : randomInt(0, 2 ** 31 - 1);
      if (!Number.isSafeInteger(seed) || seed < 0) throw new UserError(`--seed ${opts.seed}: use a non-negative integer`);
      const it = await findScenario(opts.dir, name);
      const r = await new ScenarioStore().updateFile(it.file, (doc) => {
        doc.setIn(['spec', 'seed'], seed);
      });
      if (!r.written) throw new UserError(`cannot write ${it.file}: ${r.message}`);
      process.stdout.write(`scenario.faultline.dev/${name} reseeded: spec.seed = ${seed}\n`);
    });
  return cmd;
}
