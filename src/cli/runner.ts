// `faultline run -f scenario.yaml`: the CI entry point. Runs a private controller on a private
// directory, applies the scenario, follows its timeline in the foreground (one line per
// transition, a progress line on a TTY), removes everything at the end or on SIGINT/SIGTERM, and
// exits 0 only if every fault that had a window was injected and verified in every target.
// A timeline without an end (an endless `repeat`, a `schedule`, a fault without `duration` and no
// scenario `duration`) ends at --timeout, and that is a normal end: exit 0 if every fault applied
// until then was verified.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FaultStatus, Scenario, ScenarioStatus, TimelineSpec } from '../api/types.js';
import { Controller } from '../controller/controller.js';
import { systemClock } from '../store/index.js';
import type { DockerPort, KernelPort } from '../ports/index.js';
import { readStatus, ScenarioStore } from '../store/index.js';
import { compileSchedule } from '../timeline/schedule.js';
import { createDirStore } from './wiring.js';
import { table } from './tables.js';
import { escapesAllowed } from './output.js';

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

export interface RunSummary {
  scenario: string;
  outcome: 'completed' | 'interrupted' | 'timeout';
  /** false: the timeline never ends by itself, and reaching --timeout is a normal end. */
  timelineEnds: boolean;
  durationMs: number;
  faults: FaultSummary[];
  ok: boolean;
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
  return faults.length > 0 && faults.every((f) => f.phase !== 'Active' && f.phase !== 'Scheduled' && !f.nextWindow);
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
  });
  const report = new RunReporter(o.out, o.env);
  const say = (line: string) => report.line(line);
  const ends = timelineEnds(o.scenario.spec);
  const tally = new Tally();
  let outcome: RunSummary['outcome'] = 'completed';
  let last: ScenarioStatus | undefined;
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    say(`${sig}: stopping and removing the scenario`);
    outcome = 'interrupted';
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
    if (!ends)
      say(
        `the timeline has no end: stopping ${o.timeoutMs ? 'at --timeout (a normal end)' : 'on Ctrl-C only; give --timeout to end it'}`,
      );
    const deadline = o.timeoutMs ? t0 + o.timeoutMs : Infinity;
    while (!stop.signal.aborted) {
      const st = await statusIn(store, file);
      if (st) {
        for (const line of describeTransition(last, st)) say(line);
        tally.observe(st);
        last = st;
      }
      if (finished(st, o.scenario.spec)) break;
      if (Date.now() > deadline) {
        outcome = 'timeout';
        say(
          `timeout after ${Math.round((Date.now() - t0) / 1000)} s: stopping${ends ? '' : ' (the timeline has no end)'}`,
        );
        break;
      }
      if (st) {
        const active = (st.faults ?? []).filter((f) => f.phase === 'Active').map((f) => f.name);
        report.progress(
          `${st.phase ?? '…'}  active: ${active.join(', ') || 'none'}  next: ${st.nextTransitionAt ?? '-'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
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
  const normalEnd = outcome === 'completed' || (outcome === 'timeout' && !ends);
  const ok = normalEnd && faults.every((f) => f.result !== 'failed');
  return { scenario: name, outcome, timelineEnds: ends, durationMs: Date.now() - t0, faults, ok };
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

export function renderSummary(s: RunSummary): string {
  const rows = [['FAULT', 'WINDOWS', 'TARGETS', 'VERIFIED', 'RESULT', 'REASON']];
  for (const f of s.faults)
    rows.push([f.fault, String(f.windows), String(f.targets), `${f.injected}/${f.targets}`, f.result, f.reason ?? '']);
  return (
    `\nscenario ${s.scenario}: ${s.outcome}${s.timelineEnds ? '' : ' (the timeline has no end)'} in ${(s.durationMs / 1000).toFixed(1)} s — ` +
    `${s.ok ? 'every fault applied and verified' : 'NOT every fault was applied and verified'}\n` +
    (s.faults.length ? table(rows) : 'no faults\n')
  );
}
