import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import type { ScenarioStatus } from '../../../src/api/types.js';
import { ScenarioStore, listScenarioFiles } from '../../../src/store/index.js';
import { SCENARIO, scratch } from './helpers.js';

function status(text: string): ScenarioStatus | undefined {
  return (parseDocument(text).toJS() as { status?: ScenarioStatus }).status;
}

const store = () => new ScenarioStore({ durable: false, readDelayMs: 1 });

describe('applyToDir', () => {
  it("creates <name>.yaml for a new name, with the source's text", async () => {
    const s = scratch();
    try {
      const r = await store().applyToDir(s.dir, SCENARIO);
      assert.deepEqual(r, { file: join(s.dir, 'split-brain.yaml'), result: 'created' });
      assert.equal(readFileSync(r.file, 'utf8'), SCENARIO);
      assert.deepEqual(readdirSync(s.dir), ['split-brain.yaml']);
    } finally {
      s.cleanup();
    }
  });

  it("configures an existing file, keeping its status and generation, taking the source's comments", async () => {
    const s = scratch();
    try {
      const st = store();
      const { file } = await st.applyToDir(s.dir, SCENARIO);
      await st.writeStatus(file, { observedGeneration: 1, phase: 'Running' });
      const before = readFileSync(file, 'utf8');
      const source = SCENARIO.replace('suspend: false', 'suspend: true  # paused for the demo');
      assert.deepEqual(await st.applyToDir(s.dir, source), { file, result: 'configured' });
      const after = readFileSync(file, 'utf8');
      assert.match(after, /suspend: true {2}# paused for the demo/);
      assert.deepEqual(status(after), status(before));
      assert.match(after, /^ {2}generation: 1$/m);
      // The next status write notices the spec change.
      const w = await st.writeStatus(file, { observedGeneration: 1, phase: 'Running' });
      assert.equal(w.generation, 2);
    } finally {
      s.cleanup();
    }
  });

  it('reports unchanged when the source is applied again, before and after status writes', async () => {
    const s = scratch();
    try {
      const st = store();
      const { file } = await st.applyToDir(s.dir, SCENARIO);
      assert.equal((await st.applyToDir(s.dir, SCENARIO)).result, 'unchanged');
      await st.writeStatus(file, { observedGeneration: 1, phase: 'Running' });
      const withStatus = readFileSync(file, 'utf8');
      assert.equal((await st.applyToDir(s.dir, SCENARIO)).result, 'unchanged');
      assert.equal(readFileSync(file, 'utf8'), withStatus);
    } finally {
      s.cleanup();
    }
  });

  it('finds the scenario by metadata.name, whatever its file is called', async () => {
    const s = scratch();
    try {
      mkdirSync(join(s.dir, 'team-a'));
      const file = join(s.dir, 'team-a', 'sb.yml');
      writeFileSync(file, SCENARIO);
      const r = await store().applyToDir(s.dir, SCENARIO.replace("'two halves'", "'three halves'"));
      assert.deepEqual(r, { file, result: 'configured' });
      assert.deepEqual(await listScenarioFiles(s.dir), [file]);
    } finally {
      s.cleanup();
    }
  });

  it('says what to fix when the source has no usable name, or the name is taken twice', async () => {
    const s = scratch();
    try {
      const st = store();
      await assert.rejects(st.applyToDir(s.dir, 'kind: Scenario\nspec: {}\n'), /metadata\.name/);
      await assert.rejects(st.applyToDir(s.dir, 'metadata:\n  name: ../evil\n'), /cannot be used as a file name/);
      await assert.rejects(
        st.applyToDir(s.dir, 'metadata: {name: a}\nspec: [unclosed\n'),
        /not a YAML mapping; fix its syntax/,
      );
      writeFileSync(join(s.dir, 'one.yaml'), SCENARIO);
      writeFileSync(join(s.dir, 'two.yaml'), SCENARIO);
      await assert.rejects(st.applyToDir(s.dir, SCENARIO), /defined by 2 files .*one\.yaml.*two\.yaml/);
      assert.equal(readFileSync(join(s.dir, 'one.yaml'), 'utf8'), SCENARIO);
    } finally {
      s.cleanup();
    }
  });

  it('never overwrites a file that holds another scenario', async () => {
    const s = scratch();
    try {
      const other = SCENARIO.replace('name: split-brain', 'name: other');
      writeFileSync(join(s.dir, 'split-brain.yaml'), other);
      // No file holds split-brain, so apply creates split-brain.yaml, which exists: it must refuse.
      await assert.rejects(store().applyToDir(s.dir, SCENARIO), /holds scenario "other"/);
      assert.equal(readFileSync(join(s.dir, 'split-brain.yaml'), 'utf8'), other);
      assert.deepEqual(readdirSync(s.dir), ['split-brain.yaml']);
    } finally {
      s.cleanup();
    }
  });
});

describe('deleteFromDir', () => {
  it('removes the file of that scenario and returns its path, or null', async () => {
    const s = scratch();
    try {
      const st = store();
      const { file } = await st.applyToDir(s.dir, SCENARIO);
      assert.equal(await st.deleteFromDir(s.dir, 'nope'), null);
      assert.equal(await st.deleteFromDir(s.dir, 'split-brain'), file);
      assert.deepEqual(readdirSync(s.dir), []);
    } finally {
      s.cleanup();
    }
  });
});

describe('listScenarioFiles and indexByName', () => {
  it('lists *.yaml and *.yml, skipping hidden names, temp files and other files', async () => {
    const s = scratch();
    try {
      for (const d of ['sub', '.git', 'sub/.hidden']) mkdirSync(join(s.dir, d), { recursive: true });
      const files = [
        'a.yaml',
        'b.YML',
        'sub/c.yaml',
        '.faultline-tmp-a.yaml-1-2',
        '.git/d.yaml',
        'sub/.hidden/e.yaml',
        'notes.md',
        'f.yaml.swp',
      ];
      for (const f of files) writeFileSync(join(s.dir, f), 'metadata:\n  name: x\n');
      assert.deepEqual(
        await listScenarioFiles(s.dir),
        ['a.yaml', 'b.YML', 'sub/c.yaml'].map((f) => join(s.dir, f)),
      );
    } finally {
      s.cleanup();
    }
  });

  it('maps names to files, reporting unreadable names and conflicts separately', async () => {
    const s = scratch();
    try {
      writeFileSync(join(s.dir, 'a.yaml'), 'metadata:\n  name: alpha\nspec: [broken but the name is readable\n');
      writeFileSync(join(s.dir, 'b1.yaml'), 'metadata:\n  name: beta\n');
      writeFileSync(join(s.dir, 'b2.yaml'), 'metadata:\n  name: beta\n');
      writeFileSync(join(s.dir, 'c.yaml'), 'metadata:\n  labels: {}\n');
      writeFileSync(join(s.dir, 'd.yaml'), '');
      const idx = await store().indexByName(s.dir);
      assert.deepEqual([...idx.byName], [['alpha', join(s.dir, 'a.yaml')]]);
      assert.deepEqual(idx.conflicts, [{ name: 'beta', files: [join(s.dir, 'b1.yaml'), join(s.dir, 'b2.yaml')] }]);
      assert.deepEqual(
        idx.unreadable.map((u) => u.file),
        [join(s.dir, 'c.yaml'), join(s.dir, 'd.yaml')],
      );
      assert.match(idx.unreadable[0].reason, /metadata\.name/);
    } finally {
      s.cleanup();
    }
  });
});
