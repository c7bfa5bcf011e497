// The store against hostile files and a hostile filesystem (issue 9). Whatever the file holds and
// whatever the filesystem says, writeStatus returns a result that names the file and says why and
// what to do, the file stays byte-identical, and no temporary file is left behind.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { MAX_FILE_BYTES, guardText } from '../../../src/api/guard.js';
import { parseScenario } from '../../../src/api/parse.js';
import { ScenarioStore, indexByName, readName, readStable, readStatus } from '../../../src/store/index.js';
import { scanScenarioFiles } from '../../../src/store/dir.js';
import { withStatus } from '../../../src/store/yamlEdit.js';
import { hostileSpec } from '../api/hostile.js';
import { METHODS, SCENARIO, assertNoLeftovers, scratch, withFile } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

const isRoot = process.getuid?.() === 0;

/**
 * Run `fn` with SCENARIO saved as a.yaml on a tmpfs of `size` mounted for it (root only), which is
 * unmounted afterwards; the test is skipped where a tmpfs cannot be mounted.
 */
async function onTmpfs(
  t: TestContext,
  size: string,
  fn: (file: string, dir: string, remountReadOnly: () => void) => Promise<void>,
): Promise<void> {
  const s = scratch('faultline-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', s.dir], { stdio: 'ignore' });
  } catch {
    s.cleanup();
    t.skip('cannot mount a tmpfs here');
    return;
  }
  try {
    const file = join(s.dir, 'a.yaml');
    writeFileSync(file, SCENARIO);
    await fn(file, s.dir, () => execFileSync('mount', ['-o', 'remount,ro', s.dir], { stdio: 'ignore' }));
  } finally {
    execFileSync('umount', [s.dir], { stdio: 'ignore' });
    s.cleanup();
  }
}

describe('writeStatus into a file whose content has no place for it', () => {
  const shapes: [string, string, RegExp][] = [
    ['metadata: 5', 'apiVersion: v\nmetadata: 5\nspec: {}\n', /metadata is a number \(5\), not a mapping/],
    ['metadata: [x]', 'apiVersion: v\nmetadata: [x]   # a list\nspec: {}\n', /metadata is a list, not a mapping/],
    ['metadata: text', 'metadata: "split-brain"\nspec: {}\n', /metadata is text \("split-brain"\), not a mapping/],
    ['metadata: (empty)', 'metadata:\nspec: {}\n', /metadata is empty, not a mapping/],
    ['metadata: *alias', 'base: &m {name: a}\nmetadata: *m\nspec: {}\n', /metadata is an alias \(\*m\), not a mapping/],
    ['a list', '- metadata: {name: a}\n', /the document is a list, not a mapping/],
  ];
  for (const [name, text, message] of shapes) {
    it(`${name}: notEditable, saying why and what to do; the file is byte-identical`, async () => {
      for (const method of METHODS) {
        await withFile(text, async (file, dir) => {
          const r = await new ScenarioStore({ method, durable: false, readDelayMs: 1 }).writeStatus(file, {
            phase: 'Failed',
          });
          assert.equal(!r.written && r.reason, 'notEditable', `${method}: ${JSON.stringify(r)}`);
          assert.match(r.written ? '' : r.message, message);
          assert.ok(!r.written && r.message.startsWith(file), 'the message names the file');
          assert.equal(readFileSync(file, 'utf8'), text, method);
          assertNoLeftovers(dir, ['a.yaml']);
        });
      }
    });
  }

  it('a file whose data contains itself (an alias inside its own anchor) gets its status, no stack overflow', async () => {
    const text = 'metadata:\n  name: a\nspec: &s\n  loop: [*s]\n';
    await withFile(text, async (file) => {
      const parsed = parseScenario(text, file);
      assert.equal(!parsed.ok && parsed.issues[0]?.code, 'yaml.aliasCycle');
      const r = await new ScenarioStore({ durable: false }).writeStatus(file, { phase: 'Failed' });
      assert.equal(r.written, true, JSON.stringify(r));
      assert.ok(
        readFileSync(file, 'utf8').startsWith(
          'metadata:\n  name: a\n  generation: 1\nspec: &s\n  loop: [*s]\nstatus:\n  phase: Failed\n',
        ),
      );
    });
  });

  it('absurdly deep nesting: nothing parses it, nothing throws, the file is untouched', async () => {
    const text = `metadata:\n  name: deep\nspec: ${'['.repeat(20_000)}\n`;
    await withFile(text, async (file) => {
      assert.match((readName(text) as { error: string }).error, /nested more than 64 levels deep here/);
      const read = await readStable(file, { delayMs: 1 });
      assert.equal(!read.missing && read.text, text);
      const r = await new ScenarioStore({ durable: false, readDelayMs: 1 }).writeStatus(file, { phase: 'Failed' });
      assert.equal(!r.written && r.reason, 'invalid');
      assert.match(r.written ? '' : r.message, /nested more than 64 levels deep/);
      assert.equal(readFileSync(file, 'utf8'), text);
    });
  });
});

