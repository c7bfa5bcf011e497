// parseScenario: file text -> a validated Scenario, or Issues that each point at a line and column.
//
// The YAML is read as a Document (not just data) because the store writes status back into the
// same Document, keeping the person's comments and key order, and because Issues need positions.
//
// Hardening, in order:
//   - more than 1 MiB: refused before parsing (file.tooLarge);
//   - absurd nesting refused before parsing (yaml.tooDeep): yaml's composer recurses per level,
//     and about 10k nested "{" abort the whole process (V8 runs out of memory compiling a RegExp
//     on an exhausted stack), which no try/catch can stop;
//   - YAML 1.2 core schema: `yes`, `no`, `on` stay strings; `0o17` is octal, `017` is 17;
//   - syntax errors and duplicate keys are errors, with positions (yaml.syntax, yaml.duplicateKey);
//   - unresolved tags such as `!foo` are errors (yaml.tag): nothing is silently read as text;
//   - one document per file (yaml.multipleDocuments); an empty trailing "---" is tolerated;
//   - alias expansion is capped (maxAliasCount), so a "billion laughs" file fails in
//     milliseconds (yaml.aliasLimit) instead of eating memory;
//   - `status` is set aside before validation: the controller owns and rewrites it, and a broken
//     status written by a person must not make a good spec invalid. A status that fails the
//     schema is dropped from `scenario` and reported in `statusIssues`.

import { basename, extname } from 'node:path';
import {
  parseAllDocuments,
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type YAMLError,
} from 'yaml';
import type { Issue, Scenario } from './types.js';
import { validateScenario } from './validate.js';
import { statusValidator } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import { DNS_LABEL_RE, MAX_SCENARIO_NAME, toDnsLabel } from './patterns.js';

/** Largest Scenario file accepted, in bytes (UTF-8). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** yaml's guard against alias expansion bombs (its own default, made explicit). */
export const MAX_ALIAS_COUNT = 100;

export type ParseResult =
  | {
      ok: true;
      scenario: Scenario;
      doc: Document;
      name: string;
      /** Problems with the controller-written status, which was therefore left out of `scenario`. */
      statusIssues?: Issue[];
    }
  | {
      ok: false;
      issues: Issue[];
      /** Present when the YAML itself parsed. */
      doc?: Document;
      /** Present when metadata.name is readable and valid. */
      name?: string;
    };

/** Deepest flow nesting ([ and {) accepted; real Scenarios stay under 10. */
export const MAX_FLOW_DEPTH = 100;
/** Longest run of indentation and "- "/"? " indicators starting a line (bounds block nesting). */
export const MAX_LINE_INDENT = 300;

/** Issue codes whose path ends in a mapping key that is itself the problem: point at the key. */
const KEY_CODES = new Set(['schema.additionalProperties', 'env.key', 'label.key', 'label.reserved']);

type Path = (string | number)[];
type Pos = { line: number; column: number };

