// Text and SVG Gantt charts of a scenario's timeline (for `faultline describe`, docs and reviews).
// Deterministic: the same (spec, result, ctx, width) gives the same bytes, so tests golden them.
//
// Both charts are drawn on the virtual clock (see evaluate.ts) with labels as offsets from the
// scenario's start; the header prints wall-clock instants. A text chart, width 40:
//
//   scenario Running  start 2026-03-01T12:00:00.000Z  end +10m  now +3m  next +4m
//                 0s        2m30s     5m        7m30s     10m
//                 +---------+---------+---------+---------+
//   slow          ==  ##|#    ++++    ++++                    Active     windows 2
//   split                 |   ++++++                          Scheduled  windows 0
//                         ^ now
//   = past  # active  ~ suspended  x missed  + planned

import type { FaultAction, TimelineSpec } from '../api/types.js';
import { FAULT_ACTIONS } from '../api/kinds.js';
import { FAULT_COLOURS } from './colours.js';
import { formatDuration } from '../api/duration.js';
import { evaluateDetailed, type Evaluation, type TimelineContext, type TimelineResult } from './evaluate.js';
import { runsBetween } from './windows.js';

type Kind = 'past' | 'missed' | 'active' | 'suspended' | 'planned';
const CHAR: Record<Kind, string> = { past: '=', missed: 'x', active: '#', suspended: '~', planned: '+' };
const RANK: Record<Kind, number> = { planned: 1, past: 2, missed: 3, suspended: 4, active: 4 };

interface Bar {
  from: number;
  until: number;
  kind: Kind;
}

interface Layout {
  ev: Evaluation;
  t0: number;
  t1: number;
  step: number; // tick spacing
  ticks: number[];
  rows: { name: string; bars: Bar[]; phase: string; detail: string }[];
}

const SECOND = 1000;
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
  (s) => s * SECOND,
);

/** The smallest nice step that leaves at least `minCols` columns between ticks. */
function niceStep(span: number, cols: number, minCols: number): number {
  const perCol = span / cols;
  for (const s of NICE_STEPS) if (s / perCol >= minCols) return s;
  const day = 86_400 * SECOND;
  return Math.ceil((perCol * minCols) / day) * day;
}

/**
 * Which stretch of time to draw: from the scenario's start (or now, if earlier) to its end (or now,
 * if later). Without an end: to the last instant anything is known to happen (current and next
 * runs, now), plus a tenth, rounded up to a tick.
 */
function layout(
  spec: TimelineSpec,
  result: TimelineResult,
  ctx: TimelineContext,
  cols: number,
  minTickCols: number,
): Layout {
  const ev = evaluateDetailed(spec, ctx);
  const { start, end } = ev.plan;
  const now = ev.now;
  const t0 = Math.min(start, now);
  let t1: number;
  let step: number;
  if (end !== Infinity) {
    t1 = Math.max(end, now, t0 + SECOND);
    step = niceStep(t1 - t0, cols, minTickCols);
  } else {
    let last = Math.max(now, start);
    for (const s of ev.scans) {
      for (const r of [s?.lastPast, s?.current, s?.next]) {
        if (!r) continue;
        last = Math.max(last, r.from, r.until === Infinity ? r.from : r.until);
      }
    }
    const span = Math.max((last - t0) * 1.1, 10 * SECOND);
    step = niceStep(span, cols, minTickCols);
    t1 = start + Math.ceil((t0 + span - start) / step) * step;
  }
  const ticks: number[] = [];
  for (let k = Math.ceil((t0 - start) / step); start + k * step <= t1; k++) ticks.push(start + k * step);

  const observed = ev.observed;
  const rows = ev.plan.faults.map((fp, i) => {
    const f = result.faults[i];
    const bars: Bar[] = [];
    if (fp.plan && ev.scans[i]) {
      for (const r of runsBetween(fp.plan, start, end, t0, t1)) {
        let kind: Kind;
        if (r.until <= now) kind = observed !== undefined && r.from > observed ? 'missed' : 'past';
        else if (r.from <= now) kind = result.suspended ? 'suspended' : 'active';
        else kind = 'planned';
        bars.push({ from: r.from, until: r.until, kind });
      }
    }
    const detail = f.phase === 'Failed' ? '' : `windows ${f.windowsRun}${f.missed ? `, missed ${f.missed}` : ''}`;
    return { name: fp.name, bars, phase: f.phase, detail };
  });
  return { ev, t0, t1, step, ticks, rows };
}

