// `faultline plan -f FILE` (and its alias `diff`): the Plan that would converge Docker to a
// scenario, as the controller of --dir would make it. Changes nothing.
import type { Command } from 'commander';
import { desiredState } from '../../plan/desired.js';
import { planScenario, planToJSON, planToText } from '../../plan/plan.js';
import { controllerIdFor } from '../../controller/lease.js';
import { createDockerPort } from '../../adapters/docker/port.js';
import { loadValid } from '../input.js';
import { dirOption, examples, filenameOption, outputOption } from '../options.js';

export function planCommand(program: Command, name: 'plan' | 'diff' = 'plan'): Command {
  const cmd = program
    .command(name)
    .description('print the Plan that would converge Docker to this scenario (changes nothing)')
    .addOption(filenameOption('Scenario file').makeOptionMandatory())
    .addOption(dirOption())
    .addOption(outputOption(['text', 'json']))
    .action(async (opts: { filename: string; output?: 'text' | 'json'; dir: string }) => {
      const { scenario } = await loadValid(opts.filename);
      const snapshot = await createDockerPort().snapshot();
      // As the controller of --dir would plan it (its identity owns what it created).
      const plan = planScenario(desiredState(controllerIdFor(opts.dir), scenario, snapshot), snapshot);
      if (opts.output === 'json') process.stdout.write(JSON.stringify(planToJSON(plan), null, 2) + '\n');
      else process.stdout.write(planToText(plan));
    });
  return examples(cmd, [`faultline ${name} -f examples/bastion.yaml`, `faultline ${name} -f examples/bastion.yaml -o json`, `cat bastion.yaml | faultline ${name} -f -`]);
}