/** Parse and validate one Scenario file. `file` is used for hints only (e.g. a name to suggest). */
export function parseScenario(text: string, file: string): ParseResult {
  if (typeof text !== 'string') {
    return { ok: false, issues: [{ code: 'file.unreadable', path: [], message: 'the file content is not text' }] };
  }
  // A UTF-16 code unit is at least one UTF-8 byte, so a long string is refused without counting.
  const bytes = text.length > MAX_FILE_BYTES ? text.length : Buffer.byteLength(text, 'utf8');
  if (text.length > MAX_FILE_BYTES || bytes > MAX_FILE_BYTES) {
    return {
      ok: false,
      issues: [
        {
          code: 'file.tooLarge',
          path: [],
          message: `the file is ${mib(bytes)}${text.length > MAX_FILE_BYTES ? ' or more' : ''}; a Scenario file may be at most ${mib(MAX_FILE_BYTES)}: split it, or remove generated content`,
        },
      ],
    };
  }

  const lc = new LineCounter();
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const deep = nestingOverflow(text);
  if (deep !== undefined) {
    return {
      ok: false,
      issues: [{ code: 'yaml.tooDeep', path: [], message: deep.message, ...lineColumn(text, deep.offset) }],
    };
  }

  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lc,
      version: '1.2',
      schema: 'core',
      merge: false,
      uniqueKeys: true,
      prettyErrors: false,
    }) as Document.Parsed[];
  } catch (err) {
    // The composer recurses per nesting level; absurd nesting ends here rather than crashing.
    const message =
      err instanceof RangeError ? 'the document is nested too deeply' : `the YAML could not be read: ${String(err)}`;
    return { ok: false, issues: [{ code: 'yaml.syntax', path: [], message }] };
  }

  const nonEmpty = docs.filter((d, i) => i === 0 || !isEmptyDoc(d));
  if (nonEmpty.length === 0 || isEmptyDoc(nonEmpty[0] as Document.Parsed)) {
    const doc = nonEmpty[0];
    const issues: Issue[] = doc ? yamlIssues(doc, at) : [];
    if (issues.length === 0) {
      issues.push({
        code: 'yaml.empty',
        path: [],
        message: 'the file is empty; a Scenario starts with "apiVersion: faultline.dev/v1alpha1" and "kind: Scenario"',
        line: 1,
        column: 1,
      });
    }
    return { ok: false, issues };
  }
  const doc = nonEmpty[0] as Document.Parsed;
  if (nonEmpty.length > 1) {
    const second = nonEmpty[1] as Document.Parsed;
    const pos = at(second.range[0]);
    return {
      ok: false,
      issues: [
        {
          code: 'yaml.multipleDocuments',
          path: [],
          message: `the file holds ${nonEmpty.length} YAML documents; a Scenario file holds exactly one: move the document after "---" (line ${pos.line}) to its own file`,
          ...pos,
        },
      ],
    };
  }

  const syntax = yamlIssues(doc, at);
  if (syntax.length > 0) return { ok: false, issues: syntax };

  if (!isMap(doc.contents)) {
    const kind = isSeq(doc.contents) ? 'a list' : 'a single value';
    const range = (doc.contents as { range?: [number, number, number] } | null)?.range;
    return {
      ok: false,
      doc,
      issues: [
        {
          code: 'yaml.notMapping',
          path: [],
          message: `the document must be a mapping (apiVersion:, kind:, metadata:, spec:), not ${kind}`,
          ...(range ? at(range[0]) : { line: 1, column: 1 }),
        },
      ],
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const bomb = err instanceof ReferenceError && /alias/i.test(err.message);
    // No `doc` here: a caller could not convert it either (it would hit the same alias limit).
    return {
      ok: false,
      issues: [
        {
          code: bomb ? 'yaml.aliasLimit' : 'yaml.syntax',
          path: [],
          message: bomb
            ? `aliases (*name) expand to too many nodes (limit ${MAX_ALIAS_COUNT} per alias); this looks like an alias bomb: write the values out or use fewer aliases`
            : `the YAML could not be converted: ${String(err)}`,
          line: 1,
          column: 1,
        },
      ],
    };
  }

  const obj = data as Record<string, unknown>;
  const { status, ...rest } = obj;
  const name = readName(obj);
  const locate = (issue: Issue): Issue => ({ ...issue, ...position(doc, issue.path, KEY_CODES.has(issue.code), at) });

  const issues = validateScenario(rest).map(locate).map((i) => hintName(i, file));
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues), doc, ...(name ? { name } : {}) };

  const scenario = rest as unknown as Scenario;
  if (status === undefined) return { ok: true, scenario, doc, name: name as string };
  const validStatus = statusValidator();
  if (validStatus(status)) {
    return { ok: true, scenario: { ...scenario, status: status as Scenario['status'] }, doc, name: name as string };
  }
  const statusIssues = schemaIssues(validStatus.errors ?? [], status)
    .map((i) => ({ ...i, path: ['status', ...i.path] }))
    .map(locate);
  return { ok: true, scenario, doc, name: name as string, statusIssues: sortIssues(statusIssues) };
}

/**
 * Find the first place where nesting goes beyond MAX_FLOW_DEPTH brackets or a line starts with
 * more than MAX_LINE_INDENT columns of indentation/indicators. A light scan, not a YAML parser:
 * it skips quoted scalars and comments so that "[" inside them does not count.
 */
