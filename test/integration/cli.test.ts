// CLI commands that need the engine: plan/diff output and exit codes, and `run` on a timeline
// without an end. Networks use 10.251.0.0/16; everything is removed afterwards.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cli, forceCleanup, ownedLeft, removeDir, tempDir, TESTBOX, uniqueName } from './lib.js';

const subnet = () => `10.251.${1 + Math.floor(Math.random() * 250)}.0/24`;

function scenario(name: string, spec: string): string {
  return `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

test('plan -o yaml prints the Plan as YAML; diff exits 1 when there are changes, 0 when none', async (t) => {
  const dir = await tempDir();
  t.after(() => removeDir(dir));
  const name = uniqueName('cli');
  const withNet = join(dir, 'net.yaml');
  await writeFile(
    withNet,
    scenario(name, `  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]\n`),
  );
  const empty = join(dir, 'empty.yaml');
  await writeFile(empty, scenario(uniqueName('cli'), '  description: nothing to create\n'));

  const plan = await cli('plan', '-f', withNet, '--dir', dir, '-o', 'yaml');
  assert.equal(plan.code, 0, plan.stderr);
  const doc = parseYaml(plan.stdout) as { scenario: string; operations: { name: string }[] };
  assert.equal(doc.scenario, name);
  assert.deepEqual(
    doc.operations.map((o) => o.name),
    [`network.create ${name}_net`],
  );

  const changes = await cli('diff', '-f', withNet, '--dir', dir);
  assert.equal(changes.code, 1, changes.stderr);
  assert.match(changes.stdout, new RegExp(`network\\.create ${name}_net`));

  const none = await cli('diff', '-f', empty, '--dir', dir);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no changes/);
});

test('run: a --timeout reached while the timeline has no end (repeat without times) is a normal end, exit 0', async (t) => {
  const dir = await tempDir();
  const name = uniqueName('cli');
  t.after(async () => {
    await forceCleanup(name);
    await removeDir(dir);
  });
  const file = join(dir, 'endless.yaml');
  // Windows at +1s..+7s, +31s..+37s, ... from the scenario's start: the first outlasts container
  // start-up on a busy machine, and the timeout falls between the first two.
  await writeFile(
    file,
    scenario(
      name,
      `  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b] } }]
  faults:
    - { name: cut, targets: { names: [a] }, blackhole: {}, direction: ingress, at: 1s, duration: 6s, repeat: { every: 30s } }
`,
    ),
  );
  const r = await cli('run', '-f', file, '--timeout', '14s', '-o', 'json');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const summary = JSON.parse(r.stdout) as {
    ok: boolean;
    outcome: string;
    timelineEnds: boolean;
    faults: { fault: string; result: string }[];
  };
  const why = r.stdout + r.stderr;
  assert.equal(summary.outcome, 'timeout', why);
  assert.equal(summary.timelineEnds, false, why);
  assert.equal(summary.ok, true, why);
  assert.deepEqual(
    summary.faults.map((f) => [f.fault, f.result]),
    [['cut', 'ok']],
    why,
  );
  assert.match(r.stderr, /the timeline has no end: stopping at --timeout/);
  assert.deepEqual(await ownedLeft(name), { containers: [], networks: [] });
});
