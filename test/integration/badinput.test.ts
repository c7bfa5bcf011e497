// Bad input against ONE running controller. Each test drops one kind of broken file into the
// watched directory next to a healthy scenario and checks that:
//   - the controller reports it where a person looks (the file's status when the YAML parses; its
//     log, the CLI's `validate`/`apply` when it does not) with file:line:col, path and what to do;
//   - nothing is created in Docker for it, and the healthy scenario is not touched;
//   - a file that does not parse is never rewritten (byte-identical after the controller saw it);
//   - the controller keeps running, and fixing the file converges it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { parse } from 'yaml';
import type { Issue, Scenario } from '../../src/api/types.js';
import { formatIssue, formatPath } from '../../src/api/format.js';
import type { Controller } from '../../src/controller/controller.js';
import {
  cli,
  docker,
  eventually,
  forceCleanup,
  ownedLeft,
  readScenario,
  removeDir,
  tempDir,
  uniqueName,
  TESTBOX,
  startController,
  teardown,
} from './lib.js';

// ---------------------------------------------------------------- one controller for the file

interface LogRecord {
  level: number;
  msg: string;
  file?: string;
  code?: string;
  [k: string]: unknown;
}

/** Every scenario in this file is named RUN-<n> ("it-xxxxxx-3"). */
const RUN = uniqueName();
let counter = 0;
const nextName = () => `${RUN}-${++counter}`;

/** Every log record the controller wrote (JSON lines from pino). */
const logs: LogRecord[] = [];
let dir: string;
let controller: Controller;
/** The healthy scenario that lives through every bad file. */
const healthy = { name: nextName(), file: '', ids: [] as string[], readySince: '' };

function validYaml(name: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks:
    - name: net
`;
}

function healthyYaml(name: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks:
    - name: net
  containers:
    - name: server
      image: ${TESTBOX}
    - name: client
      image: ${TESTBOX}
  members:
    - network: net
      select: { names: [server, client] }
`;
}

async function dockerIds(name: string): Promise<string[]> {
  const out = await docker('inspect', '--format', '{{.Id}}', `${name}_server`, `${name}_client`);
  const net = await docker('network', 'inspect', '--format', '{{.Id}}', `${name}_net`);
  return [...out.split('\n'), ...net.split('\n')].filter(Boolean);
}

before(async () => {
  dir = await tempDir();
  ({ controller } = await startController(dir, {
    log: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogRecord) }),
  }));
  healthy.file = join(dir, `${healthy.name}.yaml`);
  await writeFile(healthy.file, healthyYaml(healthy.name));
  const s = await eventually(() => ready(healthy.file), 'the healthy scenario is Ready', 60_000);
  healthy.readySince = s.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime;
  healthy.ids = await dockerIds(healthy.name);
});

after(() => teardown(controller, dir, [healthy.name]));

// ---------------------------------------------------------------- helpers

async function ready(file: string) {
  const s = await readScenario(file);
  const c = s?.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True' && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
}

