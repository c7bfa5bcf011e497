// faultline command line: kubectl habits over a directory of Scenario files. One file per
// command in commands/; this file only composes them and maps errors to exit codes.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { controllerCommand } from './commands/controller.js';
import { applyCommand } from './commands/apply.js';
import { getCommand } from './commands/get.js';
import { describeCommand } from './commands/describe.js';
import { deleteCommand } from './commands/delete.js';
import { waitCommand } from './commands/wait.js';
import { runCommand } from './commands/run.js';
import { timelineCommand } from './commands/timeline.js';
import { reseedCommand } from './commands/reseed.js';
import { planCommand } from './commands/plan.js';
import { validateCommand } from './commands/validate.js';
import { explainCommand } from './commands/explain.js';
import { completionCommand } from './commands/completion.js';
import { graphCommand } from './commands/graph.js';
import { complete } from './completion.js';
import { examples, UserError } from './options.js';

/** The version in our package.json: dist/src/cli/main.js is three levels below it, installed or not. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

export function buildProgram(): Command {
  const program = new Command()
    .name('faultline')
    .description('Declarative network chaos for Docker: Scenario files in, verified faults out.')
    .version(packageVersion())
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  // Commands inherit the settings above (program.command() copies them).
  controllerCommand(program);
  applyCommand(program);
  getCommand(program);
  describeCommand(program);
  deleteCommand(program);
  waitCommand(program);
  runCommand(program);
  timelineCommand(program);
  graphCommand(program);
  reseedCommand(program);
  planCommand(program, 'plan');
  planCommand(program, 'diff');
  validateCommand(program);
  explainCommand(program);
  completionCommand(program);
  return examples(program, [
    'mkdir -p scenarios && faultline controller --dir scenarios &',
    'faultline apply -f examples/echo.yaml && faultline wait echo --for condition=Ready',
    'faultline run -f examples/network-partition.yaml --timeout 5m',
    'faultline <command> --help',
  ]);
}

export async function main(argv: string[]): Promise<number> {
  // What the completion scripts call on every Tab: candidates, one a line (never an error).
  if (argv[2] === '__complete') {
    const words = await complete(buildProgram(), argv.slice(3)).catch((): string[] => []);
    process.stdout.write(words.map((w) => `${w}\n`).join(''));
    return 0;
  }
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander has printed it
    const err = e as Error;
    process.stderr.write(`error: ${err.message}\n`);
    return err instanceof UserError ? err.exitCode : 2;
  }
}
