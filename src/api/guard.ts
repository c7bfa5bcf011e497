// Checks on a file's raw text that run before any parser or recursive walk sees it.
//
// Everything downstream of the text recurses once per nesting level: yaml's composer, doc.toJS,
// ajv, the semantic checks, stableStringify, the store's edits. Around 2,000 to 10,000 levels
// (it depends on how deep the caller's own stack already is) they throw "Maximum call stack size
// exceeded", and a few such places cannot catch it. So depth is decided here, on the tokens of
// yaml's Lexer (an iterative tokenizer: it knows what is a quote, a comment, a block scalar), and
// every reader of file text (api/parse.ts; store/ read, readName, edits) asks `guardText` first.
//
//   size        more than MAX_FILE_BYTES                         file.tooLarge
//   encoding    U+FFFD (bytes that were not UTF-8), NULs         file.encoding
//   characters  other control characters, a BOM mid-file         yaml.controlCharacter
//   depth       collections nested more than MAX_DEPTH levels    yaml.tooDeep
//
// Depth, worked example: each line's first column (after indentation and "- ", "? ", ": "
// indicators) opens or closes block levels like a YAML parser's indentation stack; "[" and "{"
// add one level each on top of the line's block depth.
//
//   spec:                        block depth 1 (the root map)
//     faults:                    2
//     - name: x                  3 (the sequence) + 4 (the item's map, at the column of "name")
//       targets: {names: [a]}    4, then 5 for "{" and 6 for "["
//
// The estimate never undercounts (a "- a" item counts a map level that a plain item does not
// have), so the real depth of anything that passes is at most MAX_DEPTH.

import { CST, Lexer } from 'yaml';
import type { Issue } from './types.js';

/** Largest Scenario file accepted, in bytes (UTF-8). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Deepest nesting of collections accepted; real Scenarios stay under 12. */
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
// eslint-disable-next-line no-control-regex
const BAD_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFEFF\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

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

interface Level {
  col: number;
  /** A block sequence that shares its column with the map holding it ("a:\n- x"). */
  seq: boolean;
}

/**
 * The first place where nesting goes beyond MAX_DEPTH levels, as a located yaml.tooDeep Issue.
 * One pass of yaml's Lexer; no recursion, whatever the input.
 */
export function depthIssue(text: string): Issue | undefined {
  const found = nestingDepth(text, MAX_DEPTH);
  if (found.at === undefined) return undefined;
  return {
    code: 'yaml.tooDeep',
    path: [],
    message:
      `collections are nested ${found.depth} levels deep here; the limit is ${MAX_DEPTH} and a Scenario never needs more than about 12: ` +
      'flatten this part, or look for a bracket that is never closed',
    ...lineColumn(text, found.at),
  };
}

/**
 * How deeply `text` nests collections (an estimate that never undercounts): the deepest level
 * seen, or the first level beyond `limit` and the offset where it starts.
 */
export function nestingDepth(text: string, limit = Infinity): { depth: number; at?: number } {
  const stack: Level[] = [];
  let deepest = 0;
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  /** The current line's indicators and first content, while we are still at its start; else undefined. */
  let head: { col: number; dash: boolean }[] | undefined;
  let scalarNext = false; // the Lexer marks a scalar with "\x1f", then gives its source
  let blockScalar = false; // that scalar is a block scalar's body (lines of its own)

  /** Record a depth reached at offset `at`; a result when it is beyond the limit. */
  const reach = (depth: number, at: number): { depth: number; at: number } | undefined => {
    deepest = Math.max(deepest, depth);
    return depth > limit ? { depth, at } : undefined;
  };

  // Close the line's start: pop the levels it dedents out of, push the ones it opens.
  const finishHead = (items: { col: number; dash: boolean }[]): { depth: number; at: number } | undefined => {
    const [first, ...rest] = items;
    while (stack.length > 0 && (stack[stack.length - 1] as Level).col > first.col) stack.pop();
    const top = stack[stack.length - 1];
    if (!top || top.col < first.col) stack.push({ col: first.col, seq: first.dash });
    else if (first.dash && !top.seq) stack.push({ col: first.col, seq: true });
    else if (!first.dash && top.seq && stack[stack.length - 2]?.col === first.col) stack.pop();
    let over = reach(stack.length, lineStart + first.col);
    // "- - a", "? - a", "- a: b": each indicator on the line opens one more level.
    for (let i = 0; i < rest.length && !over; i++) {
      const item = rest[i] as { col: number; dash: boolean };
      stack.push({ col: item.col, seq: item.dash });
      over = reach(stack.length, lineStart + item.col);
    }
    return over;
  };

  for (const token of new Lexer().lex(text)) {
    if (token === CST.SCALAR) {
      scalarNext = true;
      continue;
    }
    if (token === CST.DOCUMENT) {
      stack.length = 0;
      flow = 0;
      continue;
    }
    if (token === CST.FLOW_END) {
      flow = 0; // a flow collection ended by an error (not indented enough); yaml reports it
      continue;
    }
    const start = offset;
    offset += token.length;
    const type = scalarNext ? 'scalar' : CST.tokenType(token);
    const isBlockBody = scalarNext && blockScalar;
    scalarNext = false;
    if (isBlockBody) {
      blockScalar = false;
      continue; // a block scalar's lines are text, whatever their indentation
    }
    if (start === 0 || text[start - 1] === '\n') {
      lineStart = start;
      head = flow === 0 ? [] : undefined;
    }
    if (head !== undefined) {
      const col = start - lineStart;
      switch (type) {
        case 'byte-order-mark':
          lineStart = offset; // columns count from after the BOM
          continue;
        case 'space':
        case 'anchor':
        case 'tag':
          continue;
        case 'seq-item-ind':
        case 'explicit-key-ind':
        case 'map-value-ind':
          head.push({ col, dash: type === 'seq-item-ind' });
          continue;
        case 'doc-start':
        case 'doc-end':
          stack.length = 0;
          flow = 0;
          head = undefined;
          continue;
        case 'newline':
        case 'comment':
        case 'directive-line': {
          const items = head;
          head = undefined;
          const issue = items.length > 0 ? finishHead(items) : undefined; // "-" alone on its line
          if (issue) return issue;
          continue;
        }
        default: {
          const items = head;
          head = undefined;
          items.push({ col, dash: false });
          const issue = finishHead(items);
          if (issue) return issue;
        }
      }
    }
    switch (type) {
      case 'block-scalar-header':
        blockScalar = true;
        break;
      case 'flow-map-start':
      case 'flow-seq-start':
        flow++;
        {
          const over = reach(stack.length + flow, start);
          if (over) return over;
        }
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow = Math.max(0, flow - 1);
        break;
    }
  }
  return { depth: deepest };
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
