// parseScenario: file text -> a validated Scenario, or Issues that each point at a line and column.
//
// The YAML is read as a Document (not just data) because the store writes status back into the
// same Document, keeping the person's comments and key order, and because Issues need positions.
//
// Hardening, in order:
//   - guard.ts, before any parser: more than 1 MiB (file.tooLarge); bytes that were not UTF-8, NULs
//     (file.encoding); other control characters (yaml.controlCharacter); collections nested more
//     than MAX_DEPTH levels (yaml.tooDeep): every later step recurses per level, and deep enough
//     nesting overflows the stack where no try/catch can help;
//   - YAML 1.2 core schema: `yes`, `no`, `on` stay strings; `0o17` is octal, `017` is 17;
//   - syntax errors and duplicate keys are errors, with positions and what to do (yaml.syntax,
//     yaml.duplicateKey);
//   - unresolved tags such as `!foo` are errors (yaml.tag): nothing is silently read as text;
//   - one document per file (yaml.multipleDocuments); an empty trailing "---" is tolerated;
//   - an alias with no anchor before it (yaml.alias), or one inside the value it names
//     (yaml.aliasCycle: `a: &x [*x]` is an infinite value), is an error at the alias; so is a
//     key that is a list or a mapping (yaml.complexKey);
//   - alias expansion is capped (maxAliasCount), so a "billion laughs" file fails in
//     milliseconds (yaml.aliasLimit) instead of eating memory;
//   - `status` is set aside before validation: the controller owns and rewrites it, and a broken
//     status written by a person must not make a good spec invalid. A status that fails the
//     schema is dropped from `scenario` and reported in `statusIssues`;
//   - nothing throws: an unexpected failure is an internal.error issue.

import { basename, extname } from 'node:path';
import {
  parseAllDocuments,
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  visit,
  type Document,
  type YAMLError,
} from 'yaml';
import { guardText } from './guard.js';
import type { Issue, Scenario } from './types.js';
import { validateScenario } from './validate.js';
import { statusValidator } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import { DNS_LABEL_RE, MAX_SCENARIO_NAME, toDnsLabel } from './patterns.js';

export { MAX_FILE_BYTES, MAX_DEPTH } from './guard.js';
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

/** Issue codes whose path ends in a mapping key that is itself the problem: point at the key. */
const KEY_CODES = new Set(['schema.additionalProperties', 'env.key', 'label.key', 'label.reserved']);

type Path = (string | number)[];
type Pos = { line: number; column: number };

export interface ParseOptions {
  /** The file's size as the reader saw it (fstat), when `text` is only its beginning. */
  bytes?: number;
}

/**
 * Parse and validate one Scenario file. `file` is used for hints only (e.g. a name to suggest).
 * Never throws: whatever the text, the result is a Scenario or located Issues.
 */
export function parseScenario(text: string, file: string, opts: ParseOptions = {}): ParseResult {
  try {
    return parse(text, file, opts);
  } catch (err) {
    // A bug here must not take the controller down; report it like any other problem.
    return {
      ok: false,
      issues: [
        {
          code: 'internal.error',
          path: [],
          message: `the file could not be checked (a bug in faultline, please report it): ${String(err)}`,
        },
      ],
    };
  }
}

