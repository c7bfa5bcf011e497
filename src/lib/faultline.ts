// `Faultline`: faultline as a library for test suites, used the way testcontainers is.
//
//   const fl = await Faultline.start();                 // a controller in this process
//   await fl.partition([['app'], ['db']]);              // resolves once the kernel shows the cut
//   ... the test exercises the app ...
//   await fl.delete('partition-1');                     // resolves once nothing of it is left
//   await fl.stop();                                    // or: await using fl = await Faultline.start()
//
// Nothing here is new machinery: the instance runs the same Controller as `faultline controller`
// on a directory of its own (a temporary one unless `dir` is given), writes ordinary Scenario
// files into it, and reads back the status the controller writes. A call returns only when that
// status says what was asked is true for the spec the call wrote (verdict.ts); otherwise it
// rejects with a FaultlineError that says what was still missing.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml, stringify } from 'yaml';
import { parseDuration } from '../api/duration.js';
import { formatIssue } from '../api/format.js';
import { specHash } from '../api/hash.js';
import { parseScenario } from '../api/parse.js';
import type { Duration, Issue, Scenario, ScenarioStatus } from '../api/types.js';
import type { Capabilities } from '../netfaults/index.js';
import { scenariosWithResources } from '../plan/plan.js';
import type { KernelPort, KernelReport } from '../ports/index.js';
import { readStatus, ScenarioStore, systemClock } from '../store/index.js';
import { Controller } from '../controller/controller.js';
import { controllerIdFor } from '../controller/lease.js';
import { createLogger } from '../cli/log.js';
import { applyFile, createDirStore, deleteScenario } from '../cli/wiring.js';
import {
  delayScenario,
  partitionScenario,
  type DelayOptions,
  type PartitionOptions,
  type Targets,
} from './shorthands.js';
import { judge, type FailureCode, type Verdict, type WaitTarget } from './verdict.js';

export interface FaultlineOptions {
  /**
   * The directory of Scenario files this instance's controller watches. Default: a new temporary
   * directory, removed by stop(). Give a directory of your own to look at the files while a test
   * runs, and to have the next start on it sweep what a killed test process left behind.
   */
  dir?: string;
  /** How network namespaces are entered (the CLI's --netns-exec). Default 'auto'. */
  netnsExec?: 'auto' | 'nsenter' | 'helper';
  /** Cuts between containers bridged on this host in the host's FORWARD path (the CLI's --host-rules). Default 'auto'. */
  hostRules?: 'auto' | 'off';
  /** How long a call waits for the verified status: milliseconds or a duration ("90s"). Default 60 s. */
  timeout?: number | Duration;
  /** A pino logger for the controller; or `logLevel` for one on stderr (default 'warn'). */
  logger?: Logger;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The Docker engine's unix socket. Default: DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string;
  /** stop() leaves the scenarios in place (their faults stay in the kernel). Default false. */
  keep?: boolean;
}

/** Per call: how long to wait (overrides the instance's timeout). */
export interface CallOptions {
  timeout?: number | Duration;
}

/** What every call resolves with: the scenario, its file, and the status the controller wrote for it. */
export interface Verified {
  name: string;
  file: string;
  /** For `delete`: the last status before the file was removed. */
  status: ScenarioStatus;
}

/** A call could not be verified. `code` says why; `status` is the last one read, when there was one. */
export class FaultlineError extends Error {
  constructor(
    readonly code: FailureCode,
    readonly scenario: string,
    message: string,
    readonly status?: ScenarioStatus,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = 'FaultlineError';
  }
}

interface Parts {
  dir: string;
  ownDir: boolean;
  controller: Controller;
  timeoutMs: number;
  keep: boolean;
  kernel: KernelPort;
  /** The last kernel.forget() report per scenario: a deletion is verified by it. */
  forgotten: Map<string, KernelReport>;
}

const POLL_MS = 100;

function toMs(t: number | Duration): number {
  return typeof t === 'number' ? t : parseDuration(t);
}

export class Faultline implements AsyncDisposable {
  private readonly store = new ScenarioStore();
  /** Scenarios this instance applied and has not deleted (stop() removes them). */
  private readonly applied = new Set<string>();
  private counter = 0;
  private stopped = false;

  private constructor(private readonly p: Parts) {}

