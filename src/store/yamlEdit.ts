// Text-level edits of a Scenario file that leave every byte outside the edited entry alone.
//
// The yaml library's Document API keeps comments and key order, but `doc.toString()` re-prints the
// whole file: `labels: {a: b}` becomes `labels: { a: b }`, `x:   1  # c` becomes `x: 1 # c`. A
// person who commits these files would see the controller rewrite lines it never meant to touch.
// So we parse with `parseDocument` only to learn WHERE things are (every node carries a source
// range) and splice new text into the original string. Each splice is verified by parsing the
// result and comparing its value with the intended value. Flow collections keep their spacing
// (`metadata: {name: x}` gets `, generation: 1` inside its braces) and a CRLF file stays CRLF. If a
// file is shaped in a way the splice does not understand (no metadata yet, a document-end marker
// ...), the edit is made with the Document API and written back by splices again, changing only
// the bytes of what changed. A status write never reprints: a layout even that cannot reach (a
// document that is one complex `? ` key) gets no status in the file (notEditable, said in the
// log). Only `apply` (a whole document written by a command) may print what splices cannot express.
//
// A status that already has content is not written anew: the JSON patch from the old status to
// the new one (fast-json-patch's compare) is applied to the Document and spliced node by node, so
// every status line whose value did not change stays exactly as it was (applyJsonPatch).
//
// Worked example: status replaced, generation inserted, everything else byte-for-byte.
//
//   before                              after writeStatus({phase: 'Running'}) (spec hash changed)
//   metadata:                           metadata:
//     name: web     # the name            name: web     # the name
//   spec: {suspend: false}                generation: 1
//   status: {}   # controller only      spec: {suspend: false}
//   # a person's note                   status:   # controller only
//                                         phase: Running
//                                         specHash: 3f0c...
//                                       # a person's note
import {
  Document,
  isAlias,
  isDocument,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import jsonPatch, { type Operation } from 'fast-json-patch';
import { guardText, MAX_FILE_BYTES } from '../api/guard.js';
import { specHash, stableStringify } from '../api/hash.js';
import type { ScenarioStatus } from '../api/types.js';
import type { NotEditable } from './commit.js';

// ---------------------------------------------------------------- generation

export interface GenerationInfo {
  /** The generation the file has, or will have once its spec change is recorded. */
  generation: number;
  /** specHash() of the spec as it is in the file now. */
  specHash: string;
  /** The spec differs from the one recorded in status.specHash (or none is recorded). */
  changed: boolean;
}

/**
 * Generation bookkeeping, shared by the controller (at read time) and writeStatus (at write time).
 * Pure. Accepts a yaml Document or the plain object it holds.
 *
 *   file: metadata.generation 3, status.specHash == specHash(spec)  -> {generation: 3, changed: false}
 *   file: metadata.generation 3, spec edited since                  -> {generation: 4, changed: true}
 *   file: neither (a fresh scenario)                                -> {generation: 1, changed: true}
 *
 * Comments, formatting and status edits never change the spec's hash, so they never bump it.
 * A status deleted by hand loses the recorded hash, so the next write bumps once (safe direction).
 */
export function generationOf(doc: Document | unknown): GenerationInfo {
  const root = asRecord(isDocument(doc) ? safeToJS(doc) : doc);
  const meta = asRecord(root.metadata);
  const status = asRecord(root.status);
  const current = isGeneration(meta.generation) ? meta.generation : undefined;
  const observed = isGeneration(status.observedGeneration) ? status.observedGeneration : undefined;
  const recorded = typeof status.specHash === 'string' ? status.specHash : undefined;
  const hash = specHash(root.spec);
  const changed = recorded !== hash;
  const generation = changed ? (current ?? 0) + 1 : (current ?? observed ?? 1);
  return { generation, specHash: hash, changed };
}

function isGeneration(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * toJS that never throws (a broken alias makes the yaml library throw) and never writes to the
 * console (yaml warns there about a key that is a list or a map: `? [a]: b`).
 */
export function safeToJS(doc: Document): unknown {
  const level = doc.options.logLevel;
  doc.options.logLevel = 'error';
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return undefined;
  } finally {
    doc.options.logLevel = level;
  }
}

/** Plain JSON copy: drops undefined members, turns Dates into strings; what the file will hold. */
export function plain<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// ---------------------------------------------------------------- reading names

/** How much of a file too large to parse is read for its name (which sits near the top). */
/**
 * A file whose last top-level entry is a block `status:` (where the controller writes it): the
 * text before that line (`head`) and from it to the end (`tail`). Undefined when the file is
 * shaped otherwise: no such line, something after the status at column 0 other than a comment (a
 * later key, `---`, `...`), or a document marker inside the head (the status might then belong to
 * another document than the head's).
 *
 * A status block at column 0 is read the same whatever precedes it, as long as what precedes it is
 * complete YAML on its own: a quote, a bracket or a block left open at the end of the head makes
 * the head alone unreadable, and callers then read the whole text. So, for the same tail, the
 * whole file parses as the head parses plus that status: the reconciler parses only the head when
 * the tail is one it has read (or written) before (controller/reconcile.ts).
 */
export function splitTrailingStatus(text: string): { head: string; tail: string } | undefined {
  const last = text.lastIndexOf('\nstatus:');
  const at = last >= 0 ? last + 1 : text.startsWith('status:') ? 0 : -1;
  if (at < 0) return undefined;
  const eol = text.indexOf('\n', at);
  const keyLine = text.slice(at + 'status:'.length, eol < 0 ? text.length : eol).replace(/\r$/, '');
  if (!/^([ \t]+#.*|[ \t]*)$/.test(keyLine)) return undefined; // `status: {...}` or `status: x`: not a block
  for (const line of text.slice(eol < 0 ? text.length : eol + 1).split('\n')) {
    const l = line.replace(/\r$/, '');
    if (l !== '' && !l.startsWith(' ') && !l.startsWith('#')) return undefined;
  }
  const head = text.slice(0, at);
  if (/\n(---|\.\.\.)(\s|$)/.test(head) || /^\.\.\.(\s|$)/.test(head)) return undefined;
  return { head, tail: text.slice(at) };
}

const NAME_HEAD_CHARS = 64 * 1024;

/**
 * metadata.name read leniently: syntax errors elsewhere in the file do not matter if the name is
 * readable. A text that may not be parsed at all (api/guard.ts) has no name, except one that is
 * only too large: its name is read from its first 64 KiB, so that the controller can still say
 * which scenario is too large (and keep treating the file as that scenario) without parsing it.
 */
export function readName(text: string): { name: string } | { error: string } {
  // The name is in the spec's part: a status block at the end (hundreds of lines for a large
  // scenario) need not be guarded or parsed to find it (guarding 670 lines is a parse of its own:
  // 5 ms here). That part alone unreadable: the whole file decides, as before.
  const spec =
    typeof text === 'string' && Buffer.byteLength(text, 'utf8') <= MAX_FILE_BYTES
      ? splitTrailingStatus(text)?.head
      : undefined;
  const inHead = spec !== undefined && guardText(spec) === undefined ? nameIn(spec) : undefined;
  if (inHead && 'name' in inHead) return inHead;
  const refused = guardText(text);
  if (!refused) return nameIn(text);
  if (refused.code !== 'file.tooLarge' || typeof text !== 'string') return { error: refused.message };
  const head = text.slice(0, text.lastIndexOf('\n', NAME_HEAD_CHARS) + 1);
  const found = guardText(head) === undefined ? nameIn(head) : undefined;
  return found && 'name' in found ? found : { error: refused.message };
}

function nameIn(text: string): { name: string } | { error: string } {
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: false, logLevel: 'error' });
  } catch (e) {
    return { error: `not YAML: ${(e as Error).message}` };
  }
  let name: unknown;
  try {
    name = doc.getIn(['metadata', 'name']);
  } catch {
    name = undefined;
  }
  if (isScalar(name)) name = name.value;
  if (typeof name === 'string' && name.trim() !== '') return { name };
  if (doc.errors.length > 0) return { error: `YAML error: ${firstLine(doc.errors[0].message)}` };
  return { error: 'metadata.name is missing or not a string' };
}

