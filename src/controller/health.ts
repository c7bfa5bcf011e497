// What the controller cannot write into the files themselves, where a person can still read it.
//
// When a scenario's status cannot be written (the directory is read-only, the disk is full, the
// file is not writable: the store's StatusWriteFailed), the faults keep running and the controller
// keeps the status it would have written. It records the problem — and that status — in a small
// JSON file, the controller's health record, which `faultline get` and `describe` read next to the
// scenario files:
//
//   <state dir>/<controller id>.json      always (default /run/faultline as root, else
//                                         $TMPDIR/faultline-<uid>; --state-dir, FAULTLINE_STATE_DIR):
//                                         outside the directory, so a read-only or full directory
//                                         does not keep it from being written
//   <dir>/.faultline/health.json          too, when the directory takes it (another machine, or a
//                                         controller in a container, that shares only the directory)
//
// `get` and `describe` take the newer of the two. The record holds only current problems: it is
// rewritten when one starts, changes or clears, and removed when the controller stops.
//
//   {"controller":"dir-0123456789ab","pid":4242,"updatedAt":"…","statusWrites":[{"scenario":"shop",
//    "file":"/srv/scenarios/shop.yaml","reason":"StatusWriteFailed","errno":"EROFS","message":"…",
//    "since":"…","attempts":3,"retryAt":"…","status":{…the status it would have written…}}]}
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioStatus } from '../api/types.js';
import { LEASE_DIR } from './lease.js';

export const HEALTH_FILE = 'health.json';

export interface StatusWriteProblem {
  scenario: string;
  file: string;
  reason: 'StatusWriteFailed';
  /** EROFS, EACCES, ENOSPC … */
  errno?: string;
  /** What failed, on which file, and what to do (the store's message). */
  message: string;
  since: string;
  attempts: number;
  /** When the controller writes again (it also writes at the scenario's next change). */
  retryAt: string;
  /** The status the file should hold now. */
  status?: ScenarioStatus;
}

export interface ControllerHealth {
  controller: string;
  dir: string;
  pid: number;
  hostname: string;
  updatedAt: string;
  statusWrites: StatusWriteProblem[];
}

/**
 * Where controllers keep their health records on this machine: an explicit directory, else
 * FAULTLINE_STATE_DIR, else /run/faultline for root and $TMPDIR/faultline-<uid> for anyone else.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv, uid: number | undefined): string {
  if (env.FAULTLINE_STATE_DIR) return env.FAULTLINE_STATE_DIR;
  return uid === 0 ? '/run/faultline' : join(tmpdir(), `faultline-${uid ?? 'user'}`);
}

export const healthPath = (stateDir: string, controller: string) => join(stateDir, `${controller}.json`);
export const dirHealthPath = (dir: string) => join(dir, LEASE_DIR, HEALTH_FILE);

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value) + '\n');
  await rename(tmp, path);
}

/**
 * Record the controller's health in both places (each best effort; `stateDir` absent: only in the
 * directory); with no problems, remove it.
 */
export async function writeHealth(stateDir: string | undefined, h: ControllerHealth): Promise<void> {
  const paths = [...(stateDir ? [healthPath(stateDir, h.controller)] : []), dirHealthPath(h.dir)];
  await Promise.all(
    paths.map((p) =>
      (h.statusWrites.length ? writeJson(p, h) : rm(p, { force: true })).catch(async () => {
        await rm(`${p}.${process.pid}.tmp`, { force: true }).catch(() => undefined);
      }),
    ),
  );
}

async function readJson(path: string): Promise<ControllerHealth | undefined> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as ControllerHealth;
    return Array.isArray(h?.statusWrites) && typeof h.updatedAt === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The newest health record of the controller of `dir` (identity `controller`), if any. A record left
 * by a controller that died on this host without removing it says nothing any more.
 */
export async function readHealth(
  dir: string,
  controller: string,
  stateDir: string,
): Promise<ControllerHealth | undefined> {
  const found = (await Promise.all([readJson(healthPath(stateDir, controller)), readJson(dirHealthPath(dir))])).filter(
    (h): h is ControllerHealth => !!h && h.controller === controller && !(h.hostname === hostname() && !alive(h.pid)),
  );
  return found.sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt))[0];
}