  /** Start a controller in this process (it needs a Docker engine, and root for nsenter or the helper image). */
  static async start(o: FaultlineOptions = {}): Promise<Faultline> {
    const ownDir = o.dir === undefined;
    const dir = ownDir ? await mkdtemp(join(tmpdir(), 'faultline-lib-')) : resolve(o.dir!);
    if (!ownDir && !(await stat(dir).catch(() => undefined))?.isDirectory())
      throw new Error(`Faultline.start: dir ${dir} is not a directory; create it first`);
    const log = o.logger ?? createLogger(o.logLevel ?? 'warn');
    // Loaded when started: importing the library costs no Docker client.
    const [{ createDockerPort }, { createKernel }] = await Promise.all([
      import('../adapters/docker/port.js'),
      import('../cli/netfaults.js'),
    ]);
    const forgotten = new Map<string, KernelReport>();
    try {
      const docker = createDockerPort(o.socketPath ? { socketPath: o.socketPath } : {});
      const store = createDirStore(dir);
      const kernel = recordForget(
        await createKernel(
          docker,
          { mode: o.netnsExec ?? 'auto', hostRules: o.hostRules ?? 'auto' },
          log,
          controllerIdFor(dir),
        ),
        forgotten,
      );
      const controller = new Controller({ dir, docker, store, kernel, clock: systemClock(), log });
      await controller.start();
      return new Faultline({
        dir,
        ownDir,
        controller,
        kernel,
        forgotten,
        timeoutMs: toMs(o.timeout ?? 60_000),
        keep: o.keep ?? false,
      });
    } catch (e) {
      if (ownDir) await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The directory of Scenario files (`faultline get --dir <it>` shows them). */
  get dir(): string {
    return this.p.dir;
  }

  /** What the kernel of the engine's containers can do (probed once): e.g. `netem` for delay. */
  capabilities(): Promise<Capabilities> {
    return this.p.kernel.capabilities();
  }

  /**
   * Create or update a scenario (an object, or YAML text) and resolve with its verified status:
   * Docker converged (Ready) and every fault active now injected and verified in every target.
   * Rejects at once for an invalid scenario (nothing is written), a name conflict or a kernel that
   * cannot do a fault; a scenario that was written stays in the directory (delete() or stop()
   * removes it), so that its status can be read.
   */
  async apply(scenario: Scenario | string, o: CallOptions = {}): Promise<Verified> {
    this.alive();
    const text = typeof scenario === 'string' ? scenario : stringify(withoutStatus(scenario));
    const parsed = parseScenario(text, '<apply>');
    if (!parsed.ok) {
      const name = typeof scenario === 'string' ? '(unnamed)' : (scenario.metadata?.name ?? '(unnamed)');
      throw new FaultlineError(
        'Invalid',
        name,
        `scenario ${name} is not valid (${parsed.issues.length} problem${parsed.issues.length === 1 ? '' : 's'}):\n` +
          parsed.issues.map((i) => '  ' + formatIssue('<apply>', i)).join('\n'),
        undefined,
        parsed.issues,
      );
    }
    const name = parsed.scenario.metadata.name;
    const { file } = await applyFile(this.p.dir, text);
    this.applied.add(name);
    // The spec as the store will hash it: the written file's spec, status aside.
    const hash = await this.fileSpecHash(file);
    await this.p.controller.settle(file);
    return this.until(name, file, (st) => judge(st, hash, 'Ready'), o, 'Ready');
  }

  /**
   * Wait until the scenario's current spec has `want`: a condition True (`Ready` also needs every
   * active fault verified), or a phase (`Completed`, `Running`, …).
   */
  async waitFor(name: string, want: WaitTarget = 'Ready', o: CallOptions = {}): Promise<Verified> {
    this.alive();
    const file = await this.fileOf(name);
    const hash = await this.fileSpecHash(file);
    return this.until(name, file, (st) => judge(st, hash, want), o, want);
  }

  /** Cut the groups off from each other (containers by Docker name). Resolves when the kernel shows every cut. */
  partition(groups: string[][], o: PartitionOptions & CallOptions = {}): Promise<Verified> {
    return this.apply(partitionScenario(o.name ?? this.nextName('partition'), groups, o), o);
  }

  /** Delay the targets' packets (netem: the kernel needs sch_netem). Resolves when verified in every target. */
  delay(targets: Targets, delay: Duration, o: DelayOptions & CallOptions = {}): Promise<Verified> {
    return this.apply(delayScenario(o.name ?? this.nextName('delay'), targets, delay, o), o);
  }

  /**
   * Delete a scenario and resolve once the controller removed everything it owned: no Docker
   * object labelled with it, and none of its rules left in the kernel (read back).
   */
  async delete(name: string, o: CallOptions = {}): Promise<Verified> {
    this.alive();
    const file = await this.fileOf(name);
    const last = (await this.statusOf(file)) ?? {};
    this.p.forgotten.delete(name);
    if (!(await deleteScenario(this.p.dir, name)))
      throw new FaultlineError('NotFound', name, `scenario "${name}" not found in ${this.p.dir}`);
    this.applied.delete(name);
    await this.p.controller.settle(file);
    const deadline = Date.now() + toMs(o.timeout ?? this.p.timeoutMs);
    for (;;) {
      const left = this.leftOf(name);
      if (left.length === 0) return { name, file, status: last };
      if (Date.now() > deadline)
        throw new FaultlineError(
          'NotRemoved',
          name,
          `scenario "${name}" was deleted but after ${Math.round(toMs(o.timeout ?? this.p.timeoutMs) / 1000)} s ` +
            `this is still there: ${left.join('; ')}`,
          last,
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The status in the scenario's file now (undefined before the controller wrote one). */
  async status(name: string): Promise<ScenarioStatus | undefined> {
    return this.statusOf(await this.fileOf(name));
  }

  /**
   * Delete every scenario this instance applied (unless `keep`), stop the controller, remove the
   * temporary directory. Throws after stopping if something could not be removed.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const errors: Error[] = [];
    if (!this.p.keep) {
      for (const name of [...this.applied]) await this.delete(name).catch((e: Error) => errors.push(e));
    }
    this.stopped = true;
    await this.p.controller.stop();
    if (this.p.ownDir && errors.length === 0) await rm(this.p.dir, { recursive: true, force: true });
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `${errors.length} scenarios were not removed`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---------------------------------------------------------------- internals

  private alive(): void {
    if (this.stopped) throw new Error('this Faultline instance is stopped; start a new one');
  }

  private nextName(kind: string): string {
    return `${kind}-${++this.counter}`;
  }

  private async fileOf(name: string): Promise<string> {
    const file = (await this.store.indexByName(this.p.dir)).byName.get(name);
    if (!file) throw new FaultlineError('NotFound', name, `scenario "${name}" not found in ${this.p.dir}`);
    return file;
  }

  private async statusOf(file: string): Promise<ScenarioStatus | undefined> {
    const r = await this.store.readStable(file);
    return r.missing ? undefined : (readStatus(r.text) as ScenarioStatus | undefined);
  }

  private async fileSpecHash(file: string): Promise<string> {
    const r = await this.store.readStable(file);
    if (r.missing) throw new Error(`${file} vanished right after it was written`);
    return specHash((parseYaml(r.text) as { spec?: unknown }).spec);
  }

  /** What of the scenario is still there after a delete. */
  private leftOf(name: string): string[] {
    const left: string[] = [];
    if (scenariosWithResources(this.p.controller.view.current(), this.p.controller.id).includes(name))
      left.push('Docker objects labelled with it');
    const r = this.p.forgotten.get(name);
    if (!r) left.push('its removal from the kernel has not run yet');
    else if (r.errors.length) left.push(`kernel: ${r.errors.join('; ')}`);
    else if (r.present.size) left.push(`rules in the kernel: ${[...r.present].join(', ')}`);
    return left;
  }

  private async until(
    name: string,
    file: string,
    verdict: (st: ScenarioStatus | undefined) => Verdict,
    o: CallOptions,
    what: string,
  ): Promise<Verified> {
    const ms = toMs(o.timeout ?? this.p.timeoutMs);
    const deadline = Date.now() + ms;
    let v: Verdict;
    let st: ScenarioStatus | undefined;
    for (;;) {
      st = await this.statusOf(file);
      v = verdict(st);
      if (v.state === 'ok') return { name, file, status: st! };
      if (v.state === 'fail') throw new FaultlineError(v.code, name, `scenario "${name}": ${v.why}`, st, st?.issues);
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new FaultlineError(
      'Timeout',
      name,
      `scenario "${name}" not ${what} after ${Math.round(ms / 1000)} s: ${v.why} (file ${file})`,
      st,
    );
  }
}

function withoutStatus(s: Scenario): Scenario {
  const { status: _status, ...rest } = s;
  return rest;
}

/** The kernel port, also remembering each scenario's last forget() report (delete verifies by it). */
function recordForget(k: KernelPort, forgotten: Map<string, KernelReport>): KernelPort {
  return {
    capabilities: () => k.capabilities(),
    hostPath: () => k.hostPath(),
    apply: (plan, asOf) => k.apply(plan, asOf),
    prepare: k.prepare ? (plan, asOf) => k.prepare!(plan, asOf) : undefined,
    forget: async (scenario) => {
      const r = await k.forget(scenario);
      forgotten.set(scenario, r);
      return r;
    },
    sweep: (view, isLive) => k.sweep(view, isLive),
    invalidate: () => k.invalidate(),
    close: k.close ? () => k.close!() : undefined,
  };
}
