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

/** What a directory entry is, as fs.Stats and fs.Dirent both say. */
interface EntryKind {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}

/**
 * A *.yaml entry that is not a regular file: a named pipe (opening it for reading waits for a
 * writer, forever), a socket, a device, a directory. Not a scenario file, never read.
 */
export function notRegularFile(path: string, kind: EntryKind): Issue | undefined {
  if (kind.isFile()) return undefined;
  const what = kind.isFIFO()
    ? 'a named pipe (FIFO)'
    : kind.isDirectory()
      ? 'a directory'
      : kind.isSocket()
        ? 'a socket'
        : 'a device';
  return {
    code: 'file.notRegular',
    path: [],
    message: `${path} is ${what}, not a regular file, so it is not read as a scenario; a scenario file must be a regular file: remove it, or rename it to something other than *.yaml`,
  };
}
