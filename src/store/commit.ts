// Replacing a file that a person may be saving at the same moment, without ever losing their save.
//
// The naive "read, compare, rename over" has a window between the compare and the rename: a save
// that lands there (editor: temp + rename; VS Code: truncate + write in place) is destroyed. POSIX
// has no compare-and-swap on a directory entry, so the window cannot be closed by checking harder.
// What Linux does offer, and what this file uses (method 'exchange+lease'):
//
//   1. LEASE  open the file and take an exclusive lease (native.ts). Granted only when nobody else
//             has it open, so no in-place writer is half-way through; from now on every other open()
//             of this inode, for reading or writing, waits in the kernel until we let go.
//   2. READ   the text B under the lease: it is complete and cannot change under us. Apply the edit
//             to it: M. Write M to `.faultline-tmp-*` in the same directory, fsync, lease that too.
//   3. SWAP   renameat2(tmp, file, RENAME_EXCHANGE): the file is M now; the tmp name holds whatever
//             inode the file had an instant before: D.
//   4. CHECK  D is the inode we leased and nobody is waiting to open it  -> unlink D, release. Done.
//             Otherwise a person was faster than us:
//               a. an editor renamed its save X over the file between 1 and 3 (D is X), or
//               b. a process opened the file while we held the lease and waits (D is B).
//             Nobody can have READ M yet: any open of M waits on M's lease. So we drain D (wait
//             until nobody has it open, then lease it: its text is final), merge the edit into D's
//             text, and write that INTO M's inode, still under M's lease. Then release: every waiting
//             reader sees the person's text plus our edit, and a waiting in-place writer writes into
//             the inode that is now the file.
//
// Worked example (case a), a person saving "edit 7" with vim while we write a status:
//
//   t0 we lease I_B ("edit 6"), read it, write tmp = "edit 6" + status
//   t1 vim renames its file X ("edit 7") over the name;  I_B is unlinked
//   t2 we exchange: the name -> our tmp inode ("edit 6" + status), tmp name -> X
//   t3 vim (or anyone) opens the file to read: blocks on our lease
//   t4 we see D = X != I_B: read X, merge: "edit 7" + status, write it into the file's inode
//   t5 release: the reader's open completes and reads "edit 7" + status. Nothing was lost, and no
//      one ever saw "edit 6" again.
//
// Why the lease and not only the exchange: with the exchange alone (method 'exchange' below), a
// reader can open the file between our swap and our repair and see the older text, and an in-place
// writer that opened the file before the swap writes into the displaced inode after we looked at
// it. Under test/unit/store/concurrency.test.ts's load (1000 saves, half in place) that lost up to
// 66 edits per run; with the lease, none in every run, also on a machine at load average 11.
//
// What is left (the residual window, also in README.md):
//   - An opener that had already looked the name up before step 3 but had not yet reached the
//     kernel's lease check when we looked (step 4, after a settle delay, default 1 ms) gets the old
//     inode after we released it; if it writes in place, that write lands in an unlinked file. It
//     takes a thread descheduled inside its own open() for longer than the settle delay.
//   - A process that keeps the file open longer than leaseWaitMs (`less`, `tail -f`) keeps us from
//     taking a lease; that write uses method 'exchange'.
//   - Leases end after /proc/sys/fs/lease-break-time (45 s) even if we still hold them.
//   - Step 4's merge is written into M's inode in place (it must be: waiting openers hold that
//     inode). If the controller dies during those two syscalls the file can be left half-written;
//     the person's save is then still whole in the `.faultline-tmp-*` file next to it.
//
// Fallbacks, chosen per write when the kernel says no:
//   'exchange' (no lease: EACCES for another owner without CAP_LEASE, EINVAL on NFS/FUSE, or a file
//     held open): the brief's protocol. Compare, exchange, and if a person's save came out (renamed
//     over, or written into the old inode in place), exchange it back in with our edit merged. The
//     two windows above (a stale read in between; an in-place write after our compare) stay open.
//   'rename' (no renameat2: another OS, or a filesystem without RENAME_EXCHANGE): compare, then
//     rename over. A save renamed over the file between the compare and the rename (microseconds)
//     is lost, and a file deleted in that instant is recreated: the classic window, only narrowed.
//     An in-place save into the replaced inode after the compare is noticed and merged (we still
//     hold that inode open), unless it comes later than our second look, a millisecond after.
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Document, parseDocument } from 'yaml';
import { MAX_FILE_BYTES, guardText } from '../api/guard.js';
import { failpoint } from '../api/failpoint.js';
import { EAGAIN, EINVAL, ENOENT, ENOSYS, F_WRLCK, type Native, sleepSync } from './native.js';
import { readAllFd } from './read.js';
import { firstLine, rewriteMinimally } from './yamlEdit.js';

