// The two Linux calls Node does not expose, reached through koffi (FFI):
//
//   renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)  swap two names atomically; both must exist
//   fcntl(fd, F_SETLEASE, F_WRLCK)                         an exclusive lease on an open file
//   flock(fd, LOCK_EX | LOCK_NB)                           an exclusive lock the kernel drops when
//                                                          the process dies (one controller per dir)
//
// A write lease is granted only while nobody else has the file open (for reading or writing), and
// while we hold it, any other process's open() of that inode BLOCKS inside the kernel until we
// release it (close the fd), for at most /proc/sys/fs/lease-break-time (45 s by default). F_GETLEASE
// tells us whether someone is waiting. The kernel announces a waiting opener with a signal, SIGIO
// by default, whose default action kills the process: we redirect it to SIGURG (ignored by default
// and unused by Node) before taking any lease.
//
// Careful: an open() of a leased file from THIS process blocks too. A synchronous open on the main
// thread would hang the process until the lease times out. That is why the store's critical
// section is synchronous from lease to release, and why readStable reads synchronously.
//
// Nothing here is loaded at import time: `loadNative()` is called by a store instance and returns
// null where koffi or libc is not there (macOS, Windows, musl without libc.so.6, ...).
import { createRequire } from 'node:module';

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const F_SETSIG = 10;
const F_SETLEASE = 1024;
const F_GETLEASE = 1025;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
const SIGURG = 23; // x86-64 and arm64 Linux

export const EAGAIN = 11;
export const ENOENT = 2;
export const EINVAL = 22;
export const ENOSYS = 38;

export interface Native {
  /** 0, or -errno. */
  exchange(a: string, b: string): number;
  /** Take an exclusive lease: 0, or -errno (EAGAIN: someone has the file open; EINVAL/EACCES: not here). */
  lease(fd: number): number;
  /**
   * Take a read lease on an fd opened read-only: 0, or -EAGAIN while anyone has the file open for
   * writing (an in-place save in progress), or another -errno where leases are unavailable.
   * While held, writers' open() waits; release it by closing the fd.
   */
  readLease(fd: number): number;
  /** F_WRLCK while the lease is ours and nobody waits; F_RDLCK/F_UNLCK while an opener waits. */
  leaseState(fd: number): number;
  /** flock(fd, LOCK_EX | LOCK_NB): 0, or -errno (EWOULDBLOCK: another open file description holds it). */
  lockExclusive(fd: number): number;
}

export const EWOULDBLOCK = 11;
const LOCK_EX = 2;
const LOCK_NB = 4;

interface KoffiLike {
  load(name: string): { func(sig: string): (...args: unknown[]) => number };
  errno(): number;
}

export function loadNative(): Native | null {
  if (process.platform !== 'linux') return null;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as KoffiLike;
    const libc = koffi.load('libc.so.6');
    const renameat2 = libc.func('int renameat2(int, const char *, int, const char *, unsigned int)');
    const fcntl = libc.func('int fcntl(int, int, ...)');
    const flock = libc.func('int flock(int, int)');
    const call = (r: number): number => (r < 0 ? -koffi.errno() : r);
    return {
      exchange: (a, b) => call(renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)),
      lease(fd) {
        const s = call(fcntl(fd, F_SETSIG, 'int', SIGURG));
        if (s < 0) return s;
        return call(fcntl(fd, F_SETLEASE, 'int', F_WRLCK));
      },
      readLease(fd) {
        const s = call(fcntl(fd, F_SETSIG, 'int', SIGURG));
        if (s < 0) return s;
        return call(fcntl(fd, F_SETLEASE, 'int', F_RDLCK));
      },
      leaseState: (fd) => call(fcntl(fd, F_GETLEASE)),
      lockExclusive: (fd) => call(flock(fd, LOCK_EX | LOCK_NB)),
    };
  } catch {
    return null;
  }
}

/** Block the thread for `ms` (fractions allowed). Only for sub-millisecond waits inside a lease. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
