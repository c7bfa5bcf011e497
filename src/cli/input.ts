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

/** Every file in the directory, by scenario name (unreadable ones included, with an error). */
export async function listDir(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const file of await listFiles(dir)) {
    const r = await readScenarioFile(file);
    if (!r) continue;
    out.push({
      file,
      name: peekName(r.text) ?? `(${file})`,
      scenario: r.object ?? undefined,
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