export function nestingOverflow(text: string): { offset: number; message: string } | undefined {
  let depth = 0;
  let state: 'plain' | 'single' | 'double' | 'comment' = 'plain';
  let prev = '\n';
  for (let i = 0; i < text.length; i++) {
    let ch = text[i] as string;
    if (prev === '\n' && state === 'plain') {
      let width = 0;
      while (i < text.length) {
        const c = text[i] as string;
        const next = text[i + 1];
        if (c === ' ' || ((c === '-' || c === '?') && (next === ' ' || next === '\n' || next === undefined))) {
          width++;
          i++;
        } else break;
      }
      if (width > MAX_LINE_INDENT) {
        return { offset: i, message: `a line is indented ${width} columns deep; a Scenario never needs more than ${MAX_LINE_INDENT}` };
      }
      if (i >= text.length) break;
      if (width > 0) prev = ' ';
      ch = text[i] as string;
    }
    switch (state) {
      case 'comment':
        if (ch === '\n') state = 'plain';
        break;
      case 'double':
        if (ch === '\\') i++;
        else if (ch === '"') state = 'plain';
        break;
      case 'single':
        if (ch === "'") {
          if (text[i + 1] === "'") i++;
          else state = 'plain';
        }
        break;
      default: {
        const tokenStart = /[\s[{,:]/.test(prev);
        if (ch === '#' && /\s/.test(prev)) state = 'comment';
        else if (ch === '"' && tokenStart) state = 'double';
        else if (ch === "'" && tokenStart) state = 'single';
        else if (ch === '[' || ch === '{') {
          if (++depth > MAX_FLOW_DEPTH) {
            return { offset: i, message: `brackets are nested more than ${MAX_FLOW_DEPTH} levels deep; a Scenario never needs that` };
          }
        } else if (ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
      }
    }
    prev = ch;
  }
  return undefined;
}

/** 1-based line and column of `offset`, without a LineCounter (the text was not parsed). */
function lineColumn(text: string, offset: number): Pos {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function isEmptyDoc(d: Document.Parsed): boolean {
  const c = d.contents;
  return c === null || (isScalar(c) && c.value === null && (c.source === '' || c.source === undefined));
}

function yamlIssues(doc: Document.Parsed, at: (offset: number) => Pos): Issue[] {
  const one = (e: YAMLError): Issue => {
    const code =
      e.code === 'DUPLICATE_KEY' ? 'yaml.duplicateKey' : e.code === 'TAG_RESOLVE_FAILED' ? 'yaml.tag' : 'yaml.syntax';
    let message = e.message;
    if (code === 'yaml.duplicateKey') message = 'this key appears twice in the same mapping; keep one';
    if (code === 'yaml.tag') message = `${e.message}; faultline reads plain YAML: remove the tag`;
    if (e.code === 'TAB_AS_INDENT') message = 'tabs are not allowed for indentation in YAML; indent with spaces';
    if (/maximum call stack/i.test(e.message)) message = 'the document is nested too deeply';
    return { code, path: [], message, ...at(e.pos[0]) };
  };
  return [...doc.errors.map(one), ...doc.warnings.map(one)];
}

function readName(obj: Record<string, unknown>): string | undefined {
  const meta = obj.metadata;
  if (meta === null || typeof meta !== 'object') return undefined;
  const name = (meta as Record<string, unknown>).name;
  return typeof name === 'string' && name.length <= MAX_SCENARIO_NAME && DNS_LABEL_RE.test(name) ? name : undefined;
}

/** A missing metadata.name gets a suggestion from the file name: scenarios/split-brain.yaml -> split-brain. */
function hintName(issue: Issue, file: string): Issue {
  if (issue.code !== 'schema.required' || issue.path.join('.') !== 'metadata.name' || !file) return issue;
  const guess = toDnsLabel(basename(file, extname(file))).slice(0, MAX_SCENARIO_NAME).replace(/-+$/, '');
  return guess ? { ...issue, message: `${issue.message}; e.g. name: ${guess}` } : issue;
}

/**
 * Line and column of the node at `path`, or of the nearest ancestor that exists (a missing field
 * points at the mapping that should hold it). With `key`, a final mapping key points at the key
 * itself (an unknown field) rather than at its value.
 */
export function position(doc: Document, path: Path, key: boolean, at: (offset: number) => Pos): Partial<Pos> {
  let node: unknown = doc.contents;
  let best: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      const last = i === path.length - 1;
      node = pair.value;
      const valueStart = rangeStart(node);
      const emptyValue = node === null || (isScalar(node) && node.value === null && !node.source);
      best = (last && key) || emptyValue || valueStart === undefined ? keyStart ?? best : valueStart;
      if (last && key) break;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      node = item;
      best = rangeStart(node) ?? best;
    } else break;
  }
  return best === undefined ? {} : at(best);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** By line, then column; issues without a position keep their order at the end. */
export function sortIssues(issues: Issue[]): Issue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => {
      const la = a.issue.line ?? Infinity;
      const lb = b.issue.line ?? Infinity;
      if (la !== lb) return la - lb;
      const ca = a.issue.column ?? Infinity;
      const cb = b.issue.column ?? Infinity;
      return ca !== cb ? ca - cb : a.i - b.i;
    })
    .map(({ issue }) => issue);
}
