// What the commands read: Scenario files given with -f (`-f -` is stdin), validated before
// anything is done with them, and the watched directory (--dir), listed by scenario name.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseScenario } from '../api/parse.js';
import { formatIssue } from '../api/format.js';
import type { Scenario } from '../api/types.js';
import { peekName } from '../controller/controller.js';
import { controllerIdFor, currentLease } from '../controller/lease.js';
import { defaultStateDir, readHealth } from '../controller/health.js';
import { listFiles, readScenarioFile } from './wiring.js';
import { readSidecar } from '../store/index.js';
import type { Listed } from './tables.js';
import { UserError } from './options.js';

/** `-f -`: the scenario comes from stdin. */
export const STDIN = '-';

/** The files named by -f: the file itself, or the YAML files of a directory (sorted). */
export async function inputFiles(path: string): Promise<string[]> {
  if (path === STDIN) return [STDIN];
  const st = await stat(path).catch(() => {
    throw new UserError(`${path}: no such file or directory`);
  });
  if (!st.isDirectory()) return [path];
  return (await readdir(path))
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('.'))
    .sort()
    .map((f) => join(path, f));
}

/** A file's text; `-` reads stdin to its end. */
export async function readInput(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (file === STDIN) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read (${e.code ?? e.message})`);
  });
}

/** How a -f input is named in messages. */
export const inputLabel = (file: string) => (file === STDIN ? '<stdin>' : file);

/** Parse and validate a file given with -f; print every problem (file:line:col) and fail. */
export async function loadValid(file: string): Promise<{ scenario: Scenario; text: string }> {
  const text = await readInput(file);
  const label = inputLabel(file);
  const r = parseScenario(text, label);
  if (!r.ok) {
    throw new UserError(
      `${label} is not a valid Scenario (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):\n` +
        r.issues.map((i) => '  ' + formatIssue(label, i)).join('\n'),
    );
  }
  return { scenario: r.scenario, text };
}

/** One YAML document of a file with several (`---`): its own text, and where it starts. */
export interface DocumentText {
  /** The document alone: what `apply` writes into its own file. */
  text: string;
  /**
   * The whole file with every other document blanked (their lines kept, empty): parsed instead of
   * `text`, every problem keeps the line and column it has in the file.
   */
  inPlace: string;
  /** 1-based line of its first line in the file. */
  line: number;
}

/** A document marker at column 0: `---` or `...`, alone or followed by a space (YAML 1.2, 9.1). */
const MARKER = /^(---|\.\.\.)(?=[ \t]|\r?\n|$)/;

/**
 * The documents of a file, split at its `---` lines the way YAML does (a marker is never inside
 * a scalar of a valid document), as kubectl splits a manifest. Documents holding only comments or
 * blank lines are left out. A file with one document is that document, byte for byte.
 *
 *   "a: 1\n---\nb: 2\n"  ->  [{text: "a: 1\n", line: 1}, {text: "b: 2\n", line: 3}]
 */
export function splitDocuments(text: string): DocumentText[] {
  const lines = text.split(/(?<=\n)/);
  // [start, end) line ranges; `inline`: the first line is a marker with content after it
  // (`--- {a: 1}`), which belongs to the document with the marker blanked.
  const docs: { start: number; end: number; inline: boolean }[] = [];
  let start = 0;
  let inline = false;
  lines.forEach((l, i) => {
    if (!MARKER.test(l)) return;
    docs.push({ start, end: i, inline });
    const rest = l.slice(3).trim();
    inline = l.startsWith('---') && rest !== '' && !rest.startsWith('#');
    start = inline ? i : i + 1;
  });
  docs.push({ start, end: lines.length, inline });
  const out: DocumentText[] = [];
  for (const { start, end, inline } of docs) {
    const own = lines.slice(start, end);
    if (inline) own[0] = own[0].replace(/^---/, '   ');
    const body = own.join('');
    if (!body.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) continue;
    const blank = (ls: string[]) =>
      ls.map((l) => (l.endsWith('\r\n') ? '\r\n' : l.endsWith('\n') ? '\n' : '')).join('');
    out.push({
      text: body,
      inPlace: blank(lines.slice(0, start)) + body + blank(lines.slice(end)),
      line: start + 1,
    });
  }
  // One document (markers or not): the file as it is, byte for byte, comments before `---` too.
  return out.length > 1 ? out : [{ text, inPlace: text, line: 1 }];
}

/**
 * Parse and validate every document of a file given with -f (several documents are split at
 * `---`). All problems of all documents are reported together, each at its line in the file.
 */
export async function loadAllValid(file: string): Promise<{ scenario: Scenario; text: string; label: string }[]> {
  const whole = await readInput(file);
  const label = inputLabel(file);
  const docs = splitDocuments(whole);
  const out: { scenario: Scenario; text: string; label: string }[] = [];
  const problems: string[] = [];
  for (const d of docs) {
    const where = docs.length > 1 ? `${label} (the document at line ${d.line})` : label;
    const r = parseScenario(d.inPlace, label);
    if (r.ok) out.push({ scenario: r.scenario, text: d.text, label: where });
    else
      problems.push(
        `${where} is not a valid Scenario (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):\n` +
          r.issues.map((i) => '  ' + formatIssue(label, i)).join('\n'),
      );
  }
  if (problems.length) throw new UserError(problems.join('\n'));
  const seen = new Map<string, string>();
  for (const { scenario, label: l } of out) {
    const n = scenario.metadata.name;
    if (seen.has(n))
      throw new UserError(`${l}: scenario "${n}" is also defined by ${seen.get(n)}; names must be unique`);
    seen.set(n, l);
  }
  return out;
}

/**
 * The command's --dir, which must be an existing directory. The message says where the value
 * came from (the default, FAULTLINE_DIR or --dir) and what to do.
 */
export async function watchedDir(cmd: Command): Promise<string> {
  const dir = cmd.opts<{ dir: string }>().dir;
  const st = await stat(dir).catch(() => undefined);
  if (st?.isDirectory()) return dir;
  const what = st ? 'is not a directory' : 'does not exist';
  const fix = `create it (mkdir -p ${dir}), or point --dir or FAULTLINE_DIR at your directory of Scenario files`;
  switch (cmd.getOptionValueSource('dir')) {
    case 'env':
      throw new UserError(`FAULTLINE_DIR=${dir}: the scenario directory ${what}; ${fix}`);
    case 'cli':
      throw new UserError(`--dir ${dir}: the scenario directory ${what}; ${fix}`);
    default:
      throw new UserError(
        `the scenario directory ./${dir} (the default when neither --dir nor FAULTLINE_DIR is given) ${what} here; ${fix}`,
      );
  }
}

/**
 * Every file in the directory, by scenario name (unreadable ones included, with an error). The
 * status is the file's own, or its sidecar's when the controller keeps it beside the file
 * (`--status-in sidecar`: `.faultline/<file>.status.yaml`, with the generation).
 */
export async function listDir(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const file of await listFiles(dir)) {
    const r = await readScenarioFile(file);
    if (!r) continue;
    let scenario = r.object ?? undefined;
    const held = readSidecar(file);
    if (scenario && held.text !== '') {
      const metadata = { ...scenario.metadata, generation: held.generation } as Scenario['metadata'];
      scenario = { ...scenario, metadata, status: held.status };
    }
    out.push({
      file,
      name: peekName(r.text) ?? `(${file})`,
      scenario,
      error: r.object ? undefined : 'unreadable YAML',
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The state directory a command was given (--state-dir, FAULTLINE_STATE_DIR) or the default. */
export function stateDirOf(cmd: Command): string {
  return cmd.opts<{ stateDir?: string }>().stateDir ?? defaultStateDir(process.env, process.getuid?.());
}

/**
 * The items with what the controller could not write into their files: a scenario whose status the
 * filesystem refuses shows the status the controller keeps for it, and the problem.
 */
export async function withHealth(dir: string, items: Listed[], stateDir: string): Promise<Listed[]> {
  const health = await readHealth(dir, controllerIdFor(dir), stateDir);
  if (!health?.statusWrites.length) return items;
  return items.map((it) => {
    const p = health.statusWrites.find((x) => x.scenario === it.name);
    if (!p) return it;
    const { status, ...problem } = p;
    return {
      ...it,
      statusWrite: problem,
      ...(status && it.scenario ? { scenario: { ...it.scenario, status } } : {}),
    };
  });
}

/** The scenario called `name` in `dir`, or a UserError. */
export async function findScenario(dir: string, name: string, stateDir?: string): Promise<Listed> {
  const all = await listDir(dir);
  const it = (stateDir ? await withHealth(dir, all, stateDir) : all).find((i) => i.name === name);
  if (!it) throw new UserError(`scenario "${name}" not found in ${dir}`);
  return it;
}

export async function controllerWatching(dir: string): Promise<boolean> {
  return (await currentLease(dir, new Date())) !== null;
}
