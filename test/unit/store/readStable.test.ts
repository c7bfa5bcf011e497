import assert from 'node:assert/strict';
import { closeSync, openSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadNative } from '../../../src/store/native.js';
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

  it('returns valid content of a file left alone at once', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, VALID);
      utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
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
      const clock = scriptedClock((_ms, n) => n === 1 && writeFileSync(file, VALID)); // ... and writes while we wait
      const r = await readStable(file, { clock, delayMs: 5 });
      assert.equal(r.missing === false && r.text, VALID);
      assert.equal(r.missing === false && r.unsettled, undefined);
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

  it(
    'does not take a parseable prefix of a save in progress for the content',
    { skip: loadNative() === null },
    async () => {
      const s = scratch();
      try {
        const file = join(s.dir, 'a.yaml');
        const whole = `metadata:\n  name: a\nspec:\n  description: "${'x'.repeat(5000)}"\n  suspend: true\n`;
        // A writer that keeps the file open and writes it in pieces: between pieces, the prefix
        // parses ("metadata: {name: a}"), and nothing moves while we read it.
        const fd = openSync(file, 'w');
        writeSync(fd, whole.slice(0, 22));
        const clock = scriptedClock((_ms, n) => {
          if (n === 2) {
            writeSync(fd, whole.slice(22));
            closeSync(fd);
          }
        });
        const r = await readStable(file, { clock });
        assert.equal(r.missing === false && r.text, whole);
        assert.ok(clock.sleeps.length >= 2, 'read again while the writer had the file open');
      } finally {
        s.cleanup();
      }
    },
  );

  it('says when it ran out of tries while a save was still in progress', { skip: loadNative() === null }, async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      const fd = openSync(file, 'w');
      writeSync(fd, VALID);
      try {
        const r = await readStable(file, { clock: scriptedClock(), tries: 3 });
        assert.equal(r.missing === false && r.unsettled, true);
      } finally {
        closeSync(fd);
      }
    } finally {
      s.cleanup();
    }
  });

  it(
    "waits for a writer's lease like any reader, and reads what it leaves (it never fails on EAGAIN)",
    { skip: loadNative() === null ? 'needs Linux leases (koffi)' : false, timeout: 60_000 },
    async () => {
      const s = scratch();
      try {
        const file = join(s.dir, 'a.yaml');
        writeFileSync(file, VALID);
        utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
        // Another process takes the write lease a commit takes (store/commit.ts); once an opener
        // waits it writes the next text and lets go, 200 ms later.
        const native = new URL('../../../src/store/native.js', import.meta.url).href;
        const holder = spawn(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import { openSync, closeSync, writeSync, ftruncateSync } from 'node:fs';
             import { loadNative, F_WRLCK } from ${JSON.stringify(native)};
             const n = loadNative();
             const fd = openSync(${JSON.stringify(file)}, 'r+');
             if (n.lease(fd) !== 0) { console.log('no lease'); process.exit(3); }
             console.log('leased');
             const t = setInterval(() => {
               if (n.leaseState(fd) === F_WRLCK) return;
               clearInterval(t);
               ftruncateSync(fd, 0);
               writeSync(fd, ${JSON.stringify(VALID.replace('name: a', 'name: b'))}, 0);
               setTimeout(() => { closeSync(fd); process.exit(0); }, 200);
             }, 5);
             setTimeout(() => process.exit(4), 20000);`,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const exited = new Promise<number | null>((r) => holder.once('exit', r));
        await new Promise<void>((resolve, reject) => {
          holder.stdout!.on('data', (b: Buffer) =>
            b.toString().includes('leased') ? resolve() : reject(new Error(b.toString())),
          );
          holder.once('exit', (code) => reject(new Error(`the lease holder exited with ${code}`)));
        });
        const r = await readStable(file, { clock: scriptedClock() });
        assert.equal(r.missing, false, JSON.stringify(r));
        assert.equal(r.missing === false && r.text, VALID.replace('name: a', 'name: b'));
        assert.equal(await exited, 0, 'the holder saw a waiting opener and let go');
      } finally {
        s.cleanup();
      }
    },
  );

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
