// CLI commands that need the engine: plan/diff output and exit codes. Networks use 10.251.0.0/16;
// nothing is created.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cli, removeDir, tempDir, uniqueName } from './lib.js';

const subnet = () => `10.251.${1 + Math.floor(Math.random() * 250)}.0/24`;

function scenario(name: string, spec: string): string {
  return `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

test('plan -o yaml prints the Plan as YAML; diff exits 1 when there are changes, 0 when none', async (t) => {
  const dir = await tempDir();
  t.after(() => removeDir(dir));
  const name = uniqueName('cli');
  const withNet = join(dir, 'net.yaml');
  await writeFile(withNet, scenario(name, `  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]\n`));
  const empty = join(dir, 'empty.yaml');
  await writeFile(empty, scenario(uniqueName('cli'), '  description: nothing to create\n'));

  const plan = await cli('plan', '-f', withNet, '--dir', dir, '-o', 'yaml');
  assert.equal(plan.code, 0, plan.stderr);
  const doc = parseYaml(plan.stdout) as { scenario: string; operations: { name: string }[] };
  assert.equal(doc.scenario, name);
  assert.deepEqual(doc.operations.map((o) => o.name), [`network.create ${name}_net`]);

  const changes = await cli('diff', '-f', withNet, '--dir', dir);
  assert.equal(changes.code, 1, changes.stderr);
  assert.match(changes.stdout, new RegExp(`network\\.create ${name}_net`));

  const none = await cli('diff', '-f', empty, '--dir', dir);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no changes/);
});
