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
  assert.equal(r.scenario.spec.faults?.length, 14);
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
    bomb += `${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(',')}]\n`;
  }
  const cpu = process.cpuUsage(); // work done, which a busy machine does not stretch
  const issue = one(parseScenario(bomb, 'bomb.yaml'));
  const used = process.cpuUsage(cpu);
  assert.equal(issue.code, 'yaml.aliasLimit');
  assert.match(issue.message, /alias bomb/);
  // expanding it would take minutes of CPU (and gigabytes); refusing it, milliseconds
  assert.ok(used.user + used.system < 1e6, `took ${Math.round((used.user + used.system) / 1000)} ms of CPU`);
});

test('a few ordinary aliases are fine', () => {
  const text = MINIMAL.replace('targets: { names: [server] }', 'targets: &t { names: [server] }\n      peers: *t');
  assert.equal(parseScenario(text, 'x.yaml').ok, true);
});

test('a 10 MB file is refused without being parsed', () => {
  const big = `${MINIMAL}description: "${'x'.repeat(10 * 1024 * 1024)}"\n`;
  const cpu = process.cpuUsage(); // work done, which a busy machine does not stretch
  const issue = one(parseScenario(big, 'big.yaml'));
  assert.equal(issue.code, 'file.tooLarge');
  assert.match(issue.message, /at most 1\.0 MiB/);
  // parsing it takes seconds of CPU; counting its bytes, milliseconds
  const used = process.cpuUsage(cpu);
  assert.ok(used.user + used.system < 500_000, `${Math.round((used.user + used.system) / 1000)} ms of CPU`);
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
  assert.deepEqual(
    lines,
    [...lines].sort((a, b) => a - b),
  );
});

// ---------------------------------------------------------------- hostile input (issue 9)
// Each case: a located issue with a code and a message that says what to do, and never a throw.

function located(text: string, code: string, line: number, column: number): Issue {
  let r: ParseResult | undefined;
  assert.doesNotThrow(() => {
    r = parseScenario(text, 'x.yaml');
  });
  const issue = failed(r as ParseResult)[0] as Issue;
  assert.deepEqual([issue.code, issue.line, issue.column], [code, line, column], JSON.stringify(issue));
  assert.deepEqual(issue.path, []);
  return issue;
}

test('a flow map that is not indented enough is located and says to indent or close it', () => {
  const issue = located(
    MINIMAL.replace('  name: demo\n', '  name: demo\n  labels: {a: b,\nc: d}\n'),
    'yaml.syntax',
    6,
    1,
  );
  assert.match(issue.message, /indent this line with spaces .* or close the bracket/);
});

test('an unterminated double or single quote says to close it', () => {
  for (const q of ['"', "'"]) {
    const issue = located(MINIMAL.replace('name: demo', `name: ${q}demo`), 'yaml.syntax', 4, 9);
    assert.match(issue.message, /never closed, so it runs to the end of the file; close the quote/);
  }
});

test('an alias with no anchor is yaml.alias at the alias, not an alias bomb', () => {
  const issue = located(MINIMAL.replace('netem: { delay: 100ms }', 'netem: *fast'), 'yaml.alias', 14, 14);
  assert.match(issue.message, /alias \*fast names no anchor set before it: write &fast/);
});

test('an alias inside the value it names is yaml.aliasCycle (no circular data reaches validation)', () => {
  const issue = located(
    MINIMAL.replace('netem: { delay: 100ms }', 'netem: &n { delay: [*n] }'),
    'yaml.aliasCycle',
    14,
    27,
  );
  assert.match(issue.message, /would make it infinite/);
});

test('an empty anchor name is a syntax error with what an anchor is', () => {
  const issue = located(MINIMAL.replace('name: demo', 'name: & demo'), 'yaml.syntax', 4, 9);
  assert.match(issue.message, /fix the YAML here|anchor/);
});

test('a NUL byte is file.encoding at its position, suggesting UTF-16 was the cause', () => {
  const issue = located(MINIMAL.replace('name: demo', 'name: de\u0000mo'), 'file.encoding', 4, 11);
  assert.match(issue.message, /NUL byte .* saved as UTF-16, save it as UTF-8/);
  // A UTF-16LE file read as UTF-8: a NUL after every character; counted, reported once.
  const utf16 = Buffer.from(MINIMAL, 'utf16le').toString('utf8');
  const first = located(utf16, 'file.encoding', 1, 2);
  assert.match(first.message, /\(\d+ such characters in the file\)/);
});

test('other control characters are yaml.controlCharacter with the code point and an escape to use', () => {
  const issue = located(MINIMAL.replace('name: demo', 'name: de\u001bmo'), 'yaml.controlCharacter', 4, 11);
  assert.match(issue.message, /U\+001B is not allowed .* \("\\x1b"\) inside a double-quoted string/);
});

