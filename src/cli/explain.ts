// `faultline explain FIELD`: the documentation of a Scenario field, read from the CRD's schema
// (crds/scenario.yaml, its descriptions), laid out like `kubectl explain`.
//
//   $ faultline explain scenario.spec.faults.netem.loss
//   KIND:     Scenario
//   VERSION:  faultline.dev/v1alpha1
//
//   FIELD: loss <string | Object>
//
//   DESCRIPTION:
//       Random packet loss, "20%" or {percent, correlation}.
//
//   FIELDS:
//     correlation <string>
//       ...
//
// A path descends through `properties` and, for a list, into its items (`spec.faults.netem`, not
// `spec.faults[0].netem`). A union node of the CRD (a typeless node with anyOf branches, see the
// header of crds/scenario.yaml) is shown with every form it takes.
import { closest } from '../api/suggest.js';

/** A node of the CRD's openAPIV3Schema, as plain data. */
export type SchemaNode = {
  description?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  anyOf?: SchemaNode[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

/** Names a person may start the path with (the resource, as kubectl names it). */
const RESOURCE_NAMES = ['scenario', 'scenarios', 'scn', 'Scenario'];

export interface CrdVersion {
  group: string;
  kind: string;
  version: string;
  root: SchemaNode;
}

/** The first served version of the CRD as explain needs it. */
export function crdVersion(crd: unknown): CrdVersion {
  const spec = (crd as { spec: { group: string; names: { kind: string }; versions: unknown[] } }).spec;
  const v = spec.versions[0] as { name: string; schema: { openAPIV3Schema: SchemaNode } };
  return { group: spec.group, kind: spec.names.kind, version: v.name, root: v.schema.openAPIV3Schema };
}

/** What a node holds: `string`, `Object`, `[]Object`, `map[string]string`, `string | Object`. */
export function typeOf(n: SchemaNode): string {
  if (n['x-kubernetes-int-or-string']) return 'int-or-string';
  if (n.type === 'array') return `[]${n.items ? typeOf(n.items) : 'Object'}`;
  if (n.type === 'object') {
    if (n.properties) return 'Object';
    if (n.additionalProperties && typeof n.additionalProperties === 'object')
      return `map[string]${typeOf(n.additionalProperties)}`;
    return 'Object';
  }
  if (n.type) return n.type === 'integer' ? 'integer' : n.type;
  if (n.anyOf) return [...new Set(n.anyOf.map((b) => formOf(b, n)))].join(' | ');
  return 'Object';
}

/** The form an anyOf branch of a union stands for, recognised by its keywords (crds/scenario.yaml). */
function formOf(branch: SchemaNode, union: SchemaNode): string {
  if (branch.type) return typeOf(branch);
  if (branch.enum) return typeof branch.enum[0] === 'number' ? 'integer' : typeof branch.enum[0];
  if ('pattern' in branch || 'minLength' in branch || 'maxLength' in branch || 'format' in branch) return 'string';
  if ('minItems' in branch || 'maxItems' in branch) return `[]${union.items ? typeOf(union.items) : 'Object'}`;
  return 'Object';
}

/** The node at `path` (dots), or an error that says where the path went wrong and what exists there. */
export function lookup(
  v: CrdVersion,
  path: string,
): { node: SchemaNode; name: string; at: string[] } | { error: string } {
  const parts = path.split('.').filter((p) => p !== '');
  if (parts.length && RESOURCE_NAMES.includes(parts[0])) parts.shift();
  let node = v.root;
  const at: string[] = [];
  for (const part of parts) {
    const fields = fieldsOf(node);
    const next = fields?.[part];
    if (!next) {
      const where = at.length ? `scenario.${at.join('.')}` : 'scenario';
      const known = Object.keys(fields ?? {});
      const hint = closest(part, known);
      return {
        error: known.length
          ? `field "${part}" does not exist in ${where}${hint ? `; did you mean "${hint}"?` : ''} Its fields: ${known.join(', ')}`
          : `${where} has no fields (it is ${typeOf(node)}); "${part}" cannot be explained`,
      };
    }
    node = next;
    at.push(part);
  }
  return { node, name: at[at.length - 1] ?? v.kind, at };
}

/** The fields under a node: its properties, or its items' (a list of objects), or a union's object form. */
function fieldsOf(n: SchemaNode): Record<string, SchemaNode> | undefined {
  if (n.properties) return n.properties;
  if (n.items) return fieldsOf(n.items);
  return undefined;
}

/** Text wrapped at `width` columns, each line indented by `indent`. */
function wrap(text: string, indent: string, width = 80): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** Constraints worth a person's eye: enum values, defaults. */
function notes(n: SchemaNode): string[] {
  const out: string[] = [];
  const values = n.enum ?? n.items?.enum ?? n.anyOf?.find((b) => b.enum)?.enum;
  if (values) out.push(`one of: ${values.map((e) => JSON.stringify(e)).join(', ')}`);
  if (n.default !== undefined) out.push(`default: ${JSON.stringify(n.default)}`);
  return out;
}

/** The kubectl-explain text of `path`; `recursive` lists every field below it as a tree instead. */
export function explain(v: CrdVersion, path: string, recursive = false): { text: string } | { error: string } {
  const found = lookup(v, path);
  if ('error' in found) return found;
  const { node, name } = found;
  const required = new Set(fieldsParent(v, found.at)?.required ?? []);
  const head = [
    `KIND:     ${v.kind}`,
    `VERSION:  ${v.group}/${v.version}`,
    '',
    found.at.length
      ? `FIELD: ${name} <${typeOf(node)}>${required.has(name) ? ' -required-' : ''}`
      : `RESOURCE: ${v.kind}`,
    '',
  ];
  const body: string[] = [];
  if (node.description) body.push('DESCRIPTION:', wrap(node.description, '    '), '');
  for (const n of notes(node)) body.push(`    ${n}`);
  if (notes(node).length) body.push('');
  const fields = fieldsOf(node);
  if (fields) {
    body.push('FIELDS:');
    const req = new Set((node.items ?? node).required ?? []);
    if (recursive) body.push(...tree(fields, req, '  '));
    else
      for (const [k, f] of Object.entries(fields)) {
        body.push(`  ${k}\t<${typeOf(f)}>${req.has(k) ? ' -required-' : ''}`);
        if (f.description) body.push(wrap(f.description, '    '));
        body.push('');
      }
  }
  return { text: [...head, ...body].join('\n').replace(/\n*$/, '\n') };
}

function fieldsParent(v: CrdVersion, at: string[]): SchemaNode | undefined {
  if (at.length === 0) return undefined;
  let n = v.root;
  for (const p of at.slice(0, -1)) n = fieldsOf(n)![p];
  return n.items ?? n;
}

function tree(fields: Record<string, SchemaNode>, required: Set<string>, indent: string): string[] {
  return Object.entries(fields).flatMap(([k, f]) => {
    const sub = fieldsOf(f);
    return [
      `${indent}${k}\t<${typeOf(f)}>${required.has(k) ? ' -required-' : ''}`,
      ...(sub ? tree(sub, new Set((f.items ?? f).required ?? []), indent + '  ') : []),
    ];
  });
}

/** Every field path under the root (for shell completion of `explain`). */
export function fieldPaths(v: CrdVersion): string[] {
  const out: string[] = [];
  const walk = (n: SchemaNode, prefix: string) => {
    for (const [k, f] of Object.entries(fieldsOf(n) ?? {})) {
      out.push(prefix + k);
      walk(f, `${prefix}${k}.`);
    }
  };
  walk(v.root, '');
  return out;
}
