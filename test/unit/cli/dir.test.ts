// A missing scenario directory is named, with where the name came from and what to do.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { faultline, tempDir } from './helpers.js';

test('get without ./scenarios says which directory is missing and how to give one', async (t) => {
  const cwd = await tempDir(t);
  const r = await faultline(['get'], { cwd });
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stderr, /ENOENT|scandir/);
  assert.match(r.stderr, /\.\/scenarios/);
  assert.match(r.stderr, /mkdir -p scenarios/);
  assert.match(r.stderr, /--dir/);
  assert.match(r.stderr, /FAULTLINE_DIR/);
});

test('a missing directory from FAULTLINE_DIR or --dir is reported as coming from there', async (t) => {
  const missing = join(await tempDir(t), 'nope');
  const fromEnv = await faultline(['describe', 'x'], { env: { FAULTLINE_DIR: missing } });
  assert.notEqual(fromEnv.code, 0);
  assert.match(fromEnv.stderr, new RegExp(`FAULTLINE_DIR=${missing}: the scenario directory does not exist`));
  const fromFlag = await faultline(['wait', 'x', '--dir', missing]);
  assert.notEqual(fromFlag.code, 0);
  assert.match(fromFlag.stderr, new RegExp(`--dir ${missing}: the scenario directory does not exist`));
});

test('apply into a missing directory fails before writing anything', async (t) => {
  const missing = join(await tempDir(t), 'nope');
  const r = await faultline(['apply', '-f', '-', '--dir', missing], {
    input: 'apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata: { name: x }\nspec: {}\n',
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the scenario directory does not exist; create it/);
});