test('bytes that are not UTF-8 are file.encoding at the first one', () => {
  const bytes = Buffer.concat([
    Buffer.from(MINIMAL.slice(0, MINIMAL.indexOf('demo'))),
    Buffer.from([0xe9]),
    Buffer.from(MINIMAL.slice(MINIMAL.indexOf('demo'))),
  ]);
  const issue = located(bytes.toString('utf8'), 'file.encoding', 4, 9);
  assert.match(issue.message, /not valid UTF-8 .* save the file as UTF-8/);
});

test('a byte-order mark: fine at the start (columns do not count it), an error in the middle', () => {
  const start = failed(parseScenario(`\uFEFF${MINIMAL.replace('apiVersion', 'apiVersio')}`, 'x.yaml'));
  const unknown = start.find((i) => i.code === 'schema.additionalProperties');
  assert.deepEqual([unknown?.path, unknown?.line, unknown?.column], [['apiVersio'], 1, 1]);
  const issue = located(`${MINIMAL}\uFEFFspec2: x\n`, 'yaml.controlCharacter', 15, 1);
  assert.match(issue.message, /byte-order mark .* remove it/);
});

test('CRLF line endings: syntax errors are located as with LF', () => {
  const text = MINIMAL.replace('kind: Scenario', 'kind: [Scenario').replace(/\n/g, '\r\n');
  const issue = located(text, 'yaml.syntax', 3, 1);
  assert.match(issue.message, /add it where the collection ends|indent/);
});

test('deep nesting that hides behind a quote-like character is still yaml.tooDeep, at its position', () => {
  // A plain value with an apostrophe once made a light scanner skip every bracket after it.
  const text = `${MINIMAL}  description: it's\n  other: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  const issue = located(text, 'yaml.tooDeep', 16, 72);
  assert.match(
    issue.message,
    /nested more than 64 levels deep here, .* flatten this part, or look for a bracket that is never closed/,
  );
});

test('nesting made by error recovery counts too (each line indented one more than the last)', () => {
  // Invalid YAML, but the parser recovers by nesting every line one level deeper than the one
  // before: 1,000 such lines once made a tree 900 levels deep that no bracket count could see.
  const stair = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k${i}: x`).join('\n');
  located(stair, 'yaml.tooDeep', 64, 69);
});

test('deep block nesting (maps and lists) is yaml.tooDeep before the parser recurses', () => {
  const maps = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n';
  located(maps, 'yaml.tooDeep', 65, 65); // the 65th map
  const lists = `${'- '.repeat(20_000)}a\n`;
  located(lists, 'yaml.tooDeep', 1, 129); // the 65th "- "
  const mixed = `a: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`;
  located(mixed, 'yaml.tooDeep', 1, 256); // the 64th "{", inside the root map
});

test('a pair in a flow list is a map of its own, and counts as a level', () => {
  // [a: [b: ...]] composes to list > map > list > map ...: twice as deep as the brackets.
  located(`x: ${'[a: '.repeat(40)}b${']'.repeat(40)}\n`, 'yaml.tooDeep', 1, 128); // the 32nd "[": 1 + 32 + 32 levels
  const shallower = failed(parseScenario(`x: ${'[a: '.repeat(20)}b${']'.repeat(20)}\n`, 'x.yaml')); // 41 levels
  assert.ok(shallower.every((i) => i.code !== 'yaml.tooDeep'));
});

test('brackets inside block scalars, quotes and comments are text, not nesting', () => {
  const deepText = '['.repeat(500);
  const text = MINIMAL.replace(
    'spec:\n',
    `spec:\n  description: |\n    ${deepText}\n    it's [[[[\n# ${deepText}\n`,
  ).replace('name: demo', `name: demo # ${deepText}`);
  const r = parseScenario(text, 'x.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
});

test('the size reported by the reader wins over the text it read (a prefix of a larger file)', () => {
  const issue = one(parseScenario(MINIMAL, 'x.yaml', { bytes: 4.4 * 1024 * 1024 }));
  assert.equal(issue.code, 'file.tooLarge');
  assert.match(issue.message, /^the file is 4\.4 MiB; a Scenario file may be at most 1\.0 MiB: split it/);
});

test('never throws, whatever it is handed', () => {
  for (const input of [
    undefined,
    null,
    42,
    {},
    Buffer.from('a: 1'),
    '\u0000',
    '\uD800',
    '---\n---\n',
    '&a [*a]',
    '*a',
    '!!binary x',
  ]) {
    const r = parseScenario(input as string, 'x.yaml');
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.issues.length > 0 && r.issues.every((i) => i.code && Array.isArray(i.path) && i.message));
  }
});
