// `faultline run -f scenario.yaml [-- command...]`: the CI entry point. Runs a private controller on
// a private directory, applies the scenario, follows its timeline in the foreground (one line per
// transition, a progress line on a TTY), removes everything at the end or on SIGINT/SIGTERM.
//
// Without a command it ends with the timeline. A timeline without an end (an endless `repeat`, a
// `schedule`, a fault without `duration` and no scenario `duration`) ends at --timeout, and that is
// a normal end.
//
// With a command (after `--`), the command starts once the scenario is Ready (its containers and
// networks exist) and runs while the timeline plays:
//   --until command   (the default) the run ends when the command exits; the timeline is cut
//                     short there, and an endless timeline simply ends with the command.
//   --until timeline  the run ends with the timeline; a command still running then is stopped
//                     (SIGTERM, then SIGKILL), which is not a failure.
//
// Exit status (runExitCode): the command's result first, then the faults':
//   0  the command succeeded (or there was none) and every fault that had a window was injected
//      and verified in every target
//   1  the command failed: it exited non-zero, could not be started, or was stopped at --timeout
//   2  a fault was not applied or not verified (or the run did not end normally)
//   3  bad input: the scenario file or an option (commands/run.ts)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FaultStatus, Scenario, ScenarioStatus, TimelineSpec } from '../api/types.js';
import { Controller } from '../controller/controller.js';
import { systemClock } from '../store/index.js';
import type { DockerPort, KernelPort } from '../ports/index.js';
import type { AddressPool } from '../plan/addresses.js';
import type { CommandExit, RunningCommand, StartCommand } from '../adapters/command.js';
import { readStatus, ScenarioStore } from '../store/index.js';
import { compileSchedule } from '../timeline/schedule.js';
import { createDirStore } from './wiring.js';
import { table } from './tables.js';
import { escapesAllowed } from './output.js';

/** What ends a run that has a command: the command's exit (default), or the timeline's end. */
export type Until = 'command' | 'timeline';

export interface CommandOptions {
  argv: string[];
  until: Until;
  /** Starts the process (adapters/command.ts; tests pass a fake). */
  start: StartCommand;
  /** Between SIGTERM and SIGKILL when faultline stops the command. Default 10 s. */
  graceMs?: number;
}

export interface RunOptions {
  text: string;
  scenario: Scenario;
  docker: DockerPort;
  kernel?: KernelPort;
  log: Logger;
  timeoutMs?: number;
  keep: boolean;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  addressPools?: AddressPool[];
  hostRoutes?: () => Promise<string[]>;
  command?: CommandOptions;
}

export interface FaultSummary {
  fault: string;
  windows: number;
  targets: number;
  injected: number;
  verified: boolean;
  result: 'ok' | 'failed' | 'not-run';
  reason?: string;
}

export interface CommandSummary {
  argv: string[];
  /** false: the scenario never became Ready, so the command was not started. */
  started: boolean;
  exitCode?: number;
  signal?: string;
  /** Why it could not be started. */
  error?: string;
  /** faultline stopped it: at the end of the timeline (--until timeline), at --timeout, or on a signal. */
  stoppedBy?: 'timeline' | 'timeout' | 'signal';
  /** It exited non-zero by itself, could not be started, or was stopped at --timeout or by a signal. */
  failed: boolean;
}

export interface RunSummary {
  scenario: string;
  /** `not-ready`: the scenario failed before its command could start (a name conflict, a failed create). */
  outcome: 'completed' | 'interrupted' | 'timeout' | 'not-ready';
  /** false: the timeline never ends by itself, and reaching --timeout is a normal end. */
  timelineEnds: boolean;
  durationMs: number;
  faults: FaultSummary[];
  /** The faults' side: the run ended normally and no fault failed. */
  ok: boolean;
  command?: CommandSummary;
  /** See runExitCode. */
  exitCode: number;
}

/** Exit status of `faultline run` (documented in its --help and the README). */
export const RUN_EXIT = { ok: 0, commandFailed: 1, faultsNotVerified: 2, badInput: 3 } as const;

/** The command's result first, then the faults'. */
export function runExitCode(s: { ok: boolean; command?: { failed: boolean } }): number {
  if (s.command?.failed) return RUN_EXIT.commandFailed;
  return s.ok ? RUN_EXIT.ok : RUN_EXIT.faultsNotVerified;
}

