// The argv-only process runner: stdin, exit codes, timeout, output cap, argument validation.
// Uses ordinary host programs (cat, sh as a *program under test*, sleep); no namespaces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError, runProcess, validateArgv } from '../../../src/adapters/exec.js';

const limits = { timeoutMs: 5_000, maxOutputBytes: 1024 };

describe('runProcess', () => {
  it('passes arguments verbatim: no shell expands them', async () => {
    const r = await runProcess(['echo', '$HOME', '*', 'a;b'], limits);
    assert.deepEqual(r, { code: 0, stdout: '$HOME * a;b\n', stderr: '' });
  });

  it('writes stdin and closes it', async () => {
    const r = await runProcess(['cat'], { ...limits, stdin: 'qdisc add dev eth0 root netem delay 100ms\n' });
    assert.equal(r.stdout, 'qdisc add dev eth0 root netem delay 100ms\n');
  });

  it('returns non-zero exit codes and stderr', async () => {
    const r = await runProcess(['sh', '-c', 'echo oops >&2; exit 3'], limits);
    assert.deepEqual(r, { code: 3, stdout: '', stderr: 'oops\n' });
  });

  it('reports death by a signal as 128 + signal number', async () => {
    const r = await runProcess(['sh', '-c', 'kill -TERM $$'], limits);
    assert.equal(r.code, 128 + 15);
  });

  it('kills the child at the timeout', async () => {
    const t0 = Date.now();
    await assert.rejects(
      runProcess(['sleep', '30'], { ...limits, timeoutMs: 200 }),
      (e: unknown) => e instanceof ExecError && e.code === 'Timeout',
    );
    // killed, not ended on its own (which would take 30 s)
    assert.ok(Date.now() - t0 < 25_000, `${Date.now() - t0} ms`);
  });

  it('refuses to return truncated output', async () => {
    await assert.rejects(
      runProcess(['head', '-c', '5000', '/dev/zero'], limits),
      (e: unknown) =>
        e instanceof ExecError && e.code === 'OutputTooLarge' && /stdout exceeded 1024 bytes/.test(e.message),
    );
  });

  it('says when the program does not exist', async () => {
    await assert.rejects(runProcess(['no-such-program-fltest'], limits), /cannot start.*ENOENT.*installed and on PATH/);
  });

  it('ignores a child that exits without reading stdin', async () => {
    const r = await runProcess(['true'], { ...limits, stdin: 'x'.repeat(1 << 20) });
    assert.equal(r.code, 0);
  });
});

describe('validateArgv', () => {
  it('rejects empty argv, non-strings and NUL bytes', () => {
    assert.throws(() => validateArgv([]), /non-empty array/);
    assert.throws(() => validateArgv(['ip', 3]), /argv\[1\] must be a string/);
    assert.throws(() => validateArgv(['ip', 'a\0b']), /argv\[1\] contains a NUL byte/);
    assert.throws(() => validateArgv('ip addr'), /non-empty array/);
  });
});
