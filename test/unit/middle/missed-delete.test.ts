// A scenario file deleted without the watcher saying so (an unlink event lost): the next resync
// reconciles the name, finds the file gone, and removes what it owned — never an error retried
// forever while the scenario's containers and rules stay behind.
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

it('a deletion the watcher never reported: the resync removes the containers and the rules, with no error', async () => {
  const { log, lines } = capturedLog();
  const docker = new FakeDocker();
  const kernel = new FakeKernel();
  docker.onStart = (c) => kernel.add(c.pid);
  const files = new MemoryDir();
  const controller = new Controller({
    dir,
    id: 'dir-missed',
    docker,
    store: files,
    clock: systemClock(),
    log,
    kernel: new KernelEngine({
      scope: 'dir-missed',
      exec: kernel,
      scratch: async () => Promise.reject(new Error('no probe')),
      probe: async () => FULL_CAPS,
      log,
      hostRules: 'off',
    }),
    resyncMs: 200,
  });
  const file = join(dir, 's.yaml');
  const pidOf = (name: string) => [...docker.containers.values()].find((c) => c.name === name)?.pid;
  await controller.start();
  try {
    files.save(
      file,
      `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: s\nspec:\n  containers:\n    - { name: a, image: testbox }\n  faults:\n    - { name: hole, targets: { names: [s_a] }, blackhole: {}, direction: ingress }\n`,
    );
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
