// Storage faults under a running controller, on real filesystems: the scenario directory is a
// small tmpfs of the test's own, made read-only (mount -o remount,ro), filled up (ENOSPC), or a file
// loses its write permission (EACCES). The faults keep running — seen in the kernel, at every
// transition — the problem is logged once and shown by `faultline get` / `describe`, and the status
// is written once the problem clears, with no person's edit lost.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Scenario } from '../../src/api/types.js';
import {
  capturedLog,
  cli,
  docker,
  eventually,
  netnsIptablesSave,
  readScenario,
  removeDir,
  startController,
  tempDir,
  teardown,
  TESTBOX,
  uniqueName,
  type Running,
} from './lib.js';

const run = promisify(execFile);

/** A tmpfs of `size` mounted on a fresh directory. */
async function tmpfs(size: string): Promise<string> {
  const dir = await tempDir();
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return dir;
}

/** Two containers; a blackhole on a, 1.5 s in every 3 s: transitions keep coming. */
function scenario(name: string, subnet: string, description = 'storage faults'): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  description: ${description}
  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b] } }]
  faults:
    - { name: hole, targets: { names: [a] }, protocol: icmp, direction: ingress, blackhole: {}, at: 1s, duration: 1500ms, repeat: { every: 3s } }
`;
}

interface Env {
  name: string;
  dir: string;
  state: string;
  file: string;
  ctl: Running;
  lines: ReturnType<typeof capturedLog>['lines'];
  /** Is the blackhole in a's kernel now (iptables-save through nsenter)? */
  holeNow(): Promise<boolean>;
}

/** A /24 of 10.213.0.0/16 (this file's), picked at random: a run's leftovers never block the next. */
const subnet = () => `10.213.${Math.floor(Math.random() * 256)}.0/24`;

async function env(t: test.TestContext, size: string): Promise<Env> {
  const dir = await tmpfs(size);
  const state = await tempDir();
  const name = uniqueName('st');
  const { log, lines } = capturedLog(process.env.FAULTLINE_TEST_LOG ?? 'info');
  const ctl = await startController(dir, { log, stateDir: state });
  // One hook, in this order: the controller lets go of the directory before it is unmounted.
  t.after(async () => {
    await run('mount', ['-o', 'remount,rw', dir]).catch(() => undefined);
    await teardown(ctl, undefined, [name]);
    await removeDir(state);
    await run('umount', [dir]).catch(() => undefined);
    await removeDir(dir).catch(() => undefined);
  });
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, scenario(name, subnet()));
  const holeNow = async () => {
    const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', `${name}_a`)).trim());
    return (await netnsIptablesSave(pid)).some((l) => l.includes(`.${name}/hole"`));
  };
  await eventually(async () => (await readScenario(file)).status?.faults?.[0]?.windowsRun, 'first window', 60_000);
  return { name, dir, state, file, ctl, lines, holeNow };
}

/** The rule comes and goes in the kernel at least `n` times from now (the faults keep running). */
async function transitions(e: Env, n: number): Promise<void> {
  let flips = 0;
  let last = await e.holeNow();
  await eventually(
    async () => {
      const now = await e.holeNow();
      if (now !== last) flips++;
      last = now;
      return flips >= n;
    },
    `${n} transitions in the kernel`,
    30_000,
  );
}

const statusWriteErrors = (e: Env) =>
  e.lines.filter((l) => l.level >= 50 && /^StatusWriteFailed/.test(l.msg) && l.scenario === e.name);

test('read-only directory: faults keep running, one error, get/describe say StatusWriteFailed (EROFS); status written after remount rw', async (t) => {
  const e = await env(t, '1m');
  const before = await readScenario(e.file);
  await run('mount', ['-o', 'remount,ro', e.dir]);
  await transitions(e, 3);
  const text = await readFile(e.file, 'utf8');
  assert.equal(text.includes(before.status!.observedAt!), true, 'the file is as it was');

  const get = await eventually(async () => {
    const r = await cli('get', '--dir', e.dir, '--state-dir', e.state);
    return /StatusWriteFailed \(EROFS\)/.test(r.stdout) ? r : undefined;
  }, 'get shows StatusWriteFailed');
  assert.match(get.stdout, /STATUS-WRITE/);
  const describe = await cli('describe', e.name, '--dir', e.dir, '--state-dir', e.state);
  assert.match(describe.stdout, /Status write: +StatusWriteFailed \(EROFS\) since .* The faults keep running\./);
  assert.match(describe.stdout, /read-only: remount it read-write/);
  assert.equal(statusWriteErrors(e).length, 1, JSON.stringify(statusWriteErrors(e)));

  await run('mount', ['-o', 'remount,rw', e.dir]);
  const after = await eventually(async () => {
    const s = await readScenario(e.file);
    return (s.status?.faults?.[0]?.windowsRun ?? 0) >= (before.status!.faults![0].windowsRun ?? 0) + 2 ? s : undefined;
  }, 'the status written again, counting the windows that ran meanwhile');
  assert.equal(after.status!.startedAt, before.status!.startedAt, 'the timeline did not start over');
  await eventually(
    async () => !(await cli('get', '--dir', e.dir, '--state-dir', e.state)).stdout.includes('STATUS-WRITE'),
    'get no longer says so',
  );
  assert.equal(statusWriteErrors(e).length, 1, 'still one error for the whole outage');
  assert.ok(e.lines.some((l) => l.msg === 'status written again: the file holds the current status'));
});

test("full disk (a small tmpfs): ENOSPC shown, a person's edit made meanwhile is kept when the status lands", async (t) => {
  const e = await env(t, '256k');
  // Fill the filesystem: what is left cannot hold a status write's temporary copy of the file.
  const filler = join(e.dir, '.filler');
  await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k']).catch(() => undefined);
  await eventually(async () => {
    const r = await cli('get', '--dir', e.dir, '--state-dir', e.state);
    return /StatusWriteFailed \(ENOSPC\)/.test(r.stdout);
  }, 'get shows StatusWriteFailed (ENOSPC)');
  await transitions(e, 2);
  // A person's edit in place, same length (the pages it frees are the pages it takes again).
  const text = await readFile(e.file, 'utf8');
  const edited = text.replace('description: storage faults', 'description: storage FAULTS');
  assert.notEqual(edited, text);
  await writeFile(e.file, edited);
  await rm(filler);
  const s = await eventually(async () => {
    const x = await readScenario(e.file);
    // The person's edit is a new generation, and the status written describes it.
    return x.metadata.generation === 2 && x.status?.observedGeneration === 2 ? x : undefined;
  }, "the status written, for the person's edit");
  assert.equal((s as Scenario).spec.description, 'storage FAULTS', "the person's edit is kept");
  assert.equal(statusWriteErrors(e).length, 1, JSON.stringify(statusWriteErrors(e)));
});

test('a file without write permission: EACCES shown, written once the permission is back', async (t) => {
  const e = await env(t, '1m');
  await chmod(e.file, 0o444);
  await eventually(async () => {
    const r = await cli('get', '--dir', e.dir, '--state-dir', e.state);
    return /StatusWriteFailed \(EACCES\)/.test(r.stdout);
  }, 'get shows StatusWriteFailed (EACCES)');
  const describe = await cli('describe', e.name, '--dir', e.dir, '--state-dir', e.state);
  assert.match(describe.stdout, /chmod u\+w/);
  const frozen = (await readScenario(e.file)).status!.observedAt;
  await transitions(e, 2);
  await chmod(e.file, 0o644);
  await eventually(
    async () => (await readScenario(e.file)).status?.observedAt !== frozen,
    'status written once the permission is back',
  );
});
