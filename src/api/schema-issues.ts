// ajv errors -> Issues a person can act on. ajv says `must NOT have additional properties`; we say
// `unknown field "subnett"; did you mean "subnet"? (allowed: subnet, gateway, ipRange, auxAddresses)`.
//
// Unions (anyOf) need care: for `loss: 5` ajv reports "must be string", "must be object" and "must
// match a schema in anyOf". We pick the branch whose type matches the value and report only its
// errors; when none matches we say once what the value may be ('must be a percent like "25%" or a
// mapping with percent, correlation').

import type { ErrorObject } from 'ajv';
import type { Issue } from './types.js';
import type { JsonSchema } from './schema.js';
import { PATTERN_HINTS } from './patterns.js';
import { closest } from './suggest.js';

type Path = (string | number)[];

/** Turn ajv's instancePath ("/spec/networks/0/name") into a path, numbers for array indexes. */
export function toPath(instancePath: string, root: unknown): Path {
  if (instancePath === '') return [];
  const out: Path = [];
  let node: unknown = root;
  for (const raw of instancePath.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(seg)) {
      out.push(Number(seg));
      node = node[Number(seg)];
    } else {
      out.push(seg);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(schemaType: unknown, value: unknown): boolean {
  const actual = jsonType(value);
  const types = Array.isArray(schemaType) ? schemaType : [schemaType];
  return types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

/** Show a value briefly: strings quoted, long things cut. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function propertyNames(schema: JsonSchema | undefined): string[] {
  const props = schema?.properties;
  return props && typeof props === 'object' ? Object.keys(props) : [];
}

/** "a duration like "100ms"", "a list", "a mapping with percent, correlation" ... */
function describe(schema: JsonSchema): string {
  if (Array.isArray(schema.anyOf)) {
    return (schema.anyOf as JsonSchema[]).map(describe).join(' or ');
  }
  if (Array.isArray(schema.enum)) {
    const values = schema.enum as unknown[];
    if (values.every((v) => typeof v === 'boolean')) return 'true or false';
    return `one of ${values.map((v) => String(v)).join(', ')}`;
  }
  switch (schema.type) {
    case 'string': {
      const hint = typeof schema.pattern === 'string' ? PATTERN_HINTS[schema.pattern] : undefined;
      if (hint) return `${hint.what} like ${hint.examples}`;
      if (schema.format === 'date-time') return 'an RFC 3339 time like "2025-01-31T12:00:00Z"';
      return 'a string';
    }
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object': {
      const names = propertyNames(schema);
      if (names.length > 0) return `a mapping with ${names.join(', ')}`;
      if (schema.additionalProperties === false) return 'an empty mapping {}';
      return 'a mapping of names to strings';
    }
    default:
      return 'a value';
  }
}

function typeMessage(schema: JsonSchema, data: unknown, last: string | number | undefined): string {
  const msg = `must be ${describe(schema)}`;
  const branches = Array.isArray(schema.anyOf) ? (schema.anyOf as JsonSchema[]) : [schema];
  const wants = (t: string): JsonSchema | undefined => branches.find((b) => b.type === t);
  const object = wants('object');
  if (data === null) {
    if (object && propertyNames(object).length === 0 && branches.length === 1)
      return 'must be an empty mapping: write {}';
    return `${msg}; it is empty: give a value${typeof last === 'string' ? ` or remove "${last}"` : ''}`;
  }
  if (wants('boolean') && typeof data === 'string' && /^(yes|no|on|off|y|n|true|false)$/i.test(data)) {
    return `${msg}; YAML 1.2 reads ${show(data)} as text: write ${/^(yes|on|y|true)$/i.test(data) ? 'true' : 'false'}`;
  }
  const text = wants('string');
  if (text && (typeof data === 'number' || typeof data === 'boolean')) {
    // 100 for a duration: the fix is a unit ("100ms"), not quotes; 8080 for a label: quotes.
    const pattern = typeof text.pattern === 'string' ? text.pattern : undefined;
    const advice = pattern ? PATTERN_HINTS[pattern]?.advise?.(String(data)) : undefined;
    if (advice) return `${msg}; ${advice}`;
    if (!pattern || new RegExp(pattern, 'u').test(String(data))) return `${msg}; quote it: "${String(data)}"`;
    return msg;
  }
  if (wants('integer') && typeof data === 'string' && /^[0-9]+$/.test(data))
    return `${msg}; remove the quotes: ${data}`;
  if (wants('array') && (typeof data === 'string' || typeof data === 'number'))
    return `${msg}; write a list: [${String(data)}]`;
  if (object && typeof data === 'string' && propertyNames(object).includes('names')) {
    return `${msg}; e.g. {names: [${data}]}`;
  }
  if (wants('string') && data !== null && typeof data === 'object' && !Array.isArray(data)) {
    return `${msg}; a ": " inside a plain value starts a mapping, so quote the whole value`;
  }
  return msg;
}

function issueFor(e: ErrorObject, root: unknown): Issue {
  const path = toPath(e.instancePath, root);
  const schema = (e.parentSchema ?? {}) as JsonSchema;
  const data: unknown = e.data;
  const code = `schema.${e.keyword}`;
  const last = path[path.length - 1];
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = propertyNames(schema);
      let message = `unknown field "${field}"`;
      const guess = field === '<<' ? undefined : closest(field, allowed);
      if (field === '<<') message += '; merge keys are YAML 1.1 and faultline reads YAML 1.2: write the fields out';
      else if (guess) message += `; did you mean "${guess}"?`;
      else {
        const home = allowed.find((p) => propertyNames(childObject(schema, p)).includes(field));
        if (home) message += `; it belongs under "${home}"`;
      }
      message += allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (this mapping takes no fields)';
      return { code, path: [...path, field], message };
    }
    case 'required': {
      const field = String(params.missingProperty);
      const sub = childObject(schema, field);
      let message = `missing required field "${field}"`;
      if (sub && Array.isArray(sub.enum)) message += ` (one of: ${(sub.enum as unknown[]).join(', ')})`;
      else if (sub && typeof sub.description === 'string') message += `: ${sub.description.replace(/\.$/, '')}`;
      else if (sub) message += `: ${describe(sub)}`;
      return { code, path: [...path, field], message };
    }
    case 'type':
      return { code, path, message: typeMessage(schema, data, last) };
    case 'pattern': {
      const hint = PATTERN_HINTS[String(params.pattern)];
      if (!hint) return { code, path, message: `${show(data)} does not match ${String(params.pattern)}` };
      const advice = hint.advise?.(String(data));
      return {
        code,
        path,
        message: `${show(data)} is not ${hint.what}; ${advice ?? `write e.g. ${hint.examples}`}`,
      };
    }
    case 'enum': {
      const values = (e.schema as unknown[]).map((v) => String(v));
      const guess = typeof data === 'string' ? closest(data, values) : undefined;
      return {
        code,
        path,
        message: `${show(data)} is not one of: ${values.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`,
      };
    }
    case 'maxLength': {
      const s = String(data);
      const why =
        path.length === 2 && path[0] === 'metadata' && path[1] === 'name' ? ' (it prefixes every Docker name)' : '';
      return {
        code,
        path,
        message: `${show(s)} is ${[...s].length} characters long; at most ${String(params.limit)} are allowed${why}`,
      };
    }
    case 'minLength':
      return { code, path, message: 'must not be empty' };
    case 'minItems':
      return {
        code,
        path,
        message: `must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      };
    case 'minProperties': {
      const names = propertyNames(schema);
      return {
        code,
        path,
        message: `must not be empty${names.length ? `: give at least one of ${names.join(', ')}` : ''}`,
      };
    }
    case 'minimum':
      return { code, path, message: `must be at least ${String(params.limit)}, not ${show(data)}` };
    case 'maximum':
      return { code, path, message: `must be at most ${String(params.limit)}, not ${show(data)}` };
    case 'format':
      return {
        code,
        path,
        message:
          params.format === 'date-time'
            ? `${show(data)} is not an RFC 3339 time; write e.g. "2025-01-31T12:00:00Z" or "2025-01-31T13:00:00+01:00"`
            : `${show(data)} is not a valid ${String(params.format)}`,
      };
    case 'anyOf':
      return { code: 'schema.type', path, message: typeMessage(schema, data, last) };
    default:
      return { code, path, message: e.message ?? `fails ${e.keyword}` };
  }
}

/** Schema of property `name` of an object schema; for unions, of the object branch. */
function childObject(schema: JsonSchema, name: string): JsonSchema | undefined {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  const sub = props?.[name];
  if (!sub) return undefined;
  if (Array.isArray(sub.anyOf)) {
    return (sub.anyOf as JsonSchema[]).find((b) => b.type === 'object') ?? sub;
  }
  return sub;
}

/** Map ajv's errors for `root` to Issues, resolving unions to the branch the value meant. */
export function schemaIssues(errors: readonly ErrorObject[], root: unknown): Issue[] {
  // Errors to leave out; an anyOf error that stays becomes the union's single "must be" issue.
  const dropped = new Set<ErrorObject>();
  // Deepest unions first, so an outer union sees its inner ones already settled.
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const u of unions) {
    const branches = ((u.parentSchema as JsonSchema | undefined)?.anyOf ?? []) as JsonSchema[];
    const matching = branches
      .map((b, i) => ({ b, i }))
      .filter(({ b }) => b.type === undefined || typeMatches(b.type, u.data));
    const prefix = `${u.schemaPath}/`;
    const inside = errors.filter(
      (e) => e !== u && e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(u.instancePath),
    );
    if (matching.length === 1) {
      const keep = `${prefix}${(matching[0] as { i: number }).i}/`;
      for (const e of inside) if (!e.schemaPath.startsWith(keep)) dropped.add(e);
      dropped.add(u);
    } else {
      for (const e of inside) dropped.add(e);
    }
  }
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (dropped.has(e)) continue;
    const issue = issueFor(e, root);
    const key = `${issue.code}\u0000${JSON.stringify(issue.path)}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}