describe('a file over the size limit', () => {
  it('is judged by fstat before it is read: a bounded prefix, its real size, never parsed', async () => {
    const item = '    - {name: f, at: 3m, duration: 1m, netem: {delay: 100ms}, targets: {names: [a, b, c]}}\n';
    const text = `metadata:\n  name: big\nspec:\n  faults:\n${item.repeat(Math.ceil((4.4 * 1024 * 1024) / item.length))}`;
    await withFile(
      text,
      async (file) => {
        const size = Buffer.byteLength(text);
        const cpu = process.cpuUsage(); // work done, which a busy machine does not stretch
        const read = await readStable(file, { delayMs: 1 });
        assert.ok(!read.missing);
        assert.equal(read.truncated, true);
        assert.equal(read.size, size);
        assert.equal(read.text.length, MAX_FILE_BYTES + 1);
        const parsed = parseScenario(read.text, file, { bytes: read.size });
        assert.equal(!parsed.ok && parsed.issues[0]?.code, 'file.tooLarge');
        assert.match(
          !parsed.ok ? (parsed.issues[0]?.message ?? '') : '',
          /^the file is 4\.4 MiB; a Scenario file may be at most 1\.0 MiB: split it/,
        );
        // Its name is read from its first lines, without parsing the rest: the controller can say
        // which scenario is too large.
        assert.deepEqual(readName(read.text), { name: 'big' });
        assert.match(
          (readName(`# ${'x'.repeat(MAX_FILE_BYTES)}\nmetadata: {name: late}\n`) as { error: string }).error,
          /at most 1\.0 MiB/,
        );
        const r = await new ScenarioStore({ durable: false }).writeStatus(file, { phase: 'Failed' });
        assert.equal(!r.written && r.reason, 'tooLarge');
        assert.match(r.written ? '' : r.message, /big\.yaml: the file is 4\.4 MiB; .* not written$/);
        // Parsing 4.4 MB took 10-16 s of CPU; the whole of the above stays far below that.
        const used = process.cpuUsage(cpu);
        assert.ok(used.user + used.system < 3e6, `took ${Math.round((used.user + used.system) / 1000)} ms of CPU`);
        assert.equal(readFileSync(file, 'utf8'), text);
      },
      'big.yaml',
    );
  });
});

