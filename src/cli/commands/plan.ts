// `faultline plan -f FILE` and `faultline diff -f FILE`: the Plan that would converge Docker to a
// scenario, as the controller of --dir would make it. Changes nothing. `diff` exits like
// `kubectl diff`: 0 no changes, 1 changes, 2 an error.
import type { Command, CommanderError } from 'commander';
import { desiredState } from '../../plan/desired.js';
import { isEmptyPlan, planScenario, planToJSON, planToText } from '../../plan/plan.js';
import { controllerIdFor } from '../../controller/lease.js';
import { loadAllValid } from '../input.js';
import { isNetnsFault } from '../../api/kinds.js';
import type { Scenario } from '../../api/types.js';
import { FULL_CAPS } from '../../netfaults/index.js';
import { netPlanToText, planNetns } from '../../netplan/index.js';
import { resolveFaults, type Snapshot } from '../../resolve/index.js';
import { evaluateRecorded } from '../../timeline/index.js';
import { printStructured } from '../output.js';
import { dirOption, examples, filenameOption, outputOption, UserError } from '../options.js';

/**
 * The namespace side of the plan at this instant: where each active network fault would be
 * enforced and the exact programs that install it (compiled for a kernel with every capability;
 * the controller probes the real one and says what it lacks).
 */
function netnsPreview(scope: string, scenario: Scenario, snapshot: Snapshot): { text: string; json: unknown } {
  if (!(scenario.spec.faults ?? []).some(isNetnsFault)) return { text: '', json: undefined };
  const time = evaluateRecorded(scenario.metadata.name, scenario.spec, scenario.status ?? {}, new Date());
  const resolved = resolveFaults(scenario, time.result, snapshot, time.seed);
  const hostPath = { v4: true, v6: false };
  const plan = planNetns({
    scope,
    scenario,
    active: resolved.active,
    view: snapshot,
    caps: FULL_CAPS,
    seed: time.seed,
    hostPath,
  });
  const endpoints = new Map(snapshot.containers.map((c) => [c.id, c.endpoints.length]));
  const text = netPlanToText(plan, {
    scope,
    caps: FULL_CAPS,
    hostPath,
    interfacesOf: (t) => Array.from({ length: Math.max(1, endpoints.get(t.key) ?? 1) }, (_, i) => `eth${i}`),
  });
  const json = {
    placements: Object.fromEntries(
      [...plan.placements].map(([f, ps]) => [
        f,
        ps.map((p) => ({ container: p.display, host: p.host, namespace: p.netns, skip: p.skip })),
      ]),
    ),
    namespaces: [...plan.namespaces.values()].map((c) => ({ container: c.target.name, entries: c.entries })),
    host: plan.host.map((h) => ({
      fault: h.fault,
      receiver: h.receiver.target.name,
      senders: h.senders.map((x) => x.target.name),
    })),
  };
  return {
    text: `Programs (a kernel with every capability assumed; the controller probes the real one):\n${text}`,
    json,
  };
}

export function planCommand(program: Command, name: 'plan' | 'diff' = 'plan'): Command {
  const diff = name === 'diff';
  const cmd = program
    .command(name)
    .description(
      diff
        ? 'like plan, with kubectl diff exit codes: 0 when Docker already matches the scenario, 1 when the Plan has changes, 2 on an error'
        : 'print the Plan that would converge Docker to this scenario (changes nothing)',
    )
    .addOption(filenameOption('Scenario file (several documents separated by ---)').makeOptionMandatory())
    .addOption(dirOption())
    .addOption(outputOption(['text', 'yaml', 'json']))
    .action(async (opts: { filename: string; output?: 'text' | 'yaml' | 'json'; dir: string }) => {
      try {
        const loaded = await loadAllValid(opts.filename);
        // Loaded when needed: dockerode and its dependencies cost a CLI command that needs no engine ~0.3 s.
        const { createDockerPort } = await import('../../adapters/docker/port.js');
        const snapshot = await createDockerPort().snapshot();
        // As the controller of --dir would plan it (its identity owns what it created).
        const scope = controllerIdFor(opts.dir);
        const structured: unknown[] = [];
        for (const [i, { scenario }] of loaded.entries()) {
          const plan = planScenario(desiredState(scope, scenario, snapshot), snapshot);
          const net = netnsPreview(scope, scenario, snapshot);
          if (opts.output === 'yaml' || opts.output === 'json')
            structured.push({ ...(planToJSON(plan) as object), namespaces: net.json });
          else {
            // Several documents: each plan under the name of its scenario.
            if (loaded.length > 1) process.stdout.write(`${i ? '\n' : ''}# scenario ${scenario.metadata.name}\n`);
            process.stdout.write(planToText(plan) + (net.text ? `\n${net.text}` : ''));
          }
          if (diff && (!isEmptyPlan(plan) || plan.blocked.length > 0)) process.exitCode = 1;
        }
        if (opts.output === 'yaml' || opts.output === 'json')
          printStructured(
            loaded.length === 1 ? structured[0] : { apiVersion: 'v1', kind: 'List', items: structured },
            opts.output,
          );
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
      : [
          'faultline plan -f examples/bastion.yaml',
          'faultline plan -f examples/bastion.yaml -o yaml',
          'cat bastion.yaml | faultline plan -f - -o json',
        ],
  );
}
