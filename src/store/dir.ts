// The directory of Scenario files: which files count, and which scenario each one holds.
//
// A scenario file is a regular file named *.yaml or *.yml (any case) anywhere under the directory,
// except under hidden names: `.git/`, editor swap files, and our own `.faultline-tmp-*` are skipped.
//
//   scenarios/
//     split-brain.yaml          -> counted
//     team-a/slow-db.yml        -> counted (subdirectories are part of the directory)
//     .git/...                  -> skipped
//     .faultline-tmp-x.yaml-... -> skipped (a status write in flight; tidied at start: tidy.ts)
//     .faultline-recovered-...  -> skipped (what tidy.ts kept for a person to compare)
//     notes.md                  -> skipped
//     linked.yaml -> ../x.yaml  -> refused: a symlink whose file is outside the directory is not a
//                                  scenario file (listing skips it and says why, reading it says
//                                  missing with `refused`, writing it is refused): the controller
//                                  never reads nor writes outside the directory it was given.
//     alias.yaml -> team-a/slow-db.yml  -> counted (inside)
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Issue } from '../api/types.js';
import { notRegularFile, outsideRoot, within } from './confine.js';
import { loadNative } from './native.js';
import { type ReadOptions, readStable } from './read.js';
import { readName } from './yamlEdit.js';

export const SCENARIO_FILE = /\.ya?ml$/i;
/** How deep listScenarioFiles and watchDir descend below the directory. */
export const MAX_DEPTH = 8;

/** True for paths under `root` the store never treats as scenario files (or directories to enter). */
export function isHiddenPath(root: string, path: string): boolean {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..')) return false;
  return rel.split(sep).some((seg) => seg.startsWith('.'));
}

export interface DirScan {
  /** Scenario files, absolute paths, sorted. */
  files: string[];
  /** *.yaml entries that are not scenario files: they lead outside the directory, or are not regular files. */
  refused: { file: string; issue: Issue }[];
}

/** Every scenario file under `dir`, and the entries refused. A missing directory is an error. */
export async function scanScenarioFiles(dir: string): Promise<DirScan> {
  const root = resolve(dir);
  const realRoot = await realpath(root);
  const out: string[] = [];
  const refused: DirScan['refused'] = [];
  async function walk(d: string, depth: number): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH) await walk(p, depth + 1);
      } else if (SCENARIO_FILE.test(e.name)) {
        if (e.isFile()) out.push(p);
        else if (!e.isSymbolicLink()) refused.push({ file: p, issue: notRegularFile(p, e)! });
        else {
          const real = await realpath(p).catch(() => undefined);
          const st = real === undefined ? undefined : await stat(real).catch(() => undefined);
          if (!st?.isFile() || real === undefined) continue; // dangling, or not a file
          const issue = within(realRoot, real) ? undefined : outsideRoot(root, p, real);
          if (issue) refused.push({ file: p, issue });
          else out.push(p);
        }
      }
    }
  }
  await walk(root, 0);
  return { files: out.sort(), refused: refused.sort((a, b) => (a.file < b.file ? -1 : 1)) };
}

/** Every scenario file under `dir`, as absolute paths, sorted (scanScenarioFiles without the refusals). */
export async function listScenarioFiles(dir: string): Promise<string[]> {
  return (await scanScenarioFiles(dir)).files;
}

export interface NameIndex {
  /** Scenario name -> the one file that holds it (names held by several files are not here). */
  byName: Map<string, string>;
  /** Files whose metadata.name could not be read (or that lead outside the directory), and why. */
  unreadable: { file: string; reason: string }[];
  /** Names held by more than one file: every such file is listed. */
  conflicts: { name: string; files: string[] }[];
}

/** Map every scenario name in `dir` to its file, reading metadata.name leniently. */
export async function indexByName(dir: string, read: Partial<ReadOptions> = {}): Promise<NameIndex> {
  const { files, refused } = await scanScenarioFiles(dir);
  const opts = { ...read, native: read.native === undefined ? loadNative() : read.native, root: dir }; // load once
  const seen = new Map<string, string[]>();
  const unreadable: NameIndex['unreadable'] = refused.map((r) => ({ file: r.file, reason: r.issue.message }));
  for (const file of files) {
    const r = await readStable(file, opts);
    if (r.missing) continue; // deleted while we listed
    const n = readName(r.text);
    if ('error' in n) {
      unreadable.push({ file, reason: n.error });
      continue;
    }
    seen.set(n.name, [...(seen.get(n.name) ?? []), file]);
  }
  const byName = new Map<string, string>();
  const conflicts: NameIndex['conflicts'] = [];
  for (const [name, fs] of seen) {
    if (fs.length === 1) byName.set(name, fs[0]);
    else conflicts.push({ name, files: fs });
  }
  return { byName, unreadable, conflicts };
}

/**
 * Names that are safe as a file name `<name>.yaml` (applyToDir creates files this way). The API's
 * validation is stricter (DNS labels); this only keeps a name from escaping the directory.
 */
export function fileNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) {
    return `metadata.name "${name}" cannot be used as a file name: use lowercase letters, digits and "-" (e.g. "split-brain")`;
  }
  return undefined;
}
