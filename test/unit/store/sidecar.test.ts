// Status beside the file (--status-in sidecar): the scenario file is never written; generation
// bookkeeping as in the file; unchanged status lines stay; symlinks are never written through.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { specHash } from '../../../src/api/hash.js';
import type { ScenarioStatus } from '../../../src/api/types.js';
import { ScenarioStore } from '../../../src/store/index.js';
import { sidecarEdit, sidecarPath } from '../../../src/store/sidecar.js';

const SPEC = { networks: [{ name: 'n' }] };
const FILE = `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata: {name: web}\nspec: {networks: [{name: n}]}\n`;

async function dir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'faultline-sidecar-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

test('the sidecar of scenarios/web.yaml is scenarios/.faultline/web.status.yaml', () => {
  assert.equal(sidecarPath('/s/web.yaml'), '/s/.faultline/web.status.yaml');
  assert.equal(sidecarPath('/s/team/db.yml'), '/s/team/.faultline/db.status.yaml');
});

test('generation: 1 at first, the same while the spec stays, one more when it changes', () => {
  const at = { name: 'web', file: '/s/web.yaml' };
  const first = sidecarEdit('', { ...at, spec: SPEC }, { phase: 'Running', observedGeneration: 1 }, undefined);
  assert.equal(first.generation, 1);
  assert.equal(first.specHash, specHash(SPEC));
  const again = sidecarEdit(
    first.text,
    { ...at, spec: SPEC },
    { phase: 'Running', observedGeneration: 1 },
    first.specHash,
  );
  assert.equal(again.generation, 1);
  assert.equal(again.text, first.text, 'nothing changed: the same text');
  const spec2 = { networks: [{ name: 'n' }, { name: 'm' }] };
  // A status of the old spec written after the file moved on: newer than what it observed.
  const stale = sidecarEdit(
    first.text,
    { ...at, spec: spec2 },
    { phase: 'Running', observedGeneration: 1 },
    first.specHash,
  );
  assert.equal(stale.generation, 2);
  assert.equal((parse(stale.text) as { status: ScenarioStatus }).status.specHash, specHash(spec2));
});

test('a sidecar with content is patched: only the changed status line differs', () => {
  const at = { name: 'web', file: '/s/web.yaml', spec: SPEC };
  const status: ScenarioStatus = {
    observedGeneration: 1,
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True', reason: 'Converged', message: 'one', lastTransitionTime: 't' }],
  };
  const first = sidecarEdit('', at, status, undefined).text;
  const next = sidecarEdit(
    first,
    at,
    { ...status, conditions: [{ ...status.conditions![0], message: 'two' }] },
    undefined,
  ).text;
  const a = first.split('\n');
  const b = next.split('\n');
  assert.deepEqual(
    a.flatMap((l, i) => (l === b[i] ? [] : [[l, b[i]]])),
    [['      message: one', '      message: two']],
  );
});

test('writeStatusBeside never writes the scenario file, and reads back what it wrote', async (t) => {
  const d = await dir(t);
  const file = join(d, 'web.yaml');
  await writeFile(file, FILE);
  const store = new ScenarioStore({ dir: d });
  const w = await store.writeStatusBeside(file, { phase: 'Running', observedGeneration: 1 });
  assert.equal(w.written, true);
  assert.equal(w.generation, 1);
  assert.equal(await readFile(file, 'utf8'), FILE);
  const held = store.readHeldStatus(file);
  assert.equal(held.generation, 1);
  assert.equal(held.status.phase, 'Running');
  assert.equal(held.text, w.heldText);
  const same = await store.writeStatusBeside(file, { phase: 'Running', observedGeneration: 1 });
  assert.equal(same.written, false);
  assert.equal(same.reason, 'unchanged');
  await store.forgetHeldStatus(file);
  assert.deepEqual(store.readHeldStatus(file), { status: {}, text: '' });
});

test('a .faultline that is a symlink is neither read nor written through', async (t) => {
  const d = await dir(t);
  const elsewhere = await dir(t);
  const file = join(d, 'web.yaml');
  await writeFile(file, FILE);
  await symlink(elsewhere, join(d, '.faultline'));
  await writeFile(join(elsewhere, 'web.status.yaml'), 'status: {phase: Forged}\n');
  const store = new ScenarioStore({ dir: d });
  assert.deepEqual(store.readHeldStatus(file).status, {});
  const w = await store.writeStatusBeside(file, { phase: 'Running' });
  assert.equal(w.written, false);
  assert.equal(await readFile(join(elsewhere, 'web.status.yaml'), 'utf8'), 'status: {phase: Forged}\n');
});

test('a sidecar that is not YAML holds nothing and is replaced by the next write', async (t) => {
  const d = await dir(t);
  const file = join(d, 'web.yaml');
  await writeFile(file, FILE);
  await mkdir(join(d, '.faultline'));
  await writeFile(sidecarPath(file), '{{{ not yaml');
  const store = new ScenarioStore({ dir: d });
  assert.deepEqual(store.readHeldStatus(file).status, {});
  assert.equal((await store.writeStatusBeside(file, { phase: 'Running' })).written, true);
  assert.equal(store.readHeldStatus(file).status.phase, 'Running');
});
