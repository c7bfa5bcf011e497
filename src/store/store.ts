// ScenarioStore: the directory of Scenario files as the controller and the CLI see it.
//
// All state lives in an instance: which texts this store wrote (own-write suppression) and what
// the kernel turned out not to support. Time goes through the injected Clock wherever a delay is
// part of the behaviour (re-reads, backoff, unlink confirmation); the sub-millisecond waits inside
// a write's critical section are real time on purpose (commit.ts explains why they must block).
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  fsyncSync,
  linkSync,
  openSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { guardText, tooLargeIssue } from '../api/guard.js';
import type { ScenarioStatus } from '../api/types.js';
import type { Clock } from '../ports/index.js';
import {
  type CommitContext,
  type CommitMethod,
  type Edit,
  type Outcome,
  commitExchange,
  commitLeased,
  commitRename,
  tempPathFor,
} from './commit.js';
import { systemClock } from './clock.js';
import { outsideRoot, within } from './confine.js';
import { type DirScan, type NameIndex, fileNameProblem, indexByName, scanScenarioFiles } from './dir.js';
import { type Native, loadNative } from './native.js';
import { type ReadOptions, type StableRead, parses, readOnce, readStable } from './read.js';
import { applyMerge, readName, spliceOwnStatus, withStatus, type OwnStatus } from './yamlEdit.js';
import { type WatchEvent, type WatchOptions, watchDir } from './watch.js';
import { type HeldStatus, readSidecar, sidecarEdit, sidecarPath, writeSidecar } from './sidecar.js';

export interface StoreOptions {
  clock?: Clock;
  /**
   * The scenario directory. Files that lead outside it through a symlink are neither read nor
   * written (confine.ts). Every directory given to listScenarioFiles, indexByName, watchDir,
   * applyToDir or deleteFromDir is confined the same way from then on.
   */
  dir?: string;
  /** Delay before re-reading a file that looked torn (empty, unparseable, changing). Default 50 ms. */
  readDelayMs?: number;
  /** Reads per readStable at most. Default 6. */
  readTries?: number;
  /** 'auto' (default): exchange+lease where the kernel allows, falling back per write. */
  method?: 'auto' | CommitMethod;
  /** Wait after the exchange before trusting "nobody opened the old file" (commit.ts). Default 1 ms. */
  settleMs?: number;
  /** How long others may keep the file open before we write without a lease. Default 1000 ms. */
  leaseWaitMs?: number;
  /** How long to wait for a displaced file's openers to finish. Default 500 ms. */
  drainMs?: number;
  /** Attempts per write before giving up with reason 'busy'. Default 200. */
  maxAttempts?: number;
  /** fsync the directory after a write (durable renames). Default true. */
  durable?: boolean;
  /** watchDir: how long a vanished file must stay gone to be reported. Default 100 ms. */
  unlinkConfirmMs?: number;
}

/**
 * Why nothing was written. The file is left exactly as it was in every case.
 *   missing      the file does not exist (never recreated)
 *   invalid      its text cannot be edited safely: empty, not YAML, or refused by api/guard.ts
 *   tooLarge     over MAX_FILE_BYTES (seen with fstat; not read)
 *   outsideDir   a symlink that leads outside the scenario directory
 *   notEditable  the edit has no place in this text (e.g. `metadata: 5` for a generation)
 *   skipped      the edit chose to write nothing
 *   unchanged    the edit changes nothing
 *   busy         still changing after maxAttempts
 *   writeFailed  the filesystem refused (read-only, permissions, full disk, ...): `errno` says which
 */
export type UpdateFailureReason =
  'missing' | 'invalid' | 'tooLarge' | 'outsideDir' | 'notEditable' | 'skipped' | 'unchanged' | 'busy' | 'writeFailed';

export type UpdateResult =
  | { written: true; path: string; text: string; merged: boolean; method: CommitMethod; attempts: number }
  | {
      written: false;
      path: string;
      reason: UpdateFailureReason;
      message: string;
      /** The file's text when it was read (absent when missing). */
      text?: string;
      /** writeFailed: the error code, e.g. 'EROFS', 'EACCES', 'ENOSPC'. */
      errno?: string;
    };

export interface WriteStatusOptions {
  /**
   * specHash of the spec this status describes (generationOf(doc).specHash when the controller
   * read the file). Defaults to status.specHash. If the file's spec differs by the time of the
   * write, the generation is made greater than status.observedGeneration and the write is not an
   * own write, so the watcher's event for it triggers a reconcile of the newer spec.
   */
  reconciledSpecHash?: string;
}