/**
 * The `status` a file's text holds, read leniently (syntax errors elsewhere do not matter) and
 * safely: a text api/guard.ts refuses (too large, too deep, not text) or one that is not a
 * mapping has none (undefined); a mapping without status has `{}`. Never throws.
 */
export function readStatus(text: string): Record<string, unknown> | undefined {
  if (guardText(text) !== undefined) return undefined;
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: false, logLevel: 'error' });
  } catch {
    return undefined;
  }
  const js = safeToJS(doc);
  if (js === null || typeof js !== 'object' || Array.isArray(js)) return undefined;
  return asRecord((js as Record<string, unknown>).status);
}

export function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

// ---------------------------------------------------------------- splicing helpers

/** The region of one `key: value` entry of a block map, in source offsets. */
interface EntryRegion {
  start: number; // the key's first character (only indentation before it on its line)
  end: number; // just past the newline that ends the entry (or the end of the text)
  keyLineComment: string; // e.g. "   # controller only" (with its leading spaces), or ''
  indent: number; // column of the key
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i < 0 ? text.length : i;
}

function isBlockMap(node: unknown): node is YAMLMap.Parsed {
  return isMap(node) && !node.flow && Array.isArray((node as YAMLMap.Parsed).range);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => (isScalar(p.key) ? p.key.value === key : p.key === key)) as Pair | undefined;
}

/**
 * Where a block-map entry lives in the text. Returns undefined for shapes we do not splice
 * (complex keys, something other than indentation before the key, ...).
 *
 *   "status: {}   # c\n"           -> [start of "status", after "\n"], keyLineComment "   # c"
 *   "status:  # c\n  phase: X\n"   -> [start of "status", after "X\n"], keyLineComment "  # c"
 *   "status:\n  a: 1\n# note\n"    -> ends after "a: 1\n": the trailing "# note" is not ours
 */
