// The measuring runs of verify: probe (kernel/probe.ts) against a scripted executor: a transfer is
// timed by the receiver where it happens, and a transfer short of the rate is measured again, up to
// three times, the fastest kept (a rate limit is a ceiling: one TCP flow can fall short of it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec } from '../../../src/api/types.js';
import { measure } from '../../../src/kernel/probe.js';
import { TRANSFER_TRIES, probeSpecOf, type ProbeSpec } from '../../../src/netfaults/probe.js';
import type { NetnsExec, ProbeRequest } from '../../../src/ports/index.js';

const spec = (f: Partial<FaultSpec>): ProbeSpec => {
  const s = probeSpecOf({ name: 'f', ...f } as FaultSpec);
  assert.ok(!('unmeasurable' in s));
  return s;
};

/** An executor whose listeners print `real S` for each transfer in turn; records every program. */
function scripted(reals: (number | undefined)[]): { exec: NetnsExec; runs: string[][] } {
  const runs: string[][] = [];
  let n = 0;
  // the listener ends after the sender, as a real one does
  let sent = () => {};
  const exec: NetnsExec = {
    async run(_t, argv) {
      runs.push(argv);
      if (argv.includes('netstat')) return { code: 0, stdout: 'tcp 0 0 0.0.0.0:47999 0.0.0.0:* LISTEN\n', stderr: '' };
      if (argv.includes('-l')) {
        const s = reals[n++];
        await new Promise<void>((r) => (sent = r));
        return {
          code: 0,
          stdout: '',
          stderr: `16+0 records in\n${s === undefined ? '' : `real ${s}\nuser 0.00\nsys 0.01\n`}`,
        };
      }
      sent();
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  return { exec, runs };
}

const req = (s: ProbeSpec): ProbeRequest => ({
  target: { pid: 1, containerId: 'a', address: '10.0.0.2' },
  peer: { pid: 2, containerId: 'b', address: '10.0.0.3' },
  spec: s,
});

describe('a rate probe', () => {
  // 4mbit with no burst: 2 s of payload is 1 MB, 1048576 B sent, ~2.19 s on the wire at 4 Mbit/s
  const b = spec({ bandwidth: { rate: '4mbit', burst: '0b' } });

  it('is timed by the receiver (busybox time -p), not by the controller', async () => {
    const { exec, runs } = scripted([2.19]);
    let clock = 0;
    const m = await measure(exec, req(b), () => (clock += 10_000)); // a controller 10 s late at every look
    assert.equal(m.samples, 1);
    assert.equal(m.transfer?.seconds, 2.19);
    assert.equal(m.transfer?.timedBy, 'receiver');
    const listener = runs.find((a) => a.includes('-l'))!;
    assert.deepEqual(listener.slice(listener.indexOf('-e')), [
      '-e',
      'busybox',
      'time',
      '-p',
      'busybox',
      'dd',
      'of=/dev/null',
      'bs=65536',
    ]);
  });

  it('falls back to the controller’s clock when the receiver printed no time', async () => {
    const { exec } = scripted([undefined]);
    let clock = 0;
    const m = await measure(exec, req(b), () => (clock += 1000));
    assert.equal(m.transfer?.timedBy, 'controller');
    assert.ok(m.transfer!.seconds > 0);
  });

  it('is measured again while short, and the fastest is kept', async () => {
    const { exec, runs } = scripted([2.45, 2.19, 9]);
    const m = await measure(exec, req(b));
    assert.equal(m.samples, 2, 'the second transfer was within the tolerance: no third');
    assert.equal(m.transfer?.seconds, 2.19);
    assert.equal(runs.filter((a) => a.includes('-l')).length, 2);
  });

  it(`stops after ${TRANSFER_TRIES} short transfers, keeping the fastest`, async () => {
    const { exec } = scripted([2.6, 2.45, 2.7, 2.19]);
    const m = await measure(exec, req(b));
    assert.equal(m.samples, TRANSFER_TRIES);
    assert.equal(m.transfer?.seconds, 2.45);
  });

  it('is not measured again when fast (over the rate: the limit is missing or wrong)', async () => {
    const { exec } = scripted([1.0, 2.19]);
    const m = await measure(exec, req(b));
    assert.equal(m.samples, 1);
    assert.equal(m.transfer?.seconds, 1.0);
  });
});
