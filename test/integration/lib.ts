// Helpers for integration tests against the real Docker engine and the real file store.
// Every test scenario is named "it-<random>" so that parallel runs and leftovers are recognisable.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { appendFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { parse } from 'yaml';
import type { Scenario } from '../../src/api/types.js';
import type { KernelPort } from '../../src/ports/index.js';
import { Controller } from '../../src/controller/controller.js';
import { systemClock } from '../../src/store/index.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { createDockerPort } from '../../src/adapters/docker/port.js';
import { createDirStore } from '../../src/cli/wiring.js';
import { createKernel } from '../../src/cli/netfaults.js';
import { dockerdPid, hostRoutes } from '../../src/adapters/hostns.js';
import { parseAddressPool } from '../../src/plan/addresses.js';
import { createSysfsBridgePorts } from '../../src/adapters/bridgeports.js';
import { HOST_TABLE, hostRootChain, hostScenarioChain, hostTeardown } from '../../src/netfaults/host.js';
import { parseIptablesSave } from '../../src/netfaults/index.js';
import { binomialInterval } from '../../src/netfaults/probe.js';

const run = promisify(execFile);

export const TESTBOX = 'faultline/testbox';

/**
 * Where the tests' controllers take subnets for networks declared without one (10.218.0.0/17,
 * the tests' address-pool range): the in-process ones below, and the CLI processes tests start (the variable).
 */
export const TEST_ADDRESS_POOL = '10.218.0.0/17/24';
process.env.FAULTLINE_ADDRESS_POOL ??= TEST_ADDRESS_POOL;

export function uniqueName(prefix = 'it'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * How long one docker CLI call may take (FAULTLINE_TEST_DOCKER_TIMEOUT_MS, default 180 s): a call
 * that never returns (a `docker exec` can hang in the engine under load) fails the test with its
 * argv, instead of holding the run until CI's limit with nothing said.
 */
const DOCKER_CLI_MS = Number(process.env.FAULTLINE_TEST_DOCKER_TIMEOUT_MS ?? 180_000);

function dockerCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  // SIGKILL: the docker CLI catches SIGTERM and may exit 0 with nothing printed.
  return run('docker', args, { maxBuffer: 16 << 20, timeout: DOCKER_CLI_MS, killSignal: 'SIGKILL' }).catch(
    (e: unknown) => {
      const err = e as Error & { killed?: boolean; signal?: string; code?: unknown; hung?: boolean };
      if (err.killed && err.signal === 'SIGKILL' && err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
        err.hung = true;
        err.message = `docker ${args.join(' ')}: no answer within ${DOCKER_CLI_MS / 1000} s (killed)`;
      }
      throw err;
    },
  );
}

/** docker CLI with an argument array (no shell). Resolves with stdout; rejects on non-zero exit. */
export async function docker(...args: string[]): Promise<string> {
  return (await dockerCli(args)).stdout;
}

/**
 * Like docker() but returns the exit code instead of throwing. A `docker exec` that hung (killed
 * after DOCKER_CLI_MS: the engine's, not the program's, every program the tests exec is bounded) is
 * run once more, and says so on stderr; a second hang is returned as code 124 with that message.
 */
export async function dockerStatus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout, stderr } = await dockerCli(args);
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string; hung?: boolean; message: string };
      if (err.hung) {
        const again = attempt === 1 && args[0] === 'exec';
        process.stderr.write(`${err.message}${again ? '; once more' : ''}\n`);
        if (again) continue;
        return { code: 124, stdout: err.stdout ?? '', stderr: `${err.stderr ?? ''}${err.message}` };
      }
      return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }
}

import { eventually } from '../eventually.js';

export { eventually };

/**
 * Confidence for a check sampled once: a correct rate falls outside 1 time in a million runs, so the
 * suite does not flake, while 30 % loss against 0 % or 60 % still lies many intervals apart.
 */
export const ONE_SHOT = 1 - 1e-6;

export { binomialInterval };

/**
 * A scenario of two testbox containers, a and b, on one network: `faults` are list items (indented
 * four spaces; none: no faults key), `extra` spec lines before the network, `network` its entry.
 */