function header(l: Layout, result: TimelineResult): string {
  const { start, end } = l.ev.plan;
  const parts = [`scenario ${result.scenarioPhase}`, `start ${result.startsAt.toISOString()}`];
  if (end !== Infinity) parts.push(`end +${formatDuration(end - start)}`);
  parts.push(`now ${offset(l.ev.now - start)}`);
  if (result.nextTransitionAt) parts.push(`next ${offset(result.nextTransitionAt.getTime() - l.ev.shift - start)}`);
  if (l.ev.shift) parts.push(`frozen ${formatDuration(l.ev.shift)}`);
  return parts.join('  ');
}

const offset = (ms: number) => (ms < 0 ? formatDuration(ms) : `+${formatDuration(ms)}`);

/**
 * A text Gantt chart: one row per fault, `width` columns of time (at least 10), an axis of offsets
 * from the scenario's start, a `|` column and `^ now` marker at now, and each row's phase and
 * window counts. `result` must come from evaluate(spec, ctx).
 */
export function renderGantt(spec: TimelineSpec, result: TimelineResult, ctx: TimelineContext, width: number): string {
  const cols = Math.max(10, Math.floor(width));
  const l = layout(spec, result, ctx, cols, 10);
  const { t0, t1, ev } = l;
  const perCol = (t1 - t0) / cols;
  const col = (t: number) => Math.min(cols - 1, Math.max(0, Math.floor((t - t0) / perCol)));
  const nameW = Math.min(24, Math.max(4, ...l.rows.map((r) => r.name.length)));
  const pad = ' '.repeat(nameW + 2);
  const label = (s: string) => (s.length > nameW ? `${s.slice(0, nameW - 1)}~` : s.padEnd(nameW));

  const lines = [header(l, result)];
  // Axis labels: each starts at its tick's column, dropped if it would touch the previous one.
  const labels = Array<string>(cols + 12).fill(' ');
  const axis = Array<string>(cols).fill('-');
  let endTick = '';
  let free = 0;
  for (const t of l.ticks) {
    const c = Math.round((t - t0) / perCol);
    if (c < cols) axis[c] = '+';
    else endTick = '+'; // a tick at t1 closes the axis one column past the chart
    const text = formatDuration(t - ev.plan.start);
    if (c >= free && c + text.length <= labels.length) {
      for (let i = 0; i < text.length; i++) labels[c + i] = text[i];
      free = c + text.length + 1;
    }
  }
  lines.push((pad + labels.join('')).trimEnd(), pad + axis.join('') + endTick);

  const nowCol = col(ev.now);
  for (const row of l.rows) {
    const cells = Array<string>(cols).fill(' ');
    const rank = Array<number>(cols).fill(0);
    for (const b of row.bars) {
      const first = col(b.from);
      const last = b.until === Infinity ? cols - 1 : Math.min(cols - 1, Math.ceil((b.until - t0) / perCol) - 1);
      for (let c = first; c <= Math.max(first, last); c++) {
        if (RANK[b.kind] > rank[c]) {
          rank[c] = RANK[b.kind];
          cells[c] = CHAR[b.kind];
        }
      }
    }
    if (cells[nowCol] === ' ') cells[nowCol] = '|';
    lines.push(`${label(row.name)}  ${cells.join('')}  ${row.phase.padEnd(10)} ${row.detail}`.trimEnd());
  }
  lines.push(`${pad}${' '.repeat(nowCol)}^ now`);
  lines.push('= past  # active  ~ suspended  x missed  + planned');
  return `${lines.join('\n')}\n`;
}

const COLORS: Record<Kind, string> = {
  past: 'fill="#9aa5b1"',
  missed: 'fill="none" stroke="#d64545" stroke-dasharray="3 2"',
  active: 'fill="#d64545"',
  suspended: 'fill="#e0a800"',
  planned: 'fill="#8fb8de"',
};

/**
 * A bar of a fault whose kind is known takes the kind's colour (colours.ts, as in `faultline
 * graph`); its state shows in how it is filled: active solid, past faded, planned outlined,
 * missed dashed, suspended amber. A fault without an action (a bare timeline) keeps COLORS.
 */
