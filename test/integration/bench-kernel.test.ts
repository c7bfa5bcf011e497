// What let an old benchmark lie: it took "the fault left the spec" for "the rule left the kernel".
// The bench helper (bench/lib/kernel.ts) must see the rule itself disappear: `until` does not
// return while it is in the kernel, and `settled` names the instant the kernel changed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KernelWatch, wallMs } from '../../bench/lib/kernel.js';
import { docker, dockerStatus, netnsIptablesSave, TESTBOX, uniqueName } from './lib.js';

const run = promisify(execFile);
const RULE = ['INPUT', '-s', '10.99.1.1/32', '-m', 'comment', '--comment', 'bench-lib-test', '-j', 'DROP'];

test(
  'the bench helper waits for the rule to leave the kernel, and times the change it saw',
  { timeout: 300_000 },
  async (t) => {
    const name = uniqueName('benchlib');
    t.after(async () => void (await dockerStatus('rm', '-f', name)));
    await docker('run', '-d', '--name', name, '--network', 'none', TESTBOX, 'sleep', '3600');
    const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', name)).trim());
    const ns = (...argv: string[]) => run('nsenter', ['-t', String(pid), '-n', ...argv]);
    await ns('iptables', '-A', ...RULE);
    const watch = await KernelWatch.start({ host: false, pids: [pid], tc: false });
    t.after(() => watch.stop());
    const gone = async () => !(await netnsIptablesSave(pid)).some((l) => l.includes('bench-lib-test'));

    // While the rule is in the kernel, waiting for it to be gone does not end.
    await assert.rejects(watch.until(gone, 'the rule gone', { timeoutMs: 1_500 }), /never showed: the rule gone/);
    // Once it is deleted, it ends, and the change the monitor saw is after the deletion began.
    const t0 = wallMs();
    await ns('iptables', '-D', ...RULE);
    await watch.until(gone, 'the rule gone', { since: t0, timeoutMs: 10_000 });
    const at = await watch.settled(t0, 300);
    assert.ok(at > t0, 'the kernel change was seen after the deletion began');
    // And a figure with no kernel change behind it is refused.
    await assert.rejects(
      watch.settled(wallMs(), 100, () => true, 1_000),
      /no kernel change was seen/,
    );
  },
);
