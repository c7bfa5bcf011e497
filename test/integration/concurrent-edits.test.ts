// A person edits a scenario file 1,000 times as fast as a machine can while the real controller
// reconciles it and writes status into the same file: no edit is ever lost, and every save the
// writer made is still there when it reads the file again (the writer checks before each edit).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { eventually, readScenario, scenarioEnv, TESTBOX } from './lib.js';

const EDITS = 1000;

test('1,000 concurrent edits while the controller writes status: no edit lost', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(
    file,
    `# edited by a machine: every edit adds a line below and changes spec.description
apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  description: "edit 0"
  networks: [{ name: net }]
  containers: [{ name: box, image: ${TESTBOX} }]
  members: [{ network: net, select: { names: [box] } }]
`,
  );
  await eventually(
    async () => (await readScenario(file)).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    'Ready',
  );
  const writesBefore = env.ctl.controller.stats.reconciles;

  // Every edit changes the spec, so the controller bumps the generation and writes status for
  // (almost) every one it sees: its writes race the person's saves all along.
  const writer = new URL('../unit/store/fixtures/edit-writer.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [writer, file, String(EDITS), 'mixed', '8'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  const report = JSON.parse(out.trim().split('\n').pop()!) as {
    edits: number;
    violations: unknown[];
    violationCount?: number;
  };
  assert.equal(report.edits, EDITS);
  assert.deepEqual(report.violations, [], 'the writer found one of its earlier saves missing');

  // The controller catches up with the last edit, and the file holds every edit.
  const s = await eventually(async () => {
    const x = await readScenario(file);
    return x.status?.observedGeneration === x.metadata.generation && x.spec.description === `edit ${EDITS}`
      ? x
      : undefined;
  }, 'controller caught up');
  const text = await readFile(file, 'utf8');
  for (let n = 1; n <= EDITS; n++) assert.ok(text.includes(`\n# edit ${n}\n`), `edit ${n} is in the final file`);
  assert.match(text, /^# edited by a machine/);
  assert.equal(s.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const reconciles = env.ctl.controller.stats.reconciles - writesBefore;
  assert.ok(reconciles >= 10, `the controller reconciled (and wrote status) during the edits: ${reconciles} times`);
});