/**
 * An edit of the whole file: mutate `doc` (written back changing only the bytes of what changed:
 * yamlEdit.ts rewriteMinimally), or return the new text, or 'skip' to write nothing, or `{notEditable: why}` when this text has
 * no place for the edit (e.g. `metadata: 5` for a generation). It may be called more than once per
 * update: once for every newer version of the file that a person saved while we were writing.
 */
/**
 * An edit of a file's text. `doc()` parses it (guarded first) when the edit needs the Document: an
 * edit that recognises the text (our own last write) may answer without parsing at all.
 */
export type Edit = (doc: () => Document.Parsed, text: string) => 'skip' | string | void | NotEditable;

/** Why an edit cannot be made to a text (said to the person: what is in the way, what to do). */
export interface NotEditable {
  notEditable: string;
}

export type CommitMethod = 'exchange+lease' | 'exchange' | 'rename';

export type Outcome =
  | { kind: 'done'; text: string; merged: boolean }
  | { kind: 'retry'; why: string }
  | { kind: 'busy' } // lease refused because someone has the file open
  | { kind: 'no-lease' }
  | { kind: 'no-exchange' }
  | { kind: 'missing' }
  | { kind: 'tooLarge'; size: number } // over MAX_FILE_BYTES: not read (fstat said so)
  | { kind: 'invalid'; message: string; text: string }
  | { kind: 'notEditable'; message: string; text: string }
  | { kind: 'skip'; text: string }
  | { kind: 'unchanged'; text: string };

export interface CommitContext {
  target: string; // symlinks already resolved
  edit: Edit;
  native: Native | null;
  settleMs: number;
  drainMs: number;
}

export const TEMP_PREFIX = '.faultline-tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

type Edited =
  | { kind: 'text'; text: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'notEditable'; message: string }
  | { kind: 'skip' }
  | { kind: 'unchanged' };

/** Run the edit against one version of the file. Unparseable text is never edited. */
/** The text an edit was handed is not a file it may edit (hostile, or not YAML). */
class Invalid extends Error {}

export function runEdit(edit: Edit, text: string): Edited {
  if (text.trim() === '') return { kind: 'invalid', message: 'the file is empty' };
  let parsed: Document.Parsed | undefined;
  const doc = (): Document.Parsed => {
    if (parsed) return parsed;
    const refused = guardText(text); // too large, not text, too deep: never handed to the parser
    if (refused) throw new Invalid(refused.message);
    try {
      parsed = parseDocument(text);
    } catch (e) {
      throw new Invalid(`the file is not valid YAML: ${(e as Error).message}`);
    }
    if (parsed.errors.length > 0)
      throw new Invalid(`the file is not valid YAML: ${firstLine(parsed.errors[0].message)}`);
    return parsed;
  };
  let next: string;
  try {
    const out = edit(doc, text);
    if (out === 'skip') return { kind: 'skip' };
    if (typeof out === 'object' && out !== null) return { kind: 'notEditable', message: out.notEditable };
    next = typeof out === 'string' ? out : rewriteMinimally(text, doc()); // only the edited bytes change
  } catch (e) {
    if (e instanceof Invalid) return { kind: 'invalid', message: e.message };
    // The edit could not cope with this text (a bug, or a shape it did not expect): the file stays.
    return { kind: 'notEditable', message: `the edit failed on this text (${(e as Error).message})` };
  }
  return next === text ? { kind: 'unchanged' } : { kind: 'text', text: next };
}