/** Resolves when the controller has nothing queued or running; fails the test after `ms`. */
async function idle(ms = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`controller not idle after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([controller.idle(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The healthy scenario is still Ready since it first was, on the very same Docker objects. */
async function assertHealthyUntouched(): Promise<void> {
  assert.equal(controller.signal.aborted, false, 'the controller is still running');
  const s = await readScenario(healthy.file);
  const r = s.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(r?.status, 'True', `healthy scenario Ready: ${r?.reason} ${r?.message}`);
  assert.equal(r?.lastTransitionTime, healthy.readySince, 'healthy scenario never left Ready');
  assert.deepEqual(await dockerIds(healthy.name), healthy.ids, 'same containers and network');
}

/** No reconcile crashed since log record `since` (a crash is logged, then retried with backoff). */
function assertNoCrash(since: number): void {
  const crashed = logs.slice(since).filter((l) => /reconcile crashed/.test(l.msg));
  assert.deepEqual(
    crashed.map((l) => `${l.key}: ${(l.err as { message?: string } | undefined)?.message}`),
    [],
    'a reconcile crashed',
  );
}

/** No Docker object is named or labelled after `names` (compared case-insensitively). */
async function assertNothingCreated(...names: string[]): Promise<void> {
  const containers = (await docker('ps', '-a', '--format', '{{.Names}}')).split('\n').filter(Boolean);
  const networks = (await docker('network', 'ls', '--format', '{{.Name}}')).split('\n').filter(Boolean);
  for (const n of names) {
    const prefix = `${n.toLowerCase()}_`;
    const hits = [...containers, ...networks].filter((x) => x.toLowerCase().startsWith(prefix));
    assert.deepEqual(hits, [], `Docker objects named after ${n}`);
    const owned = await ownedLeft(n);
    assert.deepEqual([...owned.containers, ...owned.networks], [], `Docker objects labelled ${n}`);
  }
}

/** Every file under the directory with its bytes, except the controller's lease (renewed on a timer). */
async function dirSnapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    const rel = relative(dir, p);
    if (rel.startsWith('.faultline/')) continue;
    out.set(rel, await readFile(p, 'latin1'));
  }
  return out;
}

/** `faultline apply -f file` fails, names the problem, and leaves every file in the directory as it was. */
async function assertApplyRefused(file: string, expect: RegExp[]): Promise<void> {
  const before = await dirSnapshot();
  const r = await cli('apply', '-f', file, '--dir', dir);
  assert.notEqual(r.code, 0, `apply accepted an invalid file: ${r.stdout}`);
  for (const re of expect) assert.match(r.stderr, re);
  const after = await dirSnapshot();
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'apply added or removed files');
  for (const [k, v] of before) assert.ok(after.get(k) === v, `apply changed ${k}`);
}

async function assertValidateRefused(file: string, expect: RegExp[]): Promise<void> {
  const r = await cli('validate', '-f', file);
  assert.equal(r.code, 1, `validate exit code (stdout: ${r.stdout})`);
  for (const re of expect) assert.match(r.stderr, re);
}

/** Fix the file the way a person saves it, wait for convergence, then delete it and wait until nothing is left. */
async function assertFixConverges(file: string, name: string): Promise<void> {
  await writeFile(file, validYaml(name));
  await eventually(() => ready(file), `${name} Ready after the fix`);
  assert.equal((await ownedLeft(name)).networks.length, 1, 'the fixed scenario created its network');
  await rm(file);
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, `nothing owned by ${name} left after deleting the fixed file`);
}

function cleanupAfter(t: { after(fn: () => Promise<void>): void }, file: string, ...names: string[]): void {
  t.after(async () => {
    await rm(file, { force: true });
    for (const n of names) await forceCleanup(n);
  });
}

/** 1-based line and column of `marker` in the part of `text` before its status. */
function positionOf(text: string, marker: string, last = false): [number, number] {
  const end = text.search(/^status:/m);
  const spec = end < 0 ? text : text.slice(0, end);
  const offset = last ? spec.lastIndexOf(marker) : spec.indexOf(marker);
  assert.ok(offset >= 0, `${JSON.stringify(marker)} is in the file`);
  const before = spec.slice(0, offset).split('\n');
  return [before.length, before[before.length - 1].length + 1];
}

/** A file's content without what the controller owns (status, metadata.generation). */
function withoutControllerFields(text: string): unknown {
  const { status: _status, ...rest } = parse(text) as { status?: unknown; metadata: { generation?: number } };
  delete rest.metadata.generation;
  return rest;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---------------------------------------------------------------- files that parse but are invalid

interface Invalid {
  title: string;
  /** The broken file, for scenario `name`. */
  text(name: string): string;
  /** Name(s) the broken file claims, for the "nothing in Docker" check. */
  claims(name: string): string[];
  /** The issue we look for in status.issues. */
  code: string;
  path: (string | number)[];
  /**
   * Where the issue must point: the start of this text in the spec part of the file as it is when
   * the status is read (the controller may have inserted metadata.generation meanwhile). `last`:
   * its last occurrence.
   */
  at: string;
  last?: boolean;
  /** Key words of the issue's message: what is wrong and what to do. */
  words: RegExp[];
}

const header = (name: string) => `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\n`;

const invalid: Invalid[] = [
  {
    title: 'an unknown nested field (spec.networks[0].ipam.config[0].subnett)',
    text: (n) =>
      `${header(n)}spec:\n  networks:\n    - name: net\n      ipam:\n        config:\n          - subnett: 10.0.0.0/24\n`,
    claims: (n) => [n],
    code: 'schema.additionalProperties',
    path: ['spec', 'networks', 0, 'ipam', 'config', 0, 'subnett'],
    at: 'subnett:',
    words: [/unknown field "subnett"/, /did you mean "subnet"\?/],
  },
  {
    title: 'a wrong type (spec.networks: "x")',
    text: (n) => `${header(n)}spec:\n  networks: "x"\n`,
    claims: (n) => [n],
    code: 'schema.type',
    path: ['spec', 'networks'],
    at: '"x"',
    words: [/must be a list/, /write a list/],
  },
  {
    title: 'an uppercase metadata.name',
    text: (n) => `${header(n.toUpperCase())}spec:\n  networks:\n    - name: net\n`,
    claims: (n) => [n, n.toUpperCase()],
    code: 'schema.pattern',
    path: ['metadata', 'name'],
    at: 'IT-',
    words: [/is not a name \(DNS label/, /write "it-[a-z0-9-]+"/],
  },
  {
    title: 'an underscore in a network name',
    text: (n) => `${header(n)}spec:\n  networks:\n    - name: my_net\n`,
    claims: (n) => [n],
    code: 'schema.pattern',
    path: ['spec', 'networks', 0, 'name'],
    at: 'my_net',
    words: [/"my_net" is not a name/, /write "my-net"/],
  },
  {
    title: 'a 41-character metadata.name',
    text: (n) => `${header(`${n}-`.padEnd(41, 'x'))}spec:\n  networks:\n    - name: net\n`,
    claims: (n) => [n, `${n}-`.padEnd(41, 'x')],
    code: 'schema.maxLength',
    path: ['metadata', 'name'],
    at: 'it-',
    words: [/is 41 characters long/, /at most 40 are allowed/],
  },
  {
    title: 'a CIDR prefix longer than 32 (10.0.0.0/33)',
    text: (n) => `${header(n)}spec:\n  networks:\n    - name: net\n      ipam: { config: [{ subnet: 10.0.0.0/33 }] }\n`,
    claims: (n) => [n],
    code: 'cidr.invalid',
    path: ['spec', 'networks', 0, 'ipam', 'config', 0, 'subnet'],
    at: '10.0.0.0/33',
    words: [/"10\.0\.0\.0\/33" is not a valid CIDR/, /exceeds 32/, /write e\.g\. 10\.0\.0\.0\/24/],
  },
  {
    title: 'a CIDR with host bits set (10.0.0.1/24)',
    text: (n) => `${header(n)}spec:\n  networks:\n    - name: net\n      ipam: { config: [{ subnet: 10.0.0.1/24 }] }\n`,
    claims: (n) => [n],
    code: 'cidr.invalid',
    path: ['spec', 'networks', 0, 'ipam', 'config', 0, 'subnet'],
    at: '10.0.0.1/24',
    words: [/host bits are set/, /the network address is 10\.0\.0\.0\/24/],
  },
  {
    title: 'a network name declared twice',
    text: (n) => `${header(n)}spec:\n  networks:\n    - name: net\n    - name: other\n    - name: net\n`,
    claims: (n) => [n],
    code: 'name.duplicate',
    path: ['spec', 'networks', 2, 'name'],
    at: 'net\n',
    last: true,
    words: [/network "net" is declared twice \(first at spec\.networks\[0\]\)/, /names must be unique/],
  },
];

for (const c of invalid) {
  test(`parses but invalid — ${c.title}: Valid=False with file:line:col, path and advice; nothing in Docker; the fix converges`, async (t) => {
    const name = nextName();
    const file = join(dir, `${name}.yaml`);
    cleanupAfter(t, file, ...c.claims(name));
    const text = c.text(name);
    const since = logs.length;
    await writeFile(file, text);

    // Level-triggered: the status may first be written from a text the controller then changed
    // (it inserts metadata.generation), so wait until it describes the file as it now is.
    const { s, text2, issue } = await eventually(
      async () => {
        const text2 = await readFile(file, 'utf8');
        const s = parse(text2) as Scenario;
        if (s.status?.conditions?.find((x) => x.type === 'Valid')?.status !== 'False') return undefined;
        const issues = (s.status as { issues?: Issue[] }).issues ?? [];
        const issue = issues.find((i) => i.code === c.code && formatPath(i.path) === formatPath(c.path));
        if (!issue)
          throw new Error(`status.issues has no ${c.code} at ${formatPath(c.path)}: ${JSON.stringify(issues)}`);
        const want = positionOf(text2, c.at, c.last);
        if (issue.line !== want[0] || issue.column !== want[1]) {
          throw new Error(`issue at ${issue.line}:${issue.column}, ${JSON.stringify(c.at)} is at ${want.join(':')}`);
        }
        return { s, text2, issue };
      },
      `Valid=False with ${c.code} pointing at ${JSON.stringify(c.at)}`,
    );
    const valid = s.status!.conditions!.find((x) => x.type === 'Valid')!;
    assert.equal(valid.reason, 'InvalidSpec');
    assert.equal(s.status!.phase, 'Failed');
    assert.notEqual(
      s.status!.conditions!.find((x) => x.type === 'Ready')?.status,
      'True',
      'not Ready on a spec never applied',
    );
    const issues = (s.status as { issues?: Issue[] }).issues!;
    for (const re of c.words) assert.match(issue.message, re);
    // The condition names the file and the first problem as file:line:col: path: message.
    const first = issues[0];
    assert.ok(valid.message.includes(formatIssue(file, first)), `condition message: ${valid.message}`);
    if (first === issue) for (const re of c.words) assert.match(valid.message, re);
    assert.match(
      valid.message,
      new RegExp(`${escape(file)}:${first.line}:${first.column}: ${escape(formatPath(first.path))}: `),
    );

    // Only status (and metadata.generation) were added: the person's content is as they saved it.
    assert.deepEqual(withoutControllerFields(text2), withoutControllerFields(text), text2);

    await idle();
    assertNoCrash(since);
    await assertNothingCreated(...c.claims(name));
    const line = new RegExp(escape(formatIssue(file, issue)));
    await assertValidateRefused(file, [line]);
    await assertApplyRefused(file, [line]);
    await assertHealthyUntouched();
    await assertFixConverges(file, name);
    await assertHealthyUntouched();
  });
}

// ---------------------------------------------------------------- files that do not parse

interface Unparseable {
  title: string;
  text(name: string): string;
  code: string;
  /** Where the CLI and the log point; null for whole-file problems (too large). */
  at: [line: number, column: number] | null;
  words: RegExp[];
  /** How the person saves it: in place (default, like fs.writeFile or `>`), or by rename like vim. */
  save?: 'rename';
  /**
   * Text the CLI takes as it is, as kubectl does (several documents, each a scenario of its own), but
   * the controller cannot: a file it watches holds one scenario and its status.
   */
  cliAccepts?: true;
  todo?: string;
}

function billionLaughs(name: string): string {
  let out = `${header(name)}x-lols:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n`;
  const levels = 'abcdefghi';
  for (let i = 1; i < levels.length; i++) {
    const p = levels[i - 1];
    out += `  ${levels[i]}: &${levels[i]} [${Array(9).fill(`*${p}`).join(', ')}]\n`;
  }
  return `${out}spec:\n  description: *i\n`; // 9^9 ≈ 387 million "lol"s once expanded
}

const unparseable: Unparseable[] = [
  {
    title: 'a YAML syntax error',
    text: (n) => `${header(n)}spec:\n  networks:\n    - name: net\n   driver: bridge\n`,
    code: 'yaml.syntax',
    at: [8, 1],
    words: [/All mapping items must start at the same column/],
  },
  {
    title: 'several YAML documents in one file',
    text: (n) => `${header(n)}spec: {}\n---\n${header(`${n}-two`)}spec: {}\n`,
    code: 'yaml.multipleDocuments',
    at: [6, 1],
    words: [/holds 2 YAML documents/, /move the document after "---" \(line 6\) to its own file/],
    cliAccepts: true,
  },
  {
    title: 'a YAML alias bomb (billion laughs)',
    text: billionLaughs,
    code: 'yaml.aliasLimit',
    at: [1, 1],
    words: [/alias bomb/, /use fewer aliases/],
  },
  {
    title: 'a 10 MB file saved by rename',
    text: tenMegabytes,
    code: 'file.tooLarge',
    at: null,
    words: [/at most 1\.0 MiB/, /split it/],
    save: 'rename',
  },
];

/** A valid header and a 10 MiB description: too large, but every prefix under 1 MiB is a valid Scenario. */
function tenMegabytes(name: string): string {
  return `${header(name)}spec:\n  description: ${'x'.repeat(10 * 1024 * 1024)}\n`;
}

for (const c of unparseable) {
  const title = `does not parse — ${c.title}: never rewritten, refused by apply/validate with its position, nothing in Docker; the fix converges`;
  test(title, { todo: c.todo }, async (t) => {
    const name = nextName();
    const file = join(dir, `${name}.yaml`);
    cleanupAfter(t, file, name, `${name}-two`);
    const text = c.text(name);
    const seenBefore = logs.length;
    if (c.save === 'rename') await saveByRename(file, text);
    else await writeFile(file, text);

    // The controller read it and refused it (its log says so, with the position)...
    const where = c.at ? `${file}:${c.at[0]}:${c.at[1]}: ` : `${file}: `;
    const seen = await eventually(
      async () => logs.slice(seenBefore).find((l) => l.file === file && l.code === c.code),
      `the controller logged ${c.code} for ${file}`,
    );
    assert.ok(seen.msg.startsWith(where), `log message: ${seen.msg}`);
    for (const re of c.words) assert.match(seen.msg, re);
    // ...and, once that reconcile is over, the file is exactly what the person saved.
    await idle();
    const seenText = await readFile(file, 'utf8');
    assert.ok(
      seenText === text,
      `the controller rewrote a file that does not parse; it now ends with:\n${seenText.slice(-1500)}`,
    );
    assertNoCrash(seenBefore);

    await assertNothingCreated(name, `${name}-two`);
    const expect = [new RegExp(escape(where)), ...c.words];
    if (c.cliAccepts) {
      const r = await cli('validate', '-f', file);
      assert.equal(r.code, 0, `validate takes each document as a scenario: ${r.stderr}`);
      assert.match(
        r.stdout,
        new RegExp(`${escape(file)} \\(the document at line 7\\): scenario "${name}-two" is valid`),
      );
    } else {
      await assertValidateRefused(file, expect);
      await assertApplyRefused(file, expect);
    }
    assert.ok((await readFile(file, 'utf8')) === text, 'the file changed');
    await assertHealthyUntouched();
    await assertFixConverges(file, name);
    await assertHealthyUntouched();
  });
}

// ---------------------------------------------------------------- the directory itself

test('a 10 MB file written in place, five times: the controller never takes a prefix of it for the file', async (t) => {
  // A writer like fs.writeFile or a download: 512 KiB at a time, in place. Every prefix under
  // 1 MiB is a valid Scenario (a truncated description); the whole file is too large.
  for (let round = 0; round < 5; round++) {
    const name = nextName();
    const file = join(dir, `${name}.yaml`);
    cleanupAfter(t, file, name);
    const text = tenMegabytes(name);
    const since = logs.length;
    const fh = await open(file, 'w');
    try {
      for (let off = 0; off < text.length; off += 512 * 1024) {
        await fh.write(text.slice(off, off + 512 * 1024));
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      await fh.close();
    }
    await eventually(
      async () => logs.slice(since).some((l) => l.file === file && l.code === 'file.tooLarge'),
      `${file} refused as too large`,
    );
    await idle();
    const now = await readFile(file, 'utf8');
    assert.ok(
      now === text,
      `round ${round}: the controller wrote into the file; it now ends with:\n${now.slice(-600)}`,
    );
    await assertNothingCreated(name);
  }
  await assertHealthyUntouched();
});

test('apply of an invalid version of an existing scenario changes nothing in the directory', async () => {
  const source = join(await tempDir(), 'healthy-broken.yaml');
  const broken = healthyYaml(healthy.name).replace(
    '    - name: net\n',
    '    - name: net\n      ipam: { config: [{ subnet: 10.0.0.1/24 }] }\n',
  );
  await writeFile(source, broken);
  try {
    await assertApplyRefused(source, [
      new RegExp(`${escape(source)}:8:34: spec\\.networks\\[0\\]\\.ipam\\.config\\[0\\]\\.subnet: .*host bits are set`),
    ]);
  } finally {
    await removeDir(join(source, '..'));
  }
  await assertHealthyUntouched();
});

test('a file deleted right after it is written, again and again: the controller keeps running, nothing is left', async (t) => {
  const names: string[] = [];
  const since = logs.length;
  t.after(async () => {
    for (const n of names) {
      await rm(join(dir, `${n}.yaml`), { force: true });
      await forceCleanup(n);
    }
  });
  // Three timings: gone before the watcher or the reconcile looks; gone once its reconcile has
  // created the network; gone once its first container exists (the others are on the way).
  for (let round = 0; round < 4; round++) {
    for (const when of ['at once', 'network created', 'container created'] as const) {
      const name = nextName();
      names.push(name);
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, healthyYaml(name));
      if (when === 'network created') {
        await eventually(async () => (await ownedLeft(name)).networks.length > 0, `${name}'s network created`);
      } else if (when === 'container created') {
        await eventually(
          async () => (await ownedLeft(name)).containers.length > 0,
          `${name}'s first container created`,
        );
      }
      await rm(file);
    }
  }
  for (const n of names) {
    await eventually(async () => {
      const left = await ownedLeft(n);
      return left.containers.length === 0 && left.networks.length === 0;
    }, `nothing owned by ${n} left`);
  }
  // Still working: a new scenario converges, and the healthy one never noticed.
  const next = nextName();
  names.push(next);
  await writeFile(join(dir, `${next}.yaml`), validYaml(next));
  await eventually(() => ready(join(dir, `${next}.yaml`)), 'a new scenario converges afterwards');
  assertNoCrash(since);
  await assertHealthyUntouched();
});