describe('writeStatus on a filesystem that says no', () => {
  it('a file made read-only (mode 0444): StatusWriteFailed, EACCES, what to do; untouched (even as root)', async () => {
    for (const method of METHODS) {
      await withFile(SCENARIO, async (file, dir) => {
        chmodSync(file, 0o444);
        const r = await new ScenarioStore({ method, durable: false }).writeStatus(file, { phase: 'Running' });
        assert.equal(!r.written && r.reason, 'StatusWriteFailed', `${method}: ${JSON.stringify(r)}`);
        assert.equal(!r.written && r.errno, 'EACCES');
        assert.match(
          r.written ? '' : r.message,
          new RegExp(
            `^${file}: not written \\(EACCES: the file is read-only, mode 0444\\); the file is unchanged: .*chmod u\\+w`,
          ),
        );
        assert.equal(readFileSync(file, 'utf8'), SCENARIO);
        assertNoLeftovers(dir, ['a.yaml']);
      });
    }
  });

  it('a directory the controller may not write (EACCES): StatusWriteFailed naming the directory', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'a.yaml');
      writeFileSync(file, SCENARIO);
      chmodSync(file, 0o666); // the file itself is writable by anyone; the directory is not
      chmodSync(s.dir, 0o755);
      let r: { written: boolean; reason?: string; errno?: string; message?: string };
      if (isRoot) {
        // root writes any directory: run the write as nobody, who may not write this one.
        const child = spawnSync(process.execPath, [join(here, 'fixtures', 'write-status.js'), file], {
          uid: 65534,
          gid: 65534,
          encoding: 'utf8',
        });
        assert.equal(child.status, 0, child.stderr);
        r = JSON.parse(child.stdout);
      } else {
        chmodSync(s.dir, 0o555);
        r = await new ScenarioStore({ durable: false }).writeStatus(file, { phase: 'Running' });
        chmodSync(s.dir, 0o755);
      }
      assert.equal(r.reason, 'StatusWriteFailed', JSON.stringify(r));
      assert.equal(r.errno, 'EACCES');
      assert.match(
        r.message ?? '',
        new RegExp(
          `^${file}: not written \\(EACCES: permission denied\\); the file is unchanged: .*write the file and the directory ${s.dir}`,
        ),
      );
      assert.equal(readFileSync(file, 'utf8'), SCENARIO);
      assertNoLeftovers(s.dir, ['a.yaml']);
    } finally {
      chmodSync(s.dir, 0o755);
      s.cleanup();
    }
  });

  it(
    'a read-only filesystem (EROFS, a tmpfs remounted ro; root only)',
    { skip: !isRoot && 'needs root to mount a tmpfs' },
    (t) =>
      onTmpfs(t, '1m', async (file, dir, remountReadOnly) => {
        remountReadOnly();
        for (const method of METHODS) {
          const r = await new ScenarioStore({ method, durable: false }).writeStatus(file, { phase: 'Running' });
          assert.equal(!r.written && r.reason, 'StatusWriteFailed', `${method}: ${JSON.stringify(r)}`);
          assert.equal(!r.written && r.errno, 'EROFS');
          assert.match(
            r.written ? '' : r.message,
            /\(EROFS: read-only file system\); the file is unchanged: the filesystem holding .* is read-only: remount it read-write/,
          );
          assert.equal(readFileSync(file, 'utf8'), SCENARIO);
        }
        assertNoLeftovers(dir, ['a.yaml']);
      }),
  );

  it(
    'a full disk (ENOSPC, a small tmpfs filled up; root only)',
    { skip: !isRoot && 'needs root to mount a tmpfs' },
    (t) =>
      onTmpfs(t, '64k', async (file, dir) => {
        const filler = join(dir, 'filler'); // takes the rest of the filesystem
        try {
          for (let i = 0; i < 1024; i++) writeFileSync(filler, Buffer.alloc(1024, 'x'), { flag: 'a' });
        } catch (e) {
          assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
        }
        for (const method of METHODS) {
          const big = {
            phase: 'Running' as const,
            events: [{ time: 't', type: 'Normal' as const, reason: 'R', message: 'x'.repeat(8192) }],
          };
          const r = await new ScenarioStore({ method, durable: false }).writeStatus(file, big);
          assert.equal(!r.written && r.reason, 'StatusWriteFailed', `${method}: ${JSON.stringify(r)}`);
          assert.equal(!r.written && r.errno, 'ENOSPC');
          assert.match(
            r.written ? '' : r.message,
            /\(ENOSPC: no space left on device\); the file is unchanged: no space left on the device holding .*: free some space/,
          );
          assert.equal(readFileSync(file, 'utf8'), SCENARIO);
          assertNoLeftovers(dir, ['a.yaml', 'filler']);
        }
      }),
  );
});

