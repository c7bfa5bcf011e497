import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline, tempDir, writeScenario } from './helpers.js';

test('timeline -f on a never-applied file says it has not started, with offsets from its future start', async (t) => {
  const file = await writeScenario(await tempDir(t), 'preview');
  const r = await faultline(['timeline', '-f', file, '--width', '60']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Running|Active/);
  assert.match(r.stdout, /^not started yet/);
  assert.match(r.stdout, /\nscenario Pending /);
  assert.match(r.stdout, /\ncut +\|? *\++ .*Scheduled +windows 0\n/);
});

test('timeline --format svg of a never-applied file is Pending', async (t) => {
  const file = await writeScenario(await tempDir(t), 'preview');
  const r = await faultline(['timeline', '-f', file, '--format', 'svg']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<svg /);
  assert.match(r.stdout, /<title>scenario Pending /);
});
