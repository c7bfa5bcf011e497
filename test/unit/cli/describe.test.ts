import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline, tempDir, writeScenario } from './helpers.js';

test('describe of a scenario no controller has seen shows its declared faults and their schedules', async (t) => {
  const dir = await tempDir(t);
  await writeScenario(dir, 'fresh');
  const r = await faultline(['describe', 'fresh', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const faults = /\nFaults:\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1] ?? '';
  assert.match(faults, /^ {2}NAME +ACTION +SCHEDULE +PHASE/);
  assert.match(faults, /\n {2}cut +blackhole +at 30s for 2m +Pending/);
  assert.match(faults, /\n {2}flaky +reject +at 1m for 10s, every 5m, 3 times +Pending/);
  assert.match(r.stdout, /\nTimeline:\nnot started yet/);
});
