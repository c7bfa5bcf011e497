// faultline command line: kubectl habits over a directory of Scenario files.
// This is the only place that wires adapters (dockerode, nsenter, the file store) into ports.
import { Command, Option } from 'commander';
import { readFile, readdir, stat } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { ScenarioStore } from '../store/index.js';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { parseScenario } from '../api/parse.js';
import { formatIssue } from '../api/format.js';
import { parseDuration } from '../api/duration.js';
import type { Scenario } from '../api/types.js';
import { desiredState } from '../plan/desired.js';
import { planScenario, planToJSON, planToText } from '../plan/plan.js';
import { Controller, peekName } from '../controller/controller.js';
import { controllerIdFor, currentLease } from '../controller/lease.js';
import { systemClock } from '../controller/queue.js';
import { createDockerPort } from '../adapters/docker/port.js';
import { createKernel } from './netfaults.js';
import { createLogger } from './log.js';
import { createDirStore, listFiles, readScenarioFile, applyFile, deleteScenario } from './wiring.js';
import { renderDescribe, renderGet, type Listed } from './render.js';
import { renderSummary, runScenario } from './run.js';
import { evaluateRecorded, renderGantt, renderSvg } from '../timeline/index.js';

class UserError extends Error {}

function defaultDir(): string {
  return process.env.FAULTLINE_DIR ?? 'scenarios';
}

const dirOption = () => new Option('--dir <dir>', 'directory of Scenario files the controller watches').default(defaultDir(), '$FAULTLINE_DIR or ./scenarios');
const outputOption = (choices: string[]) => new Option('-o, --output <format>', 'output format').choices(choices);

async function inputFiles(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => {
    throw new UserError(`${path}: no such file or directory`);
  });
  if (!st.isDirectory()) return [path];
  return (await readdir(path))
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('.'))
    .sort()
    .map((f) => join(path, f));
}

