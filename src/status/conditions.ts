// Conditions and the bounded event ring of a scenario's status (pure helpers).
import type { Condition, ConditionType, StatusEvent } from '../api/types.js';

/**
 * Set a condition, keeping lastTransitionTime when its status did not change (Kubernetes
 * semantics: the time records the last flip True/False, not the last write).
 */
export function setCondition(
  prev: Condition[] | undefined,
  type: ConditionType,
  status: Condition['status'],
  reason: string,
  message: string,
  now: string,
): Condition[] {
  const list = (prev ?? []).filter((c) => c.type !== type);
  const old = (prev ?? []).find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : now;
  return [...list, { type, status, reason, message, lastTransitionTime }].sort((a, b) => order(a.type) - order(b.type));
}

function order(t: ConditionType): number {
  return ['Valid', 'Ready', 'Degraded'].indexOf(t);
}

export const EVENT_RING = 20;

export function pushEvents(
  prev: StatusEvent[] | undefined,
  add: StatusEvent[],
  max = EVENT_RING,
): StatusEvent[] | undefined {
  const all = [...(prev ?? []), ...add];
  const out = all.slice(Math.max(0, all.length - max));
  return out.length ? out : undefined;
}
