// Wires the file store (store/) into the controller's DirStore port, and gives the CLI its
// directory operations. The store is the only code that writes scenario files.
import { parse as parseYaml } from 'yaml';
import type { Scenario } from '../api/types.js';
import type { DirStore } from '../ports/index.js';
import { guardText } from '../api/guard.js';
import { scanScenarioFiles, ScenarioStore, tidyTemps, type ApplyResult } from '../store/index.js';

/** Where the controller keeps each scenario's status: in its file, or beside it (`.faultline/`). */
export type StatusIn = 'file' | 'sidecar';

export function createDirStore(
  dir: string,
  store = new ScenarioStore({ dir }),
  opts: { statusIn?: StatusIn } = {},
): DirStore {
  const beside = opts.statusIn === 'sidecar';
  return {
    list: () => store.listScenarioFiles(dir),
    read: async (path) => {
      const r = await store.readStable(path);
      if (r.missing) return { missing: true as const };
      return {
        text: r.text,
        unsettled: r.unsettled,
        size: r.size,
        ...(beside ? { held: store.readHeldStatus(path) } : {}),
      };
    },
    writeStatus: async (path, status, reconciledSpecHash) => {
      if (beside) {
        const r = await store.writeStatusBeside(path, status, { reconciledSpecHash });
        return r.written
          ? { written: true, own: r.own, text: r.text, generation: r.generation, heldText: r.heldText }
          : { written: false, reason: `${r.reason}: ${r.message}` };
      }
      const r = await store.writeStatus(path, status, { reconciledSpecHash });
      return r.written
        ? { written: true, own: r.own, text: r.text, generation: r.generation }
        : { written: false, reason: r.reason, errno: r.errno, message: r.message };
    },
    peek: async (path) => {
      const r = store.peek(path);
      return r === null ? { missing: true as const } : { text: r.text };
    },
    isOwnWrite: (path, text) => store.isOwnWrite(path, text),
    ...(beside ? { forget: (path: string) => store.forgetHeldStatus(path) } : {}),
    // The controller indexes the directory itself before watching: initial files need no events.
    watch: (onEvent, signal, onRefused) => store.watchDir(dir, onEvent, signal, { ignoreInitial: true, onRefused }),
    tidy: () => tidyTemps(dir),
    refused: async () =>
      (await scanScenarioFiles(dir)).refused.map((r) => ({
        file: r.file,
        message: r.issue.message,
        code: r.issue.code,
      })),
  };
}

/**
 * The engine host's routes for the address pools, read at most every 5 s (a reconcile asks each
 * time it plans a network; the daemon's pid is looked up again with them, it changes on restart).
 */
export function engineHostRoutes(
  dockerdPid: (fallback: number) => Promise<number>,
  routesOf: (pid: number) => Promise<string[]>,
  now: () => number = Date.now,
): () => Promise<string[]> {
  let cached: { at: number; routes: Promise<string[]> } | undefined;
  return () => {
    if (!cached || now() - cached.at > 5_000)
      cached = { at: now(), routes: dockerdPid(1).then(routesOf, (): string[] => []) };
    return cached.routes;
  };
}

export function listFiles(dir: string): Promise<string[]> {
  return new ScenarioStore().listScenarioFiles(dir);
}

/** A file's text and, when it is YAML, its content (not validated). null when it vanished. */
export async function readScenarioFile(
  path: string,
): Promise<{ text: string; object: Partial<Scenario> | null } | null> {
  const r = await new ScenarioStore().readStable(path);
  if (r.missing) return null;
  // Guarded first: a hostile file (too deep, an alias bomb, not text) is not handed to a parser.
  if (guardText(r.text, { bytes: r.size }) !== undefined) return { text: r.text, object: null };
  try {
    const o = parseYaml(r.text, { maxAliasCount: 50 }) as unknown;
    return { text: r.text, object: o && typeof o === 'object' ? (o as Partial<Scenario>) : null };
  } catch {
    return { text: r.text, object: null };
  }
}

export function applyFile(dir: string, text: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  return new ScenarioStore().applyToDir(dir, text, opts);
}

export function deleteScenario(dir: string, name: string, opts: { dryRun?: boolean } = {}): Promise<string | null> {
  return new ScenarioStore().deleteFromDir(dir, name, opts);
}
