// kubectl habits: several documents per file, --dry-run, explain, shell completion.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { splitDocuments } from '../../../src/cli/input.js';
import { buildProgram } from '../../../src/cli/main.js';
import { complete } from '../../../src/cli/completion.js';
import { BIN, faultline, tempDir, twoFaults } from './helpers.js';

const run = promisify(execFile);

const two = (a: string, b: string) => `# two scenarios\n---\n${twoFaults(a)}---\n${twoFaults(b)}...\n`;

test('a file is split into its documents at --- lines, each keeping its own text', () => {
  assert.deepEqual(
    splitDocuments('a: 1\n---\nb: 2\n').map((d) => [d.text, d.line]),
    [
      ['a: 1\n', 1],
      ['b: 2\n', 3],
    ],
  );
  // Comment-only documents are left out; `...` ends a document; `--- {x: 1}` starts one inline.
  assert.deepEqual(
    splitDocuments('# c\n---\na: 1\n...\n---   # note\nb: 2\n--- {c: 3}\n').map((d) => d.text),
    ['a: 1\n', 'b: 2\n', '    {c: 3}\n'],
  );
  // A marker must stand at column 0, followed by a space or the line's end.
  assert.equal(splitDocuments('a: |\n  ---\nb: ---x\n').length, 1);
  // One document: the file itself, byte for byte (a leading --- and comments kept).
  const one = '# header\n---\na: 1\n';
  assert.deepEqual(splitDocuments(one), [{ text: one, inPlace: one, line: 1 }]);
  // Every document is parsed in place: the other documents' lines are blank, so lines stay true.
  const d = splitDocuments('a: 1\r\n---\r\nb: 2\r\n')[1];
  assert.equal(d.inPlace, '\r\n\r\nb: 2\r\n');
});

test('validate and apply take several scenarios in one file; problems are located in the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'all.yaml');
  await writeFile(
    file,
    two('first', 'second').replace(/at: 1m/g, (m, off: number) => (off > 900 ? 'at: soon' : m)),
  );
  const bad = await faultline(['validate', '-f', file]);
  assert.equal(bad.code, 1);
  const lines = (await readFile(file, 'utf8')).split('\n');
  const lineOfSoon = lines.findIndex((l) => l.includes('at: soon')) + 1;
  const second = lines.lastIndexOf('---') + 2; // the line after the second marker
  assert.ok(bad.stderr.startsWith(`${file} (the document at line ${second}) is not a valid Scenario`), bad.stderr);
  assert.match(bad.stderr, new RegExp(`all\\.yaml:${lineOfSoon}:\\d+: spec\\.faults\\[1\\]\\.at`));

  await writeFile(file, two('first', 'second'));
  const ok = await faultline(['validate', '-f', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.split('\n').filter(Boolean).length, 2);

  const scen = join(dir, 'scenarios');
  await run('mkdir', ['-p', scen]);
  const applied = await faultline(['apply', '-f', file, '--dir', scen]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.deepEqual((await readdir(scen)).sort(), ['first.yaml', 'second.yaml']);
  assert.equal(await readFile(join(scen, 'second.yaml'), 'utf8'), twoFaults('second'), 'each document as it was');
});

test('the same name twice in one file is refused before anything is written', async (t) => {
  const dir = await tempDir(t);
  const r = await faultline(['apply', '-f', '-', '--dir', dir], { input: two('same', 'same') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /scenario "same" is also defined by/);
  assert.deepEqual(await readdir(dir), []);
});

test('apply --dry-run and delete --dry-run say what would happen and change nothing', async (t) => {
  const dir = await tempDir(t);
  const dry = await faultline(['apply', '-f', '-', '--dir', dir, '--dry-run'], { input: two('a1', 'a2') });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^scenario\.faultline\.dev\/a1 created \(dry run\)/m);
  assert.equal(dry.stderr, '', 'no warning about a controller: nothing was changed');
  assert.deepEqual(await readdir(dir), []);

  await faultline(['apply', '-f', '-', '--dir', dir], { input: twoFaults('a1') });
  const before = await readFile(join(dir, 'a1.yaml'), 'utf8');
  const again = await faultline(['apply', '-f', '-', '--dir', dir, '--dry-run'], { input: two('a1', 'a2') });
  assert.match(again.stdout, /a1 unchanged \(dry run\)/);
  assert.match(again.stdout, /a2 created \(dry run\)/);
  const changed = await faultline(['apply', '-f', '-', '--dir', dir, '--dry-run'], {
    input: twoFaults('a1').replace('at: 30s', 'at: 40s'),
  });
  assert.match(changed.stdout, /a1 configured \(dry run\)/);
  assert.equal(await readFile(join(dir, 'a1.yaml'), 'utf8'), before);

  const del = await faultline(['delete', 'a1', '--dir', dir, '--dry-run']);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /a1 deleted \(dry run\)/);
  assert.deepEqual(await readdir(dir), ['a1.yaml']);
  const missing = await faultline(['delete', 'nope', '--dir', dir, '--dry-run']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /scenario "nope" not found/);
});

