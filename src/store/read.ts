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
//
// A file over MAX_FILE_BYTES is not read whole: its size is checked with fstat on the open file
// before reading, and only its first MAX_FILE_BYTES + 1 bytes are returned (`truncated`, with the
// real `size`). That prefix is still too large for every reader (api/guard.ts), so whoever parses
// it gets file.tooLarge without a parser ever running; a 4.4 MB file once took 16 s of CPU and
// 544 MiB to be refused after parsing.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { parseDocument } from 'yaml';
import { MAX_FILE_BYTES, guardText } from '../api/guard.js';
import type { Issue } from '../api/types.js';
import { fdPath, notRegularFile, outsideRoot } from './confine.js';
import type { Clock } from '../ports/index.js';
import { systemClock } from './clock.js';
import { EAGAIN, type Native, loadNative } from './native.js';

export type StableRead =
  | {
      missing: true;
      /** Set when the file exists but is not one the store may read (a symlink leading outside the directory). */
      refused?: Issue;
    }
  | {
      missing: false;
      text: string;
      ino: number;
      /** Inode number and birth time: a different id is a different file (a save by rename). */
      id: string;
      size: number;
      mtimeMs: number;
      /** Set when the tries ran out before a trustworthy read: the text may be a save in progress. */
      unsettled?: true;
      /**
       * The file is larger than MAX_FILE_BYTES (`size`): `text` is only its first MAX_FILE_BYTES + 1
       * bytes, enough for any reader to refuse it as too large without parsing it. Pass `size` to
       * parseScenario (`{bytes: size}`) for a message with the real size.
       */
      truncated?: true;
    };

export interface ReadOptions {
  clock: Clock;
  /** Delay between re-reads of a suspicious read. */
  delayMs: number;
  /** Reads at most (the last one is returned whatever it holds). */
  tries: number;
  /** Leases (Linux, koffi); null: none; absent: loaded for this call. */
  native?: Native | null;
  /** The scenario directory: a file that leads outside it (a symlink) is refused (confine.ts). */
  root?: string;
  /**
   * A read nobody is writing (the lease was granted, nothing moved) that parses is taken at once,
   * without waiting for it to settle, when this says so: e.g. it is the text we wrote ourselves, or
   * a new inode replaced the one read last (a save by rename, as git and most editors save — the
   * writer finished the file before it got this name).
   */
  trusted?: (read: { text: string; id: string }) => boolean;
}

interface FileRead {
  text: string;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** The inode's identity: its number and birth time (ext4 hands a freed number to the next file at once). */
  id: string;
  moved: boolean; // the file changed while we read it, or a writer has it open
  truncated: boolean; // over MAX_FILE_BYTES: `text` is its first MAX_FILE_BYTES + 1 bytes
}

/** Read all of an open file from offset 0, or its first `max` bytes. */
export function readAllFd(fd: number, sizeHint = 0, max = Infinity): Buffer {
  let buf = Buffer.allocUnsafe(Math.min(max, Math.max(4096, sizeHint + 1)));
  let len = 0;
  for (;;) {
    if (len === max) return buf.subarray(0, len);
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(max, buf.length * 2));
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
 * synchronous. `moved` when the file changed during the read or a writer has it open; null when
 * the file does not exist. Over MAX_FILE_BYTES, only a prefix is read (`truncated`).
 */
export function readOnce(path: string, native: Native | null = null, root?: string): FileRead | null {
  const s = readSnapshot(path, native, root);
  return s !== null && 'refused' in s ? null : (s as FileRead | null);
}

/**
 * Open `path` to read. Non-blocking first: a named pipe put where a scenario file was opens at
 * once instead of waiting for a writer (which would hold the controller's only thread); fstat then
 * refuses it. A regular file under a write lease (a writer's commit, store/commit.ts) answers a
 * non-blocking open with EAGAIN; then, once stat says it is still a regular file, the open waits
 * for the lease like any reader (that wait is what tells the writer somebody reads, and lasts as
 * long as its commit).
 */
function openRegular(path: string): number | { refused: Issue } {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  }
  const irregular = notRegularFile(path, statSync(path));
  return irregular ? { refused: irregular } : openSync(path, 'r');
}

