// `faultline run`: bad input exits 3 before any engine is asked, and --help documents every exit status.
import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline, tempDir, writeScenario } from './helpers.js';

test('run: an invalid scenario file, a missing file or a bad option value exits 3', async (t) => {
  const dir = await tempDir(t);
  const bad = await writeScenario(
    dir,
    'bad',
    'apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata: { name: bad }\nspec: { faults: [{ name: x }] }\n',
  );
  const invalid = await faultline(['run', '-f', bad, '--', 'true']);
  assert.equal(invalid.code, 3, invalid.stderr);
  assert.match(invalid.stderr, /bad\.yaml:\d+:\d+/);
  const missing = await faultline(['run', '-f', `${dir}/nope.yaml`]);
  assert.equal(missing.code, 3, missing.stderr);
  const until = await faultline(['run', '-f', bad, '--until', 'forever', '--', 'true']);
  assert.equal(until.code, 3, until.stderr);
  assert.match(until.stderr, /--until/);
  const noFile = await faultline(['run', '--', 'true']);
  assert.equal(noFile.code, 3, noFile.stderr);
  const ok = await writeScenario(dir, 'ok');
  const noCommand = await faultline(['run', '-f', ok, '--until', 'command']);
  assert.equal(noCommand.code, 3, noCommand.stderr);
  assert.match(noCommand.stderr, /--until command needs a command after --/);
});

test('run --help documents the exit statuses and --until', async () => {
  const r = await faultline(['run', '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const line of [
    /^ {2}0 {2}the command succeeded/m,
    /^ {2}1 {2}the command failed/m,
    /^ {2}2 {2}a fault was not applied/m,
    /^ {2}3 {2}bad input/m,
  ])
    assert.match(r.stdout, line);
  assert.match(r.stdout, /--until <what>/);
  assert.match(r.stdout, /faultline run -f chaos\.yaml -- npm test/);
});
