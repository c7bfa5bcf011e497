// Shell completion. `faultline completion bash|zsh` prints a small script; on every Tab the shell
// runs `faultline __complete <words so far>` and offers what it prints, one candidate a line. The
// candidates come from the very commander program the CLI runs (commands, options, their choices),
// the watched directory (scenario names) and the CRD (explain's field paths), so the completion can
// never fall out of step with the commands. A first line `:files` or `:dirs` asks the shell to
// complete file or directory names itself.
//
//   $ faultline __complete desc          ->  describe
//   $ faultline __complete get --output ""  ->  yaml json wide
//   $ faultline __complete describe ""   ->  the scenario names in ./scenarios (or --dir, FAULTLINE_DIR)
//   $ faultline __complete apply -f ""   ->  :files
import type { Command, Option } from 'commander';
import { readCrd } from '../api/schema.js';
import { peekName } from '../controller/controller.js';
import { crdVersion, fieldPaths } from './explain.js';
import { listFiles, readScenarioFile } from './wiring.js';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** Commands whose argument is the name of a scenario in the watched directory. */
const NAME_ARGS = new Set(['name']);

function visible(program: Command): Command[] {
  return program.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
}

function optionsOf(cmd: Command): readonly Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return optionsOf(cmd).find((o) => o.long === flag || o.short === flag);
}

/** Scenario names in `dir`, sorted; nothing when the directory cannot be read. */
async function scenarioNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const f of await listFiles(dir).catch((): string[] => [])) {
    const r = await readScenarioFile(f).catch(() => null);
    const n = r && peekName(r.text);
    if (n) names.push(n);
  }
  return names.sort();
}

/**
 * The candidates for the last word of `words` (the words after the program's name; the last one
 * is being typed, possibly empty). `env` gives FAULTLINE_DIR.
 */
export async function complete(
  program: Command,
  words: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const cur = words[words.length - 1] ?? '';
  const starts = (xs: string[]) => xs.filter((x) => x.startsWith(cur));
  if (words.length <= 1)
    return starts(cur.startsWith('-') ? ['--help', '--version'] : [...visible(program).map((c) => c.name()), 'help']);
  const cmd = visible(program).find((c) => c.name() === words[0] || c.aliases().includes(words[0]));
  if (!cmd) return words[0] === 'help' && words.length === 2 ? starts(visible(program).map((c) => c.name())) : [];

  // The value of an option?
  const prev = words[words.length - 2];
  const opt = prev.startsWith('-') ? findOption(cmd, prev) : undefined;
  if (opt && (opt.required || opt.optional)) {
    if (opt.argChoices) return starts(opt.argChoices);
    if (opt.long === '--filename') return [':files'];
    if (opt.long === '--dir') return [':dirs'];
    if (opt.long === '--for') return starts(['condition=Ready', 'condition=Degraded', 'condition=Valid', 'delete']);
    return [];
  }
  if (cur.startsWith('-'))
    return starts(
      optionsOf(cmd)
        .flatMap((o) => (o.long ? [o.long] : o.short ? [o.short] : []))
        .concat('--help'),
    );

  // A positional argument: which one is being typed (words that are neither options nor their values).
  let position = 0;
  for (let i = 1; i < words.length - 1; i++) {
    const w = words[i];
    if (w.startsWith('-')) {
      const o = findOption(cmd, w.split('=')[0]);
      if (o && (o.required || o.optional) && !w.includes('=')) i++;
      continue;
    }
    position++;
  }
  const arg = cmd.registeredArguments[position];
  if (!arg) return [];
  if (cmd.name() === 'completion') return starts([...SHELLS]);
  // One level at a time, like a path: "spec.fa" -> spec.faults, then "spec.faults." -> its fields.
  if (cmd.name() === 'explain')
    return starts(fieldPaths(crdVersion(readCrd()))).filter((p) => !p.slice(cur.lastIndexOf('.') + 1).includes('.'));
  if (NAME_ARGS.has(arg.name())) return starts(await scenarioNames(dirIn(cmd, words, env)));
  return [];
}

/** The directory the command line names (--dir X, --dir=X), else FAULTLINE_DIR, else ./scenarios. */
function dirIn(cmd: Command, words: string[], env: NodeJS.ProcessEnv): string {
  for (let i = words.length - 2; i >= 1; i--) {
    if (words[i] === '--dir' && i + 1 < words.length - 1) return words[i + 1];
    if (words[i].startsWith('--dir=')) return words[i].slice('--dir='.length);
  }
  const fallback = findOption(cmd, '--dir')?.defaultValue as string | undefined;
  return env.FAULTLINE_DIR || fallback || 'scenarios';
}

/** The script that wires `faultline __complete` into the shell. */
export function completionScript(shell: Shell, bin = 'faultline'): string {
  if (shell === 'bash')
    return `# bash completion for ${bin}. Load it with: source <(${bin} completion bash)
# or install it: ${bin} completion bash > /etc/bash_completion.d/${bin}
_${bin}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n'
  local -a out
  out=($(${bin} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  case "\${out[0]}" in
    :files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    :dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=("\${out[@]}") ;;
  esac
}
complete -F _${bin}_complete ${bin}
`;
  return `#compdef ${bin}
# zsh completion for ${bin}. Load it with: source <(${bin} completion zsh)
# or install it as _${bin} in a directory of your $fpath.
_${bin}() {
  local -a out
  out=("\${(@f)$(${bin} __complete "\${(@)words[2,$CURRENT]}" 2>/dev/null)}")
  case "$out[1]" in
    :files) _files ;;
    :dirs) _files -/ ;;
    *) (( \${#out} )) && [[ -n "$out[1]" ]] && compadd -Q -- "\${out[@]}" ;;
  esac
}
if [[ "\${funcstack[1]}" = "_${bin}" ]]; then _${bin} "$@"; else compdef _${bin} ${bin}; fi
`;
}
