// The tables of `get` and `describe` (kubectl habits: aligned columns, ages, events last).
import { FAULT_ACTIONS } from '../api/kinds.js';
import type { FaultActions, FaultBase, FaultStatus, Scenario, ScenarioStatus } from '../api/types.js';
import type { StatusWriteProblem } from '../controller/health.js';

/** A fault as written in a file that may not be valid: any field may be missing. */
type DeclaredFault = Partial<FaultBase & FaultActions>;

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i])))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function age(from: string | undefined, now: Date): string {
  if (!from) return '<none>';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export interface Listed {
  file: string;
  name: string;
  scenario?: Partial<Scenario>;
  error?: string;
  /** The controller cannot write this file's status (its health record); `scenario.status` is its own. */
  statusWrite?: Omit<StatusWriteProblem, 'status'>;
}

/** "StatusWriteFailed (EROFS)", for a table cell. */
const writeProblem = (p: Listed['statusWrite']) => (p ? `${p.reason}${p.errno ? ` (${p.errno})` : ''}` : '');

function ready(st: ScenarioStatus | undefined): string {
  const c = st?.conditions?.find((x) => x.type === 'Ready');
  const v = st?.conditions?.find((x) => x.type === 'Valid');
  if (v?.status === 'False') return 'Invalid';
  return c ? c.status : 'Unknown';
}

const count = <T extends { phase: string }>(xs: T[] | undefined, ok: string): string =>
  xs && xs.length ? `${xs.filter((x) => x.phase === ok).length}/${xs.length}` : '0';

export function renderGet(items: Listed[], now: Date, wide: boolean): string {
  const head = ['NAME', 'PHASE', 'READY', 'NETWORKS', 'CONTAINERS', 'MEMBERS', 'AGE'];
  if (wide) head.push('GENERATION', 'OBSERVED', 'FILE');
  // Only when the controller could not write some file's status: a column that says so.
  const notes = items.some((i) => i.statusWrite);
  if (notes) head.push('STATUS-WRITE');
  const rows = [head];
  for (const it of items) {
    const st = it.scenario?.status;
    const row = [
      it.name,
      it.error ? 'Unreadable' : (st?.phase ?? 'Pending'),
      it.error ? '-' : ready(st),
      count(st?.networks, 'Ready'),
      count(st?.containers, 'Running'),
      count(st?.members, 'Connected'),
      age(st?.startedAt, now),
    ];
    if (wide)
      row.push(String(it.scenario?.metadata?.generation ?? '-'), String(st?.observedGeneration ?? '-'), it.file);
    if (notes) row.push(writeProblem(it.statusWrite));
    rows.push(row);
  }
  return table(rows);
}

export function renderDescribe(it: Listed, now: Date): string {
  const s = it.scenario ?? {};
  const st = s.status ?? {};
  const out: string[] = [];
  const kv = (k: string, v: string | number | undefined) => out.push(`${(k + ':').padEnd(14)}${v ?? '<none>'}`);
  kv('Name', it.name);
  kv('File', it.file);
  if (s.spec?.description) kv('Description', s.spec.description);
  kv('Phase', st.phase ?? 'Pending');
  kv('Started', st.startedAt ? `${st.startedAt} (${age(st.startedAt, now)} ago)` : undefined);
  kv('Generation', `${s.metadata?.generation ?? '-'} (observed ${st.observedGeneration ?? '-'})`);
  if (it.statusWrite) {
    const p = it.statusWrite;
    kv(
      'Status write',
      `${writeProblem(p)} since ${p.since} (${age(p.since, now)}), ${p.attempts} attempt${p.attempts === 1 ? '' : 's'}, next at ${p.retryAt}: the file holds an older status; shown here is the controller's. The faults keep running.`,
    );
    kv('', p.message);
  }
  if (st.nextTransitionAt) kv('Next change', st.nextTransitionAt);
  if (st.lastReconcile)
    kv(
      'Last change',
      `${st.lastReconcile.time}: ${st.lastReconcile.operations} operations in ${st.lastReconcile.durationMs} ms`,
    );
  const section = (title: string, rows: string[][]) => {
    out.push('', `${title}:`);
    if (rows.length <= 1) out.push('  <none>');
    else
      out.push(
        ...table(rows)
          .trimEnd()
          .split('\n')
          .map((l) => '  ' + l),
      );
  };
  section('Conditions', [
    ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
    ...(st.conditions ?? []).map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]),
  ]);
  if (st.issues?.length) {
    section('Problems', [
      ['LINE', 'PATH', 'MESSAGE'],
      ...st.issues.map((i) => [i.line ? `${i.line}:${i.column ?? 1}` : '-', i.path.join('.') || '(root)', i.message]),
    ]);
  }
  section('Networks', [
    ['NAME', 'DOCKER NAME', 'PHASE', 'SUBNETS', 'MESSAGE'],
    ...(st.networks ?? []).map((n) => [n.name, n.dockerName, n.phase, (n.subnets ?? []).join(','), n.message ?? '']),
  ]);
  section('Containers', [
    ['NAME', 'DOCKER NAME', 'PHASE', 'STATE', 'MESSAGE'],
    ...(st.containers ?? []).map((c) => [c.name, c.dockerName, c.phase, c.state ?? '', c.message ?? '']),
  ]);
  section('Members', [
    ['NETWORK', 'CONTAINER', 'PHASE', 'IPV4', 'IPV6', 'ALIASES', 'MESSAGE'],
    ...(st.members ?? []).map((m) => [
      m.network,
      m.container,
      m.phase,
      m.ipv4Address ?? '',
      m.ipv6Address ?? '',
      (m.aliases ?? []).join(','),
      m.message ?? '',
    ]),
  ]);
  if (s.spec?.faults?.length || st.faults?.length) section('Faults', faultRows(s.spec?.faults ?? [], st.faults ?? []));
  section('Events', [
    ['AGE', 'TYPE', 'REASON', 'MESSAGE'],
    ...(st.events ?? []).map((e) => [age(e.time, now), e.type, e.reason, e.message]),
  ]);
  return out.join('\n') + '\n';
}

