// stableStringify / specHash: the same text for the same value, on any value a file can produce.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { specHash, stableStringify } from '../../../src/api/hash.js';

/** The recursive definition the iterative one must match (hashes recorded in files depend on it). */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => reference(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`;
}

test('writes what the recursive definition writes, for any JSON-like value', () => {
  const value = fc.letrec((tie) => ({
    any: fc.oneof(
      { depthSize: 'small' },
      fc.constant(undefined),
      fc.jsonValue(),
      fc.array(tie('any')),
      fc.dictionary(fc.string(), tie('any')),
    ),
  })).any;
  fc.assert(
    fc.property(value, (v) => stableStringify(v) === reference(v)),
    { seed: 12, numRuns: 500 },
  );
});

test('a spec hash recorded by earlier versions does not change', () => {
  // Values computed with the recursive implementation this replaced.
  assert.equal(specHash({ suspend: true }), '1538615ba97179d0');
  assert.equal(
    specHash({ networks: [{ name: 'n', driver: 'bridge' }], faults: [{ name: 'x', netem: { delay: '1ms' } }] }),
    '136f1e7a71bedbe5',
  );
  assert.equal(stableStringify({ b: 1, a: [true, undefined], c: undefined }), '{"a":[true,null],"b":1}');
});

test('never overflows the stack, however deep the value', () => {
  let v: unknown = 'leaf';
  for (let i = 0; i < 200_000; i++) v = i % 2 ? [v] : { a: v };
  const text = stableStringify(v);
  assert.ok(text.startsWith('[{"a":[{"a":'));
  assert.ok(text.includes('"leaf"'));
});

test('a value that contains itself (yaml makes one of `a: &x [*x]`) is written, not looped on', () => {
  const data = parseDocument('a: &x [1, *x]\n').toJS() as { a: unknown[] };
  assert.equal(data.a[1], data.a);
  assert.equal(stableStringify(data), '{"a":[1,"[Circular]"]}');
  assert.match(specHash(data), /^[0-9a-f]{16}$/);
  const shared = { x: 1 };
  assert.equal(stableStringify([shared, shared]), '[{"x":1},{"x":1}]', 'a value seen twice is not a cycle');
});
