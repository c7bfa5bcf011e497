import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline } from './helpers.js';

const COMMANDS = [
  'controller',
  'apply',
  'get',
  'describe',
  'delete',
  'wait',
  'run',
  'timeline',
  'reseed',
  'plan',
  'diff',
  'validate',
];

test('every --help ends with examples', async () => {
  for (const cmd of [[], ...COMMANDS.map((c) => [c])]) {
    const r = await faultline([...cmd, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nExamples:\n {2}\S/, `faultline ${cmd.join(' ')} --help`);
  }
});

test('controller --help shows a FAULTLINE_* variable for every option', async () => {
  const help = (await faultline(['controller', '--help'])).stdout.replace(/\s+/g, ' ');
  for (const v of [
    'FAULTLINE_DIR',
    'FAULTLINE_RESYNC',
    'FAULTLINE_WORKERS',
    'FAULTLINE_LOG_LEVEL',
    'FAULTLINE_NETNS_EXEC',
    'FAULTLINE_HOST_RULES',
  ]) {
    assert.match(help, new RegExp(`env: ${v}\\b`), v);
  }
});

test('diff --help states its exit codes; run --help says a timeout ends an endless timeline normally', async () => {
  const flat = async (cmd: string) => (await faultline([cmd, '--help'])).stdout.replace(/\s+/g, ' ');
  assert.match(
    await flat('diff'),
    /0 when Docker already matches the scenario, 1 when the Plan has changes, 2 on an error/,
  );
  assert.match(await flat('run'), /for a timeline without an end and no command, reaching --timeout is a normal end/);
});