function entryRegion(text: string, pair: Pair): EntryRegion | undefined {
  const key = pair.key as { range?: [number, number, number] } | null;
  if (!isScalar(pair.key) || !key?.range) return undefined;
  const start = key.range[0];
  const ls = lineStart(text, start);
  if (text.slice(ls, start).trim() !== '') return undefined;
  const keyLineEnd = lineEnd(text, key.range[1]);
  const value = pair.value as { range?: [number, number, number] } | null;
  let end: number;
  let keyLineComment = '';
  if (!value?.range) {
    end = Math.min(text.length, keyLineEnd + 1);
    const after = text.slice(key.range[1], keyLineEnd).replace(/^\s*:/, '');
    if (/^\s*#/.test(after)) keyLineComment = after;
  } else if (value.range[0] >= keyLineEnd) {
    // Block value on the following lines; it ends at a line start (or the end of the text).
    end = value.range[1];
    if (end < text.length && text[end - 1] !== '\n') end = Math.min(text.length, lineEnd(text, end) + 1);
    const after = text.slice(key.range[1], keyLineEnd).replace(/^\s*:/, '');
    if (/^\s*#/.test(after)) keyLineComment = after;
  } else {
    const vEnd = value.range[1];
    if (vEnd > 0 && text[vEnd - 1] === '\n') {
      end = vEnd; // a block scalar: "key: |\n  text\n"
    } else {
      const le = lineEnd(text, vEnd);
      const tail = text.slice(vEnd, le);
      if (tail.trim() !== '' && !/^\s*#/.test(tail)) return undefined;
      if (le <= keyLineEnd && /^\s*#/.test(tail)) keyLineComment = tail;
      end = Math.min(text.length, le + 1);
    }
  }
  return { start, end, keyLineComment: keyLineComment.replace(/\r$/, ''), indent: start - ls };
}

/** The indentation unit the file uses for nested maps (2 unless the file shows otherwise). */
function indentUnit(text: string, map: YAMLMap): number {
  for (const p of map.items) {
    const v = p.value;
    if (isBlockMap(v) && v.items.length > 0) {
      const k = v.items[0].key as { range?: [number, number, number] } | null;
      if (k?.range) {
        const col = k.range[0] - lineStart(text, k.range[0]);
        if (col > 0 && col <= 8) return col;
      }
    }
  }
  return 2;
}

/** `key: value` as a block at column 0, in the file's indentation, ending with a newline. */
function renderEntry(key: string, value: unknown, indent: number, keyLineComment = ''): string {
  const fresh = new Document({ [key]: value }).toString({ indent, lineWidth: 0 });
  const nl = fresh.indexOf('\n');
  return fresh.slice(0, nl) + keyLineComment + fresh.slice(nl);
}

/** A replacement of text[start, end) by `insert`. Splices computed from one parse must not overlap. */
interface Splice {
  start: number;
  end: number;
  insert: string;
}

/**
 * The text with the splices made. Inserted text is written with "\n" and takes the file's line
 * ending: a CRLF file stays CRLF throughout.
 */
function applySplices(text: string, splices: Splice[]): string {
  // What is inserted at the end of a text without a final newline starts a line of its own.
  const atEnd = splices.findIndex((sp) => sp.start === text.length && sp.insert !== '');
  if (atEnd >= 0 && text !== '' && !text.endsWith('\n')) {
    const sp = splices[atEnd] as Splice;
    splices = splices.map((x, i) => (i === atEnd ? { ...sp, insert: `\n${sp.insert}` } : x));
  }
  const eol = eolOf(text);
  if (eol !== '\n') splices = splices.map((s) => ({ ...s, insert: s.insert.replace(/\r?\n/g, eol) }));
  let out = text;
  // From the end backwards, so earlier offsets stay valid; of two inserts at one offset, the one
  // listed first ends up first.
  const order = splices.map((s, i) => ({ s, i })).sort((a, b) => b.s.start - a.s.start || b.i - a.i);
  for (const { s } of order) out = out.slice(0, s.start) + s.insert + out.slice(s.end);
  return out;
}

/** The file's line ending, from its first line: "\r\n" or "\n". */
function eolOf(text: string): string {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/** Append a block at the end, on a line of its own (applySplices adds a missing final newline). */
function appendSplice(text: string, block: string): Splice {
  return { start: text.length, end: text.length, insert: block };
}

interface Top {
  doc: Document.Parsed;
  map: YAMLMap.Parsed;
}

function topOf(text: string, doc: Document.Parsed): Top | undefined {
  if (doc.errors.length > 0 || !isBlockMap(doc.contents)) return undefined;
  if (/^\.\.\.\s*$/m.test(text.slice((doc.contents.range as number[])[1]))) return undefined; // "..." end marker
  return { doc, map: doc.contents };
}

/** Same value (keys in any order), as the file's reader will see it. */
function sameValue(text: string, expected: unknown): boolean {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return false;
  return stableStringify(safeToJS(doc)) === stableStringify(expected);
}

// ---------------------------------------------------------------- the edits

/** Replace (or append) the top-level `status` entry: `entry` is the new entry's text ('' removes it). */
function statusSplice(text: string, top: Top, entry: (keyLineComment: string) => string): Splice | undefined {
  const pair = findPair(top.map, 'status');
  if (!pair) {
    const block = entry('');
    return block === '' ? { start: 0, end: 0, insert: '' } : appendSplice(text, block);
  }
  const r = entryRegion(text, pair);
  if (!r || r.indent !== 0) return undefined;
  return { start: r.start, end: r.end, insert: entry(r.keyLineComment) };
}

/**
 * Set metadata.generation (or remove it when `generation` is undefined), touching one line, or
 * only the generation itself in a flow-style metadata.
 *
 *   "metadata:\n  name: web\n  labels: ..."  -> "metadata:\n  name: web\n  generation: 2\n  labels: ..."
 *   "metadata:\n  generation: 1  # x\n"     -> "metadata:\n  generation: 2  # x\n"
 *   "metadata: {name: web}  # x\n"           -> "metadata: {name: web, generation: 1}  # x\n"
 */
function generationSplice(text: string, top: Top, generation: number | undefined): Splice | undefined {
  try {
    return generationSpliceOf(text, top, generation);
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
}

function generationSpliceOf(text: string, top: Top, generation: number | undefined): Splice | undefined {
  const none: Splice = { start: 0, end: 0, insert: '' };
  const metaPair = findPair(top.map, 'metadata');
  const meta = metaPair?.value;
  if (!isMap(meta) || !rangeOf(meta) || (!meta.flow && !isBlockMap(meta)))
    return generation === undefined && !metaPair ? none : undefined;
  const genPair = findPair(meta, 'generation');
  if (genPair) {
    const v = genPair.value as { range?: [number, number, number] } | null;
    if (generation === undefined) {
      if (meta.flow) return pairRemoval(text, meta, meta.items.indexOf(genPair));
      const r = entryRegion(text, genPair);
      return r && { start: lineStart(text, r.start), end: r.end, insert: '' };
    }
    if (!isScalar(genPair.value) || !v?.range) return undefined;
    if (text.slice(v.range[0], v.range[1]).includes('\n')) return undefined;
    if (text.slice(v.range[0], v.range[1]) === String(generation)) return none;
    return { start: v.range[0], end: v.range[1], insert: String(generation) };
  }
  if (generation === undefined) return none;
  const anchor = findPair(meta, 'name') ?? meta.items[meta.items.length - 1];
  if (meta.flow)
    return pairInsertion({ text, padding: flowPadding(text), unit: 2 }, meta, anchor, 'generation', generation);
  if (!anchor) return undefined;
  const r = entryRegion(text, anchor);
  if (!r || r.indent === 0) return undefined;
  return { start: r.end, end: r.end, insert: `${' '.repeat(r.indent)}generation: ${generation}\n` };
}

/** The text of the top-level `status` entry, verbatim (key line included), or undefined if absent. */
export function statusEntryText(text: string, doc: Document.Parsed = parseDocument(text)): string | undefined {
  const top = topOf(text, doc);
  const pair = top && findPair(top.map, 'status');
  if (!top || !pair) return undefined;
  const r = entryRegion(text, pair);
  if (!r || r.indent !== 0) return undefined;
  const s = text.slice(r.start, r.end);
  return s.endsWith('\n') ? s : `${s}\n`;
}

export interface StatusEdit {
  /** The whole new file text. */
  text: string;
  generation: number;
  specHash: string;
  /** Did the spec change relative to the hash recorded in the file (so generation was bumped)? */
  bumped: boolean;
  /**
   * 'patch': the JSON patch from the old status to the new one, applied to the Document and
   * spliced node by node: only the status lines whose values changed were touched. 'splice': the
   * status entry written anew (nothing of a person's to keep in it), and the generation value.
   * 'document': made with the Document API and written back by rewriteMinimally (usually just as
   * minimal).
   */
  method: 'patch' | 'splice' | 'document';
  /**
   * Where the status entry sits in `text`, when it was spliced into a "\n" file and nothing
   * follows it: the next status write into this same text needs no parse (spliceOwnStatus).
   */
  tail?: StatusTail;
}

/** The text around a spliced status entry, and how it was rendered. */
export interface StatusTail {
  prefix: string;
  suffix: string;
  unit: number;
  keyLineComment: string;
}

/** What the store keeps of its last status write into a file. */
export interface OwnStatus extends StatusTail {
  text: string;
  generation: number;
  specHash: string;
}

/**
 * A status write into a file that is still exactly the text of our last write (nobody edited it
 * since): the new status entry replaces the old one between the same prefix and suffix, rendered
 * the same way, and nothing is parsed. Only for a status of the same spec (no generation to bump);
 * otherwise undefined, and withStatus does the full edit.
 */
export function spliceOwnStatus(
  own: OwnStatus,
  status: ScenarioStatus,
  reconciledSpecHash: string | undefined,
): StatusEdit | undefined {
  if (reconciledSpecHash !== undefined && reconciledSpecHash !== own.specHash) return undefined;
  const entry = renderEntry('status', plain({ ...status, specHash: own.specHash }), own.unit, own.keyLineComment);
  return {
    text: own.prefix + entry + own.suffix,
    generation: own.generation,
    specHash: own.specHash,
    bumped: false,
    method: 'splice',
    tail: { prefix: own.prefix, suffix: own.suffix, unit: own.unit, keyLineComment: own.keyLineComment },
  };
}

/** A node as a person would name it in a message: `a number (5)`, `a list`, `an alias (*m)`. */
function describeNode(node: unknown): string {
  if (isAlias(node)) return `an alias (*${node.source})`;
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'empty';
    const shown = JSON.stringify(v)?.slice(0, 40) ?? String(v);
    return typeof v === 'number'
      ? `a number (${shown})`
      : typeof v === 'boolean'
        ? `a boolean (${shown})`
        : `text (${shown})`;
  }
  return 'not a mapping';
}

/**
 * Why status cannot be written into this document, or undefined when it can: the root must be a
 * mapping, metadata (when present) a mapping, and the data expandable (no alias bomb).
 */
function statusBlocker(doc: Document.Parsed): NotEditable | undefined {
  if (doc.errors.length > 0) return { notEditable: `the file is not valid YAML: ${firstLine(doc.errors[0].message)}` };
  if (!isMap(doc.contents)) {
    return {
      notEditable: `the document is ${describeNode(doc.contents)}, not a mapping (apiVersion:, kind:, metadata:, spec:); status is written only into a Scenario mapping`,
    };
  }
  const meta = findPair(doc.contents, 'metadata');
  if (meta && !isMap(meta.value)) {
    return {
      notEditable:
        `metadata is ${describeNode(meta.value)}, not a mapping, so metadata.generation has no place: ` +
        'write metadata as a mapping (metadata:\n  name: my-scenario) and the status is written on the next change',
    };
  }
  return undefined;
}

/**
 * The new text of a Scenario file with `status` replaced and metadata.generation brought up to date.
 * `reconciledSpecHash`: the hash of the spec the status describes; when the file's spec differs, the
 * generation is made greater than status.observedGeneration. `doc`: the text, already parsed.
 * Never throws: `{notEditable: why}` when the text has no place for a status (not a mapping,
 * `metadata: 5`), is not data (an alias bomb), or could not be edited to the intended value.
 */
export function withStatus(
  text: string,
  status: ScenarioStatus,
  opts: { doc?: Document.Parsed; reconciledSpecHash?: string } = {},
): StatusEdit | NotEditable {
  try {
    return statusEdit(text, status, opts);
  } catch (e) {
    return { notEditable: `the status could not be written into this text (${(e as Error).message})` };
  }
}

function statusEdit(
  text: string,
  status: ScenarioStatus,
  opts: { doc?: Document.Parsed; reconciledSpecHash?: string },
): StatusEdit | NotEditable {
  const doc = opts.doc ?? parseDocument(text);
  const blocked = statusBlocker(doc);
  if (blocked) return blocked;
  const js = safeToJS(doc);
  if (js === undefined) {
    return {
      notEditable:
        'its aliases cannot be expanded (an alias with no anchor before it, or too many aliases): write the values out',
    };
  }
  const value = asRecord(js);
  const g = generationOf(value);
  // A status that describes an older spec than the file now holds must not claim to have observed
  // the file's generation: make the generation newer than status.observedGeneration.
  const reconciled = opts.reconciledSpecHash;
  const observed = status.observedGeneration;
  const stale = reconciled !== undefined && reconciled !== g.specHash && observed !== undefined;
  const generation = stale ? Math.max(g.generation, observed + 1) : g.generation;
  const newStatus = plain({ ...status, specHash: g.specHash });
  const meta = asRecord(value.metadata);
  const expected = { ...value, metadata: { ...meta, generation }, status: newStatus };
  const bumped = g.changed;

  // A status with content in block style: change only what changed (a JSON patch), so that every
  // unchanged status line stays as it is, however it was written.
  const patched = patchedStatus(text, doc, value.status, newStatus, generation, expected);
  if (patched !== undefined) return { text: patched, generation, specHash: g.specHash, bumped, method: 'patch' };

  const top = topOf(text, doc);
  if (top) {
    const unit = indentUnit(text, top.map);
    let keyLineComment = '';
    const gs = generationSplice(text, top, generation);
    const ss = statusSplice(text, top, (c) => renderEntry('status', newStatus, unit, (keyLineComment = c)));
    if (gs && ss) {
      const spliced = applySplices(text, [gs, ss]);
      if (sameValue(spliced, expected)) {
        const out: StatusEdit = { text: spliced, generation, specHash: g.specHash, bumped, method: 'splice' };
        const entry = renderEntry('status', newStatus, unit, keyLineComment);
        const at = spliced.lastIndexOf(entry);
        // Only a "\n" file whose status entry is its last: then prefix + entry + suffix is the file.
        if (!spliced.includes('\r') && at >= 0 && at + entry.length === spliced.length) {
          out.tail = { prefix: spliced.slice(0, at), suffix: '', unit, keyLineComment };
        }
        return out;
      }
    }
  }
  // Fallback: the Document API, written back by changing only what changed (rewriteMinimally):
  // flow-style metadata, a status entry followed by other keys, anchors ...
  const d = parseDocument(text);
  d.setIn(['metadata', 'generation'], generation);
  const old = d.get('status', true) as { comment?: string | null } | undefined;
  const node = d.createNode(newStatus);
  if (old && typeof old === 'object' && old.comment) node.comment = old.comment;
  d.set('status', node);
  // Splices only: a status write never reprints a person's text. What splices cannot express
  // (a complex `? ` key holding the document, say) gets no status in the file.
  const out = spliceEditsExactly(text, d, expected);
  if (out === undefined) {
    return {
      notEditable:
        "the file's layout leaves no place to add status without reformatting text a person wrote (faultline never does that); the status is in the log, or run the controller with --status-in sidecar to keep it beside the file",
    };
  }
  return { text: out, generation, specHash: g.specHash, bumped, method: 'document' };
}

/**
 * The JSON patch from `from` to `to` (fast-json-patch's compare: add, remove and replace ops, an
 * array's removals from its end first), applied under `base` in `doc` through the Document API.
 *
 *   from {phase: Pending, conditions: [{type: Ready, status: "False"}]}
 *   to   {phase: Running, conditions: [{type: Ready, status: "True"}]}
 *   ops  replace /phase Running, replace /conditions/0/status "True"
 */
export function applyJsonPatch(doc: Document, base: (string | number)[], from: unknown, to: unknown): Operation[] {
  const ops = jsonPatch.compare(from as object, to as object);
  for (const op of ops) {
    const path = [
      ...base,
      ...op.path
        .split('/')
        .slice(1)
        .map((seg) => jsonPatch.unescapePathComponent(seg))
        .map((seg) => (/^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : seg)),
    ];
    switch (op.op) {
      case 'add':
      case 'replace':
        doc.setIn(path, doc.createNode(op.value));
        break;
      case 'remove':
        doc.deleteIn(path);
        break;
      default:
        throw new Error(`unexpected JSON patch op ${op.op}`); // compare() makes only the three above
    }
  }
  return ops;
}

/**
 * The text with `status` patched from `oldStatus` to `newStatus` (and metadata.generation set),
 * when the file's status is a block mapping with content and every change can be spliced where it
 * is (rewriteMinimally's splices, never a reprint); otherwise undefined.
 */
function patchedStatus(
  text: string,
  doc: Document.Parsed,
  oldStatus: unknown,
  newStatus: unknown,
  generation: number | undefined,
  expected: unknown,
): string | undefined {
  const node = doc.get('status', true);
  if (!isBlockMap(node) || node.items.length === 0) return undefined;
  try {
    const d = parseDocument(text);
    if (generation !== undefined) d.setIn(['metadata', 'generation'], generation);
    applyJsonPatch(d, ['status'], asRecord(oldStatus), newStatus);
    return spliceEditsExactly(text, d, expected);
  } catch {
    return undefined; // a shape the splices do not handle: the status entry is written anew
  }
}

/**
 * kubectl-apply merge: the source's text, carrying over the existing file's `status` entry
 * (verbatim, where the source has its status entry, else at the end) and metadata.generation.
 * A generation in the source is dropped, and so is the source's status content: on create
 * (`existing` undefined) a status entry in the source becomes `status: {}` (its comment kept).
 *
 *   source "spec: {...}\nstatus: {}  # ours\n", file with "status:\n  phase: Running\n"
 *     -> "spec: {...}\nstatus:\n  phase: Running\n"      (applying it again changes nothing)
 */
export function applyMerge(sourceText: string, existing: string | undefined): string {
  const src = parseDocument(sourceText);
  if (src.errors.length > 0 || !isMap(src.contents)) {
    throw new Error('the applied file is not a YAML mapping; fix its syntax first');
  }
  const srcJS = safeToJS(src);
  if (srcJS === undefined) {
    throw new Error(
      'the applied file cannot be read as data (an alias that is missing, or too many aliases); expand them',
    );
  }
  const srcValue = asRecord(srcJS);
  const srcHasStatus = Object.prototype.hasOwnProperty.call(srcValue, 'status');
  const exDoc = existing === undefined ? undefined : parseDocument(existing);
  const exValue = exDoc && exDoc.errors.length === 0 ? asRecord(safeToJS(exDoc)) : {};
  const generation = isGeneration(asRecord(exValue.metadata).generation)
    ? (asRecord(exValue.metadata).generation as number)
    : undefined;
  // The status the result carries: the existing file's, or {} for a new file whose source has one.
  const hasStatus = existing === undefined ? srcHasStatus : Object.prototype.hasOwnProperty.call(exValue, 'status');
  const statusValue = existing === undefined ? {} : exValue.status;
  const statusText = existing !== undefined && hasStatus ? statusEntryText(existing, exDoc) : undefined;

  const expected: Record<string, unknown> = { ...srcValue };
  const srcMeta = { ...asRecord(srcValue.metadata) };
  delete srcMeta.generation;
  if (generation !== undefined) srcMeta.generation = generation;
  expected.metadata = srcMeta;
  delete expected.status;
  if (hasStatus) expected.status = statusValue;

  const top = topOf(sourceText, src);
  if (top && !(existing !== undefined && hasStatus && statusText === undefined)) {
    const unit = indentUnit(sourceText, top.map);
    const entry = (comment: string): string =>
      !hasStatus ? '' : existing === undefined ? renderEntry('status', {}, unit, comment) : (statusText as string);
    const ss = statusSplice(sourceText, top, entry);
    const gs = generationSplice(sourceText, top, generation);
    if (ss && gs) {
      const out = applySplices(sourceText, [gs, ss]);
      if (sameValue(out, expected)) return out;
    }
  }

  const d = parseDocument(sourceText);
  if (generation === undefined) d.deleteIn(['metadata', 'generation']);
  else d.setIn(['metadata', 'generation'], generation);
  if (hasStatus) d.set('status', d.createNode(statusValue));
  else d.delete('status');
  const text = rewriteMinimally(sourceText, d);
  if (!sameValue(text, expected)) throw new Error('store: could not merge the applied file (internal error)');
  return text;
}

// ---------------------------------------------------------------- minimal rewrite of an edited Document

/**
 * The text of `edited` (a Document parsed from `text`, then changed through the Document API:
 * setIn, set, delete) that changes only the bytes of what the edit changed. `doc.toString()`
 * re-prints every line: `[c1]` becomes `[ c1 ]`, `x:   1  # c` becomes `x: 1 # c`.
 *
 *   text:   "spec:\n  targets: [c1]   # two\n"      edit: setIn(['spec', 'seed'], 7)
 *   result: "spec:\n  targets: [c1]   # two\n  seed: 7\n"
 *
 *   text:   "metadata: {name: a}\n"                  edit: setIn(['metadata', 'generation'], 1)
 *   result: "metadata: {name: a, generation: 1}\n"
 *
 * Handled: a scalar replaced, a pair added to or removed from a block or flow map, a value
 * replaced by a new collection (a block map's entry is re-rendered in block style, its key-line
 * comment kept). The result is checked by parsing it and comparing its value with the edited
 * Document's; anything else (comments, anchors or tags edited, keys reordered, list items added
 * or removed) is printed by the Document API, with the file's flow-collection spacing
 * (`{a: b}` or `{ a: b }`, whichever the file uses more) and no line folding.
 */
export function rewriteMinimally(text: string, edited: Document): string {
  try {
    const out = spliceEdits(text, edited);
    if (out !== undefined && sameValue(out, safeToJS(edited))) return out;
  } catch {
    /* an unexpected shape: print it instead */
  }
  return edited.toString({ lineWidth: 0, flowCollectionPadding: flowPadding(text) });
}

/** Does the file write flow collections with inner spaces (`{ a: b }`) more often than without? */
function flowPadding(text: string): boolean {
  const padded = text.match(/[[{] [^\s\]}]/g)?.length ?? 0;
  const tight = text.match(/[[{][^\s\]}]/g)?.length ?? 0;
  return padded > tight;
}

type Range3 = [number, number, number];

function rangeOf(node: unknown): Range3 | undefined {
  return isNode(node) ? ((node as { range?: Range3 | null }).range ?? undefined) : undefined;
}

/** A map key as text, for scalar keys (also the plain strings setIn creates); undefined otherwise. */
function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return key.value === null || typeof key.value === 'object' ? undefined : String(key.value);
  return typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean' ? String(key) : undefined;
}

/** The comments, anchor and tag of a node: an edit that changes them is not spliced. */
function decoration(node: unknown): string {
  if (!isNode(node)) return '';
  const n = node as { comment?: string | null; commentBefore?: string | null; anchor?: string; tag?: string };
  return JSON.stringify([n.comment ?? null, n.commentBefore ?? null, n.anchor ?? null, n.tag ?? null]);
}

class GiveUp extends Error {}

function giveUp(): never {
  throw new GiveUp();
}

interface Rewrite {
  text: string;
  edited: Document;
  padding: boolean;
  unit: number;
  splices: Splice[];
}

/**
 * The text of `edited` (parsed from `text`, then changed through the Document API) by splices
 * alone, when they can express the edit and the result holds `expected`; never a reprint.
 */
export function spliceEditsExactly(text: string, edited: Document, expected: unknown): string | undefined {
  try {
    const out = spliceEdits(text, edited);
    return out !== undefined && sameValue(out, expected) ? out : undefined;
  } catch {
    return undefined;
  }
}

function spliceEdits(text: string, edited: Document): string | undefined {
  const orig = parseDocument(text);
  if (orig.errors.length > 0 || decoration(orig) !== decoration(edited)) return undefined;
  if (
    (orig.comment ?? null) !== (edited.comment ?? null) ||
    (orig.commentBefore ?? null) !== (edited.commentBefore ?? null)
  )
    return undefined;
  const top = isMap(orig.contents) ? orig.contents : undefined;
  const rw: Rewrite = { text, edited, padding: flowPadding(text), unit: top ? indentUnit(text, top) : 2, splices: [] };
  try {
    diffNode(rw, orig.contents, edited.contents, undefined);
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
  return rw.splices.length === 0 ? text : applySplices(text, rw.splices);
}

/** The JS value of an edited node (setIn may leave plain values, not nodes, in the tree). */
function valueOf(rw: Rewrite, node: unknown): unknown {
  return isNode(node) ? node.toJS(rw.edited, { maxAliasCount: 100 }) : node;
}

/** `value` on one line, in flow style; gives up when it needs several lines. */
function inline(rw: Pick<Rewrite, 'padding'>, value: unknown): string {
  const out = new Document(value, { version: '1.2' })
    .toString({ collectionStyle: 'flow', flowCollectionPadding: rw.padding, lineWidth: 0 })
    .replace(/\n$/, '');
  if (out.includes('\n')) giveUp();
  return out;
}

/** `key: value` in block style at column `indent`, ending with a newline. */
function blockEntry(
  rw: Pick<Rewrite, 'unit'>,
  key: string,
  value: unknown,
  indent: number,
  keyLineComment = '',
): string {
  const entry = renderEntry(key, value, rw.unit, keyLineComment);
  const pad = ' '.repeat(indent);
  return entry
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/**
 * Record the splices that turn `o` (a node of the original parse) into `e` (the edited tree).
 * `pair`: the original pair whose value `o` is, when `o` is a value in a block map.
 */
function diffNode(rw: Rewrite, o: unknown, e: unknown, pair: Pair | undefined): void {
  if (o === e) return;
  const oRange = rangeOf(o);
  if (!oRange) giveUp();
  if (!rangeOf(e) || isAlias(o) !== isAlias(e)) {
    replaceNode(rw, o, e, pair);
    return;
  }
  if (decoration(o) !== decoration(e)) giveUp();
  if (isAlias(o) && isAlias(e)) {
    if (o.source !== e.source) replaceNode(rw, o, e, pair);
    return;
  }
  if (isScalar(o) && isScalar(e)) {
    if (!Object.is(o.value, e.value) || o.type !== e.type) replaceNode(rw, o, e, pair);
    return;
  }
  if (isMap(o) && isMap(e)) return diffMap(rw, o, e);
  if (isSeq(o) && isSeq(e)) {
    if (e.items.length < o.items.length) giveUp(); // removing items is not spliced
    o.items.forEach((item, i) => diffNode(rw, item, e.items[i], undefined));
    for (const item of e.items.slice(o.items.length)) rw.splices.push(itemAppend(rw, o, valueOf(rw, item)));
    return;
  }
  giveUp();
}

/** Replace the text of `o` with `e`'s value: on its line, or as a whole block entry. */
function replaceNode(rw: Rewrite, o: unknown, e: unknown, pair: Pair | undefined): void {
  const range = rangeOf(o) as Range3;
  const value = valueOf(rw, e);
  const oneLine = !rw.text.slice(range[0], range[1]).includes('\n');
  const collection = value !== null && typeof value === 'object';
  if (pair && (collection || !oneLine)) {
    // A block map's value: write the entry again in block style, keeping its key-line comment.
    const r = entryRegion(rw.text, pair);
    const key = keyText(pair.key);
    if (!r || key === undefined) giveUp();
    rw.splices.push({
      start: r.start - r.indent,
      end: r.end,
      insert: blockEntry(rw, key, value, r.indent, r.keyLineComment),
    });
    return;
  }
  if (!oneLine) giveUp();
  rw.splices.push({ start: range[0], end: range[1], insert: inline(rw, value) });
}

function diffMap(rw: Rewrite, o: YAMLMap, e: YAMLMap): void {
  const oKeys = o.items.map((p) => keyText(p.key));
  const eKeys = e.items.map((p) => keyText(p.key));
  if (oKeys.includes(undefined) || eKeys.includes(undefined)) giveUp();
  // Kept keys must stay in their order: a reordering is not a splice.
  const kept = eKeys.filter((k) => oKeys.includes(k));
  if (kept.join('\u0000') !== oKeys.filter((k) => eKeys.includes(k)).join('\u0000')) giveUp();

  let anchor: Pair | undefined; // the last original pair before the current position
  e.items.forEach((ePair, i) => {
    const oPair = o.items[oKeys.indexOf(eKeys[i])] as Pair | undefined;
    if (oPair) {
      if (decoration(oPair.key) !== decoration(ePair.key)) giveUp();
      diffNode(rw, oPair.value, ePair.value, o.flow ? undefined : oPair);
      anchor = oPair;
    } else {
      insertPair(rw, o, anchor, eKeys[i] as string, valueOf(rw, ePair.value));
    }
  });
  o.items.forEach((oPair, i) => {
    if (!eKeys.includes(oKeys[i])) removePair(rw, o, i);
  });
}

/**
 * The splice that appends `value` to list `o`: "[a]" -> "[a, b]"; a "- b" line after the last
 * item of a block list, at the column of its "-" (a mapping or a list in block style:
 * "- type: Ready\n  status: True\n").
 */
function itemAppend(rw: Rewrite, o: YAMLSeq, value: unknown): Splice {
  const text = rw.text;
  const range = rangeOf(o);
  if (!range) giveUp();
  const last = o.items[o.items.length - 1];
  if (o.flow) {
    if (last === undefined) {
      const open = text.indexOf('[', range[0]);
      const close = text.lastIndexOf(']', range[1] - 1);
      if (open !== range[0] || close <= open) giveUp();
      return { start: open + 1, end: close, insert: inline(rw, value) };
    }
    const end = rangeOf(last)?.[1];
    if (end === undefined) giveUp();
    return { start: end, end, insert: `, ${inline(rw, value)}` };
  }
  const lastRange = rangeOf(last);
  if (!lastRange) giveUp();
  // The "-" of the last item: back from its content over spaces.
  let dash = lastRange[0] - 1;
  while (dash >= 0 && text[dash] === ' ') dash--;
  if (text[dash] !== '-' || text.slice(lineStart(text, dash), dash).trim() !== '') giveUp();
  let end = lastRange[1];
  if (end === 0 || text[end - 1] !== '\n') end = Math.min(text.length, lineEnd(text, end) + 1);
  const pad = ' '.repeat(dash - lineStart(text, dash));
  // A mapping or list item in a block list is written in block style, like its neighbours.
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    const item = new Document([value]).toString({ indent: rw.unit, lineWidth: 0 });
    const lines = item.split('\n').filter((l) => l !== '');
    return { start: end, end, insert: lines.map((l) => pad + l + '\n').join('') };
  }
  return { start: end, end, insert: `${pad}- ${inline(rw, value)}\n` };
}

/** Add `key: value` to the original map `o`, after `anchor` (or first). */
function insertPair(rw: Rewrite, o: YAMLMap, anchor: Pair | undefined, key: string, value: unknown): void {
  rw.splices.push(pairInsertion(rw, o, anchor, key, value));
}

/** Remove the i-th pair of the original map `o`. */
function removePair(rw: Rewrite, o: YAMLMap, i: number): void {
  rw.splices.push(pairRemoval(rw.text, o, i));
}

type Style = Pick<Rewrite, 'text' | 'padding' | 'unit'>;

/**
 * The splice that adds `key: value` to map `o` of `st.text`, after `anchor` (or first). Gives up
 * (GiveUp) on shapes it cannot splice.
 *
 *   flow, after "name: a":   "{name: a}"  -> "{name: a, generation: 1}"
 *   flow, empty:             "{}"         -> "{generation: 1}"
 *   block, after "name: a":  "  name: a\n" -> "  name: a\n  generation: 1\n"
 */
function pairInsertion(st: Style, o: YAMLMap, anchor: Pair | undefined, key: string, value: unknown): Splice {
  const text = st.text;
  if (o.flow) {
    const range = rangeOf(o);
    if (!range) giveUp();
    const entry = inline(st, { [key]: value })
      .replace(/^\{ ?/, '')
      .replace(/ ?\}$/, '');
    if (anchor) {
      const end = rangeOf(anchor.value)?.[1] ?? rangeOf(anchor.key)?.[1];
      if (end === undefined) giveUp();
      return { start: end, end, insert: `, ${entry}` };
    }
    const open = text.indexOf('{', range[0]);
    const close = text.lastIndexOf('}', range[1] - 1);
    if (open !== range[0] || close <= open) giveUp();
    if (o.items.length === 0)
      return {
        start: open + 1,
        end: close,
        insert: text.slice(open + 1, close).trim() === '' && st.padding ? ` ${entry} ` : entry,
      };
    return { start: open + 1, end: open + 1, insert: st.padding ? ` ${entry},` : `${entry}, ` };
  }
  const first = o.items[0] as Pair | undefined;
  const firstRegion = first && entryRegion(text, first);
  if (!firstRegion) giveUp();
  if (!anchor) {
    const at = firstRegion.start - firstRegion.indent;
    return { start: at, end: at, insert: blockEntry(st, key, value, firstRegion.indent) };
  }
  const r = entryRegion(text, anchor);
  if (!r) giveUp();
  return { start: r.end, end: r.end, insert: blockEntry(st, key, value, firstRegion.indent) };
}

/**
 * The splice that removes the i-th pair of map `o`: its lines (block), or the pair with one
 * separator (flow: "{a: 1, b: 2}" -> "{a: 1}", "{b: 2, a: 1}" -> "{a: 1}", "{b: 2}" -> "{}").
 */
function pairRemoval(text: string, o: YAMLMap, i: number): Splice {
  const pair = o.items[i] as Pair;
  if (!o.flow) {
    const r = entryRegion(text, pair);
    if (!r) giveUp();
    return { start: r.start - r.indent, end: r.end, insert: '' };
  }
  const start = rangeOf(pair.key)?.[0];
  const end = rangeOf(pair.value)?.[1] ?? rangeOf(pair.key)?.[1];
  if (start === undefined || end === undefined) giveUp();
  const prev = o.items[i - 1] as Pair | undefined;
  const next = o.items[i + 1] as Pair | undefined;
  if (prev) {
    const prevEnd = rangeOf(prev.value)?.[1] ?? rangeOf(prev.key)?.[1];
    if (prevEnd === undefined) giveUp();
    return { start: prevEnd, end, insert: '' };
  }
  if (next) {
    const nextStart = rangeOf(next.key)?.[0];
    if (nextStart === undefined) giveUp();
    return { start, end: nextStart, insert: '' };
  }
  return { start, end, insert: '' };
}
