// Hostile Scenario texts for property tests (not a test file itself): the files in examples/,
// mutated one to three times at the text level (byte flips, truncation, deep nesting, duplicate
// keys, anchors and aliases, encodings, quotes) or at the value level (wrong types, huge and
// negative numbers, control characters and shell metacharacters in names, CIDR, port, duration
// and cron edge cases, deep structures).

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { guardText } from '../../../src/api/guard.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The example scenarios, read once. */
export const EXAMPLES: { file: string; text: string }[] = readdirSync(join(root, 'examples'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => ({ file: `examples/${f}`, text: readFileSync(join(root, 'examples', f), 'utf8') }));

export interface HostileSpec {
  file: string;
  text: string;
  /** The mutations applied, in order, for the failure report. */
  applied: string[];
}

type Mutation = { name: string; apply: (text: string) => string };

// ---------------------------------------------------------------- values

/** Strings that reach schema checks, semantic checks and (were they accepted) Docker and tc. */
const EDGE_STRINGS = [
  // shell metacharacters
  '; rm -rf /',
  '$(id)',
  '`reboot`',
  'a && b',
  'a | b',
  '> /etc/passwd',
  "'; DROP TABLE x; --",
  '${HOME}',
  '\\',
  // CIDRs and addresses
  '10.0.0.0/33',
  '0.0.0.0/0',
  '::/0',
  '256.1.1.1/24',
  '10.0.0.1/24',
  '10.0.0.0/-1',
  'fe80::1%eth0/64',
  '::ffff:1.2.3.4/120',
  '1.2.3',
  '',
  // ports and ranges
  '0',
  '65536',
  '-1',
  '80-70',
  '1-65535',
  '99999999999',
  '8080/udp',
  'http',
  // durations
  '0s',
  '-1s',
  '1e9h',
  '1.5.5s',
  '9999999999999h',
  '1h-1m',
  'P1D',
  'NaN',
  'Infinity',
  // cron and times
  '* * * * * * *',
  '61 * * * *',
  '@reboot',
  '0 0 31 2 *',
  '*/0 * * * *',
  '2025-02-30T00:00:00Z',
  '0000-00-00',
  // quantities
  '100%',
  '101%',
  '-5%',
  '1e400mbit',
  '0kbit',
  '10 mbit',
  '0.0000001%',
  // names and text
  'UPPER',
  'a'.repeat(300),
  'with space',
  'dot.dot',
  '-leading',
  'trailing-',
  '..',
  '/',
  'ünïcödé',
  '名前',
  '\u202Eevil',
  'a\u0000b',
  'tab\tname',
  'new\nline',
  '\u001b[31mred',
  '\uFEFF',
  'true',
  'null',
  '~',
  '<<',
  '__proto__',
  'constructor',
];

const EDGE_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  1e-300,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53 + 2,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 1,
  65536,
  99999999999,
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...EDGE_STRINGS),
  fc.constantFrom(...EDGE_NUMBERS),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(null, true, false, [], {}, [[[]]], { a: { b: { c: {} } } }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 120 }).map((n) => {
    let v: unknown = 'x';
    for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v];
    return v;
  }),
);

// ---------------------------------------------------------------- text mutations

const SPECIAL_CHARS = [
  '\u0000',
  '\t',
  '\r',
  '\u001b',
  '\u007f',
  '\u0085',
  '\uFEFF',
  '\uFFFD',
  '"',
  "'",
  '[',
  '{',
  '}',
  ']',
  ':',
  '-',
  '#',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  ',',
];

const at = (text: string, n: number): number => (text.length === 0 ? 0 : n % (text.length + 1));
const lines = (text: string): string[] => text.split('\n');
const lineAt = (text: string, n: number): number => n % Math.max(1, lines(text).length);

const textMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .record({
      pos: fc.nat(),
      ch: fc.oneof(fc.constantFrom(...SPECIAL_CHARS), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
    })
    .map(({ pos, ch }) => ({
      name: `flip ${JSON.stringify(ch)} at ${pos}`,
      apply: (t: string) => {
        const i = Math.min(at(t, pos), Math.max(0, t.length - 1));
        return t.slice(0, i) + ch + t.slice(i + 1);
      },
    })),
  fc.nat().map((pos) => ({ name: `truncate at ${pos}`, apply: (t: string) => t.slice(0, at(t, pos)) })),
  fc.nat().map((n) => ({
    name: `duplicate line ${n}`,
    apply: (t: string) => {
      const ls = lines(t);
      const i = lineAt(t, n);
      return [...ls.slice(0, i + 1), ls[i] ?? '', ...ls.slice(i + 1)].join('\n');
    },
  })),
  fc.nat().map((n) => ({
    name: `delete line ${n}`,
    apply: (t: string) =>
      lines(t)
        .filter((_, i) => i !== lineAt(t, n))
        .join('\n'),
  })),
  fc.record({ n: fc.nat(), by: fc.constantFrom(' ', '   ', '\t', '- ', '? ') }).map(({ n, by }) => ({
    name: `indent line ${n} by ${JSON.stringify(by)}`,
    apply: (t: string) =>
      lines(t)
        .map((l, i) => (i === lineAt(t, n) ? by + l : l))
        .join('\n'),
  })),
  fc
    .record({
      pos: fc.nat(),
      depth: fc.integer({ min: 20, max: 4000 }),
      open: fc.constantFrom('[', '{', '{a: ', '[a: ', '[[', '- '),
      close: fc.boolean(),
    })
    .map(({ pos, depth, open, close }) => ({
      name: `nest ${JSON.stringify(open)} x${depth}${close ? ' closed' : ''} at ${pos}`,
      apply: (t: string) => {
        const i = at(t, pos);
        const closer = open === '[[' ? ']]' : open.startsWith('[') ? ']' : open.startsWith('{') ? '}' : '';
        return t.slice(0, i) + open.repeat(depth) + 'x' + (close ? closer.repeat(depth) : '') + t.slice(i);
      },
    })),
  fc.integer({ min: 20, max: 400 }).map((depth) => ({
    name: `block maps x${depth}`,
    apply: (t: string) => `${t}\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`,
  })),
  fc
    .record({
      n: fc.nat(),
      m: fc.nat(),
      kind: fc.constantFrom('anchor+alias', 'unknown alias', 'self alias', 'alias key'),
    })
    .map(({ n, m, kind }) => ({
      name: `${kind} on lines ${n}/${m}`,
      apply: (t: string) => {
        const ls = lines(t);
        const i = lineAt(t, n);
        const j = lineAt(t, m);
        const put = (k: number, f: (l: string) => string) => (ls[k] = f(ls[k] ?? ''));
        if (kind === 'anchor+alias') {
          put(i, (l) => l.replace(/: /, ': &x '));
          put(j, (l) => l.replace(/: .*$/, ': *x'));
        } else if (kind === 'unknown alias') put(i, (l) => l.replace(/: .*$/, ': *nowhere'));
        else if (kind === 'self alias') put(i, (l) => l.replace(/: .*$/, ': &s [*s]'));
        else put(i, (l) => l.replace(/^(\s*)([A-Za-z]+):/, '$1*$2 :'));
        return ls.join('\n');
      },
    })),
  fc.constant({
    name: 'alias bomb',
    apply: (t: string) => {
      let bomb = 'b0: &b0 [x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < 9; i++)
        bomb += `b${i}: &b${i} [${Array(9)
          .fill(`*b${i - 1}`)
          .join(', ')}]\n`;
      return `${t}\n${bomb}`;
    },
  }),
  fc.constant({ name: 'CRLF', apply: (t: string) => t.replace(/\r?\n/g, '\r\n') }),
  fc.nat().map((pos) => ({
    name: `BOM at ${pos % 2 ? pos : 0}`,
    apply: (t: string) => (pos % 2 ? t.slice(0, at(t, pos)) + '\uFEFF' + t.slice(at(t, pos)) : `\uFEFF${t}`),
  })),
  fc
    .record({ pos: fc.nat(), bytes: fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xfe, 0xff]) })
    .map(({ pos, bytes }) => ({
      name: `invalid UTF-8 ${JSON.stringify(bytes)} at ${pos}`,
      apply: (t: string) => {
        const b = Buffer.from(t, 'utf8');
        const i = b.length === 0 ? 0 : pos % b.length;
        return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]).toString('utf8');
      },
    })),
  fc.constant({ name: 'UTF-16', apply: (t: string) => Buffer.from(t, 'utf16le').toString('utf8') }),
  fc.record({ pos: fc.nat(), q: fc.constantFrom('"', "'") }).map(({ pos, q }) => ({
    name: `unterminated ${q} at ${pos}`,
    apply: (t: string) => t.slice(0, at(t, pos)) + q + t.slice(at(t, pos)),
  })),
  fc.constant({ name: 'second document', apply: (t: string) => `${t}\n---\n${t}` }),
  fc.constant({ name: 'over 1 MiB', apply: (t: string) => `${t}\n# ${'x'.repeat(1024 * 1024)}\n` }),
);

