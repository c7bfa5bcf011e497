// A scenario's timeline as a chart (`describe`, `timeline`), drawn by timeline/ from the start
// and seed recorded in status, or as if it started now.
import type { Scenario } from '../api/types.js';
import { evaluateRecorded, renderGantt, renderSvg } from '../timeline/index.js';

export type ChartFormat = 'text' | 'svg';

export function timelineChart(scenario: Scenario | undefined, format: ChartFormat, width: number, now = new Date()): string | undefined {
  if (!scenario?.spec?.faults?.length) return undefined;
  const prev = scenario.status ?? {};
  const t = evaluateRecorded(scenario.metadata.name, scenario.spec, prev, now);
  const frozen = t.frozenMs + (t.frozenSince ? now.getTime() - Date.parse(t.frozenSince) : 0);
  const ctx = { startedAt: new Date(t.startedAt), now, seed: t.seed, frozenMs: frozen };
  return format === 'svg' ? renderSvg(scenario.spec, t.result, ctx, width) : renderGantt(scenario.spec, t.result, ctx, width);
}