/**
 * One row per declared fault, with its schedule, joined with what status says about it (nothing
 * before the controller first reconciles the scenario); then faults status still reports but the
 * spec no longer declares. The file is not validated here: every field is read defensively.
 */
function faultRows(declared: DeclaredFault[], status: FaultStatus[]): string[][] {
  const rows = [['NAME', 'ACTION', 'SCHEDULE', 'PHASE', 'WINDOW', 'NEXT', 'TARGETS', 'MESSAGE']];
  const row = (name: string, spec: DeclaredFault | undefined, f: FaultStatus | undefined) => [
    name,
    spec ? (FAULT_ACTIONS.find((a) => spec[a] !== undefined) ?? '?') : '-',
    spec ? schedule(spec) : '(no longer in the spec)',
    f?.phase ?? 'Pending',
    f?.window ? `${f.window.from}..${f.window.until ?? ''}` : '',
    f?.nextWindow ? f.nextWindow.from : '',
    (f?.targets ?? []).map((t) => `${t.container}:${t.phase}${t.verified ? '✓' : ''}`).join(' '),
    f?.message ?? '',
  ];
  for (const spec of Array.isArray(declared) ? declared : []) {
    const name = String(spec?.name ?? '?');
    rows.push(
      row(
        name,
        spec ?? {},
        status.find((f) => f.name === name),
      ),
    );
  }
  for (const f of status) if (!rows.some((r) => r[0] === f.name)) rows.push(row(f.name, undefined, f));
  return rows;
}

/**
 * A fault's timing in words, from the scenario's start:
 *
 *   at 30s for 2m, every 10m, 3 times      at 10s..1m (seeded) until the end
 *   cron "0 9 * * 1-5" (Europe/Paris) for 1m   at start until the end
 */
function schedule(f: DeclaredFault): string {
  const parts: string[] = [];
  if (f.schedule !== undefined)
    parts.push(`cron "${String(f.schedule)}"${f.timeZone ? ` (${String(f.timeZone)})` : ''}`);
  else if (f.startAt !== undefined) parts.push(`at ${String(f.startAt)}`);
  else if (f.at !== undefined && typeof f.at === 'object' && f.at !== null)
    parts.push(`at ${String(f.at.min)}..${String(f.at.max)} (seeded)`);
  else if (f.at !== undefined) parts.push(`at ${String(f.at)}`);
  else parts.push('at start');
  parts.push(f.duration !== undefined ? `for ${String(f.duration)}` : 'until the end');
  let text = parts.join(' ');
  if (f.repeat && typeof f.repeat === 'object') {
    text += `, every ${String(f.repeat.every)}`;
    if (f.repeat.times !== undefined) text += `, ${String(f.repeat.times)} times`;
  }
  return text;
}
