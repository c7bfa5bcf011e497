// crds/scenario.yaml is a real, structural CRD; crds/scenario.schema.json is exactly what the
// generator derives from it; and the derived schema is closed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import {
  CRD_PATH,
  SCHEMA_PATH,
  readCrd,
  renderSchemaFile,
  scenarioSchema,
  statusValidator,
} from '../../../src/api/schema.js';
import { DNS_LABEL, DNS_LABEL_RE, MAX_SCENARIO_NAME, PATTERN_HINTS } from '../../../src/api/patterns.js';
import { FULL } from './fixtures.js';

type Node = Record<string, unknown>;

const crd = readCrd() as Node;
const spec = crd.spec as Node;
const version = (spec.versions as Node[])[0] as Node;
const openApi = (version.schema as Node).openAPIV3Schema as Node;

/** Visit every schema node of the openAPIV3Schema with its path and whether it sits in a junctor. */
function walk(
  node: Node,
  path: string,
  inJunctor: boolean,
  visit: (n: Node, path: string, inJunctor: boolean) => void,
): void {
  visit(node, path, inJunctor);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Node>))
    walk(v, `${path}.${k}`, inJunctor, visit);
  if (node.items) walk(node.items as Node, `${path}[]`, inJunctor, visit);
  if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties as Node, `${path}{}`, inJunctor, visit);
  for (const j of ['anyOf', 'allOf', 'oneOf'] as const) {
    ((node[j] ?? []) as Node[]).forEach((b, i) => walk(b, `${path}/${j}/${i}`, true, visit));
  }
  if (node.not) walk(node.not as Node, `${path}/not`, true, visit);
}

test('the CRD names, version and status subresource are what faultline reads', () => {
  assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
  assert.equal(crd.kind, 'CustomResourceDefinition');
  assert.equal((crd.metadata as Node).name, 'scenarios.faultline.dev');
  assert.equal(spec.group, 'faultline.dev');
  assert.deepEqual(
    { kind: (spec.names as Node).kind, plural: (spec.names as Node).plural },
    { kind: 'Scenario', plural: 'scenarios' },
  );
  assert.equal(version.name, 'v1alpha1');
  assert.equal(version.served, true);
  assert.equal(version.storage, true);
  assert.deepEqual((version.subresources as Node).status, {});
});

test('the openAPIV3Schema is structural (Kubernetes apiextensions rules)', () => {
  const problems: string[] = [];
  walk(openApi, '', false, (n, path, inJunctor) => {
    const intOrString = n['x-kubernetes-int-or-string'] === true;
    const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
    if (inJunctor) {
      for (const k of ['type', 'description', 'default', 'additionalProperties', 'nullable', 'title']) {
        if (k in n) problems.push(`${path}: ${k} inside a junctor`);
      }
      for (const k of Object.keys(n))
        if (k.startsWith('x-kubernetes-')) problems.push(`${path}: ${k} inside a junctor`);
      return;
    }
    if (n.type === undefined && !intOrString && !preserve) problems.push(`${path}: no type`);
    if (n.properties && n.additionalProperties !== undefined)
      problems.push(`${path}: properties beside additionalProperties`);
    if (n.type === 'array' && !n.items) problems.push(`${path}: array without items`);
    for (const k of ['$ref', 'uniqueItems', 'patternProperties', 'definitions', 'dependencies', 'additionalItems']) {
      if (k in n && !(k === 'uniqueItems' && n[k] === false)) problems.push(`${path}: ${k} is not allowed`);
    }
    if (
      n.type !== undefined &&
      !['array', 'boolean', 'integer', 'number', 'object', 'string'].includes(n.type as string)
    ) {
      problems.push(`${path}: bad type ${String(n.type)}`);
    }
    // Fields named inside a junctor must be declared outside it too.
    for (const j of ['anyOf', 'allOf', 'oneOf'] as const) {
      for (const b of (n[j] ?? []) as Node[]) {
        for (const k of Object.keys((b.properties ?? {}) as Node)) {
          if (!(k in ((n.properties ?? {}) as Node))) problems.push(`${path}: ${j} names ${k} not declared outside`);
        }
        if (b.items && !n.items) problems.push(`${path}: ${j} has items not declared outside`);
      }
    }
    if (n['x-kubernetes-list-type'] === 'map') {
      const item = n.items as Node;
      for (const key of (n['x-kubernetes-list-map-keys'] ?? []) as string[]) {
        if (!((item.required ?? []) as string[]).includes(key))
          problems.push(`${path}: list map key ${key} not required`);
      }
    }
  });
  // Root: only type/properties/required/description with the status subresource.
  for (const k of Object.keys(openApi)) {
    if (!['type', 'properties', 'required', 'description'].includes(k)) problems.push(`root: ${k} not allowed`);
  }
  // metadata may restrict only name, and carries nothing else (not even a description).
  const meta = (openApi.properties as Record<string, Node>).metadata as Node;
  assert.deepEqual(Object.keys(meta).sort(), ['properties', 'type']);
  assert.deepEqual(Object.keys(meta.properties as Node), ['name']);
  assert.deepEqual(problems, []);
});