export function pairScenario(name: string, faults: string, extra = '', network = '{ name: net }'): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
${extra}  networks: [${network}]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b] } }]
${faults ? `  faults:\n${faults}\n` : ''}`;
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
export async function startController(
  dir: string,
  opts: {
    resyncMs?: number;
    log?: Logger;
    hostRules?: 'auto' | 'off';
    reverifyMs?: number;
    stateDir?: string;
    addressPool?: string;
    /** Stands between the controller and its kernel engine (a test that holds a call). */
    wrapKernel?: (kernel: KernelPort) => KernelPort;
  } = {},
): Promise<Running> {
  const log = opts.log ?? testLogger();
  const docker = createDockerPort();
  const kernel = await createKernel(
    docker,
    { mode: 'nsenter', hostRules: opts.hostRules ?? 'auto', reverifyMs: opts.reverifyMs },
    log,
    controllerIdFor(dir),
  );
  const controller = new Controller({
    dir,
    docker,
    kernel: opts.wrapKernel ? opts.wrapKernel(kernel) : kernel,
    store: createDirStore(dir),
    clock: systemClock(),
    log,
    resyncMs: opts.resyncMs ?? 60_000,
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    addressPools: [parseAddressPool(opts.addressPool ?? TEST_ADDRESS_POOL)],
    hostRoutes: async () => hostRoutes(await dockerdPid(process.pid)),
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
  return (await docker('network', 'ls', '-q', '--no-trunc', '--filter', `label=faultline.dev/scenario=${scenario}`))
    .split('\n')
    .filter(Boolean);
}

/**
 * After a test: stop its controller, remove what its scenarios left on the engine and its chains in
 * the host, and its directory. (A controller stops with its faults in place, as a real one does.)
 */
export async function teardown(
  ctl: { stop(): Promise<void> } | undefined,
  dir: string | undefined,
  scenarios: string[],
  extraContainers: string[] = [],
): Promise<void> {
  await ctl?.stop();
  for (const [i, s] of scenarios.entries()) await forceCleanup(s, i === 0 ? extraContainers : []);
  if (dir) {
    await removeHostChains(dir);
    await removeDir(dir);
  }
}

/** Remove whatever a test scenario left behind: containers, networks, volumes (best effort; for t.after). */
export async function forceCleanup(scenario: string, extraContainers: string[] = []): Promise<void> {
  const left = await ownedLeft(scenario).catch(() => ({ containers: [], networks: [] }));
  const containers = [...left.containers, ...extraContainers];
  if (containers.length) await dockerStatus('rm', '-f', ...containers);
  // by id: two networks can share a name (Docker does not enforce unique names atomically)
  for (const id of await ownedNetworkIds(scenario).catch((): string[] => [])) await dockerStatus('network', 'rm', id);
  const volumes = (
    await dockerStatus('volume', 'ls', '-q', '--filter', `label=faultline.dev/scenario=${scenario}`)
  ).stdout
    .split('\n')
    .filter(Boolean);
  if (volumes.length) await dockerStatus('volume', 'rm', '-f', ...volumes);
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
export async function scenarioEnv(
  t: { after(fn: () => Promise<void> | void): void },
  extraContainers: string[] = [],
  controllerOpts: Parameters<typeof startController>[1] = {},
): Promise<ScenarioEnv> {
  const name = uniqueName();
  const dir = await tempDir();
  const env: ScenarioEnv = {
    name,
    dir,
    file: join(dir, `${name}.yaml`),
    ctl: await startController(dir, controllerOpts),
    async restart(opts = {}) {
      await env.ctl.stop();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      env.ctl = await startController(dir, controllerOpts);
      return env.ctl;
    },
    stop: () => env.ctl.stop(),
  };
  t.after(() => teardown(env.ctl, dir, [name], extraContainers));
  return env;
}

// ---------------------------------------------------------------- the host's FORWARD path

/**
 * `iptables-save -t <table>` (or ip6tables-save) of the host's namespace (the Docker daemon's), read
 * with nsenter; by default the table of the host path's chains (mangle).
 */
export async function hostIptablesSave(family: 4 | 6 = 4, table: string = HOST_TABLE): Promise<string[]> {
  const pid = await dockerdPid(process.pid);
  const { stdout } = await run(
    'nsenter',
    [`--net=/proc/${pid}/ns/net`, family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', table],
    { maxBuffer: 64 << 20 },
  );
  return stdout.split('\n').filter((l) => l && !l.startsWith('#'));
}

/** `iptables-restore --noflush` (or ip6tables-restore) of `program` in the host's namespace. */
export async function hostRestore(program: string, family: 4 | 6 = 4): Promise<void> {
  const pid = await dockerdPid(process.pid);
  const tool = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
  await new Promise<void>((resolve, reject) => {
    const child = execFile('nsenter', [`--net=/proc/${pid}/ns/net`, tool, '--noflush'], (e) =>
      e ? reject(e) : resolve(),
    );
    child.stdin?.end(program);
  });
}

/**
 * Remove a controller's chains from the host (test cleanup: a test's controller stops with its
 * faults in place, as a real one does, and its directory is gone afterwards, so no later controller
 * would ever sweep them).
 */
export async function removeHostChains(dir: string): Promise<void> {
  const root = hostRootChain(controllerIdFor(dir));
  for (const family of [4, 6] as const)
    for (const table of [HOST_TABLE, 'filter']) {
      const program = hostTeardown(parseIptablesSave((await hostIptablesSave(family, table)).join('\n')), root, table);
      if (program) await hostRestore(program, family);
    }
}

/** Every line of a controller's chains in the host (its FAULTLINE-<hash> chains and the jump to them). */
export async function hostOwnedLines(scope: string, family: 4 | 6 = 4): Promise<string[]> {
  const root = hostRootChain(scope);
  return (await hostIptablesSave(family)).filter((l) => l.includes(root));
}

/** A container's bridge ports (host-side veth names), read from sysfs. */
export async function bridgePortsOf(container: string): Promise<string[]> {
  const c = JSON.parse(await docker('inspect', container))[0] as { Id: string; State: { Pid: number } };
  const r = await createSysfsBridgePorts(() => dockerdPid(process.pid)).portsOf([
    { key: c.Id, pid: c.State.Pid, containerId: c.Id, name: container },
  ]);
  return r.get(c.Id) ?? [];
}

/**
 * The pairs a fault cuts in the host's FORWARD path, read from the kernel: every (from, to) bridge
 * port pair of the rules of key "<scope>.<scenario>/<fault>" — inline `--physdev-in from
 * --physdev-out to … -j DROP`, or `--physdev-out to … -j SET` with SET's `--physdev-in from -j DROP`.
 */
export async function hostDrops(key: string, family: 4 | 6 = 4): Promise<{ from: string; to: string }[]> {
  const scoped = key.split('/')[0];
  const scope = scoped.slice(0, scoped.indexOf('.'));
  const chain = hostScenarioChain(hostRootChain(scope), scoped);
  const lines = await hostIptablesSave(family);
  const rulesOf = (c: string) => lines.filter((l) => l.startsWith(`-A ${c} `));
  const out: { from: string; to: string }[] = [];
  for (const l of rulesOf(chain)) {
    if (!l.includes(`"faultline:${key}"`)) continue;
    const to = /--physdev-out (\S+)/.exec(l)?.[1];
    const target = /-j (\S+)$/.exec(l)?.[1];
    if (!to || !target) continue;
    if (target === 'DROP') out.push({ from: /--physdev-in (\S+)/.exec(l)?.[1] ?? '?', to });
    else for (const r of rulesOf(target)) out.push({ from: /--physdev-in (\S+)/.exec(r)?.[1] ?? '?', to });
  }
  return out;
}

// ---------------------------------------------------------------- cuts, as the kernel holds them

interface Inspected {
  Id: string;
  Name: string;
  State: { Pid: number };
  NetworkSettings: { Networks: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> };
}

/** `iptables-save` of a namespace (a container's pid), without its comment lines. */
export async function netnsIptablesSave(pid: number): Promise<string[]> {
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', 'iptables-save'], { maxBuffer: 16 << 20 });
  return stdout.split('\n').filter((l) => l && !l.startsWith('#'));
}

/**
 * Who must not receive from whom for fault key "<scope>.<scenario>/<fault>", read from the kernel
 * with nsenter only (never from status): on the namespace path the DROPs in each receiver's
 * FAULTLINE-INPUT (by sender address), on the host path the rules of the scenario's chain in the
 * host's FORWARD path (by bridge port). Containers by Docker name.
 */
export async function kernelCuts(
  containers: string[],
  key: string,
  path: 'netns' | 'host' | 'both' = 'both',
): Promise<Record<string, string[]>> {
  const info = JSON.parse(await docker('inspect', ...containers)) as Inspected[];
  const byName = new Map(info.map((c) => [c.Name.replace(/^\//, ''), c]));
  const byIp = new Map<string, string>();
  for (const [name, c] of byName)
    for (const n of Object.values(c.NetworkSettings.Networks)) {
      if (n.IPAddress) byIp.set(`${n.IPAddress}/32`, name);
      if (n.GlobalIPv6Address) byIp.set(`${n.GlobalIPv6Address}/128`, name);
    }
  const host = path === 'netns' ? [] : await hostDrops(key);
  const byPort = new Map<string, string>();
  if (host.length) for (const name of containers) for (const p of await bridgePortsOf(name)) byPort.set(p, name);
  return Object.fromEntries(
    await Promise.all(
      containers.map(async (name) => {
        const lines =
          path === 'host'
            ? []
            : (await netnsIptablesSave(byName.get(name)!.State.Pid)).filter(
                (l) => l.startsWith('-A FAULTLINE-INPUT') && l.includes(`"faultline:${key}"`),
              );
        const fromNs = lines.map((l) => byIp.get(/-s (\S+)/.exec(l)?.[1] ?? '') ?? l);
        const fromHost = host.filter((d) => byPort.get(d.to) === name).map((d) => byPort.get(d.from) ?? d.from);
        return [name, [...new Set([...fromNs, ...fromHost])].sort()] as const;
      }),
    ),
  );
}

/** The cuts a partition into `groups` means: each member must not receive from the other groups. */
export function expectedCuts(groups: string[][]): Record<string, string[]> {
  const names = [...new Set(groups.flat())].sort();
  const together = (a: string, b: string) => groups.some((g) => g.includes(a) && g.includes(b));
  return Object.fromEntries(names.map((n) => [n, names.filter((o) => o !== n && !together(n, o))]));
}

// ---------------------------------------------------------------- the engine itself

/**
 * Restart the Docker daemon this machine runs (the one scripts/ensure-docker.sh started): stop it
 * (its containers stop with it), start it again with the same command line, wait until it answers.
 */
export async function restartDockerd(): Promise<void> {
  const { readFile: read } = await import('node:fs/promises');
  const { spawn } = await import('node:child_process');
  const { openSync } = await import('node:fs');
  const pid = await dockerdPid(-1);
  if (pid < 0) throw new Error('no dockerd process found to restart');
  const argv = (await read(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while ((await dockerdPid(-1)) === pid) {
    if (Date.now() > deadline) throw new Error('dockerd did not stop within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const logFd = openSync('/var/log/faultline-dockerd.log', 'a');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  await eventually(
    async () => (await dockerStatus('version', '--format', '{{.Server.Version}}')).code === 0,
    'dockerd answers again',
    60_000,
  );
}

// ---------------------------------------------------------------- time, as recorded

export interface EngineEvent {
  type: string;
  action: string;
  /** Wall-clock ms at which the engine recorded it. */
  at: number;
  attributes: Record<string, string>;
}

/**
 * Docker's own event log between two instants (ms), filtered as `docker events --filter` does:
 * when the engine paused, unpaused, disconnected… a container. Tests compare these instants with
 * the window bounds recorded in status, never with how little time the test itself took.
 */
export async function engineEvents(sinceMs: number, untilMs: number, ...filters: string[]): Promise<EngineEvent[]> {
  const out = await docker(
    'events',
    '--since',
    (sinceMs / 1000).toFixed(3),
    '--until',
    (untilMs / 1000).toFixed(3),
    ...filters.flatMap((f) => ['--filter', f]),
    '--format',
    '{{json .}}',
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const e = JSON.parse(l) as {
        Type: string;
        Action: string;
        timeNano: number;
        Actor: { Attributes?: Record<string, string> };
      };
      return { type: e.Type, action: e.Action, at: e.timeNano / 1e6, attributes: e.Actor.Attributes ?? {} };
    });
}

/**
 * A check whose answer means something only if it was given before `instant` (ms, a bound recorded
 * in status: "before the window opens", "while the window is open"). Runs it once and returns its
 * result when it FINISHED before the instant; when the machine was too slow to finish in time the
 * answer is not evidence either way: say so and return undefined (the caller asserts only on a
 * result). Never a guess about how long the check would take.
 */
export async function finishedBefore<T>(
  t: { diagnostic(msg: string): void },
  instant: number,
  what: string,
  check: () => Promise<T>,
): Promise<T | undefined> {
  if (Date.now() >= instant) {
    t.diagnostic(`${what}: not checked, the instant it is about had passed when the test got there`);
    return undefined;
  }
  const r = await check();
  if (Date.now() < instant) return r;
  t.diagnostic(`${what}: not evidence, the check finished after the instant it is about`);
  return undefined;
}

/**
 * The controller's log in a test: silent unless FAULTLINE_TEST_LOG names a level; with
 * FAULTLINE_TEST_LOGFILE, appended to that file (debug by default) and written as it happens, so
 * that a run killed on a hang still leaves what the controller was doing.
 */
export function testLogger(): Logger {
  const file = process.env.FAULTLINE_TEST_LOGFILE;
  if (!file) return pino({ level: process.env.FAULTLINE_TEST_LOG ?? 'silent' });
  return pino({ level: process.env.FAULTLINE_TEST_LOG ?? 'debug' }, pino.destination({ dest: file, sync: true }));
}

/** A pino logger whose lines the test can read (level ≥ `level`), parsed. */
export function capturedLog(level = 'info'): {
  log: Logger;
  lines: { level: number; msg: string; [k: string]: unknown }[];
} {
  const lines: { level: number; msg: string }[] = [];
  const log = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        if (process.env.FAULTLINE_TEST_LOGFILE) appendFileSync(process.env.FAULTLINE_TEST_LOGFILE, chunk);
        cb();
      },
    }),
  );
  return { log, lines };
}

// ---------------------------------------------------------------- SIGKILL schedules

/** A deterministic PRNG (xorshift32) for kill schedules: the printed seed replays a run. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** FAULTLINE_KILL_SEED, else a fresh one; said in the test's diagnostics with how to replay it. */
export function killSeed(t: { diagnostic(msg: string): void }): number {
  const seed = Number(process.env.FAULTLINE_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`kill schedule seed ${seed} (FAULTLINE_KILL_SEED=${seed} replays it)`);
  return seed;
}

/**
 * `faultline controller --dir <dir>` as a process of its own, started again and again and killed
 * (SIGKILL: no cleanup of any kind) or let die at a failpoint (src/api/failpoint.ts). Its stderr
 * (the log, and a failpoint's last line) is appended to `logFile`.
 */
export interface ChildController {
  /** Start it (with extra environment, e.g. FAULTLINE_FAILPOINTS); returns once it is spawned. */
  start(env?: Record<string, string>): Promise<void>;
  /** Resolves once this run logged "controller started" (default bound 60 s: a loaded machine). */
  started(timeoutMs?: number): Promise<void>;
  /** Send `signal` and wait for the process to be gone (nothing when it is gone already). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with its exit signal once it dies by itself, or undefined after `timeoutMs`. */
  died(timeoutMs: number): Promise<NodeJS.Signals | null | undefined>;
  /** This run's log lines (since the last start), parsed where they are JSON. */
  lines(): Promise<Record<string, unknown>[]>;
  /** The pid of this run's process (undefined before the first start). */
  pid(): number | undefined;
  close(): Promise<void>;
}

export async function childController(dir: string, logFile: string, args: string[] = []): Promise<ChildController> {
  const { spawn } = await import('node:child_process');
  const { open } = await import('node:fs/promises');
  const log = await open(logFile, 'a');
  const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
  let child: import('node:child_process').ChildProcess | undefined;
  let exit: Promise<NodeJS.Signals | null> = Promise.resolve(null);
  let offset = 0;
  const text = async () => (await readFile(logFile, 'utf8')).slice(offset);
  const gone = () => !child || child.exitCode !== null || child.signalCode !== null;
  const self: ChildController = {
    async start(env = {}) {
      await self.kill('SIGKILL');
      offset = (await readFile(logFile, 'utf8')).length;
      const c = spawn(process.execPath, [bin, 'controller', '--dir', dir, '--log-level', 'info', ...args], {
        stdio: ['ignore', 'ignore', log.fd],
        env: { ...process.env, ...env },
      });
      child = c;
      exit = new Promise((r) => c.once('exit', (_code, signal) => r(signal)));
    },
    async started(timeoutMs = 60_000) {
      await eventually(async () => /"msg":"controller started"/.test(await text()), 'controller started', timeoutMs);
    },
    async kill(signal = 'SIGKILL') {
      if (gone()) return;
      child!.kill(signal);
      await exit;
    },
    async died(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        exit,
        new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), timeoutMs))),
      ]);
      clearTimeout(timer);
      return r;
    },
    async lines() {
      return (await text())
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { msg: l };
          }
        });
    },
    pid: () => child?.pid,
    async close() {
      await self.kill('SIGTERM');
      await log.close();
    },
  };
  return self;
}
