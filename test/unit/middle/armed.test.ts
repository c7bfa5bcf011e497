// Armed transitions, with the real controller over a fake engine and kernel: the instant's program
// is applied by the timer, and a reconcile of the same scenario that looked before the instant can
// never take it back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { Controller } from '../../../src/controller/controller.js';
import { systemClock } from '../../../src/store/index.js';
import type { KernelPort } from '../../../src/ports/index.js';
import { FakeDocker, MemoryDir } from '../fakes/docker.js';
import { FakeKernel } from '../fakes/kernel.js';

const log = pino({ level: 'silent' });

/** Every change of whether the rule of `key` is in the kernel of `pid`, sampled after each write. */
function sampler(kernel: FakeKernel, pid: () => number | undefined, key: string) {
  const flips: { at: number; present: boolean }[] = [];
  let last = false;
  kernel.onWrite = () => {
    const p = pid();
    const present = p !== undefined && kernel.namespaces.has(p) && kernel.rules(p).some((l) => l.includes(key));
    if (present !== last) flips.push({ at: Date.now(), present });
    last = present;
  };
  return { flips, stop: () => (kernel.onWrite = undefined) };
}

describe('armed transitions', () => {
  it('fires at its instant while a reconcile of the same scenario is running; the older reconcile does not undo it', async () => {
    const docker = new FakeDocker();
    const kernel = new FakeKernel();
    docker.onStart = (c) => kernel.add(c.pid);
    docker.addRunning('target');
    const dir = new MemoryDir();
    const engine = new KernelEngine({
      scope: 'dir-armed',
      exec: kernel,
      scratch: async () => Promise.reject(new Error('no probe')),
      probe: async () => FULL_CAPS,
      log,
      hostRules: 'off',
    });
    // The reconcile asks the kernel for its host path after it has looked at the clock and before it
    // applies its plan: holding that answer holds a reconcile between the two.
    let holdMs = 0;
    const kernelPort: KernelPort = {
      capabilities: () => engine.capabilities(),
      hostPath: async () => {
        if (holdMs) await new Promise((r) => setTimeout(r, holdMs));
        return engine.hostPath();
      },
      prepare: (p, t) => engine.prepare(p, t),
      apply: (p, t) => engine.apply(p, t),
      forget: (s) => engine.forget(s),
      sweep: (v, l) => engine.sweep(v, l),
      invalidate: () => engine.invalidate(),
      close: () => engine.close(),
    };
    const controller = new Controller({
      dir: '/fake',
      id: 'dir-armed',
      docker,
      store: dir,
      clock: systemClock(),
      log,
      kernel: kernelPort,
      armAheadMs: 300,
    });
    await controller.start();
    try {
      const startAt = new Date(Date.now() + 1_500);
      const file = '/fake/armed.yaml';
      const text = `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: armed\nspec:\n  startAt: "${startAt.toISOString()}"\n  faults:\n    - { name: hole, targets: { names: [target] }, blackhole: {}, direction: ingress, at: 0s, duration: 2s }\n`;
      dir.save(file, text);
      await controller.idle();
      const pid = () => [...docker.containers.values()].find((c) => c.name === 'target')?.pid;
      const seen = sampler(kernel, pid, 'dir-armed.armed/hole');
      // A reconcile that starts 200 ms before the instant plans for "before the window" and is held
      // for 400 ms: the armed transition fires in between.
      const kick = setTimeout(
        () => {
          holdMs = 400;
          controller.queue.add('armed');
          setTimeout(() => (holdMs = 0), 100);
        },
        startAt.getTime() - Date.now() - 200,
      );
      await new Promise((r) => setTimeout(r, startAt.getTime() - Date.now() + 1_000));
      clearTimeout(kick);
      await controller.idle();
      seen.stop();
      assert.ok(controller.stats.armedFired >= 1, 'the transition was applied by the armed path');
      assert.equal(seen.flips[0]?.present, true, JSON.stringify(seen.flips));
      assert.ok(seen.flips[0].at >= startAt.getTime(), 'not before its instant');
      assert.ok(
        seen.flips[0].at - startAt.getTime() < 1_000,
        `at its instant, not after the slow reconcile (${seen.flips[0].at - startAt.getTime()} ms late)`,
      );
      assert.equal(
        seen.flips.length,
        1,
        `in place once and never taken back inside the window: ${JSON.stringify(seen.flips.map((f) => [f.at - startAt.getTime(), f.present]))}`,
      );
    } finally {
      await controller.stop();
    }
  });
});