/**
 * readOnce, confined to `root`: a file that turns out (once open: no window for a symlink swap)
 * to lead outside it is not read: `{refused}`.
 */
function readSnapshot(
  path: string,
  native: Native | null,
  root: string | undefined,
): FileRead | { refused: Issue } | null {
  let opened: number | { refused: Issue };
  try {
    opened = openRegular(path);
  } catch (e) {
    if (isMissingError(e)) return null;
    throw e;
  }
  if (typeof opened !== 'number') return opened;
  const fd = opened;
  try {
    const refused = root === undefined ? undefined : outsideRoot(root, path, fdPath(fd));
    if (refused) return { refused };
    const writing = native !== null && native.readLease(fd) === -EAGAIN;
    const before = fstatSync(fd);
    const irregular = notRegularFile(path, before);
    if (irregular) return { refused: irregular };
    const truncated = before.size > MAX_FILE_BYTES;
    const text = readAllFd(fd, before.size, MAX_FILE_BYTES + 1).toString('utf8');
    const after = fstatSync(fd);
    return {
      text,
      ino: after.ino,
      size: after.size,
      mtimeMs: after.mtimeMs,
      ctimeMs: after.ctimeMs,
      id: `${after.ino}:${after.birthtimeMs}`,
      moved: writing || !sameStat(before, after),
      truncated: truncated || after.size > MAX_FILE_BYTES,
    };
  } finally {
    closeSync(fd); // also releases the lease
  }
}

/** Parses as one YAML document without errors (and may be parsed at all: api/guard.ts). */
export function parses(text: string): boolean {
  if (text.trim() === '' || guardText(text) !== undefined) return false;
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
  const opts: ReadOptions = {
    clock: options.clock ?? systemClock(),
    delayMs: options.delayMs ?? 50,
    tries: options.tries ?? 6,
  };
  const native = options.native === undefined ? loadNative() : options.native;
  let prev: FileRead | null | undefined;
  for (let i = 0; i < Math.max(1, opts.tries); i++) {
    const snap = readSnapshot(path, native, options.root);
    if (snap !== null && 'refused' in snap) return { missing: true, refused: snap.refused };
    const last = i === Math.max(1, opts.tries) - 1;
    if (snap === null) {
      if (prev === null || last) return { missing: true };
    } else {
      const result = {
        missing: false as const,
        text: snap.text,
        ino: snap.ino,
        id: snap.id,
        size: snap.size,
        mtimeMs: snap.mtimeMs,
        ...(snap.truncated ? { truncated: true as const } : {}),
      };
      // A file modified in the last moments may be in the middle of an in-place save (a 10 MB file
      // written in 512 KiB chunks shows valid YAML after the first chunk): only a file that has
      // been still for SETTLE_MS, or that reads the same twice, is taken as the person's text.
      // (Wall time on purpose: it is compared with the filesystem's mtime, not with scheduling.)
      // This guards writers the lease cannot see (one open per chunk) and systems without leases;
      // the lease (`moved` while a writer has the file open) guards chunks written by one open.
      // Trusted (our own text, or a file replaced whole): taken at once, without parsing it here.
      if (!snap.moved && !snap.truncated && options.trusted?.(snap) === true) return result;
      const settled = Date.now() - snap.mtimeMs >= SETTLE_MS;
      // A file too large to read is final as soon as it is still: it is never parsed.
      if (!snap.moved && settled && (snap.truncated || parses(snap.text))) return result;
      // "Agree": same text in the same, unrewritten inode. A writer that keeps rewriting the file
      // in place shows an empty file at each write; two of those moments are not agreement.
      if (
        !snap.moved &&
        prev &&
        prev.text === snap.text &&
        prev.ino === snap.ino &&
        prev.mtimeMs === snap.mtimeMs &&
        prev.ctimeMs === snap.ctimeMs
      ) {
        return result;
      }
      if (last) return { ...result, unsettled: true };
    }
    prev = snap;
    await opts.clock.sleep(opts.delayMs);
  }
  return { missing: true }; // unreachable: the loop returns on its last turn
}