/** Parse and validate a file given with -f; print every problem (file:line:col) and fail. */
async function loadValid(file: string): Promise<{ scenario: Scenario; text: string }> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read (${e.code ?? e.message})`);
  });
  const r = parseScenario(text, file);
  if (!r.ok) {
    throw new UserError(
      `${file} is not a valid Scenario (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):\n` +
        r.issues.map((i) => '  ' + formatIssue(file, i)).join('\n'),
    );
  }
  return { scenario: r.scenario, text };
}

const netnsOption = () =>
  new Option('--netns-exec <mode>', 'how to enter container network namespaces: nsenter (root on the engine host), helper (a helper container), auto').choices(['auto', 'nsenter', 'helper']).default('auto');
const hostRulesOption = () =>
  new Option('--host-rules <mode>', 'cuts between containers bridged on this host: auto (one chain in the host FORWARD path when br_netfilter allows), off (always in each container namespace)').choices(['auto', 'off']).default('auto');

/** Render a scenario's timeline from its recorded status (or as if it started now). */
function ganttOf(scenario: Scenario | undefined, format: string, width: number): string | undefined {
  if (!scenario?.spec?.faults?.length) return undefined;
  const now = new Date();
  const prev = scenario.status ?? {};
  const t = evaluateRecorded(scenario.metadata.name, scenario.spec, prev, now);
  const frozen = t.frozenMs + (t.frozenSince ? now.getTime() - Date.parse(t.frozenSince) : 0);
  const ctx = { startedAt: new Date(t.startedAt), now, seed: t.seed, frozenMs: frozen };
  return format === 'svg' ? renderSvg(scenario.spec, t.result, ctx, width) : renderGantt(scenario.spec, t.result, ctx, width);
}

async function controllerWatching(dir: string): Promise<boolean> {
  return (await currentLease(dir, new Date())) !== null;
}

async function listDir(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const file of await listFiles(dir)) {
    const r = await readScenarioFile(file);
    if (!r) continue;
    out.push({ file, name: peekName(r.text) ?? `(${file})`, scenario: r.object ?? undefined, error: r.object ? undefined : 'unreadable YAML' });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function print(obj: unknown, format: string | undefined): void {
  if (format === 'json') process.stdout.write(JSON.stringify(obj, null, 2) + '\n');
  else process.stdout.write(toYaml(obj));
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('faultline')
    .description('Declarative network chaos for Docker: Scenario files in, verified faults out.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  program
    .command('controller')
    .description('run the reconcile loop over a directory of Scenario files')
    .addOption(dirOption())
    .option('--resync <duration>', 'full resync period', '60s')
    .option('--workers <n>', 'scenarios reconciled in parallel', '4')
    .option('--log-level <level>', 'trace|debug|info|warn|error', 'info')
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .action(async (opts: { dir: string; resync: string; workers: string; logLevel: string; netnsExec: string; hostRules: 'auto' | 'off' }) => {
      const log = createLogger(opts.logLevel);
      const dir = resolve(opts.dir);
      await stat(dir).catch(() => {
        throw new UserError(`--dir ${opts.dir}: no such directory; create it (mkdir -p ${opts.dir}) or point --dir at your scenarios`);
      });
      const docker = createDockerPort();
      const store = createDirStore(dir);
      const kernel = await createKernel(docker, { mode: opts.netnsExec, hostRules: opts.hostRules }, log, controllerIdFor(dir));
      const controller = new Controller({
        dir,
        docker,
        store,
        kernel,
        clock: systemClock,
        log,
        workers: Number(opts.workers),
        resyncMs: parseDuration(opts.resync),
      });
      await controller.start();
      await new Promise<void>((resolveStop) => {
        const stop = (sig: string) => {
          log.info({ signal: sig }, 'stopping');
          controller.stop().then(resolveStop, resolveStop);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });

  program
    .command('apply')
    .description('create or update scenarios in the watched directory (the status is kept)')
    .requiredOption('-f, --filename <path>', 'a Scenario file, or a directory of them')
    .addOption(dirOption())
    .action(async (opts: { filename: string; dir: string }) => {
      const files = await inputFiles(opts.filename);
      const loaded = [];
      for (const f of files) loaded.push(await loadValid(f)); // all valid, or nothing applied
      for (const { scenario, text } of loaded) {
        const r = await applyFile(opts.dir, text);
        process.stdout.write(`scenario.faultline.dev/${scenario.metadata.name} ${r.result} (${r.file})\n`);
      }
      if (!(await controllerWatching(opts.dir))) {
        process.stderr.write(
          `warning: no controller is watching ${opts.dir}; nothing changes in Docker until one runs: faultline controller --dir ${opts.dir}\n`,
        );
      }
    });

  program
    .command('get')
    .description('list scenarios and their status')
    .argument('[name]', 'one scenario')
    .addOption(dirOption())
    .addOption(outputOption(['yaml', 'json', 'wide']))
    .action(async (name: string | undefined, opts: { dir: string; output?: string }) => {
      let items = await listDir(opts.dir);
      if (name) {
        items = items.filter((i) => i.name === name);
        if (items.length === 0) throw new UserError(`scenario "${name}" not found in ${opts.dir}`);
      }
      if (opts.output === 'yaml' || opts.output === 'json') {
        const objs = items.map((i) => i.scenario ?? { file: i.file, error: i.error });
        print(name ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs }, opts.output);
        return;
      }
      if (items.length === 0) {
        process.stderr.write(`no scenarios in ${opts.dir}\n`);
        return;
      }
      process.stdout.write(renderGet(items, new Date(), opts.output === 'wide'));
    });

  program
    .command('describe')
    .description('show one scenario in detail: conditions, networks, members, faults, events')
    .argument('<name>')
    .addOption(dirOption())
    .action(async (name: string, opts: { dir: string }) => {
      const it = (await listDir(opts.dir)).find((i) => i.name === name);
      if (!it) throw new UserError(`scenario "${name}" not found in ${opts.dir}`);
      process.stdout.write(renderDescribe(it, new Date()));
      const gantt = ganttOf(it.scenario as Scenario | undefined, 'text', Math.max(40, (process.stdout.columns ?? 100) - 30));
      if (gantt) process.stdout.write(`\nTimeline:\n${gantt}`);
    });

  program
    .command('delete')
    .description('delete scenarios from the watched directory; the controller removes what they own')
    .argument('[name]', 'scenario name')
    .option('-f, --filename <path>', 'delete the scenario(s) named in this file or directory')
    .addOption(dirOption())
    .action(async (name: string | undefined, opts: { filename?: string; dir: string }) => {
      const names: string[] = [];
      if (name) names.push(name);
      if (opts.filename) {
        for (const f of await inputFiles(opts.filename)) {
          const n = peekName(await readFile(f, 'utf8'));
          if (!n) throw new UserError(`${f}: metadata.name is missing or not a DNS label; cannot tell which scenario to delete`);
          names.push(n);
        }
      }
      if (names.length === 0) throw new UserError('name a scenario, or give -f FILE');
      for (const n of names) {
        const file = await deleteScenario(opts.dir, n);
        if (!file) throw new UserError(`scenario "${n}" not found in ${opts.dir}`);
        process.stdout.write(`scenario.faultline.dev/${n} deleted (${file})\n`);
      }
      if (!(await controllerWatching(opts.dir))) {
        process.stderr.write(
          `warning: no controller is watching ${opts.dir}; its networks and containers are removed when one starts: faultline controller --dir ${opts.dir}\n`,
        );
      }
    });

  program
    .command('wait')
    .description('wait until a scenario reports a condition (e.g. Ready) for its current generation')
    .argument('<name>')
    .option('--for <condition>', 'condition=Ready, condition=Ready=False, or delete', 'condition=Ready')
    .option('--timeout <duration>', 'give up after', '60s')
    .addOption(dirOption())
    .action(async (name: string, opts: { for: string; timeout: string; dir: string }) => {
      const deadline = Date.now() + parseDuration(opts.timeout);
      const m = /^condition=(Valid|Ready|Degraded)(?:=(True|False))?$/.exec(opts.for);
      if (!m && opts.for !== 'delete') throw new UserError(`--for ${opts.for}: use condition=Ready, condition=Ready=False or delete`);
      for (;;) {
        const it = (await listDir(opts.dir)).find((i) => i.name === name);
        if (opts.for === 'delete' && !it) return;
        const st = it?.scenario?.status;
        const c = st?.conditions?.find((x) => x.type === m?.[1]);
        const current = st?.observedGeneration !== undefined && st.observedGeneration === it?.scenario?.metadata?.generation;
        if (m && c && current && c.status === (m[2] ?? 'True')) {
          process.stdout.write(`scenario.faultline.dev/${name} condition met: ${c.type}=${c.status} (${c.reason})\n`);
          return;
        }
        if (Date.now() > deadline) {
          const detail = c ? `${c.type}=${c.status} ${c.reason}: ${c.message}` : it ? 'no such condition yet' : 'no such scenario';
          throw new UserError(`timed out after ${opts.timeout} waiting for ${name} ${opts.for} (now: ${detail})`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });

  program
    .command('run')
    .description('apply a scenario, follow its timeline in the foreground, remove it at the end; exit 0 only if every fault was applied and verified (for CI)')
    .requiredOption('-f, --filename <path>', 'Scenario file')
    .option('--timeout <duration>', 'stop after this long even if the timeline has not ended')
    .option('--keep', 'at the end, remove the faults but keep networks and containers', false)
    .addOption(outputOption(['text', 'json']))
    .option('--log-level <level>', 'controller log level (logs go to stderr)', 'warn')
    .addOption(netnsOption())
    .addOption(hostRulesOption())
    .action(async (opts: { filename: string; timeout?: string; keep: boolean; output?: string; logLevel: string; netnsExec: string; hostRules: 'auto' | 'off' }) => {
      const { scenario, text } = await loadValid(opts.filename);
      const docker = createDockerPort();
      const kernel = await createKernel(docker, { mode: opts.netnsExec, hostRules: opts.hostRules }, createLogger(opts.logLevel), `run-${scenario.metadata.name}`);
      const summary = await runScenario({
        text,
        scenario,
        docker,
        kernel,
        log: createLogger(opts.logLevel),
        timeoutMs: opts.timeout ? parseDuration(opts.timeout) : undefined,
        keep: opts.keep,
        out: opts.output === 'json' ? process.stderr : process.stdout,
      });
      if (opts.output === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else process.stdout.write(renderSummary(summary));
      if (!summary.ok) process.exitCode = 1;
    });

  program
    .command('timeline')
    .description("render a scenario's timeline (past, current and next windows) as text or SVG")
    .argument('[name]', 'a scenario in --dir (its recorded start and status are used)')
    .option('-f, --filename <path>', 'or a Scenario file (previewed as if it started now)')
    .option('--format <format>', 'text | svg', 'text')
    .option('--width <n>', 'columns (text) or pixels (svg)')
    .addOption(dirOption())
    .action(async (name: string | undefined, opts: { filename?: string; format: string; width?: string; dir: string }) => {
      let scenario: Scenario | undefined;
      if (opts.filename) scenario = (await loadValid(opts.filename)).scenario;
      else if (name) scenario = (await listDir(opts.dir)).find((i) => i.name === name)?.scenario as Scenario | undefined;
      if (!scenario) throw new UserError(name ? `scenario "${name}" not found in ${opts.dir}` : 'name a scenario or give -f FILE');
      if (opts.format !== 'text' && opts.format !== 'svg') throw new UserError('--format must be text or svg');
      const width = opts.width ? Number(opts.width) : opts.format === 'svg' ? 900 : Math.max(40, (process.stdout.columns ?? 100) - 30);
      process.stdout.write(ganttOf(scenario, opts.format, width) ?? 'no faults\n');
    });

  program
    .command('reseed')
    .description('choose new random targets, partitions and random start times: set spec.seed (a new random one, or --seed N)')
    .argument('<name>')
    .option('--seed <n>', 'the seed to use (a non-negative integer)')
    .addOption(dirOption())
    .action(async (name: string, opts: { seed?: string; dir: string }) => {
      const seed = opts.seed !== undefined ? Number(opts.seed) : randomInt(0, 2 ** 31 - 1);
      if (!Number.isSafeInteger(seed) || seed < 0) throw new UserError(`--seed ${opts.seed}: use a non-negative integer`);
      const it = (await listDir(opts.dir)).find((i) => i.name === name);
      if (!it) throw new UserError(`scenario "${name}" not found in ${opts.dir}`);
      const r = await new ScenarioStore().updateFile(it.file, (doc) => {
        doc.setIn(['spec', 'seed'], seed);
      });
      if (!r.written) throw new UserError(`cannot write ${it.file}: ${r.message}`);
      process.stdout.write(`scenario.faultline.dev/${name} reseeded: spec.seed = ${seed}\n`);
    });

  for (const cmd of ['plan', 'diff']) {
    program
      .command(cmd)
      .description('print the Plan that would converge Docker to this scenario (changes nothing)')
      .requiredOption('-f, --filename <path>', 'Scenario file')
      .addOption(dirOption())
      .addOption(outputOption(['text', 'json']))
      .action(async (opts: { filename: string; output?: string; dir: string }) => {
        const { scenario } = await loadValid(opts.filename);
        const docker = createDockerPort();
        const snapshot = await docker.snapshot();
        // As the controller of --dir would plan it (its identity owns what it created).
        const plan = planScenario(desiredState(controllerIdFor(opts.dir), scenario, snapshot), snapshot);
        if (opts.output === 'json') process.stdout.write(JSON.stringify(planToJSON(plan), null, 2) + '\n');
        else process.stdout.write(planToText(plan));
      });
  }

  program
    .command('validate')
    .description('check Scenario files against the schema and the semantic rules (no Docker needed)')
    .requiredOption('-f, --filename <path>', 'a Scenario file, or a directory of them')
    .action(async (opts: { filename: string }) => {
      let bad = 0;
      for (const f of await inputFiles(opts.filename)) {
        try {
          const { scenario } = await loadValid(f);
          process.stdout.write(`${f}: scenario "${scenario.metadata.name}" is valid\n`);
        } catch (e) {
          bad++;
          process.stderr.write(`${(e as Error).message}\n`);
        }
      }
      if (bad) process.exitCode = 1;
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const err = e as Error & { statusCode?: number };
    process.stderr.write(`error: ${err.message}\n`);
    return err instanceof UserError ? 1 : 2;
  }
}
