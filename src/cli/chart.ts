// A scenario's timeline as a chart (`describe`, `timeline`), drawn by timeline/ from the start
// and seed recorded in status.
//
// A scenario that has not started (never applied, or not yet reconciled: no status.startedAt) is
// drawn as it would run if it started now, evaluated an instant before that start, so the chart
// says Pending / Scheduled and its offsets count from a start that has not happened:
//
//   not started yet: drawn as it would run if it started now; offsets count from its start
//   scenario Pending  start 2026-03-01T12:00:00.000Z  end +20s  now -1ms  next +0s
import type { Scenario } from '../api/types.js';
import { parseDuration } from '../api/duration.js';
import { InvalidArgumentError } from 'commander';
import { evaluateRecorded, renderGantt, renderSvg } from '../timeline/index.js';

export type ChartFormat = 'text' | 'svg';

export function timelineChart(
  scenario: Scenario | undefined,
  format: ChartFormat,
  width: number,
  now = new Date(),
): string | undefined {
  if (!scenario?.spec?.faults?.length) return undefined;
  const started = scenario.status?.startedAt !== undefined;
  const prev = started ? (scenario.status ?? {}) : { ...scenario.status, startedAt: now.toISOString() };
  const at = started ? now : new Date(now.getTime() - 1);
  const t = evaluateRecorded(scenario.metadata.name, scenario.spec, prev, at);
  const frozen = t.frozenMs + (t.frozenSince ? at.getTime() - Date.parse(t.frozenSince) : 0);
  const ctx = { startedAt: new Date(t.startedAt), now: at, seed: t.seed, frozenMs: frozen };
  if (format === 'svg') return renderSvg(scenario.spec, t.result, ctx, width);
  const note = started
    ? ''
    : 'not started yet: drawn as it would run if it started now; offsets count from its start\n';
  return note + renderGantt(scenario.spec, t.result, ctx, width);
}

/**
 * `--at OFFSET` (and `--start TIME`): look at a scenario at an instant of its timeline instead of
 * now: the start is --start, else the recorded start, else now; the instant is start + OFFSET.
 * Deterministic pictures (the README's) give both.
 */
export function at(
  scenario: Scenario | undefined,
  opts: { at?: number; start?: Date },
  real = new Date(),
): { scenario: Scenario | undefined; now: Date } {
  if (!scenario || (opts.at === undefined && opts.start === undefined)) return { scenario, now: real };
  const recorded = scenario.status?.startedAt;
  const start = opts.start ?? (recorded ? new Date(recorded) : real);
  const status = { ...scenario.status, startedAt: start.toISOString() };
  return {
    scenario: { ...scenario, status },
    now: opts.at === undefined ? real : new Date(start.getTime() + opts.at),
  };
}

/** The names of the faults whose window is open at `now` (the scenario's recorded timeline). */
export function activeFaults(scenario: Scenario, now: Date): Set<string> {
  if (!scenario.spec?.faults?.length || !scenario.status?.startedAt) return new Set();
  const t = evaluateRecorded(scenario.metadata.name, scenario.spec, scenario.status, now);
  return new Set(t.result.active.map((a) => a.fault));
}

/** Parser for --at: an offset from the scenario's start (a duration, 0s and up). */
export function offsetArg(value: string): number {
  try {
    return parseDuration(value.trim());
  } catch {
    throw new InvalidArgumentError('Use an offset from the start like 0s, 30s or 2m.');
  }
}

/** Parser for --start: an RFC 3339 instant. */
export function instantArg(value: string): Date {
  const d = new Date(value.trim());
  if (!/^\d{4}-\d\d-\d\dT/.test(value.trim()) || Number.isNaN(d.getTime()))
    throw new InvalidArgumentError('Use an RFC 3339 instant like 2026-01-01T00:00:00Z.');
  return d;
}
