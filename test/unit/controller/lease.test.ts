// One controller per directory: the flock-based lease (two holders in one process conflict as two
// processes do: flock locks belong to open file descriptions), and the JSON lease it keeps for
// `apply`. The takeover by a separate process after a SIGKILL is tested in test/integration/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { currentLease, holdLease, STANDBY_POLL_MS, type HeldLease } from '../../../src/controller/lease.js';
import { systemClock } from '../../../src/store/index.js';
import { loadNative } from '../../../src/store/index.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'faultline-lease-'));
  dirs.push(d);
  return d;
};

describe('lease', { skip: loadNative() === null ? 'needs flock (koffi)' : false }, () => {
  it('the first holder acts at once; a second stands by (and is told who acts) until the first lets go', async () => {
    const dir = scratch();
    const a = await holdLease(dir, { clock: systemClock(), signal: new AbortController().signal });
    assert.equal(a.via, 'flock');
    assert.equal((await currentLease(dir, new Date()))?.pid, process.pid, 'the JSON lease names the holder');
    const told: string[] = [];
    let b: HeldLease | undefined;
    const waiting = holdLease(dir, {
      clock: systemClock(),
      signal: new AbortController().signal,
      onStandby: (holder, how) => told.push(`${holder?.startedAt === a.lease.startedAt} ${how}`),
    }).then((l) => (b = l));
    await new Promise((r) => setTimeout(r, 4 * STANDBY_POLL_MS));
    assert.equal(b, undefined, 'the second does not act while the first holds the lock');
    assert.deepEqual(told, ['true its lock is held']);
    await a.release();
    const second = await waiting;
    assert.equal(b, second, 'the second acts once the first let go');
    assert.equal((await currentLease(dir, new Date()))?.startedAt, second.lease.startedAt);
    await second.release();
    assert.equal(await currentLease(dir, new Date()), null, 'released: nobody watches');
  });

  it('a standby stops waiting when its signal aborts', async () => {
    const dir = scratch();
    const a = await holdLease(dir, { clock: systemClock(), signal: new AbortController().signal });
    const ac = new AbortController();
    const waiting = holdLease(dir, { clock: systemClock(), signal: ac.signal });
    ac.abort(new Error('stopped'));
    await assert.rejects(waiting);
    await a.release();
  });
});
