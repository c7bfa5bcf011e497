// `faultline plan -f FILE` and `faultline diff -f FILE`: the Plan that would converge Docker to a
// scenario, as the controller of --dir would make it. Changes nothing. `diff` exits like
// `kubectl diff`: 0 no changes, 1 changes, 2 an error.
import type { Command, CommanderError } from 'commander';
import { desiredState } from '../../plan/desired.js';
import { isEmptyPlan, planScenario, planToJSON, planToText } from '../../plan/plan.js';
import { controllerIdFor } from '../../controller/lease.js';
import { createDockerPort } from '../../adapters/docker/port.js';
import { loadValid } from '../input.js';
import { printStructured } from '../output.js';
import { dirOption, examples, filenameOption, outputOption, UserError } from '../options.js';

export function planCommand(program: Command, name: 'plan' | 'diff' = 'plan'): Command {
  const diff = name === 'diff';
  const cmd = program
    .command(name)
    .description(
      diff
        ? 'like plan, with kubectl diff exit codes: 0 when Docker already matches the scenario, 1 when the Plan has changes, 2 on an error'
        : 'print the Plan that would converge Docker to this scenario (changes nothing)',
    )
    .addOption(filenameOption('Scenario file').makeOptionMandatory())
    .addOption(dirOption())
    .addOption(outputOption(['text', 'yaml', 'json']))
    .action(async (opts: { filename: string; output?: 'text' | 'yaml' | 'json'; dir: string }) => {
      try {
        const { scenario } = await loadValid(opts.filename);
        const snapshot = await createDockerPort().snapshot();
        // As the controller of --dir would plan it (its identity owns what it created).
        const plan = planScenario(desiredState(controllerIdFor(opts.dir), scenario, snapshot), snapshot);
        if (opts.output === 'yaml' || opts.output === 'json') printStructured(planToJSON(plan), opts.output);
        else process.stdout.write(planToText(plan));
        if (diff && (!isEmptyPlan(plan) || plan.blocked.length > 0)) process.exitCode = 1;
      } catch (e) {
        if (!diff) throw e;
        throw new UserError((e as Error).message, 2);
      }
    });
  if (diff) {
    // A usage error must not read as "there are changes".
    cmd.exitOverride((err: CommanderError) => {
      if (err.exitCode !== 0) err.exitCode = 2;
      throw err;
    });
  }
  return examples(
    cmd,
    diff
      ? ['faultline diff -f examples/bastion.yaml || echo "Docker differs from the scenario"']
      : ['faultline plan -f examples/bastion.yaml', 'faultline plan -f examples/bastion.yaml -o yaml', 'cat bastion.yaml | faultline plan -f - -o json'],
  );
}
