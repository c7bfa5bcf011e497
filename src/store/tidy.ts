// What an interrupted status write leaves behind, tidied at start-up without losing a save.
//
// A status write (commit.ts) composes the new text in `.faultline-tmp-<file>-<pid>-<hex>` beside the
// file, then swaps it in. Killed in between, the writer leaves that name behind, holding either our
// composed text (the person's text plus a status) or, after the swap, the inode the file had a
// moment before, which may be a save a person made in that instant. So a leftover is removed only
// when it holds nothing the file does not: the same document once `status` and the
// `metadata.generation` we keep are set aside. Anything else (another spec, text that does not
// parse, a file since deleted) is kept under `.faultline-recovered-<file>-<when>` and named in the
// log, for a person to compare: hidden, so it is never taken for a scenario.
//
//   .faultline-tmp-shop.yaml-4121-9f3a0c11   writer 4121 alive            -> left alone (in flight)
//                                            same spec as shop.yaml       -> removed
//                                            another spec / unparsable    -> kept as .faultline-recovered-shop.yaml-…
//
// Run by the controller that holds the directory's lock, before it lists the files: no other
// controller writes here then, and our own pid cannot be mid-write yet.
import { lstat, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { MAX_FILE_BYTES, guardText } from '../api/guard.js';
import { TEMP_PREFIX } from './commit.js';
import { MAX_DEPTH } from './dir.js';

export const RECOVERED_PREFIX = '.faultline-recovered-';

const TEMP_NAME = /^\.faultline-tmp-(.+)-(\d+)-[0-9a-f]{8}$/;

export interface TidyReport {
  /** Leftovers that held nothing the file lacks: removed. */
  removed: string[];
  /** Leftovers that may hold a save: renamed, with why. */
  kept: { temp: string; as: string; why: string }[];
}

export interface TidyOptions {
  /** Is a process with this pid alive (another writer may be mid-write)? */
  alive?: (pid: number) => boolean;
  now?: () => Date;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // ours, from before a restart: we write nothing yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The document as a person wrote it: without status and without the generation faultline keeps. */
function personal(text: string): unknown {
  if (guardText(text)) return undefined;
  try {
    const doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 }) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
    const { status: _status, ...rest } = doc as Record<string, unknown>;
    const md = rest.metadata;
    if (md && typeof md === 'object' && !Array.isArray(md)) {
      const { generation: _generation, ...m } = md as Record<string, unknown>;
      rest.metadata = m;
    }
    return rest;
  } catch {
    return undefined;
  }
}

async function readSmall(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > MAX_FILE_BYTES) return undefined;
  return readFile(path, 'utf8').catch(() => undefined);
}

/** Tidy every leftover of an interrupted status write under `dir` (see the header). Never throws. */
export async function tidyTemps(dir: string, opts: TidyOptions = {}): Promise<TidyReport> {
  const alive = opts.alive ?? processAlive;
  const now = opts.now ?? (() => new Date());
  const report: TidyReport = { removed: [], kept: [] };
  const walk = async (d: string, depth: number): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory() && !e.name.startsWith('.')) {
        if (depth < MAX_DEPTH) await walk(p, depth + 1);
        continue;
      }
      if (!e.isFile() || !e.name.startsWith(TEMP_PREFIX)) continue;
      const m = TEMP_NAME.exec(e.name);
      if (!m || alive(Number(m[2]))) continue;
      const target = join(dirname(p), m[1]);
      const [tmpText, fileText] = await Promise.all([readSmall(p), readSmall(target)]);
      const mine = tmpText === undefined ? undefined : personal(tmpText);
      const theirs = fileText === undefined ? undefined : personal(fileText);
      if (mine !== undefined && theirs !== undefined && isDeepStrictEqual(mine, theirs)) {
        if (
          await unlink(p).then(
            () => true,
            () => false,
          )
        )
          report.removed.push(p);
        continue;
      }
      const why =
        fileText === undefined
          ? `${basename(target)} is gone`
          : mine === undefined
            ? 'it does not parse as a Scenario'
            : `its spec differs from ${basename(target)}'s`;
      const stamp = now().toISOString().replace(/[:.]/g, '-');
      const as = join(dirname(p), `${RECOVERED_PREFIX}${m[1]}-${stamp}`);
      if (
        await rename(p, as).then(
          () => true,
          () => false,
        )
      )
        report.kept.push({ temp: p, as, why });
    }
  };
  await walk(resolve(dir), 0);
  return report;
}
