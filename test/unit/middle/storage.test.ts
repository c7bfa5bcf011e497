// A status the filesystem refuses (StatusWriteFailed: read-only, full, not writable), with the real
// controller over a fake engine, kernel and directory: the faults keep running, the problem is
// logged once and kept in the health record with the status the file should hold, the recorded
// start survives, and the status lands once the file takes it. On a real filesystem (tmpfs, a
// read-only mount, a file without write permission) in test/integration/storage.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Scenario } from '../../../src/api/types.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { Controller } from '../../../src/controller/controller.js';
import { readHealth } from '../../../src/controller/health.js';
import { systemClock } from '../../../src/store/index.js';
import { FakeDocker, MemoryDir } from '../fakes/docker.js';
import { FakeKernel } from '../fakes/kernel.js';
import { capturedLog } from '../fakes/log.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-storage-'));
  const state = mkdtempSync(join(tmpdir(), 'faultline-state-'));
  dirs.push(dir, state);
  const { log, lines } = capturedLog();
  const docker = new FakeDocker();
  const kernel = new FakeKernel();
  docker.onStart = (c) => kernel.add(c.pid);
  docker.addRunning('target');
  const files = new MemoryDir();
  const engine = new KernelEngine({
    scope: 'dir-storage',
    exec: kernel,
    scratch: async () => Promise.reject(new Error('no probe')),
    probe: async () => FULL_CAPS,
    log,
    hostRules: 'off',
  });
  const controller = new Controller({
    dir,
    id: 'dir-storage',
    docker,
    store: files,
    clock: systemClock(),
    log,
    kernel: engine,
    stateDir: state,
  });
  const pid = () => [...docker.containers.values()].find((c) => c.name === 'target')!.pid;
  const hole = () => kernel.rules(pid()).some((l) => l.includes('dir-storage.s/hole'));
  return { dir, state, lines, files, controller, hole };
}

const scenario = (windows: string) =>
  `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: s\nspec:\n  faults:\n    - { name: hole, targets: { names: [target] }, blackhole: {}, direction: ingress${windows} }\n`;

describe('a status the filesystem refuses', () => {
  it('the faults keep running, one error in the log, the kept status in the health record; written once the file takes it', async () => {
    const w = setup();
    const file = join(w.dir, 's.yaml');
    await w.controller.start();
    try {
      // Windows of 600 ms every 1.2 s: transitions keep coming while the file refuses its status.
      w.files.save(file, scenario(', at: 600ms, duration: 600ms, repeat: { every: 1200ms }'));
      await until(() => parse(w.files.texts.get(file)!).status?.startedAt, 'first status written');
      const startedAt = (parse(w.files.texts.get(file)!) as Scenario).status!.startedAt;
      w.files.failWrites = { errno: 'EROFS', message: `${file}: not written (EROFS: read-only file system)` };
      const before = w.files.texts.get(file);
      // The kernel goes on: the rule comes and goes with the windows, twice over.
      let flips = 0;
      let last = w.hole();
      await until(() => {
        if (w.hole() !== last) flips++;
        last = w.hole();
        return flips >= 4;
      }, 'four transitions in the kernel while the status is refused');
      assert.equal(w.files.texts.get(file), before, 'the file is untouched');
      const errors = w.lines.filter((l) => l.level === 50);
      assert.equal(errors.length, 1, `one error for the whole outage: ${JSON.stringify(errors)}`);
      assert.match(errors[0].msg, /^StatusWriteFailed: .*EROFS.*the faults keep running/);
      const problem = await until(() => w.controller.statusWriteProblems()[0], 'the problem is kept');
      assert.equal(problem.errno, 'EROFS');
      assert.ok(problem.attempts >= 2, 'written again with backoff');
      assert.equal(problem.status?.startedAt, startedAt, 'the kept status has the recorded start');
      const health = await until(() => readHealth(w.dir, 'dir-storage', w.state), 'health record');
      assert.equal(health.statusWrites[0].scenario, 's');

      w.files.failWrites = undefined;
      const written = await until(() => {
        const s = parse(w.files.texts.get(file)!) as Scenario;
        return (s.status?.faults?.[0]?.windowsRun ?? 0) >= 3 ? s : undefined;
      }, 'the current status written once the file takes it');
      assert.equal(written.status!.startedAt, startedAt, 'the timeline did not start over');
      await until(() => w.controller.statusWriteProblems().length === 0, 'problem cleared');
      assert.ok(w.lines.some((l) => l.msg === 'status written again: the file holds the current status'));
      await until(async () => (await readHealth(w.dir, 'dir-storage', w.state)) === undefined, 'health record removed');
    } finally {
      await w.controller.stop();
    }
  });

  it('a scenario first saved while its file refuses status keeps one recorded start across reconciles', async () => {
    const w = setup();
    const file = join(w.dir, 's.yaml');
    await w.controller.start();
    try {
      w.files.failWrites = { errno: 'ENOSPC', message: 'no space left' };
      w.files.save(file, scenario(''));
      const first = await until(() => w.controller.statusWriteProblems()[0]?.status?.startedAt, 'kept status');
      await until(() => w.hole(), 'the blackhole is in the kernel though no status was written');
      // A person edits the spec meanwhile (the file's own status is still none).
      w.files.save(file, scenario('') + '# edited\n');
      await until(() => (w.controller.statusWriteProblems()[0]?.attempts ?? 0) >= 2, 'reconciled again');
      assert.equal(w.controller.statusWriteProblems()[0].status?.startedAt, first, 'the same recorded start');
      w.files.failWrites = undefined;
      const s = await until(() => (parse(w.files.texts.get(file)!) as Scenario).status, 'written');
      assert.equal(s.startedAt, first);
      assert.match(w.files.texts.get(file)!, /# edited/, "the person's edit is kept");
    } finally {
      await w.controller.stop();
    }
  });
});