/** writeStatus names a filesystem failure 'StatusWriteFailed' (updateFile: 'writeFailed'). */
export type WriteStatusFailureReason = Exclude<UpdateFailureReason, 'writeFailed'> | 'StatusWriteFailed';

export type WriteStatusResult = (
  | Extract<UpdateResult, { written: true }>
  | (Omit<Extract<UpdateResult, { written: false }>, 'reason'> & { reason: WriteStatusFailureReason })
) & {
  /** metadata.generation and status.specHash as written (absent when nothing was written). */
  generation?: number;
  specHash?: string;
  /** True when the watcher may ignore this text (isOwnWrite). */
  own?: boolean;
};

export interface ApplyResult {
  file: string;
  result: 'created' | 'configured' | 'unchanged';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isMissing(e: unknown): boolean {
  const c = (e as NodeJS.ErrnoException).code;
  return c === 'ENOENT' || c === 'ENOTDIR';
}

/**
 * A filesystem error as a result that says what failed, on which file, and what to do.
 *
 *   EROFS on /srv/scenarios/a.yaml ->
 *   "/srv/scenarios/a.yaml: not written (EROFS: read-only file system); the file is unchanged:
 *    the filesystem holding /srv/scenarios is read-only: remount it read-write, or give the
 *    controller a writable copy of the directory"
 */
function writeFailed(abs: string, target: string, e: unknown): Extract<UpdateResult, { written: false }> {
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === 'string' ? err.code : 'EUNKNOWN';
  const what =
    typeof err?.message === 'string' ? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*)?$/s, '') : String(e);
  const dir = dirname(target);
  const uid = process.getuid?.();
  const who = uid === undefined ? "the controller's user" : `the controller's user (uid ${uid})`;
  const advice: Record<string, string> = {
    EROFS: `the filesystem holding ${dir} is read-only: remount it read-write, or give the controller a writable copy of the directory`,
    EACCES: `permission denied: let ${who} write the file and the directory ${dir} (a write goes through a temporary file next to the file)`,
    EPERM: `not permitted: let ${who} write the file and the directory ${dir}, and check for an immutable attribute (lsattr)`,
    ENOSPC: `no space left on the device holding ${dir}: free some space`,
    EDQUOT: `the disk quota for ${dir} is used up: free some space`,
    EMFILE: 'too many open files in the controller: raise its file limit (ulimit -n)',
    ENFILE: 'too many open files on this system: close some, or raise fs.file-max',
  };
  return {
    written: false,
    path: abs,
    reason: 'writeFailed',
    errno: code,
    message: `${abs}: not written (${code}: ${what}); the file is unchanged: ${advice[code] ?? `check the filesystem holding ${dir}`}`,
  };
}

/**
 * Refuse a file the person made read-only (no write permission bit, or no write access for us),
 * before any temporary file exists: a rename would replace it even so, and root could write it.
 */
function writeDenied(abs: string, target: string): Extract<UpdateResult, { written: false }> | undefined {
  try {
    accessSync(target, fsConstants.W_OK);
  } catch (e) {
    if (isMissing(e)) return undefined; // the commit finds out and says so
    return writeFailed(abs, target, e);
  }
  let mode: number;
  try {
    mode = statSync(target).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o222) !== 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return {
    written: false,
    path: abs,
    reason: 'writeFailed',
    errno: 'EACCES',
    message: `${abs}: not written (EACCES: the file is read-only, mode ${octal}); the file is unchanged: if the controller may record status in it, make it writable (chmod u+w ${target})`,
  };
}

export class ScenarioStore {
  private readonly clock: Clock;
  private readonly opts: Required<Omit<StoreOptions, 'clock' | 'dir'>>;
  /** Absolute path -> sha256 of the last text this store wrote there as its own. */
  private readonly ownWrites = new Map<string, string>();
  private native: Native | null | undefined; // undefined: not loaded yet
  /** Directories where RENAME_EXCHANGE turned out unsupported (another filesystem). */
  private readonly noExchangeDirs = new Set<string>();
  /** Scenario directories: nothing that leads outside them is read or written (confine.ts). */
  private readonly roots = new Set<string>();

  /** Per path, the text of our last status write and where its status entry sits in it. */
  private readonly lastStatus = new Map<string, OwnStatus>();

  /** The inode (number and birth time) each path had at its last read: a new one means it was replaced. */
  private readonly lastIno = new Map<string, string>();

