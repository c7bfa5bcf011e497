// Helpers for integration tests against the real Docker engine and the real file store.
// Every test scenario is named "it-<random>" so that parallel runs and leftovers are recognisable.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino, type Logger } from 'pino';
import { parse } from 'yaml';
import type { Scenario } from '../../src/api/types.js';
import { Controller } from '../../src/controller/controller.js';
import { systemClock } from '../../src/controller/queue.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { createDockerPort } from '../../src/adapters/docker/port.js';
import { createDirStore } from '../../src/cli/wiring.js';
import { createNetFaults } from '../../src/cli/netfaults.js';

const run = promisify(execFile);

export const TESTBOX = 'faultline/testbox';

export function uniqueName(prefix = 'it'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** docker CLI with an argument array (no shell). Resolves with stdout; rejects on non-zero exit. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 << 20 });
  return stdout;
}

/** Like docker() but returns the exit code instead of throwing. */
export async function dockerStatus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('docker', args, { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'faultline-it-'));
}

export async function readScenario(file: string): Promise<Scenario> {
  return parse(await readFile(file, 'utf8')) as Scenario;
}

export interface Running {
  controller: Controller;
  dir: string;
  stop(): Promise<void>;
}

/** An in-process controller on `dir` with the real Docker adapter and file store. */
export async function startController(dir: string, opts: { resyncMs?: number; log?: Logger } = {}): Promise<Running> {
  const log = opts.log ?? pino({ level: process.env.FAULTLINE_TEST_LOG ?? 'silent' });
  const docker = createDockerPort();
  const controller = new Controller({
    dir,
    docker,
    netFaults: await createNetFaults(docker, 'nsenter', log, controllerIdFor(dir)),
    store: createDirStore(dir),
    clock: systemClock,
    log,
    resyncMs: opts.resyncMs ?? 60_000,
  });
  await controller.start();
  return { controller, dir, stop: () => controller.stop() };
}

/** Everything on the engine still labelled as owned by `scenario`. */
export async function ownedLeft(scenario: string): Promise<{ containers: string[]; networks: string[] }> {
  const f = `label=faultline.dev/scenario=${scenario}`;
  const containers = (await docker('ps', '-a', '--filter', f, '--format', '{{.Names}}')).split('\n').filter(Boolean);
  const networks = (await docker('network', 'ls', '--filter', f, '--format', '{{.Name}}')).split('\n').filter(Boolean);
  return { containers, networks };
}

async function ownedNetworkIds(scenario: string): Promise<string[]> {
  return (await docker('network', 'ls', '-q', '--no-trunc', '--filter', `label=faultline.dev/scenario=${scenario}`)).split('\n').filter(Boolean);
}

/** Remove whatever a test scenario left behind (best effort; for t.after). */
export async function forceCleanup(scenario: string, extraContainers: string[] = []): Promise<void> {
  const left = await ownedLeft(scenario).catch(() => ({ containers: [], networks: [] }));
  const containers = [...left.containers, ...extraContainers];
  if (containers.length) await dockerStatus('rm', '-f', ...containers);
  // by id: two networks can share a name (Docker does not enforce unique names atomically)
  for (const id of await ownedNetworkIds(scenario).catch((): string[] => [])) await dockerStatus('network', 'rm', id);
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Run the compiled CLI (dist/src/cli/bin.js) as a user would. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export interface ScenarioEnv {
  name: string; // unique scenario name
  dir: string; // the watched directory
  file: string; // <dir>/<name>.yaml
  ctl: Running; // the current controller (see restart)
  /** Stop the controller (as if it went away) and start a new one on the same directory. */
  restart(opts?: { downMs?: number }): Promise<Running>;
  stop(): Promise<void>;
}

/**
 * A fresh directory watched by an in-process controller and a unique scenario name; after the
 * test the controller stops and everything the scenario (and `extraContainers`) left is removed.
 */
export async function scenarioEnv(t: { after(fn: () => Promise<void> | void): void }, extraContainers: string[] = []): Promise<ScenarioEnv> {
  const name = uniqueName();
  const dir = await tempDir();
  const env: ScenarioEnv = {
    name,
    dir,
    file: join(dir, `${name}.yaml`),
    ctl: await startController(dir),
    async restart(opts = {}) {
      await env.ctl.stop();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      env.ctl = await startController(dir);
      return env.ctl;
    },
    stop: () => env.ctl.stop(),
  };
  t.after(async () => {
    await env.ctl.stop();
    await forceCleanup(name, extraContainers);
    await removeDir(dir);
  });
  return env;
}
