// parseScenario: the YAML layer's hardening, and what the result carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario, MAX_FILE_BYTES, type ParseResult } from '../../../src/api/parse.js';
import type { Issue } from '../../../src/api/types.js';
import { FULL, MINIMAL } from './fixtures.js';

function failed(r: ParseResult): Issue[] {
  assert.equal(r.ok, false, 'expected the parse to fail');
  return r.ok ? [] : r.issues;
}

function one(r: ParseResult): Issue {
  const issues = failed(r);
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 1));
  return issues[0] as Issue;
}

test('a valid file yields the scenario, its Document and its name', () => {
  const r = parseScenario(FULL, 'scenarios/split-brain.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues, null, 1));
  assert.equal(r.name, 'split-brain');
  assert.equal(r.scenario.spec.faults?.length, 10);
  assert.equal(r.scenario.status?.phase, 'Running');
  assert.equal(r.statusIssues, undefined);
  // The Document keeps comments, so the store can write status back without losing them.
  assert.match(r.doc.toString(), /^# yaml-language-server: \$schema=/);
});

test('a YAML syntax error is reported with its line and column', () => {
  const issue = one(parseScenario('apiVersion: faultline.dev/v1alpha1\nkind: [Scenario\nmetadata: {}\n', 'x.yaml'));
  assert.equal(issue.code, 'yaml.syntax');
  assert.equal(issue.line, 3);
  assert.equal(issue.column, 1);
  assert.match(issue.message, /flow sequence/i);
});

test('tabs used as indentation are a syntax error that says to use spaces', () => {
  const issue = one(parseScenario('spec:\n\tnetworks: []\n', 'x.yaml'));
  assert.equal(issue.code, 'yaml.syntax');
  assert.equal(issue.line, 2);
  assert.match(issue.message, /indent with spaces/);
});

test('a duplicate key is an error at the second occurrence', () => {
  const text = MINIMAL.replace('kind: Scenario\n', 'kind: Scenario\nkind: Scenario\n');
  const issue = one(parseScenario(text, 'x.yaml'));
  assert.equal(issue.code, 'yaml.duplicateKey');
  assert.deepEqual([issue.line, issue.column], [3, 1]);
  assert.match(issue.message, /appears twice/);
});

test('several YAML documents in one file are refused', () => {
  const issue = one(parseScenario(`${MINIMAL}---\n${MINIMAL}`, 'x.yaml'));
  assert.equal(issue.code, 'yaml.multipleDocuments');
  assert.equal(issue.line, 15);
  assert.match(issue.message, /2 YAML documents; a Scenario file holds exactly one/);
});

test('an empty document after a trailing "---" is tolerated', () => {
  assert.equal(parseScenario(`${MINIMAL}---\n`, 'x.yaml').ok, true);
});

test('a billion-laughs alias bomb fails fast with yaml.aliasLimit', () => {
  // 9 levels of 9 aliases each: 9^9 (387 million) strings if expanded.
  let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  const names = 'abcdefghi';
  for (let i = 1; i < 9; i++) {
    bomb += `${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]\n`;
  }
  const started = performance.now();
  const issue = one(parseScenario(bomb, 'bomb.yaml'));
  const elapsed = performance.now() - started;
  assert.equal(issue.code, 'yaml.aliasLimit');
  assert.match(issue.message, /alias bomb/);
  assert.ok(elapsed < 250, `took ${elapsed} ms`);
});

test('a few ordinary aliases are fine', () => {
  const text = MINIMAL.replace('targets: { names: [server] }', 'targets: &t { names: [server] }\n      peers: *t');
  assert.equal(parseScenario(text, 'x.yaml').ok, true);
});

test('a 10 MB file is refused without being parsed', () => {
  const big = `${MINIMAL}description: "${'x'.repeat(10 * 1024 * 1024)}"\n`;
  const started = performance.now();
  const issue = one(parseScenario(big, 'big.yaml'));
  assert.equal(issue.code, 'file.tooLarge');
  assert.match(issue.message, /at most 1\.0 MiB/);
  assert.ok(performance.now() - started < 50);
});

test('the size limit counts UTF-8 bytes, not characters', () => {
  const chars = Math.floor(MAX_FILE_BYTES / 3) + 10; // each "€" is 3 bytes
  const issue = one(parseScenario(`description: "${'€'.repeat(chars)}"\n`, 'x.yaml'));
  assert.equal(issue.code, 'file.tooLarge');
});

test('absurd nesting is refused before the YAML parser can overflow its stack', () => {
  for (const text of [`a: ${'{'.repeat(50_000)}`, `${'- '.repeat(20_000)}a\n`]) {
    const issue = one(parseScenario(text, 'deep.yaml'));
    assert.equal(issue.code, 'yaml.tooDeep');
    assert.equal(issue.line, 1);
  }
  // Brackets inside quotes and comments do not count.
  const quoted = MINIMAL.replace('spec:\n', `spec:\n  description: "${'['.repeat(500)}" # ${'{'.repeat(500)}\n`);
  assert.equal(parseScenario(quoted, 'x.yaml').ok, true);
});

test('an empty file, or one with only comments, says what a Scenario starts with', () => {
  for (const text of ['', '\n\n', '# nothing yet\n']) {
    const issue = one(parseScenario(text, 'x.yaml'));
    assert.equal(issue.code, 'yaml.empty');
    assert.match(issue.message, /apiVersion: faultline\.dev\/v1alpha1/);
  }
});

test('a root that is not a mapping is refused, naming what it is', () => {
  const list = one(parseScenario('- a\n- b\n', 'x.yaml'));
  assert.equal(list.code, 'yaml.notMapping');
  assert.match(list.message, /not a list/);
  const scalar = one(parseScenario('just text\n', 'x.yaml'));
  assert.equal(scalar.code, 'yaml.notMapping');
  assert.match(scalar.message, /not a single value/);
});

test('YAML 1.2 core schema: yes/no/on stay strings', () => {
  const text = MINIMAL.replace('spec:\n', 'spec:\n  description: yes\n').replace('name: net', 'name: "on"');
  const r = parseScenario(text, 'x.yaml');
  assert.ok(r.ok);
  assert.equal(r.scenario.spec.description, 'yes');
  assert.equal(r.scenario.spec.networks?.[0]?.name, 'on');
});

test('YAML 1.1 merge keys are not applied and say so', () => {
  const issue = one(parseScenario(MINIMAL.replace('spec:\n', 'spec:\n  <<: { description: x }\n'), 'x.yaml'));
  assert.equal(issue.code, 'schema.additionalProperties');
  assert.deepEqual(issue.path, ['spec', '<<']);
  assert.match(issue.message, /merge keys are YAML 1\.1/);
});

test('Windows line endings and a byte-order mark do not shift positions', () => {
  const text = `\uFEFF${MINIMAL.replace('delay: 100ms', 'delay: soon')}`.replace(/\n/g, '\r\n');
  const issue = one(parseScenario(text, 'x.yaml'));
  assert.deepEqual([issue.code, issue.line, issue.column], ['schema.pattern', 14, 23]);
});

test('an unresolved tag is an error, not silently text', () => {
  const issue = one(parseScenario(MINIMAL.replace('name: demo', 'name: !custom demo'), 'x.yaml'));
  assert.equal(issue.code, 'yaml.tag');
  assert.deepEqual([issue.line, issue.column], [4, 9]);
});

test('a broken status does not make the spec invalid; it is dropped and reported apart', () => {
  const r = parseScenario(`${MINIMAL}status:\n  phase: Bogus\n  startedAt: yesterday\n`, 'x.yaml');
  assert.ok(r.ok);
  assert.equal(r.scenario.status, undefined);
  assert.deepEqual(
    r.statusIssues?.map((i) => [i.code, i.path.join('.'), i.line]),
    [
      ['schema.enum', 'status.phase', 16],
      ['schema.format', 'status.startedAt', 17],
    ],
  );
});

test('a valid status is kept in the scenario', () => {
  const r = parseScenario(`${MINIMAL}status:\n  phase: Pending\n`, 'x.yaml');
  assert.ok(r.ok);
  assert.deepEqual(r.scenario.status, { phase: 'Pending' });
});

test('an invalid file still returns its Document and name when they are readable', () => {
  const r = parseScenario(MINIMAL.replace('delay: 100ms', 'delay: soon'), 'x.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.name, 'demo');
  assert.ok(r.doc);
  const bad = parseScenario(MINIMAL.replace('name: demo', 'name: Demo'), 'x.yaml');
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.equal(bad.name, undefined);
});

test('a missing metadata.name suggests one from the file name', () => {
  const issue = one(parseScenario(MINIMAL.replace('  name: demo\n', '  labels: {}\n'), 'scenarios/Split Brain.yaml'));
  assert.equal(issue.code, 'schema.required');
  assert.deepEqual(issue.path, ['metadata', 'name']);
  assert.deepEqual([issue.line, issue.column], [4, 3]); // the mapping that should hold it
  assert.match(issue.message, /e\.g\. name: split-brain$/);
});

test('issues come out in document order', () => {
  const text = MINIMAL.replace('name: demo', 'name: Demo').replace('delay: 100ms', 'delay: soon');
  const lines = failed(parseScenario(text, 'x.yaml')).map((i) => i.line ?? 0);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
});