function kindColors(c: string): Record<Kind, string> {
  return {
    past: `fill="${c}" fill-opacity="0.35"`,
    missed: `fill="none" stroke="${c}" stroke-dasharray="3 2"`,
    active: `fill="${c}"`,
    suspended: 'fill="#e0a800"',
    planned: `fill="${c}" fill-opacity="0.12" stroke="${c}"`,
  };
}

/** The action of a fault of a timeline spec, when it has one. */
function kindOfRow(f: object): FaultAction | undefined {
  return FAULT_ACTIONS.find((k) => k in f);
}

const num = (n: number) => String(Math.round(n * 10) / 10);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The same chart as SVG, `width` pixels wide (at least 300): bars per fault (class = past, missed,
 * active, suspended, planned; each with a <title> of its wall-clock window), an axis, a dashed `now`
 * line, and each row's phase. Plain attributes only, no scripts, no external references.
 */
export function renderSvg(spec: TimelineSpec, result: TimelineResult, ctx: TimelineContext, width: number): string {
  const W = Math.max(300, Math.floor(width));
  const nameW = 12 + 7 * Math.min(24, Math.max(4, ...(spec.faults ?? []).map((f) => f.name.length)));
  const phaseW = 150;
  const chartW = W - nameW - phaseW;
  const l = layout(spec, result, ctx, chartW, 60);
  const { t0, t1, ev } = l;
  const x = (t: number) => nameW + (Math.min(Math.max(t, t0), t1) - t0) * (chartW / (t1 - t0));
  const rowH = 22;
  const top = 44;
  const H = top + rowH * l.rows.length + 24;
  const iso = (t: number) => new Date(t + ev.shift).toISOString();

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="monospace" font-size="12">`,
    `<title>${esc(header(l, result))}</title>`,
    // The full header (with ISO instants) is the <title>; the visible line keeps to the short part.
    `<text x="4" y="14">${esc(header(l, result).replace(/ {2}start \S+/, ''))}</text>`,
    `<g class="axis" stroke="#555">`,
    `<line x1="${num(nameW)}" y1="${top - 6}" x2="${num(nameW + chartW)}" y2="${top - 6}"/>`,
  );
  for (const t of l.ticks) {
    out.push(
      `<line x1="${num(x(t))}" y1="${top - 10}" x2="${num(x(t))}" y2="${top - 6}"/>`,
      `<text x="${num(x(t))}" y="${top - 14}" text-anchor="middle" stroke="none">${esc(formatDuration(t - ev.plan.start))}</text>`,
    );
  }
  out.push('</g>');
  const specs = new Map((spec.faults ?? []).map((f) => [f.name, f]));
  l.rows.forEach((row, i) => {
    const y = top + i * rowH;
    const f = specs.get(row.name);
    const kind = f ? kindOfRow(f) : undefined;
    const colors = kind ? kindColors(FAULT_COLOURS[kind]) : COLORS;
    out.push(
      `<g class="fault" data-fault="${esc(row.name)}"${kind ? ` data-kind="${kind}"` : ''}>`,
      `<text x="4" y="${y + 15}">${esc(row.name)}</text>`,
    );
    for (const b of row.bars) {
      const until = b.until === Infinity ? t1 : b.until;
      const w = Math.max(1, x(until) - x(b.from));
      const tip = `${row.name} ${b.kind} ${iso(b.from)} .. ${b.until === Infinity ? 'end' : iso(b.until)}`;
      out.push(
        `<rect class="${b.kind}" x="${num(x(b.from))}" y="${y + 4}" width="${num(w)}" height="${rowH - 8}" ${colors[b.kind]}><title>${esc(tip)}</title></rect>`,
      );
    }
    out.push(
      `<text x="${num(nameW + chartW + 8)}" y="${y + 15}">${esc(`${row.phase} ${row.detail}`.trim())}</text>`,
      '</g>',
    );
  });
  const nx = num(x(ev.now));
  out.push(
    `<line class="now" x1="${nx}" y1="${top - 10}" x2="${nx}" y2="${top + rowH * l.rows.length}" stroke="#000" stroke-dasharray="4 2"/>`,
    `<text x="${nx}" y="${H - 6}" text-anchor="middle">now</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
