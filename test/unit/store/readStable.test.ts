import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readStable } from '../../../src/store/read.js';
import { scratch, scriptedClock } from './helpers.js';

const VALID = 'metadata:\n  name: a\nspec: {}\n';

describe('readStable', () => {
  it('reports a missing file as {missing: true}, never as an exception', async () => {
    const s = scratch();
    try {
      const clock = scriptedClock();
      assert.deepEqual(await readStable(join(s.dir, 'nope.yaml'), { clock }), { missing: true });
      assert.equal(clock.sleeps.length, 1, 'looks once more before believing the deletion');
      assert.deepEqual(await readStable(join(s.dir, 'no-dir', 'x.yaml'), { clock }), { missing: true });
    } finally {
      s.cleanup();
    }
  });

  it('returns valid content at once', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, VALID);
      const clock = scriptedClock();
      const r = await readStable(file, { clock });
      assert.equal(r.missing, false);
      assert.equal(r.missing === false && r.text, VALID);
      assert.equal(clock.sleeps.length, 0);
    } finally {
      s.cleanup();
    }
  });

  it('does not take the empty moment of an in-place write for the content', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, ''); // truncated, the writer has not written yet
      const clock = scriptedClock(() => writeFileSync(file, VALID)); // ... and writes while we wait
      const r = await readStable(file, { clock, delayMs: 5 });
      assert.equal(r.missing === false && r.text, VALID);
      assert.deepEqual(clock.sleeps, [5]);
    } finally {
      s.cleanup();
    }
  });

  it('accepts unparseable content once two reads agree (the person saved it)', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, 'spec: [unclosed\n');
      const clock = scriptedClock();
      const r = await readStable(file, { clock });
      assert.equal(r.missing === false && r.text, 'spec: [unclosed\n');
      assert.equal(clock.sleeps.length, 1);
    } finally {
      s.cleanup();
    }
  });

  it('gives up after the bounded number of reads and returns the last one', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, 'x: [0\n');
      const clock = scriptedClock((_ms, n) => writeFileSync(file, `x: [${n}\n`)); // never settles
      const r = await readStable(file, { clock, tries: 4 });
      assert.equal(r.missing === false && r.text, 'x: [3\n');
      assert.equal(clock.sleeps.length, 3);
    } finally {
      s.cleanup();
    }
  });

  it('sees a file that an editor deleted and recreated', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, VALID);
      unlinkSync(file);
      const clock = scriptedClock(() => writeFileSync(file, VALID));
      const r = await readStable(file, { clock });
      assert.equal(r.missing, false);
    } finally {
      s.cleanup();
    }
  });
});
