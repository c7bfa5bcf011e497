// Watching the directory: chokidar, reduced to three facts about scenario files.
//
// A disappearance is not trusted at once. An editor that saves by rename, git checking out a
// branch, and our own exchange can all make a name vanish for an instant; the controller would
// tear down a scenario's networks for nothing. So an `unlink` is reported only if the file is still
// absent `unlinkConfirmMs` later; if it came back, that is a `change`.
//
//   chokidar: unlink a.yaml, add a.yaml (12 ms later)   -> we report: change a.yaml
//   chokidar: unlink a.yaml (nothing after)             -> we report: unlink a.yaml (after the delay)
//
// A symlink that leads outside the directory is not a scenario file (confine.ts), nor is a named
// pipe, a socket or a device: its add or change is not reported, and a file we reported that
// becomes one is reported as unlink.
//
// A save chokidar does not report is looked for. After a file is replaced by rename (our own
// status write, an editor), chokidar takes ~100 ms to watch the new inode, and an in-place save in
// that window is never reported (measured: 24 of 30 saves made 0-30 ms after a status write). So
// after every add or change, the file's stat is taken at once and again `recheckMs` later: if it
// differs, that is a change, reported (and looked at again in turn).
//
//   status write (rename) at 0 ms → chokidar: change a.yaml (40 ms)   → we report change, stat S1
//   person's save in place at 45 ms → chokidar: nothing
//   240 ms: stat S2 ≠ S1                                              → we report change
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { notRegularFile, outsideRoot } from './confine.js';
import { watch } from 'chokidar';
import type { Clock } from '../ports/index.js';
import { systemClock } from './clock.js';
import { MAX_DEPTH, SCENARIO_FILE, isHiddenPath } from './dir.js';
import type { Issue } from '../api/types.js';

/** A *.yaml entry that is not a regular file (dir.ts). Gone meanwhile: undefined (the unlink says so). */
function notRegular(path: string): Issue | undefined {
  try {
    return notRegularFile(path, statSync(path));
  } catch {
    return undefined;
  }
}

export interface WatchEvent {
  path: string; // absolute
  kind: 'add' | 'change' | 'unlink';
}

export interface WatchOptions {
  /** Do not report the files that exist when watching starts (default false: they come as `add`). */
  ignoreInitial?: boolean;
  /** How long a file must stay gone before `unlink` is reported (default 100 ms). */
  unlinkConfirmMs?: number;
  /** After an add or change, look at the file's stat again this much later (default 200 ms). */
  recheckMs?: number;
  onError?: (err: Error) => void;
  /**
   * A *.yaml name that is not a scenario file because it leads (through a symlink) outside the
   * directory (confine.ts, file.outsideDir) or is not a regular file (file.notRegular: a named
   * pipe, a socket, a device): said once per appearance, with why and what to do.
   */
  onRefused?: (path: string, message: string, code: string) => void;
}

/**
 * Report add/change/unlink of scenario files under `dir` until `signal` aborts. Resolves once the
 * initial scan is done (so a caller can rely on later changes being reported).
 */
export async function watchDir(
  dir: string,
  onEvent: (e: WatchEvent) => void,
  signal: AbortSignal,
  opts: WatchOptions & { clock?: Clock } = {},
): Promise<void> {
  if (signal.aborted) return;
  const root = resolve(dir);
  const confirmMs = opts.unlinkConfirmMs ?? 100;
  const clock = opts.clock ?? systemClock();
  const watcher = watch(root, {
    ignoreInitial: opts.ignoreInitial ?? false,
    depth: MAX_DEPTH,
    ignored: (p, stats) => {
      if (isHiddenPath(root, p)) return true;
      return stats?.isFile() === true && !SCENARIO_FILE.test(p);
    },
  });
  const pending = new Map<string, AbortController>();
  const reported = new Set<string>(); // paths we reported as existing (add/change) and not since as unlink
  const refusedPaths = new Set<string>(); // not scenario files (links out, pipes...), said once (onRefused)
  const recheckMs = opts.recheckMs ?? 200;
  const rechecks = new Map<string, AbortController>(); // path -> the one pending second look
  const emit = (path: string, kind: WatchEvent['kind']): void => {
    if (signal.aborted) return;
    const outside = kind === 'unlink' ? undefined : (outsideRoot(root, path) ?? notRegular(path));
    if (kind === 'unlink') refusedPaths.delete(path);
    if (outside !== undefined) {
      if (!refusedPaths.has(path)) {
        refusedPaths.add(path);
        opts.onRefused?.(path, outside.message, outside.code);
      }
      if (!reported.has(path)) return; // never a scenario file: nothing more to say
      kind = 'unlink';
    }
    if (kind === 'unlink') reported.delete(path);
    else reported.add(path);
    // Taken before the consumer reads the file: a save after this stat is seen by the second look.
    const seen = kind === 'unlink' ? undefined : statKey(path);
    onEvent({ path, kind });
    rechecks.get(path)?.abort();
    rechecks.delete(path);
    if (seen === undefined) return;
    const ac = new AbortController();
    rechecks.set(path, ac);
    clock
      .sleep(recheckMs, AbortSignal.any([signal, ac.signal]))
      .then(() => {
        if (rechecks.get(path) !== ac) return;
        rechecks.delete(path);
        const now = statKey(path);
        // Gone meanwhile: chokidar reports the unlink (confirmed above); changed: report it.
        if (now !== undefined && now !== seen && reported.has(path)) emit(path, 'change');
      })
      .catch(() => {
        /* aborted: a newer event looks again, or we stopped watching */
      });
  };
  const reappeared = (path: string): boolean => {
    const p = pending.get(path);
    if (!p) return false;
    p.abort();
    pending.delete(path);
    return true;
  };
  watcher.on('add', (p) => emit(p, reappeared(p) ? 'change' : 'add'));
  watcher.on('change', (p) => {
    reappeared(p);
    emit(p, 'change');
  });
  watcher.on('unlink', (p) => {
    pending.get(p)?.abort();
    const ac = new AbortController();
    pending.set(p, ac);
    clock
      .sleep(confirmMs, AbortSignal.any([signal, ac.signal]))
      .then(async () => {
        if (pending.get(p) !== ac) return;
        pending.delete(p);
        const st = await stat(p).catch(() => undefined);
        emit(p, st?.isFile() ? 'change' : 'unlink');
      })
      .catch(() => {
        /* aborted: the file came back, or we stopped watching */
      });
  });
  watcher.on('error', (e) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
  signal.addEventListener(
    'abort',
    () => {
      for (const ac of [...pending.values(), ...rechecks.values()]) ac.abort();
      pending.clear();
      rechecks.clear();
      void watcher.close();
    },
    { once: true },
  );
  await new Promise<void>((res) => {
    watcher.once('ready', () => res());
    signal.addEventListener('abort', () => res(), { once: true });
  });
}

/** What changes when a file is saved in place or replaced: inode, size, modification and change times. */
function statKey(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}