test('every property in the CRD has a description', () => {
  const missing: string[] = [];
  walk(openApi, '', false, (n, path, inJunctor) => {
    if (inJunctor || path === '' || path.startsWith('.metadata') || path.endsWith('[]') || path.endsWith('{}')) return;
    if (typeof n.description !== 'string' || n.description.trim() === '') missing.push(path);
  });
  assert.deepEqual(missing, []);
});

test('every pattern in the CRD has words for people (patterns.ts)', () => {
  const unknown = new Set<string>();
  walk(openApi, '', false, (n) => {
    if (typeof n.pattern === 'string' && !PATTERN_HINTS[n.pattern]) unknown.add(n.pattern);
  });
  assert.deepEqual([...unknown], []);
});

test('metadata.name in the CRD is the DNS label and length the code checks (patterns.ts)', () => {
  const name = ((openApi.properties as Node).metadata as Node & { properties: Record<string, Node> }).properties
    .name as Node;
  assert.equal(name.pattern, DNS_LABEL);
  assert.equal(DNS_LABEL_RE.source, DNS_LABEL);
  assert.equal(name.maxLength, MAX_SCENARIO_NAME);
});

test('the committed crds/scenario.schema.json is what scripts/gen-schema.mjs derives now', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), renderSchemaFile(), 'stale: run node scripts/gen-schema.mjs');
});

test('the derived schema closes every object that is not a map', () => {
  const open: string[] = [];
  const visit = (n: Node, path: string): void => {
    if (n.type === 'object' && n.additionalProperties === undefined) open.push(path);
    for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, Node>)) visit(v, `${path}.${k}`);
    if (n.items) visit(n.items as Node, `${path}[]`);
    if (typeof n.additionalProperties === 'object') visit(n.additionalProperties as Node, `${path}{}`);
    ((n.anyOf ?? []) as Node[]).forEach((b, i) => visit(b, `${path}/anyOf/${i}`));
  };
  visit(scenarioSchema(), '');
  assert.deepEqual(open, []);
  assert.equal(JSON.stringify(scenarioSchema()).includes('x-kubernetes-'), false);
  assert.deepEqual(scenarioSchema().required, ['apiVersion', 'kind', 'metadata', 'spec']);
});

test('the derived schema is a valid draft-07 JSON Schema', () => {
  const ajv = new Ajv({ strict: true, formats: { 'date-time': true } });
  assert.equal(ajv.validateSchema(scenarioSchema()), true, ajv.errorsText(ajv.errors));
});

test('the CRD file parses with YAML 1.2 so enum "no" stays a string', () => {
  const raw = parse(readFileSync(CRD_PATH, 'utf8'), { version: '1.2' }) as Node;
  assert.ok(JSON.stringify(raw).includes('"no","always"'));
});

test('a full status written by the controller validates against the status schema', () => {
  const doc = parse(FULL, { version: '1.2' }) as Node;
  const validate = statusValidator();
  assert.equal(validate(doc.status), true, JSON.stringify(validate.errors));
});
