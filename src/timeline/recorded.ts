// The timeline as recorded in a scenario's status: its start, seed and frozen time survive
// controller restarts (a restart never resets the timeline). From the previous status, the spec
// and `now`, the state to evaluate with and to record again.
//
//   first reconcile at 12:00:00     startedAt 12:00:00, seed = hash(name, startedAt)
//   suspend {freezeTimeline} 12:05  frozenSince 12:05
//   resumed 12:07                   frozenMs += 2 min; every later window moves 2 min
import { contentHash } from '../api/hash.js';
import type { ScenarioSpec, ScenarioStatus } from '../api/types.js';
import { evaluate, suspension, type TimelineResult } from './evaluate.js';

export interface RecordedTimeline {
  result: TimelineResult;
  seed: number;
  startedAt: string;
  frozenMs: number;
  frozenSince?: string;
}

/** A seed derived from the scenario's name and start, recorded in status on first use. */
function initialSeed(name: string, startedAt: string): number {
  return parseInt(contentHash({ name, startedAt }).slice(0, 8), 16);
}

export function evaluateRecorded(name: string, spec: ScenarioSpec, prev: ScenarioStatus, now: Date): RecordedTimeline {
  const startedAt = prev.startedAt ?? now.toISOString();
  const seed = spec.seed ?? prev.seed ?? initialSeed(name, startedAt);
  // Freeze bookkeeping: frozenMs counts finished freezes; frozenSince marks one in progress.
  let frozenMs = prev.frozenMs ?? 0;
  let frozenSince = prev.frozenSince;
  const { frozen } = suspension(spec);
  if (frozen && !frozenSince) frozenSince = now.toISOString();
  if (!frozen && frozenSince) {
    frozenMs += Math.max(0, now.getTime() - Date.parse(frozenSince));
    frozenSince = undefined;
  }
  const total = frozenMs + (frozenSince ? Math.max(0, now.getTime() - Date.parse(frozenSince)) : 0);
  const result = evaluate(spec, {
    startedAt: new Date(startedAt),
    now,
    seed,
    lastObservedAt: prev.observedAt ? new Date(prev.observedAt) : undefined,
    frozenMs: total,
  });
  return { result, seed, startedAt, frozenMs, frozenSince };
}