  constructor(opts: StoreOptions = {}) {
    this.clock = opts.clock ?? systemClock();
    if (opts.dir !== undefined) this.confine(opts.dir);
    this.opts = {
      readDelayMs: opts.readDelayMs ?? 50,
      readTries: opts.readTries ?? 6,
      method: opts.method ?? 'auto',
      settleMs: opts.settleMs ?? 1,
      leaseWaitMs: opts.leaseWaitMs ?? 1000,
      drainMs: opts.drainMs ?? 500,
      maxAttempts: opts.maxAttempts ?? 200,
      durable: opts.durable ?? true,
      unlinkConfirmMs: opts.unlinkConfirmMs ?? 100,
    };
  }

  private readOptions(path?: string): ReadOptions {
    const root = path === undefined ? undefined : this.rootOf(path);
    return {
      clock: this.clock,
      delayMs: this.opts.readDelayMs,
      tries: this.opts.readTries,
      native: this.nativeFs(),
      ...(root === undefined ? {} : { root }),
    };
  }

  /** Confine `dir` from now on (see StoreOptions.dir). */
  private confine(dir: string): void {
    this.roots.add(resolve(dir));
  }

  /** The confined directory `path` is in (the innermost), if any. */
  private rootOf(path: string): string | undefined {
    const abs = resolve(path);
    let best: string | undefined;
    for (const root of this.roots) {
      if (within(root, abs) && (best === undefined || root.length > best.length)) best = root; // lexically
    }
    return best;
  }

  private nativeFs(): Native | null {
    if (this.native === undefined) this.native = loadNative();
    return this.native;
  }

  // ---------------------------------------------------------------- reading

  /**
   * See read.ts: a read that never mistakes a torn in-place write for the person's content. A file
   * in a confined directory that leads outside it reads as missing, with `refused` saying why.
   */
  /** One read as the file is now (no waiting for a save to settle); confined like readStable. */
  peek(path: string): { text: string } | null {
    return readOnce(path, null, this.rootOf(path));
  }

  async readStable(path: string): Promise<StableRead> {
    const key = resolve(path);
    const last = this.lastIno.get(key);
    // Taken at once (no wait for the save to settle) when nobody writes it and it is our own text,
    // or a new inode replaced the one we read last (a save by rename: complete before it was named).
    const trusted = (r: { text: string; id: string }) =>
      this.isOwnWrite(path, r.text) || (last !== undefined && r.id !== last);
    const r = await readStable(path, { ...this.readOptions(path), trusted });
    if (r.missing) this.lastIno.delete(key);
    else this.lastIno.set(key, r.id);
    return r;
  }

  async listScenarioFiles(dir: string): Promise<string[]> {
    return (await this.scanScenarioFiles(dir)).files;
  }

  /** The scenario files, and the *.yaml entries refused because they lead outside `dir`. */
  scanScenarioFiles(dir: string): Promise<DirScan> {
    this.confine(dir);
    return scanScenarioFiles(dir);
  }

  indexByName(dir: string): Promise<NameIndex> {
    this.confine(dir);
    return indexByName(dir, this.readOptions());
  }

  watchDir(dir: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal, opts: WatchOptions = {}): Promise<void> {
    this.confine(dir);
    return watchDir(dir, onEvent, signal, {
      unlinkConfirmMs: this.opts.unlinkConfirmMs,
      ...opts,
      clock: this.clock,
    });
  }

  // ---------------------------------------------------------------- own writes

  /**
   * Is `text` exactly what this store last wrote to `path` as a status write whose spec the caller
   * had reconciled? Then the watcher's event for it needs no reconcile. Only the LAST own text per
   * path counts: a person restoring an older text of ours is a change.
   */
  isOwnWrite(path: string, text: string): boolean {
    return this.ownWrites.get(resolve(path)) === sha256(text);
  }

  private noteWrite(paths: string[], text: string, own: boolean): void {
    const h = sha256(text);
    for (const p of paths) {
      if (own) this.ownWrites.set(p, h);
      else this.ownWrites.delete(p);
    }
  }

  // ---------------------------------------------------------------- writing

  /**
   * Edit a file safely against concurrent saves (commit.ts). Never writes a file that is missing
   * (never recreates a deleted file) or whose latest text does not parse.
   */
  updateFile(path: string, edit: Edit): Promise<UpdateResult> {
    return this.update(path, edit);
  }

