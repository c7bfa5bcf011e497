// 1,000 hostile Scenario texts through parseScenario (+ validation), the path the controller and
// `faultline validate` take (issue 9). For every one: no throw; an invalid one has at least one
// issue with a code, a path and a message, and a line and column whenever the text is YAML. And
// the nesting guard (api/guard.ts) never estimates less depth than the parser then finds.
//
// The seed is fixed so a run is reproducible; FAULTLINE_FUZZ_SEED=<n> explores another part of
// the space (and FAULTLINE_FUZZ_RUNS=<n> more or fewer texts). A failure prints the seed and the
// path fast-check needs to replay it, and the mutations that made the text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isMap, isPair, isSeq, parseDocument } from 'yaml';
import { guardText, nestingDepth } from '../../../src/api/guard.js';
import { specHash } from '../../../src/api/hash.js';
import { parseScenario } from '../../../src/api/parse.js';
import type { Issue } from '../../../src/api/types.js';
import { type HostileSpec, EXAMPLES, hostileSpec } from './hostile.js';

/**
 * For a text guardText lets through: does it parse as one YAML document without errors (then every
 * issue must have a position), and how deep does the parsed tree really nest (iteratively)?
 */
function parsedShape(text: string): { yaml: boolean; depth: number } {
  const doc = parseDocument(text, { version: '1.2', uniqueKeys: true, logLevel: 'error' });
  let depth = 0;
  const work: [unknown, number][] = [[doc.contents, 1]];
  while (work.length > 0) {
    const [node, d] = work.pop() as [unknown, number];
    if (!isMap(node) && !isSeq(node)) continue;
    depth = Math.max(depth, d);
    for (const item of node.items) {
      if (isPair(item)) work.push([item.key, d + 1], [item.value, d + 1]);
      else work.push([item, d + 1]);
    }
  }
  return { yaml: doc.errors.length === 0, depth };
}

function checkIssue(issue: Issue, spec: HostileSpec, yaml: boolean): void {
  const where = `${spec.file} after ${spec.applied.join(' | ')}: ${JSON.stringify(issue)}`;
  assert.match(issue.code, /^[a-z]+\.[A-Za-z.]+$/, `a code: ${where}`);
  assert.ok(
    Array.isArray(issue.path) && issue.path.every((p) => typeof p === 'string' || typeof p === 'number'),
    `a path: ${where}`,
  );
  assert.ok(typeof issue.message === 'string' && issue.message.length >= 10, `a message: ${where}`);
  if (yaml || (issue.line !== undefined && issue.code !== 'file.tooLarge')) {
    assert.ok(Number.isInteger(issue.line) && (issue.line as number) >= 1, `a line: ${where}`);
    assert.ok(Number.isInteger(issue.column) && (issue.column as number) >= 1, `a column: ${where}`);
    assert.ok((issue.line as number) <= spec.text.split('\n').length + 1, `a line inside the file: ${where}`);
  }
}

test('hostile specs: never a throw, always a located issue with a code', (t) => {
  const seed = Number(process.env.FAULTLINE_FUZZ_SEED ?? 90_212);
  const numRuns = Number(process.env.FAULTLINE_FUZZ_RUNS ?? 1000);
  assert.ok(
    Number.isSafeInteger(seed) && Number.isSafeInteger(numRuns),
    'FAULTLINE_FUZZ_SEED and FAULTLINE_FUZZ_RUNS are integers',
  );
  // The examples themselves are valid: the mutations are what makes a text hostile.
  for (const e of EXAMPLES) assert.equal(parseScenario(e.text, e.file).ok, true, e.file);

  const counts = { generated: 0, invalid: 0, valid: 0, yaml: 0 };
  const codes = new Map<string, number>();
  const started = performance.now();
  fc.assert(
    fc.property(hostileSpec, (spec) => {
      counts.generated++;
      const shape = guardText(spec.text) === undefined ? parsedShape(spec.text) : { yaml: false, depth: 0 };
      // The depth guard runs before any parser, so it must never count less than the parser builds.
      if (shape.depth > 0) {
        const estimate = nestingDepth(spec.text).depth;
        assert.ok(
          estimate >= shape.depth,
          `depth estimate ${estimate} below the real depth ${shape.depth}: ${spec.applied.join(' | ')}`,
        );
      }
      let r: ReturnType<typeof parseScenario>;
      try {
        r = parseScenario(spec.text, spec.file);
      } catch (err) {
        assert.fail(`parseScenario threw for ${spec.file} after ${spec.applied.join(' | ')}: ${String(err)}`);
      }
      if (r.ok) {
        counts.valid++;
        assert.match(specHash(r.scenario.spec), /^[0-9a-f]{16}$/);
        return;
      }
      counts.invalid++;
      const { yaml } = shape;
      if (yaml) counts.yaml++;
      assert.ok(r.issues.length >= 1, `no issue for an invalid text: ${spec.applied.join(' | ')}`);
      for (const issue of r.issues) {
        checkIssue(issue, spec, yaml);
        codes.set(issue.code, (codes.get(issue.code) ?? 0) + 1);
      }
    }),
    { seed, numRuns, endOnFailure: true },
  );
  const top = [...codes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  t.diagnostic(
    `hostile specs: ${counts.generated} generated with seed ${seed} (FAULTLINE_FUZZ_SEED), ${counts.invalid} invalid ` +
      `(${counts.yaml} of them parse as YAML), ${counts.valid} still valid, 0 throws, ${Math.round(performance.now() - started)} ms`,
  );
  t.diagnostic(`most frequent issue codes: ${top}`);
  assert.equal(counts.generated, numRuns);
});
