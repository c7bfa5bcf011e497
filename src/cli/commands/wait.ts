// `faultline wait NAME --for condition=Ready|delete`: poll the file until its status says so.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ConditionType } from '../../api/types.js';
import { listDir, watchedDir } from '../input.js';
import { dirOption, duration, examples, UserError } from '../options.js';

/** What --for asks: a condition with a status, or that the scenario is gone. */
type Awaited = { text: string } & ({ delete: true } | { delete: false; type: ConditionType; status: 'True' | 'False' });

function parseFor(value: string): Awaited {
  if (value === 'delete') return { text: value, delete: true };
  const m = /^condition=(Valid|Ready|Degraded)(?:=(True|False))?$/.exec(value);
  if (!m)
    throw new InvalidArgumentError(
      'Use condition=<Valid|Ready|Degraded>[=True|False] (e.g. condition=Ready, condition=Ready=False) or delete.',
    );
  return { text: value, delete: false, type: m[1] as ConditionType, status: (m[2] ?? 'True') as 'True' | 'False' };
}

export function waitCommand(program: Command): Command {
  const cmd = program
    .command('wait')
    .description('wait until a scenario reports a condition (e.g. Ready) for its current generation, or is deleted')
    .argument('<name>')
    .addOption(
      new Option('--for <condition>', 'condition=Ready, condition=Ready=False, or delete')
        .argParser(parseFor)
        .default(parseFor('condition=Ready'), 'condition=Ready'),
    )
    .addOption(new Option('--timeout <duration>', 'give up after').argParser(duration(0, '0s')).default(60_000, '60s'))
    .addOption(dirOption())
    .action(async (name: string, opts: { for: Awaited; timeout: number }, self: Command) => {
      const dir = await watchedDir(self);
      const deadline = Date.now() + opts.timeout;
      for (;;) {
        const it = (await listDir(dir)).find((i) => i.name === name);
        if (opts.for.delete && !it) return;
        const st = it?.scenario?.status;
        const want = opts.for.delete ? undefined : opts.for;
        const c = want && st?.conditions?.find((x) => x.type === want.type);
        const current =
          st?.observedGeneration !== undefined && st.observedGeneration === it?.scenario?.metadata?.generation;
        if (want && c && current && c.status === want.status) {
          process.stdout.write(`scenario.faultline.dev/${name} condition met: ${c.type}=${c.status} (${c.reason})\n`);
          return;
        }
        if (Date.now() > deadline) {
          const detail = c
            ? `${c.type}=${c.status} ${c.reason}: ${c.message}`
            : it
              ? 'no such condition yet'
              : 'no such scenario';
          throw new UserError(
            `timed out after ${opts.timeout / 1000} s waiting for ${name} ${opts.for.text} (now: ${detail})`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });
  return examples(cmd, [
    'faultline wait echo --for condition=Ready',
    'faultline wait echo --for condition=Degraded=False --timeout 2m',
    'faultline wait echo --for delete',
  ]);
}
