#!/usr/bin/env node
// Derives crds/scenario.schema.json (draft-07 JSON Schema for editors) from crds/scenario.yaml.
//
//   node scripts/gen-schema.mjs           write crds/scenario.schema.json
//   node scripts/gen-schema.mjs --check   exit 1 when the committed file is stale
//
// The runtime validator (src/api/schema.ts) imports deriveJsonSchema from this file, so editors
// and faultline judge a Scenario by exactly the same schema. Plain Node, no build step.
//
// What the derivation does, and why:
//   1. Closes objects. Kubernetes prunes unknown fields silently; for a file a person edits, a
//      typo such as `subnett:` must be an error. Every `type: object` node without
//      additionalProperties and without x-kubernetes-preserve-unknown-fields gets
//      `additionalProperties: false` (this includes `blackhole: {}`, which must stay empty).
//   2. Rebuilds unions. A structural schema may not put `type` inside anyOf, so crds/scenario.yaml
//      spells `loss: "20%" | {percent, correlation}` as
//        loss: {x-kubernetes-preserve-unknown-fields: true, properties: {percent, correlation},
//               anyOf: [{pattern: '^...%$'}, {required: [percent]}]}
//      Here each branch gets the type its keywords imply, and the object branch takes the
//      properties (closed), the array branch the items:
//        loss: {anyOf: [{type: string, pattern: '^...%$'},
//                       {type: object, required: [percent], properties: {...},
//                        additionalProperties: false}]}
//   3. Translates x-kubernetes-int-or-string to anyOf [integer, string] and drops every other
//      x-kubernetes-* key (they mean nothing to a JSON Schema validator).
//   4. Completes what Kubernetes owns: apiVersion and kind become enums (from the CRD's group,
//      versions and kind); metadata, which a CRD may only restrict by name, gets the ObjectMeta
//      fields faultline reads (generation, labels, annotations); the root requires apiVersion,
//      kind, metadata and spec.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const CRD_PATH = fileURLToPath(new URL('../crds/scenario.yaml', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(new URL('../crds/scenario.schema.json', import.meta.url));

/** ObjectMeta fields faultline understands besides name (Kubernetes forbids declaring them in a CRD). */
const OBJECT_META_EXTRAS = {
  generation: {
    description: 'Written by the controller when the spec changes.',
    type: 'integer',
    minimum: 0,
  },
  labels: { description: 'Labels, as in Kubernetes.', type: 'object', additionalProperties: { type: 'string' } },
  annotations: {
    description: 'Annotations, as in Kubernetes.',
    type: 'object',
    additionalProperties: { type: 'string' },
  },
};

/** Keywords that tell the JSON type of a typeless anyOf branch (see the header of crds/scenario.yaml). */
const TYPE_BY_KEYWORD = {
  pattern: 'string',
  minLength: 'string',
  maxLength: 'string',
  format: 'string',
  required: 'object',
  minProperties: 'object',
  maxProperties: 'object',
  minItems: 'array',
  maxItems: 'array',
  minimum: 'number',
  maximum: 'number',
};

/** Parse the CRD text (YAML 1.2 core schema, so `no` stays a string). */
export function parseCrd(text) {
  return parse(text, { version: '1.2', schema: 'core', uniqueKeys: true });
}

/** Read and parse crds/scenario.yaml (or another CRD file). */
export function readCrd(path = CRD_PATH) {
  return parseCrd(readFileSync(path, 'utf8'));
}

/** The storage version's openAPIV3Schema and the names that complete apiVersion/kind. */
function pickVersion(crd) {
  const versions = crd?.spec?.versions ?? [];
  const version = versions.find((v) => v.storage) ?? versions[0];
  if (!version?.schema?.openAPIV3Schema) throw new Error('CRD has no version with schema.openAPIV3Schema');
  return {
    schema: version.schema.openAPIV3Schema,
    apiVersions: versions.filter((v) => v.served).map((v) => `${crd.spec.group}/${v.name}`),
    kind: crd.spec.names.kind,
  };
}

/** Derive the standalone draft-07 JSON Schema from a parsed CRD object. Pure: the input is not changed. */
export function deriveJsonSchema(crd) {
  const { schema, apiVersions, kind } = pickVersion(crd);
  const root = convert(schema, '');
  const props = root.properties;
  props.apiVersion = { ...props.apiVersion, enum: apiVersions };
  props.kind = { ...props.kind, enum: [kind] };
  const meta = props.metadata;
  props.metadata = {
    ...meta,
    required: ['name'],
    properties: { ...meta.properties, ...OBJECT_META_EXTRAS },
    additionalProperties: false,
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://faultline.dev/schemas/scenario.schema.json',
    title: `${kind} (${apiVersions.join(', ')})`,
    ...root,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
  };
}

function isUnion(node) {
  return Array.isArray(node.anyOf) && node.type === undefined && !node['x-kubernetes-int-or-string'];
}

function branchType(branch, where) {
  if (Array.isArray(branch.enum) && branch.enum.length > 0) {
    const types = [...new Set(branch.enum.map((v) => (v === null ? 'null' : typeof v)))];
    if (types.length === 1) return types[0];
  }
  for (const [keyword, type] of Object.entries(TYPE_BY_KEYWORD)) if (keyword in branch) return type;
  throw new Error(`${where}: cannot tell the type of anyOf branch ${JSON.stringify(branch)}`);
}

/** Convert one schema node (recursively); `where` is a JSON-pointer-ish path for error messages. */
function convert(node, where) {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  if (isUnion(node)) return convertUnion(node, where);
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') out.properties = convertMap(value, `${where}/properties`);
    else if (key === 'items' || key === 'additionalProperties' || key === 'not')
      out[key] = typeof value === 'object' ? convert(value, `${where}/${key}`) : value;
    else if (key === 'anyOf' || key === 'allOf' || key === 'oneOf')
      out[key] = value.map((v, i) => convert(v, `${where}/${key}/${i}`));
    else out[key] = value;
  }
  if (node['x-kubernetes-int-or-string'] && !node.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === 'object' && node.additionalProperties === undefined && !open) out.additionalProperties = false;
  return out;
}

function convertMap(props, where) {
  const out = {};
  for (const [name, sub] of Object.entries(props)) out[name] = convert(sub, `${where}/${name}`);
  return out;
}

function convertUnion(node, where) {
  const out = {};
  if (node.description !== undefined) out.description = node.description;
  out.anyOf = node.anyOf.map((branch, i) => {
    const type = branchType(branch, `${where}/anyOf/${i}`);
    const typed = { type, ...convert(branch, `${where}/anyOf/${i}`) };
    if (type === 'object') {
      if (node.properties) typed.properties = convertMap(node.properties, `${where}/properties`);
      typed.additionalProperties = false;
    }
    if (type === 'array' && node.items) typed.items = convert(node.items, `${where}/items`);
    return typed;
  });
  return out;
}

/** The exact text of crds/scenario.schema.json for a parsed CRD (2-space JSON, trailing newline). */
export function renderJsonSchema(crd) {
  return `${JSON.stringify(deriveJsonSchema(crd), null, 2)}\n`;
}

function main(argv) {
  const text = renderJsonSchema(readCrd());
  if (argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(SCHEMA_PATH, 'utf8');
    } catch {
      // missing file: stale
    }
    if (committed !== text) {
      console.error(`${SCHEMA_PATH} is stale; run: node scripts/gen-schema.mjs`);
      return 1;
    }
    return 0;
  }
  writeFileSync(SCHEMA_PATH, text);
  console.log(`wrote ${SCHEMA_PATH}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
