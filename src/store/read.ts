// Reading a file that someone may be writing right now.
//
// Editors and tools write a file in one of two ways:
//   - temp + rename (vim, sed -i, git): the name points at the old or the new inode, never at a
//     half-written one. Nothing can tear.
//   - in place (VS Code, `fs.writeFile`, `>` in a shell): open with O_TRUNC, then write. Between the
//     two, the file is empty; for files over a page, a reader can see a prefix of the new text.
// An empty or unparseable read is therefore not trusted: we read again after a short delay, and
// accept it only when two consecutive reads agree (same text, same inode, same mtime and ctime:
// the person really did save that) or it becomes valid. A read whose inode, size or times moved
// while we were reading is retried the same way. On a busy machine an in-place writer can sit
// between its truncate and its write for tens of milliseconds (30 ms measured here), hence the
// default delay of 50 ms: a shorter one would believe an empty file that is only half-saved.
//
// A writer that keeps the file open and writes it in pieces (a download, `fs.createWriteStream`,
// a 10 MB save in 512 KiB chunks) shows a PARSEABLE prefix between two pieces, and no stat moves
// during our read. So on Linux each read first takes a read lease (native.ts): the kernel grants
// it only if nobody has the file open for writing, and holds off new writers while we read. A
// refused lease (EAGAIN) means a save is in progress: we wait and read again.
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Clock } from '../ports/index.js';
import { systemClock } from './clock.js';
import { EAGAIN, type Native, loadNative } from './native.js';

export type StableRead =
  | { missing: true }
  | {
      missing: false;
      text: string;
      ino: number;
      size: number;
      mtimeMs: number;
      /** Set when the tries ran out before a trustworthy read: the text may be a save in progress. */
      unsettled?: true;
    };

export interface ReadOptions {
  clock: Clock;
  /** Delay between re-reads of a suspicious read. */
  delayMs: number;
  /** Reads at most (the last one is returned whatever it holds). */
  tries: number;
  /** Leases (Linux, koffi); null: none; absent: loaded for this call. */
  native?: Native | null;
}

interface Snapshot {
  text: string;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  moved: boolean; // the file changed while we read it, or a writer has it open
}

/** Read all of an open file from offset 0. */
export function readAllFd(fd: number, sizeHint = 0): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(4096, sizeHint + 1));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = readSync(fd, buf, len, buf.length - len, len);
    if (n === 0) return buf.subarray(0, len);
    len += n;
  }
}

function sameStat(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function isMissingError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * One synchronous read (open, lease, fstat, read, fstat, close): see native.ts for why it is
 * synchronous. `moved` when the file changed during the read or a writer has it open.
 */
export function readOnce(path: string, native: Native | null = null): Snapshot | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (isMissingError(e)) return null;
    throw e;
  }
  try {
    const writing = native !== null && native.readLease(fd) === -EAGAIN;
    const before = fstatSync(fd);
    const text = readAllFd(fd, before.size).toString('utf8');
    const after = fstatSync(fd);
    return {
      text,
      ino: after.ino,
      size: after.size,
      mtimeMs: after.mtimeMs,
      ctimeMs: after.ctimeMs,
      moved: writing || !sameStat(before, after),
    };
  } finally {
    closeSync(fd); // also releases the lease
  }
}

/** Parses as one YAML document without errors. */
export function parses(text: string): boolean {
  if (text.trim() === '') return false;
  try {
    return parseDocument(text).errors.length === 0;
  } catch {
    return false;
  }
}

/** How long a file must have been left alone before one read of it is trusted. */
export const SETTLE_MS = 100;

/**
 * Read a file that may be being written. Returns `{missing: true}` when it does not exist (after
 * one confirming look, since some editors delete and recreate), never throws for ENOENT.
 *
 *   content "" then "kind: Scenario\n..."  -> the second read is returned
 *   content "key: [unclosed" twice         -> returned as is (the person saved that)
 */
export async function readStable(path: string, options: Partial<ReadOptions> = {}): Promise<StableRead> {
  const opts: ReadOptions = { clock: options.clock ?? systemClock(), delayMs: options.delayMs ?? 50, tries: options.tries ?? 6 };
  const native = options.native === undefined ? loadNative() : options.native;
  let prev: Snapshot | null | undefined;
  for (let i = 0; i < Math.max(1, opts.tries); i++) {
    const snap = readOnce(path, native);
    const last = i === Math.max(1, opts.tries) - 1;
    if (snap === null) {
      if (prev === null || last) return { missing: true };
    } else {
      const result = { missing: false as const, text: snap.text, ino: snap.ino, size: snap.size, mtimeMs: snap.mtimeMs };
      // A file modified in the last moments may be in the middle of an in-place save (a 10 MB file
      // written in 512 KiB chunks shows valid YAML after the first chunk): only a file that has
      // been still for SETTLE_MS, or that reads the same twice, is taken as the person's text.
      // (Wall time on purpose: it is compared with the filesystem's mtime, not with scheduling.)
      // This guards writers the lease cannot see (one open per chunk) and systems without leases;
      // the lease (`moved` while a writer has the file open) guards chunks written by one open.
      const settled = Date.now() - snap.mtimeMs >= SETTLE_MS;
      if (!snap.moved && settled && parses(snap.text)) return result;
      // "Agree": same text in the same, unrewritten inode. A writer that keeps rewriting the file
      // in place shows an empty file at each write; two of those moments are not agreement.
      if (!snap.moved && prev && prev.text === snap.text && prev.ino === snap.ino && prev.mtimeMs === snap.mtimeMs && prev.ctimeMs === snap.ctimeMs) {
        return result;
      }
      if (last) return { ...result, unsettled: true };
    }
    prev = snap;
    await opts.clock.sleep(opts.delayMs);
  }
  return { missing: true }; // unreachable: the loop returns on its last turn
}
