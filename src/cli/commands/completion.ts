// `faultline completion bash|zsh`: the shell script that completes faultline's commands, options,
// their values and scenario names (see ../completion.ts).
import type { Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { examples } from '../options.js';

export function completionCommand(program: Command): Command {
  const cmd = program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', SHELLS.join(' or '))
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        cmd.error(`error: no completion for "${shell}"; use one of: ${SHELLS.join(', ')}`, { exitCode: 1 });
      }
      process.stdout.write(completionScript(shell as Shell, program.name()));
    });
  return examples(cmd, [
    'source <(faultline completion bash)',
    'faultline completion bash > /etc/bash_completion.d/faultline',
    'faultline completion zsh > "${fpath[1]}/_faultline"',
  ]);
}
