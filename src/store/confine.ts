// Confinement: the store reads and writes only files inside the scenario directory it was given.
//
// A *.yaml entry may be a symlink. One that leads inside the directory is an ordinary scenario
// file (reads and writes go to the file it names); one that leads outside is refused, so that a
// link dropped into the directory can neither make the controller read /etc/shadow into its logs
// and status issues nor write a status into a file elsewhere.
//
//   scenarios/a.yaml -> b.yaml            inside: read and written through
//   scenarios/a.yaml -> /etc/passwd       outside: refused (file.outsideDir)
//   scenarios -> /data/scenarios (the directory itself a symlink): compared by real paths, inside
import { readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Issue } from '../api/types.js';

/** Is `real` (a path with no symlinks left) `realRoot` or under it? */
export function within(realRoot: string, real: string): boolean {
  const rel = relative(realRoot, real);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Why `path` (under `root`) is refused: the file it leads to, through symlinks, is outside `root`.
 * `real`: where it leads (default: its realpath now). undefined when it is inside, or when either
 * cannot be resolved (missing: whoever opens it finds out).
 */
export function outsideRoot(root: string, path: string, real?: string): Issue | undefined {
  let realRoot: string;
  let target: string;
  try {
    realRoot = realpathSync(root);
    target = real ?? realpathSync(path);
  } catch {
    return undefined;
  }
  if (within(realRoot, target)) return undefined;
  return {
    code: 'file.outsideDir',
    path: [],
    message:
      `${path} leads (through a symlink) to ${target}, outside the scenario directory ${resolve(root)}; ` +
      'faultline reads and writes only files inside it: copy the file into the directory, or make the link point inside it',
  };
}

/** The path an open file descriptor refers to (Linux: /proc/self/fd), or undefined elsewhere. */
export function fdPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}
