// A JSON reader that KEEPS duplicate object keys.
//
// Why: iproute2 prints one `"match": {...}` member per u32 key inside the same object, e.g.
//   {"fh":"800::800", ..., "match":{"value":"ad50002","mask":"ffffffff","off":16},
//                          "match":{"value":"60000","mask":"ff0000","off":8}}
// JSON.parse silently keeps only the last one, which would make a two-key filter look like a
// one-key filter and the diff would never converge. Here a key seen more than once becomes an array
// of all its values, in order (`match: [{...}, {...}]`); a key seen once keeps its plain value.
// Readers that expect repeats normalise with `asArray`.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

export function parseJsonKeepDuplicates(text: string): Json {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, i);
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === 't' && text.startsWith('true', i)) return ((i += 4), true);
    if (c === 'f' && text.startsWith('false', i)) return ((i += 5), false);
    if (c === 'n' && text.startsWith('null', i)) return ((i += 4), null);
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail('unexpected character');
    i = m.lastIndex;
    return Number(r[0]);
  };
  const string = (): string => {
    const start = i;
    i++;
    let out = '';
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e === 'u') {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (e in map) {
          out += map[e];
          i += 2;
        } else fail('bad escape');
        continue;
      }
      out += c;
      i++;
    }
    i = start;
    return fail('unterminated string');
  };
  const array = (): Json[] => {
    i++;
    const out: Json[] = [];
    ws();
    if (text[i] === ']') return (i++, out);
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') return (i++, out);
      fail('expected , or ]');
    }
  };
  const object = (): { [k: string]: Json } => {
    i++;
    const out: { [k: string]: Json } = {};
    const repeated = new Set<string>();
    ws();
    if (text[i] === '}') return (i++, out);
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected key');
      const k = string();
      ws();
      if (text[i] !== ':') fail('expected :');
      i++;
      const v = value();
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        if (!repeated.has(k)) {
          out[k] = [out[k]];
          repeated.add(k);
        }
        (out[k] as Json[]).push(v);
      } else out[k] = v;
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') return (i++, out);
      fail('expected , or }');
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
