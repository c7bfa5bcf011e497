// The controller's health record: written where a person's `get` finds it, also when the scenario
// directory cannot take it; the newer of two copies wins; a dead controller's record says nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  defaultStateDir,
  dirHealthPath,
  healthPath,
  readHealth,
  writeHealth,
  type ControllerHealth,
} from '../../../src/controller/health.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'faultline-health-'));
  dirs.push(d);
  return d;
};

const record = (dir: string, at: string, pid = process.pid): ControllerHealth => ({
  controller: 'dir-abc',
  dir,
  pid,
  hostname: hostname(),
  updatedAt: at,
  statusWrites: [
    {
      scenario: 'shop',
      file: join(dir, 'shop.yaml'),
      reason: 'StatusWriteFailed',
      errno: 'EROFS',
      message: 'read-only',
      since: at,
      attempts: 1,
      retryAt: at,
    },
  ],
});

describe('health record', () => {
  it('is written in the state directory and in the scenario directory, and read back', async () => {
    const [dir, state] = [scratch(), scratch()];
    await writeHealth(state, record(dir, '2026-01-01T00:00:00.000Z'));
    assert.ok(existsSync(healthPath(state, 'dir-abc')));
    assert.ok(existsSync(dirHealthPath(dir)));
    assert.equal((await readHealth(dir, 'dir-abc', state))?.statusWrites[0].errno, 'EROFS');
  });

  it('a directory that cannot take it still has it in the state directory', async () => {
    const [dir, state] = [scratch(), scratch()];
    // A file where the record's directory would go: the directory copy cannot be written.
    writeFileSync(join(dir, '.faultline'), 'a file, not a directory');
    await writeHealth(state, record(dir, '2026-01-01T00:00:00.000Z'));
    assert.equal((await readHealth(dir, 'dir-abc', state))?.statusWrites.length, 1);
  });

  it('the newer copy wins; no problems removes both', async () => {
    const [dir, state] = [scratch(), scratch()];
    await writeHealth(state, record(dir, '2026-01-01T00:00:00.000Z'));
    const newer = record(dir, '2026-01-01T00:00:05.000Z');
    newer.statusWrites[0].errno = 'ENOSPC';
    await writeHealth(undefined, newer); // only the directory copy
    assert.equal((await readHealth(dir, 'dir-abc', state))?.statusWrites[0].errno, 'ENOSPC');
    await writeHealth(state, { ...newer, statusWrites: [] });
    assert.equal(existsSync(healthPath(state, 'dir-abc')) || existsSync(dirHealthPath(dir)), false);
    assert.equal(await readHealth(dir, 'dir-abc', state), undefined);
  });

  it('a record left by a controller that died on this host is ignored', async () => {
    const [dir, state] = [scratch(), scratch()];
    await writeHealth(state, record(dir, '2026-01-01T00:00:00.000Z', 2 ** 22 + 1)); // no such pid
    assert.equal(await readHealth(dir, 'dir-abc', state), undefined);
  });

  it('the default state directory: the variable, else /run/faultline for root, else per user', () => {
    assert.equal(defaultStateDir({ FAULTLINE_STATE_DIR: '/x' }, 0), '/x');
    assert.equal(defaultStateDir({}, 0), '/run/faultline');
    assert.equal(defaultStateDir({}, 1000), join(tmpdir(), 'faultline-1000'));
  });
});
