// verify: probe in status (pure): each observation written beside its target, and the scenario
// Degraded with reason EffectMismatch while a measured effect is outside its tolerance.
import type { FaultTargetStatus, ObservedEffect, ScenarioStatus } from '../api/types.js';
import { setCondition } from './conditions.js';

/** `observed`: fault name → target (as status names it) → the observation to write. */
export function withObserved(
  status: ScenarioStatus,
  observed: ReadonlyMap<string, ReadonlyMap<string, ObservedEffect>>,
  now: Date,
): ScenarioStatus {
  const faults = status.faults?.map((f) => {
    const byTarget = observed.get(f.name);
    if (!f.targets) return f;
    return {
      ...f,
      targets: f.targets.map((t): FaultTargetStatus => {
        const o = byTarget?.get(t.container);
        if (o) return { ...t, observed: o };
        const rest: FaultTargetStatus = { ...t };
        delete rest.observed;
        return rest;
      }),
    };
  });
  const misses = (faults ?? []).flatMap((f) =>
    (f.targets ?? [])
      .filter((t) => t.observed?.verdict === 'EffectMismatch')
      .map((t) => `fault "${f.name}" on ${t.container}: ${t.observed!.message ?? 'outside the tolerance'}`),
  );
  let conditions = status.conditions;
  if (misses.length) {
    const d = conditions?.find((c) => c.type === 'Degraded');
    const already = d?.status === 'True' ? d : undefined;
    conditions = setCondition(
      conditions,
      'Degraded',
      'True',
      already?.reason ?? 'EffectMismatch',
      [...(already ? [already.message] : []), ...misses].slice(0, 5).join('; '),
      now.toISOString(),
    );
  }
  return { ...status, ...(faults && { faults }), ...(conditions && { conditions }) };
}