describe('symlinks that lead outside the scenario directory', () => {
  function layout(): { s: ReturnType<typeof scratch>; dir: string; outside: string; link: string; inside: string } {
    const s = scratch();
    const dir = join(s.dir, 'scenarios');
    mkdirSync(dir);
    const outside = join(s.dir, 'elsewhere.yaml');
    writeFileSync(outside, SCENARIO.replace('split-brain', 'elsewhere'));
    writeFileSync(join(dir, 'real.yaml'), SCENARIO);
    const link = join(dir, 'escape.yaml');
    symlinkSync(outside, link);
    const inside = join(dir, 'alias.yaml');
    symlinkSync('real.yaml', inside);
    return { s, dir, outside, link, inside };
  }

  it('are refused when listing, with a message; links inside the directory are scenario files', async () => {
    const { s, dir, link, inside } = layout();
    try {
      const scan = await scanScenarioFiles(dir);
      assert.deepEqual(scan.files, [inside, join(dir, 'real.yaml')]);
      assert.deepEqual(
        scan.refused.map((r) => [r.file, r.issue.code]),
        [[link, 'file.outsideDir']],
      );
      assert.match(
        scan.refused[0]?.issue.message ?? '',
        /escape\.yaml leads \(through a symlink\) to .*elsewhere\.yaml, outside the scenario directory .*: copy the file into the directory/,
      );
      assert.deepEqual(await new ScenarioStore().listScenarioFiles(dir), scan.files);
      const idx = await indexByName(dir, { delayMs: 1 });
      assert.deepEqual(
        idx.unreadable.map((u) => u.file),
        [link],
      );
      assert.match(idx.unreadable[0]?.reason ?? '', /outside the scenario directory/);
      assert.equal(idx.byName.get('elsewhere'), undefined);
    } finally {
      s.cleanup();
    }
  });

  it('are not read: the read says missing, and why', async () => {
    const { s, dir, link, inside } = layout();
    try {
      const store = new ScenarioStore({ dir, readDelayMs: 1 });
      const r = await store.readStable(link);
      assert.equal(r.missing, true);
      assert.equal(r.missing && r.refused?.code, 'file.outsideDir');
      assert.equal((await store.readStable(inside)).missing, false);
      // A store learns its directory from the calls that name it, as the controller makes them.
      const learned = new ScenarioStore({ readDelayMs: 1 });
      assert.equal((await learned.readStable(link)).missing, false, 'not confined yet');
      await learned.listScenarioFiles(dir);
      assert.equal((await learned.readStable(link)).missing, true);
    } finally {
      s.cleanup();
    }
  });

  it('are never written through: outsideDir, the outside file untouched', async () => {
    const { s, dir, outside, link, inside } = layout();
    try {
      const before = readFileSync(outside, 'utf8');
      const store = new ScenarioStore({ dir, durable: false });
      const r = await store.writeStatus(link, { phase: 'Running' });
      assert.equal(!r.written && r.reason, 'outsideDir', JSON.stringify(r));
      assert.match(r.written ? '' : r.message, /outside the scenario directory .*; not written$/);
      assert.equal(readFileSync(outside, 'utf8'), before);
      const ok = await store.writeStatus(inside, { phase: 'Running' });
      assert.equal(ok.written, true, 'a link inside the directory is written through');
      assertNoLeftovers(dir, ['alias.yaml', 'escape.yaml', 'real.yaml']);
    } finally {
      s.cleanup();
    }
  });
});

describe("the store's text edits on hostile texts (the api fuzz corpus)", () => {
  it('withStatus and readName never throw; a write holds the status, a refusal says why', () => {
    const seed = Number(process.env.FAULTLINE_FUZZ_SEED ?? 90_212);
    const status = { phase: 'Failed' as const, observedGeneration: 1 };
    fc.assert(
      fc.property(hostileSpec, (spec) => {
        const name = readName(spec.text);
        assert.ok('name' in name || name.error.length > 0);
        const refused = guardText(spec.text);
        const doc = refused ? undefined : parseDocument(spec.text);
        if (!doc || doc.errors.length > 0) return; // runEdit never hands these to an edit
        const out = withStatus(spec.text, status, { doc });
        if ('notEditable' in out) {
          assert.ok(out.notEditable.length > 10, spec.applied.join(' | '));
          return;
        }
        const written = parseDocument(out.text, { logLevel: 'error' }).toJS() as {
          status?: { phase?: string };
          metadata?: { generation?: number };
        };
        assert.equal(written.status?.phase, 'Failed', spec.applied.join(' | '));
        assert.equal(written.metadata?.generation, out.generation, spec.applied.join(' | '));
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe("readStatus: a file's status, for callers that only want that", () => {
  it('reads it leniently, and never parses what api/guard.ts refuses', () => {
    assert.deepEqual(readStatus('metadata: {name: a}\nstatus:\n  phase: Running\n'), { phase: 'Running' });
    assert.deepEqual(readStatus('metadata: {name: a}\n'), {});
    assert.deepEqual(readStatus('status: {phase: Failed}\nspec: [unclosed\n'), { phase: 'Failed' });
    assert.equal(readStatus(`status: {}\nspec: ${'['.repeat(50_000)}\n`), undefined);
    assert.equal(readStatus('- a list\n'), undefined);
    assert.equal(readStatus('a: *nowhere\n'), undefined);
  });
});
