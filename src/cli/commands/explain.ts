// `faultline explain FIELD`: a Scenario field's documentation, from the CRD (like kubectl explain).
import { Option, type Command } from 'commander';
import { readCrd } from '../../api/schema.js';
import { crdVersion, explain } from '../explain.js';
import { examples, UserError } from '../options.js';

export function explainCommand(program: Command): Command {
  const cmd = program
    .command('explain')
    .description('document a Scenario field, from the CRD (crds/scenario.yaml)')
    .argument('[field]', 'a dotted path, e.g. spec.faults.netem (a leading "scenario." is allowed)', 'scenario')
    .addOption(new Option('--recursive', 'list every field below it, as a tree'))
    .action((field: string, opts: { recursive?: boolean }) => {
      const r = explain(crdVersion(readCrd()), field, opts.recursive);
      if ('error' in r) throw new UserError(`${r.error}. See: faultline explain scenario --recursive`);
      process.stdout.write(r.text);
    });
  return examples(cmd, [
    'faultline explain scenario.spec',
    'faultline explain spec.faults.partition',
    'faultline explain spec.faults --recursive',
  ]);
}
