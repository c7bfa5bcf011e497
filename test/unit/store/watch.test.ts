import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { generationOf, ScenarioStore, type WatchEvent } from '../../../src/store/index.js';
import { parseDocument } from 'yaml';
import { eventually } from '../../eventually.js';
import { scanScenarioFiles } from '../../../src/store/dir.js';
import { SCENARIO, scratch } from './helpers.js';

const CONFIRM_MS = 50;

async function watching(
  ignoreInitial: boolean,
  body: (ctx: { dir: string; events: WatchEvent[]; store: ScenarioStore }) => Promise<void>,
  setup?: (dir: string) => void,
): Promise<void> {
  const s = scratch();
  const ac = new AbortController();
  try {
    setup?.(s.dir);
    const store = new ScenarioStore({ unlinkConfirmMs: CONFIRM_MS, durable: false });
    const events: WatchEvent[] = [];
    await store.watchDir(s.dir, (e) => events.push(e), ac.signal, { ignoreInitial });
    await body({ dir: s.dir, events, store });
  } finally {
    ac.abort();
    s.cleanup();
  }
}

const kinds = (events: WatchEvent[], path: string) => events.filter((e) => e.path === path).map((e) => e.kind);

describe('watchDir', () => {
  it('reports add, change and (confirmed) unlink of a scenario file', async () => {
    await watching(true, async ({ dir, events }) => {
      const f = join(dir, 'a.yaml');
      writeFileSync(f, SCENARIO);
      await eventually(() => (assert.deepEqual(kinds(events, f), ['add']), true), 'the watcher reported it', 3000, 10);
      appendFileSync(f, '# one more line\n');
      await eventually(
        () => (assert.equal(kinds(events, f).at(-1), 'change'), true),
        'the watcher reported it',
        3000,
        10,
      );
      unlinkSync(f);
      await eventually(
        () => (assert.equal(kinds(events, f).at(-1), 'unlink'), true),
        'the watcher reported it',
        3000,
        10,
      );
    });
  });

  it('reports the files already there as add, unless ignoreInitial', async () => {
    const setup = (dir: string) => {
      mkdirSync(join(dir, 'sub'));
      writeFileSync(join(dir, 'a.yaml'), SCENARIO);
      writeFileSync(join(dir, 'sub', 'b.yml'), SCENARIO);
    };
    await watching(
      false,
      async ({ dir, events }) => {
        await eventually(
          () => (
            assert.deepEqual(events.map((e) => `${e.kind} ${e.path}`).sort(), [
              `add ${join(dir, 'a.yaml')}`,
              `add ${join(dir, 'sub', 'b.yml')}`,
            ]),
            true
          ),
          'the watcher reported it',
          3000,
          10,
        );
      },
      setup,
    );
    await watching(
      true,
      async ({ dir, events }) => {
        writeFileSync(join(dir, 'c.yaml'), SCENARIO); // a sentinel: once it is seen, the rest would have been
        await eventually(() => (assert.equal(events.length, 1), true), 'the watcher reported it', 3000, 10);
        assert.deepEqual(events, [{ path: join(dir, 'c.yaml'), kind: 'add' }]);
      },
      setup,
    );
  });

  it('ignores temp files, hidden directories and other files', async () => {
    await watching(true, async ({ dir, events }) => {
      mkdirSync(join(dir, '.git'));
      writeFileSync(join(dir, '.faultline-tmp-a.yaml-1-abcd'), SCENARIO);
      writeFileSync(join(dir, '.git', 'x.yaml'), SCENARIO);
      writeFileSync(join(dir, 'notes.md'), 'hello');
      writeFileSync(join(dir, 'a.yaml.swp'), 'x');
      writeFileSync(join(dir, 'z.yaml'), SCENARIO); // sentinel
      await eventually(() => (assert.ok(events.length >= 1), true), 'the watcher reported it', 3000, 10);
      await delay(CONFIRM_MS * 2);
      assert.deepEqual(events, [{ path: join(dir, 'z.yaml'), kind: 'add' }]);
    });
  });

  it('reports a save by rename and our own status write as change, never as unlink', async () => {
    await watching(true, async ({ dir, events, store }) => {
      const f = join(dir, 'a.yaml');
      writeFileSync(f, SCENARIO);
      await eventually(() => (assert.deepEqual(kinds(events, f), ['add']), true), 'the watcher reported it', 3000, 10);
      events.length = 0;

      writeFileSync(`${f}.tmp`, SCENARIO.replace('suspend: false', 'suspend: true')); // like vim / sed -i
      renameSync(`${f}.tmp`, f);
      // chokidar reports a rename-over as change, or (under load) as add: the controller treats
      // both alike. What must never happen is an unlink (checked below).
      const seen = () => kinds(events, f).some((k) => k === 'change' || k === 'add');
      await eventually(
        () => (assert.ok(seen(), `events: ${JSON.stringify(events)}`), true),
        'the watcher reported it',
        3000,
        10,
      );

      events.length = 0;
      const g = generationOf(parseDocument(readFileSync(f, 'utf8')));
      const r = await store.writeStatus(f, {
        observedGeneration: g.generation,
        specHash: g.specHash,
        phase: 'Running',
      });
      assert.equal(r.written, true);
      // Our own write may or may not surface as an event (an exchange of two names in one
      // directory); when it does, the controller's handler recognises it: no reconcile.
      assert.equal(store.isOwnWrite(f, readFileSync(f, 'utf8')), true);

      await delay(CONFIRM_MS * 3 + 150); // longer than chokidar's and our unlink confirmation
      assert.ok(!kinds(events, f).includes('unlink'), `events: ${JSON.stringify(events)}`);
      assert.ok(!events.some((e) => e.path !== f), `events: ${JSON.stringify(events)}`);
    });
  });

  it('a save in place right after a status write (a rename) is reported, though chokidar says nothing of it', async () => {
    await watching(true, async ({ dir, events, store }) => {
      const f = join(dir, 'a.yaml');
      writeFileSync(f, SCENARIO);
      await eventually(() => (assert.deepEqual(kinds(events, f), ['add']), true), 'the add reported');
      // 20 rounds: a status write, then at once (within chokidar's window for the new inode) a
      // person's save. Each save must be followed by an event whose read shows it.
      for (let i = 0; i < 20; i++) {
        const w = await store.writeStatus(f, { phase: 'Running', observedAt: `round ${i}` });
        assert.equal(w.written, true);
        const n = events.length;
        const saved = `${SCENARIO}# round ${i}\n`;
        writeFileSync(f, saved);
        await eventually(() => {
          assert.ok(events.length > n, `round ${i}: no event after the save`);
          assert.equal(readFileSync(f, 'utf8'), saved);
          return true;
        }, `round ${i}: an event after the save`);
      }
    });
  });

  it('stops reporting when the signal aborts', async () => {
    const s = scratch();
    try {
      const ac = new AbortController();
      const events: WatchEvent[] = [];
      await new ScenarioStore().watchDir(s.dir, (e) => events.push(e), ac.signal, { ignoreInitial: true });
      ac.abort();
      writeFileSync(join(s.dir, 'a.yaml'), SCENARIO);
      await delay(150);
      assert.deepEqual(events, []);
    } finally {
      s.cleanup();
    }
  });
});

