// The controller's lease on a directory: one controller per directory, and a way for `apply` to
// tell whether anyone is watching. A small JSON file, renewed periodically; a lease not renewed
// for 3 periods, or held by a dead process on this host, is stale and may be taken over.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { contentHash } from '../api/hash.js';

export const LEASE_DIR = '.faultline';
export const LEASE_FILE = 'controller.lease';
export const LEASE_RENEW_MS = 5_000;

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

export async function acquireLease(dir: string, now: Date): Promise<Lease> {
  const held = await currentLease(dir, now);
  if (held && !(held.pid === process.pid && held.hostname === hostname())) {
    throw new Error(
      `another controller (pid ${held.pid} on ${held.hostname}, since ${held.startedAt}) is watching ${dir}; stop it first, or use another --dir`,
    );
  }
  const lease = { pid: process.pid, hostname: hostname(), startedAt: now.toISOString(), renewedAt: now.toISOString() };
  await writeLease(dir, lease);
  return lease;
}

export async function renewLease(dir: string, lease: Lease, now: Date): Promise<void> {
  lease.renewedAt = now.toISOString();
  await writeLease(dir, lease);
}

export async function releaseLease(dir: string, lease: Lease): Promise<void> {
  const held = await currentLease(dir, new Date(Date.parse(lease.renewedAt)));
  if (held && held.pid === lease.pid && held.hostname === lease.hostname) await rm(leasePath(dir), { force: true });
}
