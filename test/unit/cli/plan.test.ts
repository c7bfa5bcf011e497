// plan and diff up to the point where they ask Docker (the Plan itself is tested against the
// engine in test/integration/cli.test.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline } from './helpers.js';

test('plan accepts -o yaml and -o json', async () => {
  for (const format of ['yaml', 'json']) {
    const r = await faultline(['plan', '-f', '-', '-o', format], { input: 'kind: Scenario\n' });
    assert.doesNotMatch(r.stderr, /--output/, format);
    assert.match(r.stderr, /<stdin> is not a valid Scenario/, format);
  }
});

test('diff exits 2 on an error, never 1 (which means "there are changes")', async () => {
  const invalid = await faultline(['diff', '-f', '-'], { input: 'kind: Scenario\n' });
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /<stdin> is not a valid Scenario/);
  const usage = await faultline(['diff', '-f', '-', '-o', 'wide']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /'-o, --output <format>' argument 'wide'/);
});