function describeTransition(prev: ScenarioStatus | undefined, next: ScenarioStatus): string[] {
  const lines: string[] = [];
  if (prev?.phase !== next.phase) lines.push(`scenario ${prev?.phase ?? '-'} → ${next.phase}`);
  for (const f of next.faults ?? []) {
    const p = prev?.faults?.find((x) => x.name === f.name);
    if (p?.phase !== f.phase)
      lines.push(
        `fault ${f.name}: ${p?.phase ?? '-'} → ${f.phase}${f.window ? ` (window ${f.window.from} .. ${f.window.until ?? 'end'})` : ''}`,
      );
    for (const t of f.targets ?? []) {
      const pt = p?.targets?.find((x) => x.container === t.container);
      if (pt?.phase !== t.phase || pt?.verified !== t.verified) {
        lines.push(
          `fault ${f.name} on ${t.container}: ${t.phase}${t.mechanism ? ` via ${t.mechanism}` : ''}${t.verified ? ', verified' : ''}${t.lastError ? ` (${t.lastError})` : ''}`,
        );
      }
    }
  }
  for (const c of next.conditions ?? []) {
    const pc = prev?.conditions?.find((x) => x.type === c.type);
    if (pc?.status !== c.status || pc?.reason !== c.reason)
      lines.push(`condition ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  }
  return lines;
}

/** Track, across the run, whether each fault was injected and verified in all its targets. */
class Tally {
  readonly faults = new Map<
    string,
    { windows: number; targets: Set<string>; verified: Set<string>; failed?: string }
  >();
  observe(st: ScenarioStatus): void {
    for (const f of st.faults ?? []) {
      const t = this.faults.get(f.name) ?? { windows: 0, targets: new Set<string>(), verified: new Set<string>() };
      t.windows = Math.max(t.windows, f.windowsRun ?? 0);
      for (const x of f.targets ?? []) {
        t.targets.add(x.container);
        if ((x.phase === 'Injected' || x.phase === 'Recovered') && x.verified) t.verified.add(x.container);
        if (x.phase === 'Failed') t.failed = x.lastError ?? 'failed';
      }
      if (f.phase === 'Failed') t.failed = f.message ?? 'failed';
      this.faults.set(f.name, t);
    }
    const degraded = st.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
    if (degraded) {
      for (const [name, t] of this.faults)
        if (!t.failed && degraded.message.includes(`"${name}"`)) t.failed = `${degraded.reason}: ${degraded.message}`;
    }
  }
  summary(faults: FaultStatus[] | undefined): FaultSummary[] {
    return [...this.faults].map(([fault, t]) => {
      const had = t.windows > 0 || (faults?.find((f) => f.name === fault)?.windowsRun ?? 0) > 0;
      const verified = t.targets.size > 0 && [...t.targets].every((x) => t.verified.has(x));
      const result = t.failed ? 'failed' : !had ? 'not-run' : verified ? 'ok' : 'failed';
      return {
        fault,
        windows: t.windows,
        targets: t.targets.size,
        injected: t.verified.size,
        verified,
        result,
        reason:
          t.failed ??
          (had && !verified ? (t.targets.size ? 'not verified in every target' : 'no target matched') : undefined),
      };
    });
  }
}

/**
 * Whether the timeline ends by itself: the scenario has a `duration`, or it has faults and every
 * one of them has a last window that closes (a `repeat` with `times`, no `schedule`, a `duration`).
 */
export function timelineEnds(spec: TimelineSpec): boolean {
  const plan = compileSchedule(spec, 0, 0);
  if (plan.end !== Infinity) return true;
  return (
    plan.faults.length > 0 &&
    plan.faults.every((f) => !f.plan || (f.plan.kind === 'periodic' && f.plan.n !== Infinity && f.plan.d !== Infinity))
  );
}

/** A line per transition; on a terminal (unless NO_COLOR) also a progress line redrawn in place. */
export class RunReporter {
  private readonly live: boolean;
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.live = escapesAllowed(out, env);
  }
  line(text: string, now = new Date()): void {
    if (this.live) this.out.write('\r\x1b[K');
    this.out.write(`${now.toISOString().slice(11, 23)}  ${text}\n`);
  }
  progress(text: string): void {
    if (this.live) this.out.write(`\r\x1b[K  ${text}`);
  }
}

function finished(st: ScenarioStatus | undefined, spec: Scenario['spec']): boolean {
  if (!st) return false;
  if (st.phase === 'Completed') return true;
  if (spec.duration) return false;
  // No scenario duration: done when no fault is active and none has a next window.
  const faults = st.faults ?? [];
  return (
    faults.length > 0 &&
    faults.every((f) => f.phase !== 'Active' && f.phase !== 'Pending' && f.phase !== 'Scheduled' && !f.nextWindow)
  );
}

/** Ready for the command: Docker converged. Or never will be without a change: a conflict, a failure. */
function readiness(st: ScenarioStatus | undefined): 'ready' | 'failed' | 'wait' {
  const ready = st?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return 'ready';
  if (st?.phase === 'Failed' || (ready?.status === 'False' && ready.reason === 'Conflict')) return 'failed';
  return 'wait';
}

/** The user's command across the run: started once, its exit kept, stopped at most once. */
class CommandRun {
  private running?: RunningCommand;
  private exit?: CommandExit;
  stoppedBy?: CommandSummary['stoppedBy'];
  constructor(private readonly c: CommandOptions) {}
  get started(): boolean {
    return this.running !== undefined;
  }
  get exited(): CommandExit | undefined {
    return this.exit;
  }
  start(env: Record<string, string>): RunningCommand {
    this.running = this.c.start(this.c.argv, { env });
    void this.running.exited.then((e) => (this.exit = e));
    return this.running;
  }
  /** Resolves when the command exits or after `ms`, whichever is first (at once when not running). */
  async exitWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise((r) => (timer = setTimeout(r, ms))),
      this.running && !this.exit ? this.running.exited : new Promise(() => undefined),
    ]);
    clearTimeout(timer);
  }
  signal(sig: NodeJS.Signals): void {
    if (this.running && !this.exit) this.running.signal(sig);
  }
  /** Stop it if it still runs (recording why); resolves with its exit. */
  async stop(why: NonNullable<CommandSummary['stoppedBy']>): Promise<CommandExit | undefined> {
    if (!this.running) return undefined;
    if (!this.exit) {
      this.stoppedBy ??= why;
      this.exit = await this.running.stop(this.c.graceMs ?? 10_000);
    }
    return this.exit;
  }
  summary(): CommandSummary {
    const e = this.exit;
    const stoppedOk = this.stoppedBy === 'timeline';
    return {
      argv: this.c.argv,
      started: this.started,
      exitCode: e?.code,
      signal: e?.signal,
      error: e?.error,
      stoppedBy: this.stoppedBy,
      // Not started because the scenario never became Ready: that is the faults' failure (2), not the command's.
      failed: this.started && !stoppedOk && (e === undefined || e.code !== 0),
    };
  }
}

export async function runScenario(o: RunOptions): Promise<RunSummary> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'faultline-run-'));
  const name = o.scenario.metadata.name;
  const file = join(dir, `${name}.yaml`);
  const store = new ScenarioStore();
  // A stable identity per scenario: a `run` killed half-way is swept by the next run of it.
  const controller = new Controller({
    dir,
    id: `run-${name}`,
    docker: o.docker,
    kernel: o.kernel,
    store: createDirStore(dir, store),
    clock: systemClock(),
    log: o.log,
    addressPools: o.addressPools,
    hostRoutes: o.hostRoutes,
  });
  const report = new RunReporter(o.out, o.env);
  const say = (line: string) => report.line(line);
  const ends = timelineEnds(o.scenario.spec);
  const tally = new Tally();
  const cmd = o.command ? new CommandRun(o.command) : undefined;
  const untilCommand = o.command?.until === 'command';
  let outcome: RunSummary['outcome'] = 'completed';
  let last: ScenarioStatus | undefined;
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping${cmd?.started ? ' the command and' : ''} removing the scenario`);
    outcome = 'interrupted';
    cmd?.signal(sig);
    stop.abort();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.once('SIGINT', sigint);
  process.once('SIGTERM', sigterm);
  try {
    await controller.start();
    await writeFile(file, o.text);
    say(`applied scenario ${name}`);
    if (!ends && !untilCommand)
      say(
        `the timeline has no end: stopping ${o.timeoutMs ? 'at --timeout (a normal end)' : 'on Ctrl-C only; give --timeout to end it'}`,
      );
    const deadline = o.timeoutMs ? t0 + o.timeoutMs : Infinity;
    let timelineOver = false;
    let exitSaid = false;
    while (!stop.signal.aborted) {
      const st = await statusIn(store, file);
      if (st) {
        for (const line of describeTransition(last, st)) say(line);
        tally.observe(st);
        last = st;
      }
      if (cmd && !cmd.started) {
        const r = readiness(st);
        if (r === 'failed') {
          outcome = 'not-ready';
          say(`the scenario did not become Ready; the command was not started`);
          break;
        }
        if (r === 'ready') {
          const running = cmd.start({ FAULTLINE_DIR: dir, FAULTLINE_SCENARIO: name });
          say(`command started (pid ${running.pid ?? '?'}): ${o.command!.argv.join(' ')}`);
        }
      }
      const exit = cmd?.exited;
      if (exit && !exitSaid) {
        exitSaid = true;
        say(
          `command exited ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}${exit.error ? `: ${exit.error}` : ''}`,
        );
        if (untilCommand) break;
        if (!timelineOver) say('the timeline plays on (--until timeline)');
      }
      if (!timelineOver && finished(st, o.scenario.spec)) {
        timelineOver = true;
        if (!untilCommand) {
          if (cmd?.started && !cmd.exited) {
            say('the timeline ended: stopping the command (--until timeline)');
            await cmd.stop('timeline');
          }
          break;
        }
        if (cmd?.started && !cmd.exited) say('the timeline ended; waiting for the command (--until command)');
      }
      if (Date.now() > deadline) {
        outcome = 'timeout';
        say(
          `timeout after ${Math.round((Date.now() - t0) / 1000)} s: stopping${cmd?.started && !cmd.exited ? ' the command' : ''}${ends ? '' : ' (the timeline has no end)'}`,
        );
        // An endless timeline played until --timeout is a normal end of --until timeline.
        if (cmd?.started && !cmd.exited) await cmd.stop(!ends && !untilCommand ? 'timeline' : 'timeout');
        break;
      }
      if (st) {
        const active = (st.faults ?? []).filter((f) => f.phase === 'Active').map((f) => f.name);
        report.progress(
          `${st.phase ?? '…'}  active: ${active.join(', ') || 'none'}  next: ${st.nextTransitionAt ?? '-'}`,
        );
      }
      // Look again shortly, or at once when the command exits.
      await cmd?.exitWithin(200);
      if (!cmd) await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    if (cmd?.started && !cmd.exited) await cmd.stop('signal');
    if (o.keep) {
      // Keep networks and containers, remove every fault: suspend it, wait for that to converge.
      const text = o.text.replace(/^spec:\s*$/m, 'spec:\n  suspend: true');
      await writeFile(file, text).catch(() => undefined);
      await waitFor(async () => (await statusIn(store, file))?.phase === 'Suspended', 30_000);
    } else {
      await rm(file, { force: true });
      await controller.settle(file); // reconciled as deleted: faults removed, owned objects removed
    }
    await controller.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const faults = tally.summary(last?.faults);
  const normalEnd =
    outcome === 'completed' || (outcome === 'timeout' && !ends && (!cmd || (!untilCommand && !cmd.summary().failed)));
  const ok = normalEnd && faults.every((f) => f.result !== 'failed');
  const command = cmd?.summary();
  return {
    scenario: name,
    outcome,
    timelineEnds: ends,
    durationMs: Date.now() - t0,
    faults,
    ok,
    command,
    exitCode: runExitCode({ ok, command }),
  };
}

async function statusIn(store: ScenarioStore, file: string): Promise<ScenarioStatus | undefined> {
  const r = await store.readStable(file);
  return r.missing ? undefined : (readStatus(r.text) as ScenarioStatus | undefined);
}

async function waitFor(fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What became of the command, in one line (the first line of the summary). */
function commandLine(c: CommandSummary): string {
  const argv = c.argv.join(' ');
  if (!c.started) return `command not started (the scenario did not become Ready): ${argv}`;
  const how =
    c.stoppedBy === 'timeline'
      ? 'stopped at the end of the timeline (--until timeline)'
      : c.stoppedBy === 'timeout'
        ? 'stopped at --timeout'
        : c.stoppedBy === 'signal'
          ? 'stopped by a signal'
          : c.error
            ? `could not start: ${c.error}`
            : `exited ${c.exitCode}${c.signal ? ` (${c.signal})` : ''}`;
  return `command ${c.failed ? 'FAILED' : 'ok'}: ${how}: ${argv}`;
}

export function renderSummary(s: RunSummary): string {
  const rows = [['FAULT', 'WINDOWS', 'TARGETS', 'VERIFIED', 'RESULT', 'REASON']];
  for (const f of s.faults)
    rows.push([f.fault, String(f.windows), String(f.targets), `${f.injected}/${f.targets}`, f.result, f.reason ?? '']);
  return (
    '\n' +
    (s.command ? `${commandLine(s.command)}\n` : '') +
    `scenario ${s.scenario}: ${s.outcome}${s.timelineEnds ? '' : ' (the timeline has no end)'} in ${(s.durationMs / 1000).toFixed(1)} s — ` +
    `${s.ok ? 'every fault applied and verified' : 'NOT every fault was applied and verified'}\n` +
    (s.faults.length ? table(rows) : 'no faults\n') +
    `exit ${s.exitCode}\n`
  );
}
