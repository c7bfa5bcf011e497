// Watch events that never came. A scenario file deleted without the watcher saying so (an unlink
// event lost): the next resync reconciles the name, finds the file gone, and removes what it owned
// — never an error retried forever while the scenario's containers and rules stay behind. A file
// added without an event: the next resync lists the directory, finds it, and converges it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { Controller } from '../../../src/controller/controller.js';
import { systemClock } from '../../../src/store/index.js';
import { eventually } from '../../eventually.js';
import { FakeDocker, MemoryDir } from '../fakes/docker.js';
import { FakeKernel } from '../fakes/kernel.js';
import { capturedLog } from '../fakes/log.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-missed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A controller on fakes (a directory in memory, Docker, a kernel per started container), resyncing every 200 ms. */
function controllerOn(id: string) {
  const { log, lines } = capturedLog();
  const docker = new FakeDocker();
  const kernel = new FakeKernel();
  docker.onStart = (c) => kernel.add(c.pid);
  const files = new MemoryDir();
  const controller = new Controller({
    dir,
    id,
    docker,
    store: files,
    clock: systemClock(),
    log,
    kernel: new KernelEngine({
      scope: id,
      exec: kernel,
      scratch: async () => Promise.reject(new Error('no probe')),
      probe: async () => FULL_CAPS,
      log,
      hostRules: 'off',
    }),
    resyncMs: 200,
  });
  const pidOf = (name: string) => [...docker.containers.values()].find((c) => c.name === name)?.pid;
  return { controller, docker, kernel, files, lines, pidOf };
}

const SCENARIO = (name: string) =>
  `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - { name: a, image: testbox }\n  faults:\n    - { name: hole, targets: { names: [${name}_a] }, blackhole: {}, direction: ingress }\n`;

it('a deletion the watcher never reported: the resync removes the containers and the rules, with no error', async () => {
  const { controller, kernel, files, lines, pidOf } = controllerOn('dir-missed');
  const file = join(dir, 's.yaml');
  await controller.start();
  try {
    files.save(file, SCENARIO('s'));
    const pid = await eventually(() => pidOf('s_a'), 'container s_a started', 10_000);
    await eventually(
      () => kernel.rules(pid).some((l) => l.includes('dir-missed.s/hole')),
      'the blackhole in its kernel',
    );

    files.texts.delete(file); // gone, and no event says so
    await eventually(() => !pidOf('s_a'), 'the container removed', 10_000);
    await eventually(() => !kernel.rules(pid).some((l) => l.includes('dir-missed.s/hole')), 'the rule removed');
    assert.deepEqual(
      lines.filter((l) => l.level >= 40).map((l) => l.msg),
      [],
      'no warning or error on the way',
    );
  } finally {
    await controller.stop();
  }
});

it('a file the watcher never reported: the resync lists the directory, finds it, and converges it', async () => {
  const { controller, kernel, files, lines, pidOf } = controllerOn('dir-unseen');
  const file = join(dir, 'u.yaml');
  await controller.start();
  try {
    files.texts.set(file, SCENARIO('u')); // there, and no event says so
    const pid = await eventually(() => pidOf('u_a'), 'container u_a started', 10_000);
    await eventually(
      () => kernel.rules(pid).some((l) => l.includes('dir-unseen.u/hole')),
      'the blackhole in its kernel',
    );
    assert.ok(
      lines.some((l) => l.file === file && /watcher has not reported/.test(String(l.msg))),
      'the log says how it was found',
    );
  } finally {
    await controller.stop();
  }
});