test('explain documents a field from the CRD, and says what exists when the path is wrong', async () => {
  const r = await faultline(['explain', 'scenario.spec.faults.netem.loss']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^KIND: {5}Scenario\nVERSION: {2}faultline\.dev\/v1alpha1\n\nFIELD: loss <string \| Object>/);
  assert.match(r.stdout, /Random packet loss/);
  assert.match(r.stdout, /^ {2}percent\t<string>/m);
  const nets = await faultline(['explain', 'spec.networks']);
  assert.match(nets.stdout, /FIELD: networks <\[\]Object>/);
  assert.match(nets.stdout, /^ {2}name\t<string> -required-/m);
  assert.match(nets.stdout, /^ {2}options\t<map\[string\]string>/m);
  const tree = await faultline(['explain', 'spec.faults', '--recursive']);
  assert.match(tree.stdout, /^ {4}names\t<\[\]string>/m);
  const bad = await faultline(['explain', 'spec.faults.netm']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /field "netm" does not exist in scenario\.spec\.faults; did you mean "netem"\?/);
});

test('completion offers commands, options, option values, scenario names and explain paths', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'x.yaml'), twoFaults('web'));
  await writeFile(join(dir, 'y.yaml'), twoFaults('db'));
  const c = (...w: string[]) => complete(buildProgram(), w, { FAULTLINE_DIR: dir });
  assert.deepEqual(await c('de'), ['describe', 'delete']);
  assert.deepEqual(await c('get', '-o', ''), ['yaml', 'json', 'wide']);
  assert.deepEqual(await c('controller', '--netns-exec', 'h'), ['helper']);
  assert.deepEqual(await c('apply', '-f', ''), [':files']);
  assert.deepEqual(await c('get', '--dir', ''), [':dirs']);
  assert.ok((await c('apply', '--')).includes('--dry-run'));
  assert.deepEqual(await c('describe', ''), ['db', 'web']);
  assert.deepEqual(await c('wait', 'w'), ['web']);
  assert.deepEqual(await c('describe', 'web', ''), [], 'describe takes one name');
  assert.deepEqual(await c('explain', 'spec.faults.ne'), ['spec.faults.netem']);
  assert.deepEqual(await c('completion', ''), ['bash', 'zsh']);
});

test('the bash script completes through the real binary', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'x.yaml'), twoFaults('web'));
  const bin = join(dir, 'faultline');
  await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(bin, 0o755);
  const script = (await faultline(['completion', 'bash'])).stdout;
  const shell = async (line: string) => {
    const words = line.split(' ');
    const { stdout } = await run(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _faultline_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAULTLINE_DIR: dir } },
    );
    return stdout.split('\n').filter(Boolean);
  };
  assert.deepEqual(await shell('faultline desc'), ['describe']);
  assert.deepEqual(await shell('faultline describe '), ['web']);
  assert.deepEqual(await shell('faultline get -o j'), ['json']);
  assert.ok((await shell(`faultline apply -f ${dir}/x`)).includes(`${dir}/x.yaml`), 'files from the shell');
});

test('the zsh script completes through the real binary', async (t) => {
  const zsh = await run('which', ['zsh']).catch(() => undefined);
  if (!zsh) return t.skip('zsh is not installed');
  const dir = await tempDir(t);
  await writeFile(join(dir, 'x.yaml'), twoFaults('web'));
  const bin = join(dir, 'faultline');
  await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(bin, 0o755);
  const script = (await faultline(['completion', 'zsh'])).stdout;
  // compadd is a builtin of the completion system: stand in for it and print what it was given.
  const { stdout } = await run(
    'zsh',
    [
      '-fc',
      `compdef() { :; }; compadd() { shift 2; print -l -- "$@"; }; _files() { print FILES; }\n${script}\nwords=(faultline describe ''); CURRENT=3; _faultline`,
    ],
    { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAULTLINE_DIR: dir } },
  );
  assert.deepEqual(stdout.split('\n').filter(Boolean), ['web']);
});
