// What an interrupted status write left behind: removed only when it holds nothing the file lacks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidyTemps } from '../../../src/store/tidy.js';

const SPEC = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: {name: shop}
spec:
  networks: [{name: net}]
`;
const WITH_STATUS = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: {name: shop, generation: 3}
spec:
  networks: [{name: net}]
status:
  phase: Running
`;
const OTHER_SPEC = SPEC.replace('net}', 'net2}');
const DEAD = 4_000_001; // above pid_max: never a live process
const tmp = (file: string, pid = DEAD) => `.faultline-tmp-${file}-${pid}-0a1b2c3d`;
const at = () => new Date('2026-11-30T12:00:00Z');

async function dir(files: Record<string, string>): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'faultline-tidy-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(d, name, '..'), { recursive: true });
    await writeFile(join(d, name), text);
  }
  return d;
}

describe('tidy: leftovers of interrupted status writes', () => {
  it('a leftover whose spec is the file’s (status and generation aside) is removed; the file is untouched', async () => {
    const d = await dir({
      'shop.yaml': SPEC,
      [tmp('shop.yaml')]: WITH_STATUS,
      [`team/${tmp('b.yaml')}`]: SPEC,
      'team/b.yaml': WITH_STATUS,
    });
    const r = await tidyTemps(d, { now: at });
    assert.deepEqual(r.removed.sort(), [join(d, tmp('shop.yaml')), join(d, 'team', tmp('b.yaml'))].sort());
    assert.deepEqual(r.kept, []);
    assert.deepEqual((await readdir(d)).sort(), ['shop.yaml', 'team']);
    assert.deepEqual(await readdir(join(d, 'team')), ['b.yaml']);
    assert.equal(await readFile(join(d, 'shop.yaml'), 'utf8'), SPEC);
  });

  it('a leftover that may hold a person’s save (another spec, unparsable, or its file gone) is kept under a recovered name, with why', async () => {
    const d = await dir({
      'a.yaml': SPEC,
      [tmp('a.yaml')]: OTHER_SPEC,
      'b.yaml': SPEC,
      [tmp('b.yaml')]: 'spec: [half a save',
      [tmp('gone.yaml')]: SPEC,
    });
    const r = await tidyTemps(d, { now: at });
    assert.deepEqual(r.removed, []);
    const why = Object.fromEntries(r.kept.map((k) => [k.temp.slice(d.length + 1), k.why]));
    assert.deepEqual(why, {
      [tmp('a.yaml')]: "its spec differs from a.yaml's",
      [tmp('b.yaml')]: 'it does not parse as a Scenario',
      [tmp('gone.yaml')]: 'gone.yaml is gone',
    });
    const names = (await readdir(d)).sort();
    assert.deepEqual(names, [
      '.faultline-recovered-a.yaml-2026-11-30T12-00-00-000Z',
      '.faultline-recovered-b.yaml-2026-11-30T12-00-00-000Z',
      '.faultline-recovered-gone.yaml-2026-11-30T12-00-00-000Z',
      'a.yaml',
      'b.yaml',
    ]);
    assert.equal(await readFile(join(d, '.faultline-recovered-a.yaml-2026-11-30T12-00-00-000Z'), 'utf8'), OTHER_SPEC);
  });

  it('a leftover of a writer still alive is left alone; our own pid counts as a previous run of ours', async () => {
    const d = await dir({
      'a.yaml': SPEC,
      [tmp('a.yaml', 77)]: WITH_STATUS,
      [tmp('a.yaml', process.pid)]: WITH_STATUS,
    });
    const r = await tidyTemps(d, { alive: (pid) => pid === 77, now: at });
    assert.deepEqual(r.removed, [join(d, tmp('a.yaml', process.pid))]);
    assert.deepEqual((await readdir(d)).sort(), [tmp('a.yaml', 77), 'a.yaml']);
  });

  it('the default liveness check: a live pid (this test’s parent) is in flight, ours is not', async () => {
    const d = await dir({
      'a.yaml': SPEC,
      [tmp('a.yaml', process.ppid)]: WITH_STATUS,
      [tmp('a.yaml', process.pid)]: WITH_STATUS,
    });
    const r = await tidyTemps(d, { now: at });
    assert.deepEqual(r.removed, [join(d, tmp('a.yaml', process.pid))]);
    assert.ok((await readdir(d)).includes(tmp('a.yaml', process.ppid)));
  });

  it('names that only look like leftovers, and scenario files, are never touched', async () => {
    const d = await dir({ 'a.yaml': SPEC, '.faultline-tmp-a.yaml': WITH_STATUS, '.faultline-tmp-x-12-nothex!': SPEC });
    const r = await tidyTemps(d, { now: at });
    assert.deepEqual(r, { removed: [], kept: [] });
    assert.equal((await readdir(d)).length, 3);
  });
});
