// `faultline wait NAME --for condition=Ready|delete`: poll the file until its status says so.
import type { Command } from 'commander';
import { parseDuration } from '../../api/duration.js';
import { listDir } from '../input.js';
import { dirOption, UserError } from '../options.js';

export function waitCommand(program: Command): Command {
  const cmd = program
    .command('wait')
    .description('wait until a scenario reports a condition (e.g. Ready) for its current generation')
    .argument('<name>')
    .option('--for <condition>', 'condition=Ready, condition=Ready=False, or delete', 'condition=Ready')
    .option('--timeout <duration>', 'give up after', '60s')
    .addOption(dirOption())
    .action(async (name: string, opts: { for: string; timeout: string; dir: string }) => {
      const dir = opts.dir;
      const deadline = Date.now() + parseDuration(opts.timeout);
      const m = /^condition=(Valid|Ready|Degraded)(?:=(True|False))?$/.exec(opts.for);
      if (!m && opts.for !== 'delete') throw new UserError(`--for ${opts.for}: use condition=Ready, condition=Ready=False or delete`);
      for (;;) {
        const it = (await listDir(dir)).find((i) => i.name === name);
        if (opts.for === 'delete' && !it) return;
        const st = it?.scenario?.status;
        const c = st?.conditions?.find((x) => x.type === m?.[1]);
        const current = st?.observedGeneration !== undefined && st.observedGeneration === it?.scenario?.metadata?.generation;
        if (m && c && current && c.status === (m[2] ?? 'True')) {
          process.stdout.write(`scenario.faultline.dev/${name} condition met: ${c.type}=${c.status} (${c.reason})\n`);
          return;
        }
        if (Date.now() > deadline) {
          const detail = c ? `${c.type}=${c.status} ${c.reason}: ${c.message}` : it ? 'no such condition yet' : 'no such scenario';
          throw new UserError(`timed out after ${opts.timeout} waiting for ${name} ${opts.for} (now: ${detail})`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });
  return cmd;
}
