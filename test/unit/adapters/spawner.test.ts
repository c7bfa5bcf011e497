// Programs started by the helper process (spawner.ts): the same results and failures as starting
// them here (exec.ts), a program started ahead and finished later, and a helper that dies.
// Ordinary host programs (echo, cat, sh as a program under test, sleep); no namespaces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from '../../../src/adapters/exec.js';
import { Spawner } from '../../../src/adapters/spawner.js';

const limits = { timeoutMs: 5_000, maxOutputBytes: 1024 };

describe('spawner', () => {
  it('runs argv verbatim with stdin, and returns exit codes and stderr', async () => {
    const s = new Spawner();
    try {
      assert.deepEqual(await s.run(['echo', '$HOME', '*', 'a;b'], limits), {
        code: 0,
        stdout: '$HOME * a;b\n',
        stderr: '',
      });
      assert.equal((await s.run(['cat'], { ...limits, stdin: 'line\n' })).stdout, 'line\n');
      assert.deepEqual(await s.run(['sh', '-c', 'echo oops >&2; exit 3'], limits), {
        code: 3,
        stdout: '',
        stderr: 'oops\n',
      });
    } finally {
      s.close();
    }
  });

  it('keeps exec.ts failures: invalid argv at once, timeout, output cap, a program that is not there', async () => {
    const s = new Spawner();
    try {
      assert.throws(
        () => s.run(['echo', 'a\0b'], limits),
        (e: unknown) => e instanceof ExecError && e.code === 'InvalidArgv',
      );
      await assert.rejects(
        s.run(['sleep', '30'], { ...limits, timeoutMs: 200 }),
        (e: unknown) => e instanceof ExecError && e.code === 'Timeout',
      );
      await assert.rejects(
        s.run(['sh', '-c', 'yes | head -c 5000'], limits),
        (e: unknown) => e instanceof ExecError && e.code === 'OutputTooLarge',
      );
      await assert.rejects(
        s.run(['/nonexistent/faultline-test-program'], limits),
        (e: unknown) => e instanceof ExecError && e.code === 'SpawnFailed' && /cannot start/.test(e.message),
      );
    } finally {
      s.close();
    }
  });

  it('starts a program ahead, which waits for its input until finished (or is cancelled)', async () => {
    const s = new Spawner();
    try {
      const p = s.start(['cat'], limits);
      const q = s.start(['cat'], limits);
      q.cancel();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await p.finish('later\n'), { code: 0, stdout: 'later\n', stderr: '' });
      await assert.rejects(p.finish('twice'), (e: unknown) => e instanceof ExecError);
    } finally {
      s.close();
    }
  });

  it('a helper that dies fails what it was running, and the next program starts a new one', async () => {
    const s = new Spawner();
    try {
      const first = await s.run(['sh', '-c', 'echo $PPID'], limits);
      const helper = Number(first.stdout.trim());
      assert.ok(helper > 0 && helper !== process.pid, `started by the helper (${helper}), not by us`);
      const running = s.run(['sleep', '30'], limits);
      await new Promise((r) => setTimeout(r, 100));
      process.kill(helper, 'SIGKILL');
      await assert.rejects(running, (e: unknown) => e instanceof ExecError && e.code === 'SpawnFailed');
      const again = await s.run(['sh', '-c', 'echo $PPID'], limits);
      assert.notEqual(Number(again.stdout.trim()), helper, 'a new helper');
    } finally {
      s.close();
    }
  });
});
