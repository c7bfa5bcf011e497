// Checks on a file's raw text that run before any parser or recursive walk sees it.
//
// Everything downstream of the text recurses once per nesting level: yaml's composer, doc.toJS,
// ajv, the semantic checks, stableStringify, the store's edits. Around 2,000 to 10,000 levels
// (it depends on how deep the caller's own stack already is) they throw "Maximum call stack size
// exceeded", and a few such places cannot catch it. So depth is decided here, and every reader of
// file text (api/parse.ts; store/ read, readName, edits) asks `guardText` first.
//
//   size        more than MAX_FILE_BYTES                         file.tooLarge
//   encoding    U+FFFD (bytes that were not UTF-8), NULs         file.encoding
//   characters  other control characters, a BOM mid-file         yaml.controlCharacter
//   depth       collections nested more than MAX_DEPTH levels    yaml.tooDeep
//
// Depth is measured on yaml's own Lexer and Parser, which are iterative: the composer and every
// later walk recurse over exactly the tree that Parser builds, error recovery included (a badly
// indented line can nest every line after it one level deeper). While the Parser reads, the
// height of its stack stops a million "[" at the 65th; each finished document is then walked
// (without recursion) as the composer will build it. A light scan of brackets and indentation
// cannot know any of that: a quote-like character, a block scalar or a recovery fools it.
//
//   spec:                          root map 1
//     faults:                      spec's map 2
//     - {targets: {names: [a]}}    the list 3, its item 4, targets 5, names 6

import { CST, Lexer, Parser } from 'yaml';
import type { Issue } from './types.js';

/** Largest Scenario file accepted, in bytes (UTF-8). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Deepest nesting of collections accepted; real Scenarios stay under 10. */
export const MAX_DEPTH = 64;

type Pos = { line: number; column: number };

/** The first reason `text` must not be parsed, as a located Issue; undefined when it may be. */
export function guardText(text: string, opts: { bytes?: number } = {}): Issue | undefined {
  if (typeof text !== 'string') return { code: 'file.unreadable', path: [], message: 'the file content is not text' };
  return sizeIssue(text, opts.bytes) ?? characterIssue(text) ?? depthIssue(text);
}

/** The issue for a file of `bytes` bytes (`atLeast`: the size is a lower bound), shared with the store. */
export function tooLargeIssue(bytes: number, atLeast = false): Issue {
  return {
    code: 'file.tooLarge',
    path: [],
    message: `the file is ${mib(bytes)}${atLeast ? ' or more' : ''}; a Scenario file may be at most ${mib(MAX_FILE_BYTES)}: split it, or remove generated content`,
  };
}

