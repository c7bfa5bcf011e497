// The tables of `get` and `describe` (kubectl habits: aligned columns, ages, events last).
import type { Scenario, ScenarioStatus } from '../api/types.js';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('   ').trimEnd()).join('\n') + '\n';
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
}

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
    if (wide) row.push(String(it.scenario?.metadata?.generation ?? '-'), String(st?.observedGeneration ?? '-'), it.file);
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
  if (st.nextTransitionAt) kv('Next change', st.nextTransitionAt);
  if (st.lastReconcile) kv('Last change', `${st.lastReconcile.time}: ${st.lastReconcile.operations} operations in ${st.lastReconcile.durationMs} ms`);
  const section = (title: string, rows: string[][]) => {
    out.push('', `${title}:`);
    if (rows.length <= 1) out.push('  <none>');
    else out.push(...table(rows).trimEnd().split('\n').map((l) => '  ' + l));
  };
  section('Conditions', [
    ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
    ...(st.conditions ?? []).map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]),
  ]);
  if (st.issues?.length) {
    section('Problems', [['LINE', 'PATH', 'MESSAGE'], ...st.issues.map((i) => [i.line ? `${i.line}:${i.column ?? 1}` : '-', i.path.join('.') || '(root)', i.message])]);
  }
  section('Networks', [['NAME', 'DOCKER NAME', 'PHASE', 'SUBNETS', 'MESSAGE'], ...(st.networks ?? []).map((n) => [n.name, n.dockerName, n.phase, (n.subnets ?? []).join(','), n.message ?? ''])]);
  section('Containers', [['NAME', 'DOCKER NAME', 'PHASE', 'STATE', 'MESSAGE'], ...(st.containers ?? []).map((c) => [c.name, c.dockerName, c.phase, c.state ?? '', c.message ?? ''])]);
  section('Members', [
    ['NETWORK', 'CONTAINER', 'PHASE', 'IPV4', 'IPV6', 'ALIASES', 'MESSAGE'],
    ...(st.members ?? []).map((m) => [m.network, m.container, m.phase, m.ipv4Address ?? '', m.ipv6Address ?? '', (m.aliases ?? []).join(','), m.message ?? '']),
  ]);
  if (s.spec?.faults?.length || st.faults?.length) {
    section('Faults', [
      ['NAME', 'PHASE', 'WINDOW', 'NEXT', 'TARGETS', 'MESSAGE'],
      ...(st.faults ?? []).map((f) => [
        f.name,
        f.phase,
        f.window ? `${f.window.from}..${f.window.until ?? ''}` : '',
        f.nextWindow ? f.nextWindow.from : '',
        (f.targets ?? []).map((t) => `${t.container}:${t.phase}${t.verified ? '✓' : ''}`).join(' '),
        f.message ?? '',
      ]),
    ]);
  }
  section('Events', [['AGE', 'TYPE', 'REASON', 'MESSAGE'], ...(st.events ?? []).map((e) => [age(e.time, now), e.type, e.reason, e.message])]);
  return out.join('\n') + '\n';
}