// ---------------------------------------------------------------- value mutations

/** Paths to every node (maps' values and lists' items), breadth first, bounded. */
function nodePaths(doc: Document): (string | number)[][] {
  const out: (string | number)[][] = [];
  const work: { node: unknown; path: (string | number)[] }[] = [{ node: doc.contents, path: [] }];
  while (work.length > 0 && out.length < 500) {
    const { node, path } = work.shift() as { node: unknown; path: (string | number)[] };
    if (path.length > 0) out.push(path);
    if (isMap(node)) {
      for (const p of node.items)
        if (isPair(p) && isScalar(p.key)) work.push({ node: p.value, path: [...path, String(p.key.value)] });
    } else if (isSeq(node)) node.items.forEach((item, i) => work.push({ node: item, path: [...path, i] }));
  }
  return out;
}

/** Parse for a value mutation; undefined when the text is already broken (then it is left as is). */
function editable(text: string): Document | undefined {
  if (guardText(text) !== undefined) return undefined;
  const doc = parseDocument(text, { uniqueKeys: false });
  return doc.errors.length > 0 ? undefined : doc;
}

const valueMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ n: fc.nat(), value: hostileValue }).map(({ n, value }) => ({
    name: `set node ${n} to ${JSON.stringify(value)?.slice(0, 60)}`,
    apply: (t: string) => {
      const doc = editable(t);
      const paths = doc ? nodePaths(doc) : [];
      if (!doc || paths.length === 0) return t;
      doc.setIn(paths[n % paths.length] as (string | number)[], value);
      return doc.toString();
    },
  })),
  fc.nat().map((n) => ({
    name: `delete node ${n}`,
    apply: (t: string) => {
      const doc = editable(t);
      const paths = doc ? nodePaths(doc) : [];
      if (!doc || paths.length === 0) return t;
      doc.deleteIn(paths[n % paths.length] as (string | number)[]);
      return doc.toString();
    },
  })),
  fc
    .record({
      n: fc.nat(),
      key: fc.oneof(fc.constantFrom(...EDGE_STRINGS), fc.string({ unit: 'binary', maxLength: 12 })),
      value: hostileValue,
    })
    .map(({ n, key, value }) => ({
      name: `add key ${JSON.stringify(key)} under node ${n}`,
      apply: (t: string) => {
        const doc = editable(t);
        if (!doc) return t;
        const maps = [[] as (string | number)[], ...nodePaths(doc)].filter((p) =>
          isMap(p.length === 0 ? doc.contents : doc.getIn(p, true)),
        );
        if (maps.length === 0) return t;
        const path = maps[n % maps.length] as (string | number)[];
        doc.setIn([...path, key], value);
        return doc.toString();
      },
    })),
);

/** A value mutation that cannot be printed (yaml refuses, e.g. an alias it cannot resolve) is skipped. */
function orUnchanged(m: Mutation): Mutation {
  return {
    name: m.name,
    apply: (t) => {
      try {
        return m.apply(t);
      } catch {
        return t;
      }
    },
  };
}

/** A mutated example: what `faultline validate` and the controller may be handed. */
export const hostileSpec: fc.Arbitrary<HostileSpec> = fc
  .record({
    base: fc.constantFrom(...EXAMPLES),
    mutations: fc.array(
      fc.oneof({ weight: 3, arbitrary: textMutation }, { weight: 2, arbitrary: valueMutation.map(orUnchanged) }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ base, mutations }) => ({
    file: base.file,
    text: mutations.reduce((t, m) => m.apply(t), base.text),
    applied: mutations.map((m) => m.name),
  }));
