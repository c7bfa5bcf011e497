// The controller's lease on a directory: exactly one controller acts on a directory; any other
// started on it stands by and takes over when the first one is gone.
//
//   .faultline/controller.lock    flock(2)-ed by the acting controller (store/lock.ts). The kernel
//                                 drops the lock when the process dies, SIGKILL included, so a
//                                 standby (trying every STANDBY_POLL_MS) takes over within a
//                                 fraction of a second, with no timeout to wait out.
//   .faultline/controller.lease   JSON: who acts (pid, host, since, renewed every LEASE_RENEW_MS).
//                                 How `apply` tells whether anyone is watching, and the whole
//                                 lease where flock is not available: there a lease not renewed for
//                                 3 periods (9 s), or held by a dead process on this host, is
//                                 stale, and a lease taken over from under a live holder is
//                                 noticed at its next renewal (it stops acting).
//
// A standby does nothing: no watch, no sweep, no reconcile — so it never applies what the acting
// controller applies, and never sweeps its rules. Both have the same identity (controllerIdFor),
// so the one that takes over finds every rule and object as its own and, reading the kernel back,
// rewrites nothing that is already right.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { contentHash } from '../api/hash.js';
import type { Clock } from '../ports/index.js';
import { loadNative, tryLock } from '../store/index.js';

export const LEASE_DIR = '.faultline';
export const LEASE_FILE = 'controller.lease';
export const LOCK_FILE = 'controller.lock';
export const LEASE_RENEW_MS = 3_000;
/** How often a standby tries the lock (or reads the lease). */
export const STANDBY_POLL_MS = 250;

/**
 * The identity of the controller of a directory: labels every Docker object it creates and
 * prefixes every kernel rule it installs, so that controllers of different directories on one
 * engine never sweep each other's objects. Stable for a directory across restarts.
 */
export function controllerIdFor(dir: string): string {
  let real = resolve(dir);
  try {
    real = realpathSync(real);
  } catch {
    /* not created yet: the resolved path */
  }
  return `dir-${contentHash(real).slice(0, 12)}`;
}

export interface Lease {
  pid: number;
  hostname: string;
  startedAt: string;
  renewedAt: string;
}

export function leasePath(dir: string): string {
  return join(dir, LEASE_DIR, LEASE_FILE);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live lease on `dir`, or null when nobody holds one (absent, stale, or its process died). */
export async function currentLease(dir: string, now: Date, renewMs = LEASE_RENEW_MS): Promise<Lease | null> {
  let lease: Lease;
  try {
    lease = JSON.parse(await readFile(leasePath(dir), 'utf8')) as Lease;
  } catch {
    return null;
  }
  if (now.getTime() - Date.parse(lease.renewedAt) > 3 * renewMs) return null;
  if (lease.hostname === hostname() && !alive(lease.pid)) return null;
  return lease;
}

async function writeLease(dir: string, lease: Lease): Promise<void> {
  await mkdir(join(dir, LEASE_DIR), { recursive: true });
  const tmp = `${leasePath(dir)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(lease) + '\n');
  await rename(tmp, leasePath(dir));
}

const isMine = (l: Lease | null, mine: Lease) =>
  !!l && l.pid === mine.pid && l.hostname === mine.hostname && l.startedAt === mine.startedAt;

/** The directory is ours to act on until release(). */
export interface HeldLease {
  lease: Lease;
  /** flock: the kernel's lock (cannot be lost); lease-file: the JSON lease alone (no flock here). */
  via: 'flock' | 'lease-file';
  /**
   * Renew the JSON lease. 'lost': another controller holds it now (lease-file only: it judged ours
   * stale) — stop acting. Throws when the lease file cannot be written (a read-only directory).
   */
  renew(now: Date): Promise<'ok' | 'lost'>;
  release(): Promise<void>;
}

export interface HoldOptions {
  clock: Clock;
  signal: AbortSignal;
  /** Called once when this controller starts standing by, with the holder as its lease says. */
  onStandby?(holder: Lease | null, how: string): void;
}

/**
 * Wait until this process may act on `dir`, then hold it. Resolves at once when nobody else acts
 * on it; otherwise stands by (rejects when `signal` aborts meanwhile).
 */
export async function holdLease(dir: string, o: HoldOptions): Promise<HeldLease> {
  const native = loadNative();
  let told = false;
  const standBy = async (how: string) => {
    if (!told) o.onStandby?.(await currentLease(dir, o.clock.now()), how);
    told = true;
    await o.clock.sleep(STANDBY_POLL_MS, o.signal);
  };
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason;
    const lock = tryLock(join(dir, LEASE_DIR, LOCK_FILE), native);
    const now = o.clock.now();
    const lease: Lease = {
      pid: process.pid,
      hostname: hostname(),
      startedAt: now.toISOString(),
      renewedAt: now.toISOString(),
    };
    if (lock.held) {
      // Best effort: a read-only directory still has its lock (and says so at the first renewal).
      await writeLease(dir, lease).catch(() => undefined);
      return {
        lease,
        via: 'flock',
        renew: async (at) => {
          lease.renewedAt = at.toISOString();
          await writeLease(dir, lease);
          return 'ok';
        },
        release: async () => {
          if (isMine(await currentLease(dir, new Date(Date.parse(lease.renewedAt))), lease))
            await rm(leasePath(dir), { force: true }).catch(() => undefined);
          lock.release();
        },
      };
    }
    if (lock.busy) {
      await standBy('its lock is held');
      continue;
    }
    // No flock: the JSON lease alone. Take it when nobody holds it, then read it back a poll later:
    // of two standbys that took it at once, the one whose write landed last acts, the other waits.
    const held = await currentLease(dir, now);
    if (!held) {
      await writeLease(dir, lease);
      await o.clock.sleep(STANDBY_POLL_MS, o.signal);
      if (isMine(await currentLease(dir, o.clock.now()), lease)) {
        return {
          lease,
          via: 'lease-file',
          renew: async (at) => {
            if (!isMine(await currentLease(dir, at), lease)) return 'lost';
            lease.renewedAt = at.toISOString();
            await writeLease(dir, lease);
            return 'ok';
          },
          release: async () => {
            if (isMine(await currentLease(dir, new Date(Date.parse(lease.renewedAt))), lease))
              await rm(leasePath(dir), { force: true });
          },
        };
      }
    }
    await standBy(`its lease is current (${lock.why})`);
  }
}
