// Volumes and tmpfs of declared containers, on the real engine: named volumes the scenario owns
// (labelled, removed with it unless keep: true — a kept volume is found again by the scenario that
// made it, data and all), binds by absolute path (read-only honoured; a path that does not exist is
// Docker's own error in status), tmpfs with size and mode.
import assert from 'node:assert/strict';
import test from 'node:test';
import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerStatus, eventually, ownedLeft, TESTBOX } from './lib.js';
import { current, execIn, fixture, ready } from './netlib.js';

const volumeLabels = async (name: string): Promise<Record<string, string> | undefined> => {
  const r = await dockerStatus('volume', 'inspect', name);
  return r.code === 0 ? (JSON.parse(r.stdout)[0].Labels as Record<string, string>) : undefined;
};

test('volumes: owned and labelled; removed with the scenario unless kept; a kept one is found again with its data', async (t) => {
  const seed = await mkdtemp(join(tmpdir(), 'faultline-seed-'));
  t.after(() => rm(seed, { recursive: true, force: true }));
  await writeFile(join(seed, 'hello'), 'from the host\n');
  const fx = await fixture(t);
  const spec = `  volumes:
    - { name: kept, keep: true }
    - { name: scratch }
  containers:
    - name: box
      image: ${TESTBOX}
      volumes:
        - { source: kept, target: /kept }
        - { source: scratch, target: /scratch }
        - { source: ${seed}, target: /seed, readOnly: true }
      tmpfs:
        - { target: /fast, size: 8m, mode: "1770" }
`;
  await fx.write(spec);
  const s = await ready(fx.file);
  assert.deepEqual(
    s.status!.volumes!.map((v) => [v.name, v.dockerName, v.phase, v.keep ?? false]),
    [
      ['kept', fx.dn('kept'), 'Ready', true],
      ['scratch', fx.dn('scratch'), 'Ready', false],
    ],
  );
  assert.equal((await volumeLabels(fx.dn('kept')))?.['faultline.dev/keep'], 'true');
  assert.equal((await volumeLabels(fx.dn('scratch')))?.['faultline.dev/scenario'], fx.name);
  const box = fx.dn('box');
  assert.equal((await execIn(box, 'sh', '-c', 'echo data > /kept/file && echo x > /scratch/file')).code, 0);
  assert.equal((await execIn(box, 'cat', '/seed/hello')).stdout, 'from the host\n', 'the bind shows the host file');
  assert.notEqual((await execIn(box, 'sh', '-c', 'echo no > /seed/x')).code, 0, 'the bind is read-only');
  const mounts = (await execIn(box, 'mount')).stdout;
  assert.match(mounts, /tmpfs on \/fast type tmpfs \(rw.*size=8192k.*mode=1770/, 'tmpfs with its size and mode');

  await unlink(fx.file);
  await eventually(async () => (await ownedLeft(fx.name)).containers.length === 0, 'the container removed');
  await eventually(
    async () => (await volumeLabels(fx.dn('scratch'))) === undefined,
    'scratch removed with the scenario',
  );
  assert.ok(await volumeLabels(fx.dn('kept')), 'kept stays (keep: true)');

  // The same scenario again: the kept volume is its own, used as it is.
  await fx.write(spec);
  await ready(fx.file);
  assert.equal((await execIn(box, 'cat', '/kept/file')).stdout, 'data\n', 'the data survived');
  assert.notEqual((await execIn(box, 'cat', '/scratch/file')).code, 0, 'scratch is a new, empty volume');
});

test("a bind source that does not exist: the container Failed with Docker's own words, nothing created on the host", async (t) => {
  const fx = await fixture(t);
  const missing = `/tmp/faultline-missing-${fx.name}`;
  await fx.write(`  containers:
    - name: box
      image: ${TESTBOX}
      volumes:
        - { source: ${missing}, target: /data }
`);
  const s = await eventually(async () => {
    const x = await current(fx.file);
    return x?.status?.containers?.[0]?.phase === 'Failed' ? x : undefined;
  }, 'box Failed');
  assert.match(s.status!.containers![0].message ?? '', /bind source path does not exist/);
  await assert.rejects(stat(missing), { code: 'ENOENT' }, 'Docker did not create it (the Mounts API never does)');
});