function parse(text: string, file: string, opts: ParseOptions): ParseResult {
  const guarded = guardText(text, opts);
  if (guarded) return { ok: false, issues: [guarded] };

  const lc = new LineCounter();
  const bom = text.charCodeAt(0) === 0xfeff;
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    // A byte-order mark is not a column a person can see.
    return { line: p.line, column: bom && p.line === 1 ? Math.max(1, p.col - 1) : p.col };
  };

  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lc,
      version: '1.2',
      schema: 'core',
      merge: false,
      uniqueKeys: true,
      prettyErrors: false,
      logLevel: 'error', // warnings are issues here, never console output
    }) as Document.Parsed[];
  } catch (err) {
    // guardText bounds the nesting, so this is not expected; report it rather than throw.
    return {
      ok: false,
      issues: [
        { code: 'yaml.syntax', path: [], message: `the YAML could not be read: ${String(err)}`, line: 1, column: 1 },
      ],
    };
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

  const structure = structureIssues(doc, at);
  if (structure.length > 0) return { ok: false, doc, issues: sortIssues(structure) };

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

  const issues = validateScenario(rest)
    .map(locate)
    .map((i) => hintName(i, file));
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

function isEmptyDoc(d: Document.Parsed): boolean {
  const c = d.contents;
  return c === null || (isScalar(c) && c.value === null && (c.source === '' || c.source === undefined));
}

function yamlIssues(doc: Document.Parsed, at: (offset: number) => Pos): Issue[] {
  const one = (e: YAMLError): Issue => {
    const code =
      e.code === 'DUPLICATE_KEY' ? 'yaml.duplicateKey' : e.code === 'TAG_RESOLVE_FAILED' ? 'yaml.tag' : 'yaml.syntax';
    // yaml places a missing closing quote at the end of the file; the opening quote is more use.
    const open =
      e.code === 'MISSING_CHAR' && /quote/i.test(e.message) ? quotedScalarEndingAt(doc, e.pos[0]) : undefined;
    if (open !== undefined) {
      return {
        code,
        path: [],
        message:
          'this quoted value is never closed, so it runs to the end of the file; close the quote where the value ends',
        ...at(open),
      };
    }
    return { code, path: [], message: yamlAdvice(e), ...at(e.pos[0]) };
  };
  return [...doc.errors.map(one), ...doc.warnings.map(one)];
}

/** yaml's message, and what to do about it. */
function yamlAdvice(e: YAMLError): string {
  const said = e.message.split('\n')[0] as string;
  if (/maximum call stack/i.test(said)) return 'the document is nested too deeply; flatten it';
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return 'this key appears twice in the same mapping; keep one';
    case 'TAG_RESOLVE_FAILED':
      return `${said}; faultline reads plain YAML: remove the tag`;
    case 'TAB_AS_INDENT':
      return 'tabs are not allowed for indentation in YAML; indent with spaces';
    case 'MISSING_CHAR':
      return /quote/i.test(said)
        ? `${said}; close the quote where the value ends`
        : `${said}; add it where the collection ends`;
    case 'BAD_INDENT':
      return `${said}; indent this line with spaces like the other entries at its level, or close the bracket on the line before`;
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return `${said}; is a ":" missing on the line before, or is a value that contains ": " missing its quotes?`;
    case 'BLOCK_IN_FLOW':
      return `${said}; inside [ ] or { } write lists and maps in flow style too ([a, b], {k: v}), or close the bracket first`;
    case 'BAD_DQ_ESCAPE':
      return `${said}; inside double quotes a backslash starts an escape: write \\\\ for a backslash, or use single quotes`;
    case 'BAD_SCALAR_START':
      return `${said}; put the value in quotes`;
    case 'KEY_OVER_1024_CHARS':
      return `${said}; shorten the key (a missing ":" or newline can make a whole line into one key)`;
    case 'MULTIPLE_ANCHORS':
    case 'MULTIPLE_TAGS':
    case 'BAD_PROP_ORDER':
    case 'ALIAS_PROPS':
      return `${said}; keep one &anchor (and no tag) per value`;
    case 'BAD_ALIAS':
      return `${said}; an alias is *name, naming an &name anchor set earlier in the file`;
    case 'UNEXPECTED_TOKEN':
      return `${said}; remove it, or check the brackets, commas and colons around it`;
    case 'MULTIPLE_DOCS':
    case 'BAD_DIRECTIVE':
      return `${said}; a Scenario file holds one plain YAML document`;
    default:
      return `${said}; fix the YAML here`;
  }
}

/** Where the quoted scalar that ends at `end` starts (its opening quote). */
function quotedScalarEndingAt(doc: Document.Parsed, end: number): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range && node.range[1] === end) {
        found = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Keys that are lists or mappings (`? [a]: b`): data has no such keys (toJS would turn them into
 * text and warn on the console). And aliases that cannot be turned into data: one whose anchor is not set before it (yaml throws at
 * toJS), and one inside the very value its anchor names, which would be infinite
 * (`a: &x [*x]`; yaml builds a circular object, and everything after loops on it).
 * Iterative; the depth is bounded by guardText anyway.
 */
function structureIssues(doc: Document.Parsed, at: (offset: number) => Pos): Issue[] {
  const issues: Issue[] = [];
  const open = new Set<unknown>(); // the collections we are inside
  const work: { node: unknown; exit?: true }[] = [{ node: doc.contents }];
  while (work.length > 0) {
    const { node, exit } = work.pop() as { node: unknown; exit?: true };
    if (exit) {
      open.delete(node);
      continue;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      const where = node.range ? at(node.range[0]) : {};
      if (target === undefined) {
        issues.push({
          code: 'yaml.alias',
          path: [],
          message: `alias *${node.source} names no anchor set before it: write &${node.source} on the value earlier in the file, or write the value out`,
          ...where,
        });
      } else if (open.has(target)) {
        issues.push({
          code: 'yaml.aliasCycle',
          path: [],
          message: `alias *${node.source} is inside the value anchored &${node.source}, which would make it infinite: write the value out`,
          ...where,
        });
      }
    } else if (isMap(node) || isSeq(node)) {
      open.add(node);
      work.push({ node, exit: true });
      for (const item of node.items) {
        if (isPair(item)) {
          const key = isAlias(item.key) ? item.key.resolve(doc) : item.key;
          if (isMap(key) || isSeq(key)) {
            const range = (item.key as { range?: [number, number, number] }).range;
            issues.push({
              code: 'yaml.complexKey',
              path: [],
              message: `this key is ${isMap(key) ? 'a mapping' : 'a list'}; keys in a Scenario are plain names: write the key as text (a stray "?" or a missing ":" can do this)`,
              ...(range ? at(range[0]) : {}),
            });
          }
          work.push({ node: item.value }, { node: item.key });
        } else work.push({ node: item });
      }
    }
  }
  return issues;
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
  const guess = toDnsLabel(basename(file, extname(file)))
    .slice(0, MAX_SCENARIO_NAME)
    .replace(/-+$/, '');
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
      best = (last && key) || emptyValue || valueStart === undefined ? (keyStart ?? best) : valueStart;
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
