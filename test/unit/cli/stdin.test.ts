// `-f -` reads the scenario from stdin.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { faultline, tempDir, twoFaults } from './helpers.js';

test('validate -f - checks the scenario on stdin', async () => {
  const ok = await faultline(['validate', '-f', '-'], { input: twoFaults('piped') });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, '<stdin>: scenario "piped" is valid\n');
  const bad = await faultline(['validate', '-f', '-'], { input: twoFaults('piped').replace('at: 30s', 'at: soon') });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^<stdin> is not a valid Scenario/);
  assert.match(bad.stderr, /<stdin>:\d+:\d+/);
});

test('apply -f - writes the scenario on stdin into the directory', async (t) => {
  const dir = await tempDir(t);
  const r = await faultline(['apply', '-f', '-', '--dir', dir], { input: twoFaults('piped') });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /scenario\.faultline\.dev\/piped created/);
  assert.equal(await readFile(join(dir, 'piped.yaml'), 'utf8'), twoFaults('piped'));
});

test('plan -f - reads stdin (an invalid scenario is reported before Docker is asked)', async () => {
  const r = await faultline(['plan', '-f', '-'], { input: 'kind: Scenario\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: <stdin> is not a valid Scenario/);
});
