// Status kept beside the scenario instead of in it (`faultline controller --status-in sidecar`):
// a GitOps checkout stays clean because the controller never writes the committed file.
//
//   scenarios/web.yaml                       the person's file, never written (byte-identical)
//   scenarios/.faultline/web.status.yaml     the controller's: status and generation
//
// The sidecar is named after the scenario's file (one sidecar per file, whatever its
// metadata.name says; `apply` names files after their scenario). `.faultline/` is a hidden folder,
// so the store never lists or watches it as scenarios, and git can ignore it:
//
//   # .faultline/web.status.yaml: written by faultline (status of ../web.yaml); not for editing
//   apiVersion: faultline.dev/v1alpha1
//   kind: ScenarioStatus
//   metadata:
//     name: web
//     generation: 2
//   status:
//     observedGeneration: 2
//     phase: Running
//     specHash: 3f0c...
//
// The generation is kept here (the committed file has none to bump): it is the file's spec hash
// against the one the sidecar recorded, exactly as generationOf does for a file that holds both.
// Writes are whole-file renames of a temporary file in `.faultline/` (nobody else writes a
// sidecar, so no lease is needed); a status with content is patched (applyJsonPatch), so the lines
// of unchanged values never move there either. Symlinks are refused for the folder and the file.
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Document, isMap, parseDocument } from 'yaml';
import { guardText } from '../api/guard.js';
import type { ScenarioStatus } from '../api/types.js';
import { tempPathFor } from './commit.js';
import { applyJsonPatch, asRecord, generationOf, plain, safeToJS, spliceEditsExactly } from './yamlEdit.js';

export const SIDECAR_DIR = '.faultline';

/** What a sidecar holds: the status, the generation, and its text as read ('' when there is none). */
export interface HeldStatus {
  status: ScenarioStatus;
  generation?: number;
  text: string;
}

/** scenarios/web.yaml -> scenarios/.faultline/web.status.yaml */
export function sidecarPath(file: string): string {
  return join(dirname(file), SIDECAR_DIR, `${basename(file).replace(/\.ya?ml$/, '')}.status.yaml`);
}

/** Is `path` a symlink? (false when it does not exist) */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The sidecar of `file`: its status and generation. A missing, unreadable or hostile sidecar holds
 * nothing (`{status: {}}`): it is the controller's own, and the next write replaces it.
 */
export function readSidecar(file: string): HeldStatus {
  const path = sidecarPath(file);
  if (isLink(dirname(path)) || isLink(path)) return { status: {}, text: '' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { status: {}, text: '' };
  }
  return { ...heldIn(text), text };
}

/** The status and generation a sidecar's text holds (nothing when it cannot be read as one). */
export function heldIn(text: string): { status: ScenarioStatus; generation?: number } {
  if (guardText(text) !== undefined) return { status: {} };
  const doc = parseDocument(text);
  if (doc.errors.length || !isMap(doc.contents)) return { status: {} };
  const root = asRecord(safeToJS(doc));
  const g = asRecord(root.metadata).generation;
  return {
    status: asRecord(root.status) as ScenarioStatus,
    ...(typeof g === 'number' && Number.isSafeInteger(g) && g >= 0 ? { generation: g } : {}),
  };
}

export interface SidecarEdit {
  /** The sidecar's new text. */
  text: string;
  generation: number;
  /** specHash of the scenario's spec as the file holds it now. */
  specHash: string;
}

/**
 * The sidecar text holding `status` for a scenario whose file holds `spec` now, after `prev` (the
 * sidecar's text, '' for none). `reconciledSpecHash`: the spec the status describes; when the file
 * moved on since, the generation is made newer than status.observedGeneration (as withStatus does).
 */
export function sidecarEdit(
  prev: string,
  scenario: { name: string; file: string; spec: unknown },
  status: ScenarioStatus,
  reconciledSpecHash: string | undefined,
): SidecarEdit {
  const held = prev ? heldIn(prev) : { status: {} as ScenarioStatus };
  const g = generationOf({ spec: scenario.spec, metadata: { generation: held.generation }, status: held.status });
  const observed = status.observedGeneration;
  const stale = reconciledSpecHash !== undefined && reconciledSpecHash !== g.specHash && observed !== undefined;
  const generation = stale ? Math.max(g.generation, observed + 1) : g.generation;
  const newStatus = plain({ ...status, specHash: g.specHash });
  const value = {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'ScenarioStatus',
    metadata: { name: scenario.name, generation },
    status: newStatus,
  };
  const edit = { generation, specHash: g.specHash };
  if (prev) {
    // Only what changed: the generation, the name, the status values that differ.
    try {
      const d = parseDocument(prev);
      if (isMap(d.contents)) {
        const old = asRecord(safeToJS(d));
        d.setIn(['metadata', 'name'], scenario.name);
        d.setIn(['metadata', 'generation'], generation);
        if (isMap(d.get('status', true))) applyJsonPatch(d, ['status'], asRecord(old.status), newStatus);
        else d.set('status', d.createNode(newStatus));
        const text = spliceEditsExactly(prev, d, value);
        if (text !== undefined) return { text, ...edit };
      }
    } catch {
      /* written anew below */
    }
  }
  const header = `# Written by faultline (status of ../${basename(scenario.file)}); not for editing. git may ignore ${SIDECAR_DIR}/.\n`;
  return { text: header + new Document(value).toString({ lineWidth: 0 }), ...edit };
}

/**
 * Write `text` as the sidecar of `file`, atomically (a temporary file in the same folder, fsynced,
 * then renamed over it). Creates `.faultline/`. Throws with the errno when the filesystem refuses,
 * or when the folder or the sidecar is a symlink (never written through).
 */
export function writeSidecar(file: string, text: string, durable = true): void {
  const path = sidecarPath(file);
  const dir = dirname(path);
  if (isLink(dir) || isLink(path))
    throw Object.assign(new Error(`${path}: a symlink; the status is never written through one`), {
      code: 'ELOOP',
    });
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    throw e;
  }
}
