// An armed transition against the real engine and kernel, fired while a reconcile of the same
// scenario is running: that reconcile looked at the clock before the instant, so it planned "no
// fault yet"; it must neither delay the transition nor take it back when it applies its plan.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { KernelPort } from '../../src/ports/index.js';
import { docker, eventually, finishedBefore, netnsIptablesSave, pairScenario, scenarioEnv } from './lib.js';
import { ready } from './netlib.js';

const run = promisify(execFile);

/** A reconcile's next look at the kernel's host path, held until released (one at a time). */
interface Hold {
  takenAt?: number;
  release(): void;
  released: Promise<void>;
}

test(
  'an armed transition fires while a reconcile of the same scenario is held between its look at the clock and its apply; that reconcile does not take it back',
  { timeout: 300_000 },
  async (t) => {
    let hold: Hold | undefined;
    const prepared: number[] = [];
    // The reconcile reads the clock, then asks the kernel for its host path, then applies its plan:
    // holding that answer holds a reconcile between the two. `prepare` says the transition is armed.
    const wrapKernel = (k: KernelPort): KernelPort =>
      new Proxy(k, {
        get(target, prop) {
          if (prop === 'hostPath')
            return async () => {
              const h = hold;
              if (h && h.takenAt === undefined) {
                h.takenAt = Date.now();
                await h.released;
              }
              return target.hostPath();
            };
          if (prop === 'prepare')
            return async (...args: Parameters<NonNullable<KernelPort['prepare']>>) => {
              prepared.push(args[1]);
              await target.prepare?.(...args);
            };
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    const env = await scenarioEnv(t, [], { wrapKernel });
    const { name, file } = env;
    // The containers first, so that the window's instant does not pass while the engine starts them.
    await writeFile(file, pairScenario(name, ''));
    await ready(file);
    const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', `${name}_a`)).trim());
    const opensAt = Date.now() + 5_000;
    const closesAt = opensAt + 20_000;
    await writeFile(
      file,
      pairScenario(
        name,
        `    - { name: hole, targets: { names: [a] }, blackhole: {}, direction: ingress, startAt: "${new Date(opensAt).toISOString()}", duration: 20s }
`,
      ),
    );
    await eventually(() => prepared.includes(opensAt), 'the opening transition armed', 20_000, 10);

    // Every change of the rule's presence in a's namespace, read by iptables-save from here.
    const flips: { at: number; present: boolean }[] = [];
    let sampling = true;
    const present = async () =>
      (await netnsIptablesSave(pid)).some((l) => l.includes(`${name}/hole"`) && l.includes('FAULTLINE-INPUT'));
    const sampler = (async () => {
      let last = false;
      while (sampling) {
        const now = await present();
        if (now !== last) flips.push({ at: Date.now(), present: now }); // the end of the read that saw it
        last = now;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // 800 ms before the instant, a reconcile of the scenario starts and is held at the kernel.
    await new Promise((r) => setTimeout(r, Math.max(0, opensAt - 800 - Date.now())));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const h: Hold = { release, released };
    hold = h;
    env.ctl.controller.queue.add(name);
    try {
      await eventually(() => h.takenAt !== undefined, 'the reconcile reached the kernel', 20_000, 5);
      assert.ok(
        h.takenAt! < opensAt,
        `the held reconcile looked before the instant (${opensAt - h.takenAt!} ms before it)`,
      );
      await eventually(
        () => flips.some((f) => f.present),
        'the rule in the kernel while the reconcile is held',
        20_000,
        10,
      );
    } finally {
      hold = undefined;
      h.release();
    }
    await env.ctl.controller.idle();
    // Let the older reconcile's plan land in the kernel if it were to, and look a while longer.
    await new Promise((r) => setTimeout(r, 1_000));
    sampling = false;
    await sampler;
    const lookedUntil = Date.now();

    assert.ok(env.ctl.controller.stats.armedFired >= 1, 'the transition was applied by the armed path');
    assert.ok(flips[0].at >= opensAt, 'first seen by a read that ended after the instant');
    assert.ok(lookedUntil < closesAt, 'every look above was inside the window');
    assert.deepEqual(
      flips.map((f) => f.present),
      [true],
      `put in place once and never taken back: ${JSON.stringify(flips.map((f) => [f.at - opensAt, f.present]))}`,
    );
    // And packets agree: b cannot reach a inside the window.
    const ping = await finishedBefore(t, closesAt, 'ping inside the window', () =>
      run('docker', ['exec', `${name}_b`, 'ping', '-c', '1', '-W', '1', 'a']).then(
        () => 0,
        (e: { code?: number }) => e.code ?? 1,
      ),
    );
    if (ping !== undefined) assert.notEqual(ping, 0, 'b cannot reach a while the blackhole is in place');

    // The closing transition is armed from the opening one and removes the rule at its instant.
    await eventually(async () => !(await present()), 'the rule gone after the window', 60_000);
    assert.ok(Date.now() >= closesAt, 'not removed before the window closed');
    await docker('exec', `${name}_b`, 'ping', '-c', '1', '-W', '2', 'a');
  },
);
