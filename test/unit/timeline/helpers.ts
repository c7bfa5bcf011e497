// Shared by the timeline tests: a fixed base instant and offsets written as Go durations.
import type { TimelineSpec } from '../../../src/api/types.js';
import { parseDuration } from '../../../src/api/duration.js';
import type { TimelineContext, TimeWindow } from '../../../src/timeline/index.js';

export const BASE = Date.parse('2026-03-01T12:00:00Z');

/** BASE + offset: t('1m30s') is 12:01:30Z; t('-10s') is 11:59:50Z. */
export const t = (offset: string): Date => new Date(BASE + parseDuration(offset));

/** A context started at BASE, evaluated at BASE + nowOffset. */
export function ctxAt(nowOffset: string, extra: Partial<TimelineContext> = {}): TimelineContext {
  return { startedAt: new Date(BASE), now: t(nowOffset), seed: 1, ...extra };
}

/** A window as ISO strings, for compact assertions: ['…Z', '…Z'] or ['…Z'] when open. */
export const iso = (w: TimeWindow | undefined): string[] | undefined =>
  w && (w.until ? [w.from.toISOString(), w.until.toISOString()] : [w.from.toISOString()]);

/** The same as offsets from BASE: ['30s', '2m30s']. */
export const off = (w: TimeWindow | undefined): string[] | undefined =>
  w && [w.from, ...(w.until ? [w.until] : [])].map((d) => fmt(d.getTime() - BASE));

export function fmt(ms: number): string {
  if (ms < 0) return `-${fmt(-ms)}`;
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

export const spec = (s: TimelineSpec): TimelineSpec => s;