describe('a named pipe named *.yaml', () => {
  it('is not reported as a scenario file: refused once, with why; a file saved beside it still is', async () => {
    const s = scratch();
    const ac = new AbortController();
    try {
      const store = new ScenarioStore({ unlinkConfirmMs: CONFIRM_MS, durable: false });
      const events: WatchEvent[] = [];
      const refused: [string, string, string][] = [];
      await store.watchDir(s.dir, (e) => events.push(e), ac.signal, {
        ignoreInitial: true,
        onRefused: (path, message, code) => refused.push([path, code, message]),
      });
      const pipe = join(s.dir, 'pipe.yaml');
      execFileSync('mkfifo', [pipe]);
      await eventually(() => refused.length === 1, 'the watcher refused the pipe', 3000, 10);
      assert.equal(refused[0][0], pipe);
      assert.equal(refused[0][1], 'file.notRegular');
      assert.match(refused[0][2], /pipe\.yaml is a named pipe \(FIFO\), not a regular file.*remove it, or rename it/);
      const f = join(s.dir, 'a.yaml');
      writeFileSync(f, SCENARIO);
      await eventually(() => kinds(events, f).includes('add'), 'the watcher reported the file', 3000, 10);
      assert.deepEqual(kinds(events, pipe), []);
      assert.equal(refused.length, 1, 'said once');
    } finally {
      ac.abort();
      s.cleanup();
    }
  });

  it("is refused when the directory is listed (the controller's start), with why", async () => {
    const s = scratch();
    try {
      const pipe = join(s.dir, 'pipe.yaml');
      execFileSync('mkfifo', [pipe]);
      writeFileSync(join(s.dir, 'a.yaml'), SCENARIO);
      const scan = await scanScenarioFiles(s.dir);
      assert.deepEqual(scan.files, [join(s.dir, 'a.yaml')]);
      assert.deepEqual(
        scan.refused.map((r) => [r.file, r.issue.code]),
        [[pipe, 'file.notRegular']],
      );
    } finally {
      s.cleanup();
    }
  });

  it('is not read: the read says missing and why, at once (no writer is waited for)', async () => {
    const s = scratch();
    try {
      const pipe = join(s.dir, 'pipe.yaml');
      execFileSync('mkfifo', [pipe]);
      // Were the read to wait for a writer, it would hold this process's only thread and no test
      // timeout could fire: a writer comes after 10 s, so that such a read ends (and fails below).
      const writer = spawn(process.execPath, [
        '-e',
        `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(pipe)}, 'x: 1\\n'), 10000)`,
      ]);
      try {
        const r = await new ScenarioStore({ dir: s.dir, readDelayMs: 1, durable: false }).readStable(pipe);
        assert.equal(r.missing, true);
        assert.equal(r.missing && r.refused?.code, 'file.notRegular');
      } finally {
        writer.kill('SIGKILL');
      }
    } finally {
      s.cleanup();
    }
  });
});