test('two files with the same metadata.name: both refused, nothing created; removing one converges the other', async (t) => {
  const name = nextName();
  const a = join(dir, `${name}-a.yaml`);
  const b = join(dir, `${name}-b.yaml`);
  t.after(async () => {
    await rm(a, { force: true });
    await rm(b, { force: true });
    await forceCleanup(name);
  });
  const since = logs.length;
  // A valid file alone would converge at once, so the first file starts out invalid (its name is
  // readable); by the time it is fixed, the second file claims the same name.
  await writeFile(a, `${header(name)}spec:\n  networks: "x"\n`);
  await eventually(
    async () => (await readScenario(a))?.status?.conditions?.find((c) => c.reason === 'InvalidSpec'),
    'a: InvalidSpec',
  );
  await writeFile(b, validYaml(name));
  await eventually(
    async () => (await readScenario(b))?.status?.conditions?.find((c) => c.reason === 'NameConflict'),
    'b: NameConflict',
  );
  await saveByRename(a, validYaml(name));

  for (const [file, other] of [
    [a, b],
    [b, a],
  ]) {
    const s = await eventually(async () => {
      const r = await readScenario(file);
      const v = r?.status?.conditions?.find((c) => c.type === 'Valid');
      return v?.reason === 'NameConflict' && r.spec.networks?.[0].name === 'net' ? r : undefined;
    }, `${file}: Valid=False NameConflict for its valid spec`);
    const v = s.status!.conditions!.find((c) => c.type === 'Valid')!;
    assert.equal(v.status, 'False');
    assert.match(v.message, new RegExp(`scenario name "${name}" is also used by ${escape(other)}`));
    assert.match(v.message, /rename one of them/);
    const issues = (s.status as { issues?: Issue[] }).issues ?? [];
    assert.deepEqual(
      issues.map((i) => [i.code, formatPath(i.path)]),
      [['name.conflict', 'metadata.name']],
    );
  }
  await idle();
  assertNoCrash(since);
  await assertNothingCreated(name);
  await assertHealthyUntouched();

  await rm(b);
  await eventually(() => ready(a), 'the remaining file converges');
  assert.equal((await ownedLeft(name)).networks.length, 1);
  await assertHealthyUntouched();
});

/** Replace a file's content the way an editor that saves by rename does. */
async function saveByRename(file: string, text: string): Promise<void> {
  const tmp = join(dir, `.${Math.random().toString(36).slice(2)}.swp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}
