// An exclusive lock on a file in the scenario directory: how exactly one controller acts on a
// directory. flock(2) on an open file: the kernel releases it when the holder's last descriptor
// closes — also when the process is SIGKILLed — so a standby sees it free at its next try, with no
// timeout to wait out and no stale record to judge.
//
//   controller A: tryLock(".faultline/controller.lock") → held   (acts)
//   controller B: tryLock(...)                           → busy   (stands by, tries again)
//   A is killed -9                                       → the kernel drops A's lock
//   controller B: tryLock(...)                           → held   (acts)
//
// Where the lock cannot be taken (no koffi/libc, a filesystem without flock, a read-only directory
// without the lock file) the answer says why; the caller falls back to the JSON lease's timestamps.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { EWOULDBLOCK, loadNative, type Native } from './native.js';

export type LockAttempt =
  { held: true; release(): void } | { held: false; busy: true } | { held: false; busy: false; why: string };

/**
 * Try once to take the exclusive lock on `path` (created if missing). Never throws. A caller that
 * tries again and again passes the `native` it loaded once.
 */
export function tryLock(path: string, native: Native | null = loadNative()): LockAttempt {
  if (!native) return { held: false, busy: false, why: 'flock is not available here (koffi or libc missing)' };
  // Held open read-only (flock needs no write access): a controller must not keep its directory's
  // filesystem from being remounted read-only (`mount point is busy` while a file is open for writing).
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
  } catch {
    /* a read-only directory: the lock file may exist already */
  }
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return { held: false, busy: false, why: `cannot open ${path}: ${(e as Error).message}` };
  }
  const r = native.lockExclusive(fd);
  if (r === 0) {
    let open = true;
    return {
      held: true,
      release: () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }
  closeSync(fd);
  if (r === -EWOULDBLOCK) return { held: false, busy: true };
  return { held: false, busy: false, why: `flock on ${path} failed (errno ${-r})` };
}