function sizeIssue(text: string, bytes: number | undefined): Issue | undefined {
  if (bytes !== undefined && bytes > MAX_FILE_BYTES) return tooLargeIssue(bytes);
  // A UTF-16 code unit is at least one UTF-8 byte, so a long string is refused without counting.
  if (text.length > MAX_FILE_BYTES) return tooLargeIssue(text.length, true);
  const n = Buffer.byteLength(text, 'utf8');
  return n > MAX_FILE_BYTES ? tooLargeIssue(n) : undefined;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------- characters

// YAML 1.2 allows tab, LF, CR and printable characters only (c-printable). yaml accepts the rest
// silently; a NUL or an escape character in a name or a command would then reach Docker.
// U+FFFD is what a decoder makes of bytes that are not UTF-8 (our readers decode that way).
// Lone surrogates cannot come from decoding bytes, only from code, and are caught too.

const BAD_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFEFF\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function characterIssue(text: string): Issue | undefined {
  BAD_CHAR.lastIndex = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a BOM at the very start is fine
  const first = BAD_CHAR.exec(text);
  if (!first) return undefined;
  let count = 1;
  while (BAD_CHAR.exec(text)) count++;
  BAD_CHAR.lastIndex = 0;
  const ch = first[0].charCodeAt(0);
  const u = `U+${ch.toString(16).toUpperCase().padStart(4, '0')}`;
  const more = count > 1 ? ` (${count} such characters in the file)` : '';
  const at = lineColumn(text, first.index);
  if (ch === 0xfffd) {
    return {
      code: 'file.encoding',
      path: [],
      message: `the file is not valid UTF-8 here: bytes that are not UTF-8 were read as ${u}${more}; save the file as UTF-8 (it may be Latin-1 or UTF-16)`,
      ...at,
    };
  }
  if (ch === 0) {
    return {
      code: 'file.encoding',
      path: [],
      message: `the file contains a NUL byte (U+0000)${more}; a Scenario file is UTF-8 text: if it was saved as UTF-16, save it as UTF-8, else remove the byte`,
      ...at,
    };
  }
  if (ch === 0xfeff) {
    return {
      code: 'yaml.controlCharacter',
      path: [],
      message: `an invisible byte-order mark (U+FEFF) in the middle of the file${more} (two files pasted together?); remove it`,
      ...at,
    };
  }
  return {
    code: 'yaml.controlCharacter',
    path: [],
    message: `control character ${u} is not allowed in YAML text${more}; remove it, or write it as an escape ("\\x${ch.toString(16).padStart(2, '0')}") inside a double-quoted string`,
    ...at,
  };
}

// ---------------------------------------------------------------- depth

/** The first place where nesting goes beyond MAX_DEPTH levels, as a located yaml.tooDeep Issue. */
export function depthIssue(text: string): Issue | undefined {
  const found = nestingDepth(text, MAX_DEPTH);
  if (found.at === undefined) return undefined;
  return {
    code: 'yaml.tooDeep',
    path: [],
    message:
      `collections are nested more than ${MAX_DEPTH} levels deep here, and a Scenario never needs more than about 10: ` +
      'flatten this part, or look for a bracket that is never closed or a line indented too far',
    ...lineColumn(text, found.at),
  };
}

/**
 * How deeply `text` nests collections (the root collection is level 1): the deepest level seen,
 * or the first level beyond `limit` and the offset where it starts. Never less than the tree the
 * composer builds; see the top of this file.
 */
export function nestingDepth(text: string, limit = Infinity): { depth: number; at?: number } {
  const parser = new Parser();
  let deepest = 0;
  const reach = (depth: number, at: number): { depth: number; at: number } | undefined => {
    if (depth <= deepest) return undefined;
    deepest = depth;
    return depth > limit ? { depth, at } : undefined;
  };
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const start = offset;
    // "\x02" (a document starts), "\x18" (a flow collection ended by an error) and "\x1f" (a
    // scalar follows) are markers that take no room in the text.
    if (token !== CST.DOCUMENT && token !== CST.FLOW_END && token !== CST.SCALAR) offset += token.length;
    for (const done of parser.next(token)) {
      const over = treeDepth(done, reach);
      if (over) return over;
    }
    // While it grows: the Parser's stack holds the document, each open collection and the scalar
    // being read. This stops a million "[" at the 65th, long before the document is complete.
    const over = reach(parser.stack.length - 1, start);
    if (over) return over;
  }
  for (const done of parser.end()) {
    const over = treeDepth(done, reach);
    if (over) return over;
  }
  return { depth: deepest };
}

/**
 * The depth of a finished CST document, walked without recursion, counted as the composer will
 * build it: error recovery can put a finished collection one level deeper than it was read (a
 * flow collection that turns out to be a key), and a pair in a flow sequence (`[a: b]`) becomes
 * a map of its own, one level more than the CST shows.
 */
function treeDepth(
  token: CST.Token,
  reach: (depth: number, at: number) => { depth: number; at: number } | undefined,
): { depth: number; at: number } | undefined {
  if (token.type !== 'document') return undefined;
  const work: [CST.Token | null | undefined, number][] = [[token.value, 1]];
  while (work.length > 0) {
    const [node, depth] = work.pop() as [CST.Token | null | undefined, number];
    if (!CST.isCollection(node)) continue;
    const over = reach(depth, node.offset);
    if (over) return over;
    const flowSeq = node.type === 'flow-collection' && node.start.source === '[';
    for (const item of node.items as CST.CollectionItem[]) {
      const pair = flowSeq && (item.key !== undefined || item.sep !== undefined);
      const child = depth + (pair ? 2 : 1);
      if (pair) {
        const over = reach(depth + 1, node.offset);
        if (over) return over;
      }
      work.push([item.key, child], [item.value, child]);
    }
  }
  return undefined;
}

/** 1-based line and column of `offset`; a leading BOM does not count as a column. */
export function lineColumn(text: string, offset: number): Pos {
  let line = 1;
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: Math.max(1, offset - start + 1) };
}
