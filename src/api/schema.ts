// The Scenario JSON Schema at run time: crds/scenario.yaml, derived by the very function that
// writes crds/scenario.schema.json (scripts/gen-schema.mjs), compiled once with ajv.
//
// Layout this relies on (both are shipped in the npm package, see package.json "files"):
//   <root>/crds/scenario.yaml
//   <root>/scripts/gen-schema.mjs
//   <root>/dist/src/api/schema.js    (this module, compiled)  -> root is ../../../
//   <root>/src/api/schema.ts         (run from source)        -> root is ../../
// The root is found by walking up from this module until crds/scenario.yaml appears.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { isRfc3339 } from './time.js';

/** A JSON Schema node, as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

/** What scripts/gen-schema.mjs exports (it is plain JavaScript; this is its contract). */
interface SchemaGenerator {
  parseCrd(text: string): unknown;
  deriveJsonSchema(crd: unknown): JsonSchema;
  renderJsonSchema(crd: unknown): string;
}

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'crds', 'scenario.yaml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(
    `crds/scenario.yaml not found above ${fileURLToPath(import.meta.url)}; ` +
      'faultline needs its crds/ and scripts/ folders next to dist/',
  );
}

const ROOT = findRoot();

/** Absolute path of crds/scenario.yaml. */
export const CRD_PATH = join(ROOT, 'crds', 'scenario.yaml');
/** Absolute path of the committed editor schema, crds/scenario.schema.json. */
export const SCHEMA_PATH = join(ROOT, 'crds', 'scenario.schema.json');

// Top-level await: the generator is an ES module file outside the TypeScript build, so it can
// only be loaded by URL. Loading it once here keeps scenarioValidator() synchronous.
const generator = (await import(pathToFileURL(join(ROOT, 'scripts', 'gen-schema.mjs')).href)) as SchemaGenerator;

/** `$id` of the derived schema; status sub-schema is `${SCHEMA_ID}#/properties/status`. */
export const SCHEMA_ID = 'https://faultline.dev/schemas/scenario.schema.json';

interface Loaded {
  crd: unknown;
  schema: JsonSchema;
}

interface Compiled {
  ajv: Ajv;
  scenario: ValidateFunction;
  status?: ValidateFunction;
}

// Both lazily built, then reused: parsing the CRD costs ~100 ms, compiling it ~200 ms, and
// validating a file microseconds.
let loaded: Loaded | undefined;
let compiled: Compiled | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const crd = generator.parseCrd(readFileSync(CRD_PATH, 'utf8'));
  loaded = { crd, schema: generator.deriveJsonSchema(crd) };
  return loaded;
}

function compile(): Compiled {
  if (compiled) return compiled;
  const ajv = new Ajv({
    allErrors: true, // report every problem in one pass, not the first
    verbose: true, // errors carry parentSchema and data: validate.ts builds messages from them
    strict: true, // a mistake in the CRD fails loudly here rather than validating nothing
    formats: { 'date-time': isRfc3339 },
    // Half the compile time; the generated code is a little slower, which a file-sized input
    // never notices.
    code: { optimize: false },
    // The derived schema is checked against the draft-07 meta-schema by a unit test
    // (test/unit/api/crd.test.ts); no need to pay for it on every start.
    validateSchema: false,
  });
  ajv.addSchema(load().schema);
  const scenario = ajv.getSchema(SCHEMA_ID);
  if (!scenario) throw new Error(`schema ${SCHEMA_ID} did not compile`);
  compiled = { ajv, scenario };
  return compiled;
}

/** The derived JSON Schema (the same content as crds/scenario.schema.json). Do not mutate. */
export function scenarioSchema(): JsonSchema {
  return load().schema;
}

/** ajv validator for a whole Scenario object (status included, when present). */
export function scenarioValidator(): ValidateFunction {
  return compile().scenario;
}

/** ajv validator for a `status` object alone. */
export function statusValidator(): ValidateFunction {
  const c = compile();
  c.status ??= c.ajv.compile({ $ref: `${SCHEMA_ID}#/properties/status` });
  return c.status;
}

/** The CRD parsed as data (for tests and commands that print it). Do not mutate. */
export function readCrd(): unknown {
  return load().crd;
}

/** Exactly what scripts/gen-schema.mjs would write to crds/scenario.schema.json now. */
export function renderSchemaFile(): string {
  return generator.renderJsonSchema(load().crd);
}