  private pickMethod(target: string, leaseAllowed: boolean): CommitMethod {
    const m = this.opts.method;
    const canExchange = this.nativeFs() !== null && !this.noExchangeDirs.has(dirname(target));
    if (m === 'rename' || !canExchange) return 'rename';
    if (m === 'exchange' || !leaseAllowed) return 'exchange';
    return 'exchange+lease';
  }

  private async update(path: string, edit: Edit, after?: (text: string) => void): Promise<UpdateResult> {
    const abs = resolve(path);
    let target: string;
    try {
      target = realpathSync(abs); // write the file a symlink points to, not over the symlink
    } catch (e) {
      if (isMissing(e)) return { written: false, path: abs, reason: 'missing', message: `${abs} does not exist` };
      return writeFailed(abs, abs, e);
    }
    const root = this.rootOf(abs);
    const outside = root === undefined ? undefined : outsideRoot(root, abs, target);
    if (outside) return { written: false, path: abs, reason: 'outsideDir', message: `${outside.message}; not written` };
    const denied = writeDenied(abs, target);
    if (denied) return denied;
    try {
      return await this.commitLoop(abs, target, edit, after);
    } catch (e) {
      // The filesystem said no (EROFS, EACCES, ENOSPC, EIO ...). The commit functions have put
      // back what they displaced and removed their temporary files on the way out.
      return writeFailed(abs, target, e);
    }
  }