/** What a repair writes for a displaced save: the edit applied, or their text verbatim (and why). */
function mergeOutcome(e: Edited, theirs: string): { text: string; note?: Outcome } {
  switch (e.kind) {
    case 'text':
      return { text: e.text };
    case 'invalid':
    case 'notEditable':
      return { text: theirs, note: { kind: e.kind, message: e.message, text: theirs } };
    case 'skip':
      return { text: theirs, note: { kind: 'skip', text: theirs } };
    case 'unchanged':
      return { text: theirs };
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** renameat2's failure as Node reports a failed syscall: with `code` ('EROFS', 'EACCES', ...). */
function exchangeError(n: number, from: string, to: string): NodeJS.ErrnoException {
  const code = Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;
  return Object.assign(new Error(`${code}: renameat2(RENAME_EXCHANGE) failed, '${from}' <-> '${to}'`), {
    code,
    errno: -n,
    syscall: 'renameat2',
  });
}

function writeAllAt(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, off);
  ftruncateSync(fd, buf.length);
}

/** Create the temp file with `text`, the original's mode and (when we may) owner, fsynced. */
function createTemp(target: string, text: string, like: Stats): { path: string; fd: number } {
  const path = tempPathFor(target);
  const fd = openSync(path, 'wx+', 0o600);
  try {
    writeAllAt(fd, text);
    fchmodSync(fd, like.mode & 0o7777);
    if (process.getuid && (like.uid !== process.getuid() || like.gid !== process.getgid?.())) {
      try {
        fchownSync(fd, like.uid, like.gid); // root writing a person's file: keep it theirs
      } catch {
        /* not permitted: the file becomes ours; nothing better to do */
      }
    }
    fsyncSync(fd);
    return { path, fd };
  } catch (e) {
    closeQuiet(fd);
    unlinkQuiet(path);
    throw e;
  }
}

function closeQuiet(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function sameStat(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function inoAt(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

// ---------------------------------------------------------------- exchange + lease

/**
 * Wait until nobody has `path` open and lease it, so its content is final. Returns the open fd
 * (lease held when `leased`) and the content. Bounded by `ms`; after that, the content is read as
 * it is (best effort) and `leased` is false.
 */
function drain(
  native: Native,
  path: string,
  settleMs: number,
  ms: number,
): { fd: number; text: string; leased: boolean } {
  const deadline = performance.now() + ms;
  for (;;) {
    const fd = openSync(path, 'r');
    const r = native.lease(fd);
    if (r === 0) {
      sleepSync(settleMs);
      if (native.leaseState(fd) === F_WRLCK) return { fd, text: readAllFd(fd).toString('utf8'), leased: true };
    } else if (r !== -EAGAIN || performance.now() > deadline) {
      return { fd, text: readAllFd(fd).toString('utf8'), leased: false };
    }
    closeSync(fd); // lets a waiting opener through; we try again once it is done
    sleepSync(0.2);
  }
}

/** One attempt of the leased protocol described at the top. Synchronous from lease to release. */
export function commitLeased(ctx: CommitContext): Outcome {
  const { native, target, edit } = ctx;
  if (!native) return { kind: 'no-exchange' };
  let fdB: number | undefined;
  let fdM: number | undefined;
  let tmp: string | undefined;
  let fdD: number | undefined;
  let unresolved: string | undefined; // a temp name holding a save whose content is not at the name yet
  try {
    try {
      fdB = openSync(target, 'r');
    } catch (e) {
      if (errno(e) === 'ENOENT') return { kind: 'missing' };
      throw e;
    }
    const lr = native.lease(fdB);
    if (lr === -EAGAIN) return { kind: 'busy' };
    if (lr < 0) return { kind: 'no-lease' };
    const stB = fstatSync(fdB);
    if (stB.nlink === 0 || inoAt(target) !== stB.ino) return { kind: 'retry', why: 'replaced while opening' };
    if (stB.size > MAX_FILE_BYTES) return { kind: 'tooLarge', size: stB.size };
    const textB = readAllFd(fdB, stB.size).toString('utf8');
    const e = runEdit(edit, textB);
    if (e.kind === 'invalid' || e.kind === 'notEditable') return { kind: e.kind, message: e.message, text: textB };
    if (e.kind === 'skip') return { kind: 'skip', text: textB };
    if (e.kind === 'unchanged') return { kind: 'unchanged', text: textB };

    const t = createTemp(target, e.text, stB);
    tmp = t.path;
    fdM = t.fd;
    failpoint('status-write');
    if (native.lease(fdM) !== 0) return { kind: 'retry', why: 'temp file opened by someone' };
    const x = native.exchange(tmp, target);
    if (x === -ENOENT) return { kind: 'missing' }; // deleted by a person: never recreate it
    if (x === -EINVAL || x === -ENOSYS) return { kind: 'no-exchange' };
    if (x < 0) throw exchangeError(-x, tmp, target);
    const displaced = tmp; // from here on, the tmp name holds the inode that was the file: D
    tmp = undefined;
    unresolved = displaced;

    const dIno = inoAt(displaced);
    sleepSync(ctx.settleMs); // see "residual window" above
    let final = e.text;
    let merged = false;
    let note: Outcome | undefined;
    if (dIno === stB.ino && native.leaseState(fdB) === F_WRLCK) {
      unresolved = undefined;
      unlinkSync(displaced); // nobody touched B: it goes
      closeQuiet(fdB);
      fdB = undefined;
    } else {
      closeQuiet(fdB); // let a waiting opener of B through: it may be writing
      fdB = undefined;
      const drained = drain(native, displaced, ctx.settleMs, ctx.drainMs);
      fdD = drained.fd;
      // Someone kept D open past drainMs (a reader like `less`, or a writer stalled mid-save): take
      // its text only once it has settled.
      const d = drained.leased ? drained : settledReadFd(drained.fd);
      if (!(dIno === stB.ino && d.text === textB)) {
        const m = mergeOutcome(runEdit(edit, d.text), d.text); // not editable: their text, verbatim
        final = m.text;
        note = m.note;
        writeAllAt(fdM, final); // M's inode is the file, and it is still leased: nobody sees this happen
        fsyncSync(fdM);
        merged = true;
      }
      unresolved = undefined;
      unlinkSync(displaced);
      closeQuiet(fdD);
      fdD = undefined;
    }
    const stM = fstatSync(fdM);
    closeQuiet(fdM); // release: waiting openers now see `final`
    fdM = undefined;
    if (stM.nlink === 0) {
      // A person renamed a save over our file after the swap (their text is in place, ours is not).
      return exists(target) ? { kind: 'retry', why: 'replaced after the swap' } : { kind: 'missing' };
    }
    return note ?? { kind: 'done', text: final, merged };
  } finally {
    closeQuiet(fdD);
    closeQuiet(fdB);
    closeQuiet(fdM);
    if (tmp) unlinkQuiet(tmp);
    // Failed half-way through a repair: put the displaced save back at the name (our text comes
    // out under the temp name and goes).
    if (unresolved && native.exchange(unresolved, target) === 0) unlinkQuiet(unresolved);
  }
}

// ---------------------------------------------------------------- exchange without a lease

/**
 * Read an open file until it holds a parseable text that two reads a millisecond apart agree on
 * (same text, same inode timestamps), or until the same unparseable text has been there for 50 ms.
 * An in-place writer can sit between its truncate and its write for tens of milliseconds (we have
 * measured 30 ms on a busy machine), so an empty file is not believed quickly. Bounded (~200 ms).
 */
function settledReadFd(fd: number): { text: string; st: Stats } {
  let prev: { text: string; st: Stats } | undefined;
  let sameSince = performance.now();
  const deadline = performance.now() + 200;
  for (;;) {
    const st = fstatSync(fd);
    const text = readAllFd(fd, st.size).toString('utf8');
    const now = performance.now();
    if (!prev || text !== prev.text || !sameStat(st, prev.st)) sameSince = now;
    else if (runEdit((doc) => (doc(), 'skip'), text).kind !== 'invalid' || now - sameSince >= 50) return { text, st };
    if (now > deadline) return { text, st };
    prev = { text, st };
    sleepSync(1);
  }
}

function settledRead(path: string): { text: string; st: Stats } {
  const fd = openSync(path, 'r');
  try {
    return settledReadFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Open the target and read it; undefined if it changed while we read (a write in progress). */
function openAndRead(
  target: string,
): { fd: number; st: Stats; text: string } | 'missing' | { tooLarge: number } | undefined {
  let fd: number;
  try {
    fd = openSync(target, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') return 'missing';
    throw e;
  }
  const st = fstatSync(fd);
  if (st.size > MAX_FILE_BYTES) {
    closeSync(fd);
    return { tooLarge: st.size };
  }
  const text = readAllFd(fd, st.size).toString('utf8');
  if (!sameStat(st, fstatSync(fd))) {
    closeSync(fd);
    return undefined;
  }
  return { fd, st, text };
}

/**
 * Without a lease: compare, exchange, and if a person's save came out (renamed over the file, or
 * written into it in place), exchange it back in with our edit merged, as long as saves keep coming
 * out (bounded). A displaced save is never deleted before its content is at the file's name.
 */
export function commitExchange(ctx: CommitContext): Outcome {
  const { native, target, edit } = ctx;
  if (!native) return { kind: 'no-exchange' };
  const b = openAndRead(target);
  if (b === 'missing') return { kind: 'missing' };
  if (!b) return { kind: 'retry', why: 'changing while read' };
  if ('tooLarge' in b) return { kind: 'tooLarge', size: b.tooLarge };
  const ours: string[] = []; // temp names that hold nothing but our own text: always safe to delete
  let held: string | undefined; // a temp name holding a person's save that is not at the file's name
  let placedFd: number | undefined;
  try {
    const e = runEdit(edit, b.text);
    if (e.kind === 'invalid' || e.kind === 'notEditable') return { kind: e.kind, message: e.message, text: b.text };
    if (e.kind === 'skip') return { kind: 'skip', text: b.text };
    if (e.kind === 'unchanged') return { kind: 'unchanged', text: b.text };

    let placed = createTemp(target, e.text, b.st);
    ours.push(placed.path);
    placedFd = placed.fd;
    let placedText = e.text;
    if (inoAt(target) !== b.st.ino || !sameStat(fstatSync(b.fd), b.st)) return { kind: 'retry', why: 'changed' };
    const x = native.exchange(placed.path, target);
    if (x === -ENOENT) return { kind: 'missing' };
    if (x === -EINVAL || x === -ENOSYS) return { kind: 'no-exchange' };
    if (x < 0) throw exchangeError(-x, placed.path, target);
    // placed.path now names what the file was an instant ago. Is it B, untouched?
    const out = placed.path;
    ours.pop();
    if (inoAt(out) === b.st.ino && sameStat(fstatSync(b.fd), b.st) && readAllFd(b.fd).toString('utf8') === b.text) {
      ours.push(out);
      return { kind: 'done', text: placedText, merged: false };
    }
    held = out;
    let note: Outcome | undefined;
    for (let round = 0; round < 10; round++) {
      const d = settledRead(held);
      const m = mergeOutcome(runEdit(edit, d.text), d.text); // not editable: their text, verbatim
      const text = m.text;
      note = m.note;
      const prevIno = fstatSync(placed.fd).ino;
      const next = createTemp(target, text, d.st);
      closeQuiet(placedFd);
      placedFd = next.fd;
      const y = native.exchange(next.path, target);
      if (y === -ENOENT) {
        ours.push(next.path, held); // deleted by the person after our swap: their call
        held = undefined;
        return { kind: 'missing' };
      }
      if (y < 0) {
        ours.push(next.path);
        throw exchangeError(-y, next.path, target);
      }
      ours.push(held); // its content is at the file's name now (merged)
      held = undefined;
      const untouched = inoAt(next.path) === prevIno && readFileText(next.path) === placedText;
      placed = next;
      placedText = text;
      if (untouched) {
        ours.push(next.path);
        return note ?? { kind: 'done', text, merged: true };
      }
      held = next.path; // yet another save came out
    }
    return { kind: 'retry', why: 'saves keep coming' }; // `held` goes back below
  } finally {
    closeQuiet(b.fd);
    closeQuiet(placedFd);
    if (held) {
      // Never drop a person's save: put the newest one we hold back at the name, verbatim.
      try {
        renameSync(held, target);
      } catch {
        /* leave it under its temp name rather than delete it */
      }
    }
    for (const p of ours) unlinkQuiet(p);
  }
}

function readFileText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return readAllFd(fd).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- compare, then rename

/**
 * Last resort where renameat2 is missing: compare, then rename over. A save renamed over the file
 * between the compare and the rename is lost (THE window). An in-place save into the old inode
 * after the compare is not: we still hold that inode open, see it change, and merge it again.
 */
export function commitRename(ctx: CommitContext): Outcome {
  const { target, edit } = ctx;
  const b = openAndRead(target);
  if (b === 'missing') return { kind: 'missing' };
  if (!b) return { kind: 'retry', why: 'changing while read' };
  if ('tooLarge' in b) return { kind: 'tooLarge', size: b.tooLarge };
  const temps: string[] = [];
  try {
    const e = runEdit(edit, b.text);
    if (e.kind === 'invalid' || e.kind === 'notEditable') return { kind: e.kind, message: e.message, text: b.text };
    if (e.kind === 'skip') return { kind: 'skip', text: b.text };
    if (e.kind === 'unchanged') return { kind: 'unchanged', text: b.text };
    const tmp = createTemp(target, e.text, b.st);
    closeQuiet(tmp.fd);
    temps.push(tmp.path);
    // compare ...
    if (inoAt(target) !== b.st.ino || !sameStat(fstatSync(b.fd), b.st) || readAllFd(b.fd).toString('utf8') !== b.text) {
      return { kind: 'retry', why: 'changed' };
    }
    // ... then rename: THE WINDOW. A save renamed over the file right here is overwritten.
    renameSync(tmp.path, target);
    temps.pop();
    // An in-place save that opened the old inode before our rename writes into it after: we still
    // hold that inode, so we see it, merge it and write again (through the same window).
    sleepSync(1);
    const after = settledReadFd(b.fd);
    if (sameStat(after.st, b.st) && after.text === b.text) return { kind: 'done', text: e.text, merged: false };
    const m = mergeOutcome(runEdit(edit, after.text), after.text);
    const t2 = createTemp(target, m.text, after.st);
    closeQuiet(t2.fd);
    temps.push(t2.path);
    renameSync(t2.path, target);
    temps.pop();
    return m.note ?? { kind: 'done', text: m.text, merged: true };
  } finally {
    closeQuiet(b.fd);
    for (const p of temps) unlinkQuiet(p);
  }
}