  private async commitLoop(
    abs: string,
    target: string,
    edit: Edit,
    after?: (text: string) => void,
  ): Promise<UpdateResult> {
    let leaseAllowed = true;
    let busySince: number | undefined;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      const method = this.pickMethod(target, leaseAllowed);
      const ctx: CommitContext = {
        target,
        edit,
        native: this.nativeFs(),
        settleMs: this.opts.settleMs,
        drainMs: this.opts.drainMs,
      };
      let out: Outcome =
        method === 'exchange+lease'
          ? commitLeased(ctx)
          : method === 'exchange'
            ? commitExchange(ctx)
            : commitRename(ctx);
      if (out.kind === 'invalid' && method !== 'exchange+lease') {
        // Without a lease we may have read an in-place save half-way: believe it only if it stays so.
        const r = await this.readStable(target);
        if (!r.missing && parses(r.text)) out = { kind: 'retry', why: 'torn read' };
      }
      switch (out.kind) {
        case 'done':
          after?.(out.text);
          if (this.opts.durable) fsyncDir(dirname(target));
          return { written: true, path: abs, text: out.text, merged: out.merged, method, attempts: attempt };
        case 'busy': {
          // Someone has the file open (an in-place save in progress, or a long-lived reader).
          const now = this.clock.now().getTime();
          busySince ??= now;
          if (now - busySince >= this.opts.leaseWaitMs) leaseAllowed = false;
          await this.clock.sleep(Math.min(1 + attempt, 10));
          continue;
        }
        case 'no-lease':
          leaseAllowed = false;
          continue;
        case 'no-exchange':
          this.noExchangeDirs.add(dirname(target));
          continue;
        case 'retry':
          await this.clock.sleep(attempt < 3 ? 0 : Math.min(attempt, 10));
          continue;
        case 'missing': {
          // Deleted, or an editor between delete and create: look once more before giving up.
          await this.clock.sleep(this.opts.readDelayMs);
          if ((await this.readStable(target)).missing) {
            return { written: false, path: abs, reason: 'missing', message: `${abs} was deleted; not recreated` };
          }
          continue;
        }
        case 'tooLarge':
          return {
            written: false,
            path: abs,
            reason: 'tooLarge',
            message: `${abs}: ${tooLargeIssue(out.size).message}; not written`,
          };
        case 'invalid':
          return {
            written: false,
            path: abs,
            reason: 'invalid',
            message: `${abs}: ${out.message}; not written`,
            text: out.text,
          };
        case 'notEditable':
          return {
            written: false,
            path: abs,
            reason: 'notEditable',
            message: `${abs}: ${out.message}; not written`,
            text: out.text,
          };
        case 'skip':
          return { written: false, path: abs, reason: 'skipped', message: `${abs}: nothing to write`, text: out.text };
        case 'unchanged':
          after?.(out.text);
          return {
            written: false,
            path: abs,
            reason: 'unchanged',
            message: `${abs} already up to date`,
            text: out.text,
          };
      }
    }
    return {
      written: false,
      path: abs,
      reason: 'busy',
      message: `${abs}: still changing after ${this.opts.maxAttempts} attempts; try again later`,
    };
  }

  /**
   * Write `status` into the scenario file at `path`, replacing the whole status entry (never
   * merging it), and bring metadata.generation up to date (generationOf). Everything outside the
   * status entry and the generation value stays byte-for-byte (yamlEdit.ts).
   *
   * Never throws. When it cannot write, it says why (`reason`, `message`) and the file is left
   * exactly as it was: not YAML ('invalid'), no place for status or generation in it
   * ('notEditable': `metadata: 5`), too large, outside the directory, or the filesystem refused
   * ('StatusWriteFailed' with `errno`: read-only, permissions, full disk).
   */
  async writeStatus(path: string, status: ScenarioStatus, opts: WriteStatusOptions = {}): Promise<WriteStatusResult> {
    const reconciled = opts.reconciledSpecHash ?? status.specHash;
    const key = resolve(path);
    let last: { generation: number; specHash: string; own: boolean } | undefined;
    const paths = [resolve(path)];
    try {
      paths.push(realpathSync(path));
    } catch {
      /* reported by update() */
    }
    const res = await this.update(
      path,
      (doc, text) => {
        // The file is still the text we wrote last (nobody edited it): only its status changes,
        // spliced at the place we put it, without parsing 100 KiB of YAML on every transition.
        const mine = this.lastStatus.get(key);
        const out =
          (mine?.text === text ? spliceOwnStatus(mine, status, reconciled) : undefined) ??
          withStatus(text, status, { doc: doc(), reconciledSpecHash: reconciled });
        if ('notEditable' in out) return out; // e.g. `metadata: 5`: no place for a generation
        const own = reconciled !== undefined ? reconciled === out.specHash : !out.bumped;
        last = { generation: out.generation, specHash: out.specHash, own };
        if (out.tail)
          this.lastStatus.set(key, { ...out.tail, text: out.text, generation: out.generation, specHash: out.specHash });
        else this.lastStatus.delete(key);
        return out.text;
      },
      (text) => this.noteWrite(paths, text, last?.own ?? false),
    );
    if (res.written) return { ...res, ...last };
    const { reason } = res;
    if (reason === 'unchanged') return { ...res, reason, ...last };
    return { ...res, reason: reason === 'writeFailed' ? 'StatusWriteFailed' : reason };
  }

  // ---------------------------------------------------------------- status beside the file

  /** The status kept beside `path` (sidecar.ts); `{status: {}}` when there is none yet. */
  readHeldStatus(path: string): HeldStatus {
    return readSidecar(path);
  }

  /** The scenario file is gone: remove its sidecar (a new file of that name starts afresh). */
  async forgetHeldStatus(path: string): Promise<void> {
    const abs = resolve(path);
    const root = this.rootOf(abs);
    if (root !== undefined && outsideRoot(root, sidecarPath(abs)) !== undefined) return;
    await unlink(sidecarPath(abs)).catch(() => undefined);
  }

  /**
   * writeStatus for `--status-in sidecar`: the same contract (generation bookkeeping, `own`, never
   * throws), but the status and generation go to `.faultline/<file>.status.yaml` and the scenario
   * file is only read, never written. `text` is the scenario's text as read; `heldText` the
   * sidecar's new text.
   */
  async writeStatusBeside(
    path: string,
    status: ScenarioStatus,
    opts: WriteStatusOptions = {},
  ): Promise<WriteStatusResult & { heldText?: string }> {
    const abs = resolve(path);
    const r = await this.readStable(path);
    if (r.missing) return { written: false, path: abs, reason: 'missing', message: `${abs} does not exist` };
    const root = this.rootOf(abs);
    const outside = root === undefined ? undefined : outsideRoot(root, sidecarPath(abs));
    if (outside) return { written: false, path: abs, reason: 'outsideDir', message: `${outside.message}; not written` };
    let spec: unknown;
    if (guardText(r.text, { bytes: r.size }) === undefined) {
      const doc = parseDocument(r.text);
      spec = doc.errors.length ? undefined : (doc.toJS({ maxAliasCount: 100 }) as { spec?: unknown } | null)?.spec;
    }
    const name = readName(r.text);
    const prev = readSidecar(abs);
    const reconciled = opts.reconciledSpecHash ?? status.specHash;
    const edit = sidecarEdit(
      prev.text,
      { name: 'name' in name ? name.name : basename(abs).replace(/\.ya?ml$/, ''), file: abs, spec },
      status,
      reconciled,
    );
    const own = reconciled !== undefined ? reconciled === edit.specHash : true;
    const done = { generation: edit.generation, specHash: edit.specHash, own, heldText: edit.text };
    if (edit.text === prev.text)
      return {
        written: false,
        path: abs,
        reason: 'unchanged',
        message: `${abs} already up to date`,
        text: r.text,
        ...done,
      };
    try {
      writeSidecar(abs, edit.text, this.opts.durable);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return {
        written: false,
        path: abs,
        reason: 'StatusWriteFailed',
        message: `${sidecarPath(abs)}: ${err.message}; not written`,
        errno: err.code,
      };
    }
    return { written: true, path: abs, text: r.text, merged: false, method: 'rename', attempts: 1, ...done };
  }

  // ---------------------------------------------------------------- apply / delete

  /**
   * kubectl apply into the directory: the scenario named in `sourceText` gets the source's content,
   * keeping its file's status and metadata.generation; a new name gets `<dir>/<name>.yaml`.
   * Does not validate the spec (the caller does); needs a readable metadata.name.
   * `dryRun`: say what would happen (the same checks and result) and write nothing.
   */
  async applyToDir(dir: string, sourceText: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    this.confine(dir);
    const n = readName(sourceText);
    if ('error' in n) {
      throw new Error(`cannot apply: ${n.error}. Give the scenario a name under metadata.name, e.g. "split-brain".`);
    }
    applyMerge(sourceText, undefined); // throws with a clear message if the source is not a YAML mapping
    for (let round = 0; round < 3; round++) {
      const idx = await this.indexByName(dir);
      const conflict = idx.conflicts.find((c) => c.name === n.name);
      if (conflict) {
        throw new Error(
          `scenario "${n.name}" is defined by ${conflict.files.length} files (${conflict.files.join(', ')}); ` +
            'delete or rename all but one, then apply again',
        );
      }
      const file = idx.byName.get(n.name);
      if (file && opts.dryRun) {
        const now = await this.readStable(file);
        if (now.missing) continue;
        return {
          file: resolve(file),
          result: applyMerge(sourceText, now.text) === now.text ? 'unchanged' : 'configured',
        };
      }
      if (file) {
        const r = await this.update(file, (doc, text) => (doc(), applyMerge(sourceText, text)));
        if (r.written) return { file: r.path, result: 'configured' };
        if (r.reason === 'unchanged') return { file: r.path, result: 'unchanged' };
        if (r.reason === 'missing') continue; // deleted meanwhile: create it again below
        throw new Error(`cannot apply to ${r.path}: ${r.message}. Fix or delete that file, then apply again.`);
      }
      const problem = fileNameProblem(n.name);
      if (problem) throw new Error(`cannot apply: ${problem}`);
      const target = join(resolve(dir), `${n.name}.yaml`);
      if (opts.dryRun) return { file: target, result: 'created' };
      if (createExclusive(target, applyMerge(sourceText, undefined))) {
        if (this.opts.durable) fsyncDir(dirname(target));
        return { file: target, result: 'created' };
      }
      // Someone created that file meanwhile. If it holds our name, the next round configures it.
      const now = await this.readStable(target);
      const held = now.missing ? undefined : readName(now.text);
      if (held && 'name' in held && held.name !== n.name) {
        throw new Error(`cannot apply: ${target} already exists and holds scenario "${held.name}"; rename one of them`);
      }
    }
    throw new Error(`cannot apply scenario "${n.name}": the directory kept changing; try again`);
  }

  /**
   * Remove the file of scenario `name`. Returns its path, or null if no file holds that name.
   * `dryRun`: the same answer, nothing removed.
   */
  async deleteFromDir(dir: string, name: string, opts: { dryRun?: boolean } = {}): Promise<string | null> {
    this.confine(dir);
    const idx = await this.indexByName(dir);
    const conflict = idx.conflicts.find((c) => c.name === name);
    if (conflict) {
      throw new Error(
        `scenario "${name}" is defined by several files (${conflict.files.join(', ')}); delete the right one by hand`,
      );
    }
    const file = idx.byName.get(name);
    if (!file) return null;
    if (opts.dryRun) return file;
    try {
      await unlink(file);
    } catch (e) {
      if (!isMissing(e)) throw e;
      return null;
    }
    this.ownWrites.delete(resolve(file));
    return file;
  }
}

/**
 * Create `target` with `text` atomically, never replacing anything: the text goes to a temp file
 * (O_EXCL), which is fsynced and then hard-linked to the name (link fails if the name exists).
 * Returns false when the name exists.
 */
function createExclusive(target: string, text: string): boolean {
  const tmp = tempPathFor(target);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, target);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse fsync on directories; the data itself was fsynced */
  }
}
