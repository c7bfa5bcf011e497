// `faultline graph`: a scenario's topology as a picture: the Docker engine, the containers it runs,
// the networks they join, and the faults active now drawn on the edges they act on, in the fault
// colours of the timeline chart (timeline/colours.ts). Pure: (scenario, which faults) -> text, the
// same bytes for the same input, so tests and the README's images golden them.
//
//   engine ── runs ── c1, c2, c3            (grey)
//   c1 ── member ── left (10.231.1.0/24)    (grey, the address on the line)
//   c1 ┄┄ cut: split ┄┄ c2                  (a partition: red, dashed, between the two ends)
//   c1 ── slow: delay 100ms ── left         (netem without peers: on c1's line to its network)
//   c1 ── freeze: pause ── engine           (a container action: on the engine's line)
//
// Where a fault's containers come from: the status (what the controller resolved: labels,
// compose, random choices) when there is one, else the names in the spec.
import type { FaultAction, FaultSpec, Scenario } from '../api/types.js';
import { actionOf } from '../api/kinds.js';
import { FAULT_COLOURS, FAULT_KIND_TEXT } from '../timeline/colours.js';

export type GraphFormat = 'svg' | 'mermaid' | 'dot';

export interface GraphNode {
  id: string;
  kind: 'engine' | 'container' | 'network' | 'cidr';
  label: string;
  /** A second line: a network's subnets, a container's phase. */
  detail?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: 'runs' | 'member' | 'fault';
  label?: string;
  /** Fault edges: the fault and its kind (its colour). */
  fault?: string;
  faultKind?: FaultAction;
  /** A cut (partition, blackhole, reject, disconnect): drawn dashed. */
  cut?: boolean;
}

export interface Graph {
  scenario: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Faults drawn, in spec order, and those that act on nothing known. */
  faults: { name: string; kind: FaultAction; text: string; drawn: boolean }[];
}

const ENGINE = 'engine';
const cid = (name: string) => `c:${name}`;
const nid = (name: string) => `n:${name}`;

/** What a fault does, in a few words: "delay 100ms ±10ms, loss 20%", "rate 1mbit", "cut". */
export function faultText(f: FaultSpec): string {
  const a = actionOf(f);
  switch (a.kind) {
    case 'netem': {
      const n = a.spec;
      const pct = (v: unknown) => (typeof v === 'object' && v ? (v as { percent: string }).percent : String(v));
      const parts = [
        n.delay && `delay ${n.delay}${n.jitter ? ` ±${n.jitter}` : ''}`,
        n.loss !== undefined && `loss ${pct(n.loss)}`,
        n.gemodel && `loss (GE) ${n.gemodel.p}`,
        n.duplicate !== undefined && `duplicate ${pct(n.duplicate)}`,
        n.corrupt !== undefined && `corrupt ${pct(n.corrupt)}`,
        n.reorder && `reorder ${n.reorder.percent}`,
        n.rate && `rate ${n.rate}`,
      ].filter(Boolean);
      return parts.join(', ') || 'netem';
    }
    case 'bandwidth':
      return `rate ${a.spec.rate}`;
    case 'partition':
      return a.spec.generator ? `cut (${a.spec.generator})` : 'cut';
    case 'blackhole':
      return 'blackhole';
    case 'reject':
      return `reject ${a.spec.with}`;
    case 'dns':
      return [`dns ${a.spec.action}`, a.spec.delay, a.spec.names?.join(' ')].filter(Boolean).join(' ');
    case 'disconnect':
      return 'disconnected';
    case 'container':
      return a.spec.action;
  }
}

const CUTS = new Set<FaultAction>(['partition', 'blackhole', 'reject', 'disconnect']);

/**
 * The graph of `scenario`. `active`: the names of the faults to draw (those active now, or all).
 */
export function buildGraph(scenario: Scenario, active: ReadonlySet<string>): Graph {
  const spec = scenario.spec ?? {};
  const status = scenario.status ?? {};
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const addContainer = (name: string) => {
    if (!nodes.has(cid(name))) nodes.set(cid(name), { id: cid(name), kind: 'container', label: name });
    return cid(name);
  };
  nodes.set(ENGINE, { id: ENGINE, kind: 'engine', label: 'Docker engine' });
  // Several engines: one node per engine, each running its containers (grouped by engine).
  const engineOf = (c: string): string =>
    status.containers?.find((x) => x.name === c)?.engine ??
    spec.containers?.find((x) => x.name === c)?.engine ??
    'default';
  const engineNode = (c: string): string => {
    const e = engineOf(c);
    if (e === 'default') return ENGINE;
    const id = `${ENGINE}:${e}`;
    if (!nodes.has(id)) nodes.set(id, { id, kind: 'engine', label: `engine ${e}` });
    return id;
  };
  for (const n of spec.networks ?? []) {
    const subnets =
      status.networks?.find((s) => s.name === n.name)?.subnets ?? n.ipam?.config?.map((c) => c.subnet) ?? [];
    nodes.set(nid(n.name), {
      id: nid(n.name),
      kind: 'network',
      label: n.name,
      detail: subnets.join(', ') || undefined,
    });
  }
  for (const c of spec.containers ?? []) addContainer(c.name);
  // Members: as the controller resolved them, else the names the spec selects.
  const members = new Map<string, { network: string; container: string; ip?: string }>();
  if (status.members?.length)
    for (const m of status.members)
      members.set(`${m.network}\0${m.container}`, {
        network: m.network,
        container: m.container,
        ip: m.ipv4Address ?? m.ipv6Address,
      });
  else
    for (const m of spec.members ?? [])
      for (const c of m.select.names ?? [])
        members.set(`${m.network}\0${c}`, { network: m.network, container: c, ip: m.ipv4Address });
  for (const m of members.values()) {
    if (!nodes.has(nid(m.network)))
      nodes.set(nid(m.network), { id: nid(m.network), kind: 'network', label: m.network });
    edges.push({ from: addContainer(m.container), to: nid(m.network), kind: 'member', label: m.ip });
  }
  for (const c of status.containers ?? []) {
    addContainer(c.name);
    nodes.get(cid(c.name))!.detail = c.phase;
  }

  const faults: Graph['faults'] = [];
  for (const f of spec.faults ?? []) {
    const kind = actionOf(f).kind;
    const text = faultText(f);
    const resolved = status.faults?.find((s) => s.name === f.name)?.targets?.map((t) => t.container);
    const targets = resolved?.length ? resolved : (f.targets?.names ?? f.partition?.groups?.flat() ?? []);
    const draw = active.has(f.name) && targets.length > 0;
    faults.push({ name: f.name, kind, text, drawn: draw });
    if (!draw) continue;
    const edge = (from: string, to: string, label = `${f.name}: ${text}`): GraphEdge => ({
      from,
      to,
      kind: 'fault',
      label,
      fault: f.name,
      faultKind: kind,
      cut: CUTS.has(kind),
    });
    const networksOf = (c: string) => [...members.values()].filter((m) => m.container === c).map((m) => nid(m.network));
    const a = actionOf(f);
    if (a.kind === 'partition' && a.spec.groups) {
      // Every pair across groups is cut, once.
      const groups = a.spec.groups;
      for (let i = 0; i < groups.length; i++)
        for (let j = i + 1; j < groups.length; j++)
          for (const x of groups[i]) for (const y of groups[j]) edges.push(edge(addContainer(x), addContainer(y)));
      continue;
    }
    for (const t of targets) {
      const from = addContainer(t);
      if (a.kind === 'container') edges.push(edge(from, engineNode(t)));
      else if (a.kind === 'disconnect') edges.push(edge(from, nid(a.spec.network)));
      else if (f.peers?.names?.length || f.peers?.cidrs?.length) {
        for (const p of f.peers.names ?? []) edges.push(edge(from, addContainer(p)));
        for (const c of f.peers.cidrs ?? []) {
          if (!nodes.has(`x:${c}`)) nodes.set(`x:${c}`, { id: `x:${c}`, kind: 'cidr', label: c });
          edges.push(edge(from, `x:${c}`));
        }
      } else for (const n of networksOf(t)) edges.push(edge(from, n));
    }
  }
  // The engine runs every container (declared ones and those the scenario only selects).
  const runs: GraphEdge[] = [...nodes.values()]
    .filter((n) => n.kind === 'container')
    .map((n) => ({ from: engineNode(n.label), to: n.id, kind: 'runs' }));
  if ([...nodes.values()].filter((n) => n.kind === 'engine').length > 1) {
    // Group the containers by engine (default first), each group under its engine.
    const order = (n: GraphNode) => (n.kind === 'container' ? engineNode(n.label) : '');
    const sorted = [...nodes.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    nodes.clear();
    for (const n of sorted) nodes.set(n.id, n);
  }
  return { scenario: scenario.metadata?.name ?? '', nodes: [...nodes.values()], edges: [...runs, ...edges], faults };
}

// ------------------------------------------------------------------ text formats

const quote = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
/** A Mermaid node id: `c:web` -> `c_web`; other characters by their code (`c:a.b` -> `c_a_2eb`). */
const safeId = (id: string) =>
  id.replace(/^([cnx]):/, '$1_').replace(/[^A-Za-z0-9_]/g, (ch) => `_${ch.charCodeAt(0).toString(16)}`);

/** Graphviz: `dot -Tsvg`. Containers boxes, networks hexagons, the engine a 3-D box. */
export function renderDot(g: Graph): string {
  const shape = { engine: 'box3d', container: 'box', network: 'hexagon', cidr: 'note' } as const;
  const lines = [
    `graph "${quote(g.scenario)}" {`,
    '  graph [rankdir=TB, fontname="Helvetica", labelloc=t, label="' + quote(`scenario ${g.scenario}`) + '"];',
    '  node [fontname="Helvetica", fontsize=11, style="rounded,filled", fillcolor="#f4f6f8"];',
    '  edge [fontname="Helvetica", fontsize=9, color="#9aa5b1"];',
  ];
  for (const n of g.nodes) {
    const label = n.detail ? `${n.label}\\n${n.detail}` : n.label;
    lines.push(`  "${quote(n.id)}" [shape=${shape[n.kind]}, label="${quote(label).replace(/\\\\n/g, '\\n')}"];`);
  }
  for (const e of g.edges) {
    const attrs: string[] = [];
    if (e.label) attrs.push(`label="${quote(e.label)}"`);
    if (e.kind === 'fault') {
      attrs.push(`color="${FAULT_COLOURS[e.faultKind!]}"`, `fontcolor="${FAULT_COLOURS[e.faultKind!]}"`, 'penwidth=2');
      if (e.cut) attrs.push('style=dashed');
      attrs.push('constraint=false');
    }
    if (e.kind === 'runs') attrs.push('style=dotted');
    lines.push(`  "${quote(e.from)}" -- "${quote(e.to)}"${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid flowchart (GitHub renders it in Markdown). Fault links coloured with linkStyle. */
export function renderMermaid(g: Graph): string {
  const shape = (n: GraphNode) => {
    const text = `"${(n.detail ? `${n.label}<br/>${n.detail}` : n.label).replace(/"/g, '#quot;')}"`;
    switch (n.kind) {
      case 'engine':
        return `[(${text})]`;
      case 'network':
        return `{{${text}}}`;
      case 'cidr':
        return `>${text}]`;
      default:
        return `(${text})`;
    }
  };
  const lines = ['flowchart TB', `  %% scenario ${g.scenario}`];
  for (const n of g.nodes) lines.push(`  ${safeId(n.id)}${shape(n)}`);
  const styles: string[] = [];
  g.edges.forEach((e, i) => {
    const label = e.label ? `|"${e.label.replace(/"/g, '#quot;')}"|` : '';
    const link = e.kind === 'runs' ? '-.-' : e.cut ? '-.-' : '---';
    lines.push(`  ${safeId(e.from)} ${link}${label} ${safeId(e.to)}`);
    if (e.kind === 'fault')
      styles.push(
        `  linkStyle ${i} stroke:${FAULT_COLOURS[e.faultKind!]},stroke-width:2px,color:${FAULT_COLOURS[e.faultKind!]}`,
      );
    else styles.push(`  linkStyle ${i} stroke:#9aa5b1`);
  });
  lines.push(...styles);
  lines.push('  classDef engine fill:#263238,color:#fff,stroke:#263238');
  lines.push('  classDef network fill:#e8f1e4,stroke:#5b8c4a');
  lines.push('  classDef container fill:#e3eef9,stroke:#3a6ea5');
  for (const kind of ['engine', 'network', 'container'] as const) {
    const ids = g.nodes.filter((n) => n.kind === kind).map((n) => safeId(n.id));
    if (ids.length) lines.push(`  class ${ids.join(',')} ${kind}`);
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ SVG

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => String(Math.round(n * 10) / 10);

/**
 * The graph as SVG, laid out in three rows: the engine on top, the containers, the networks (and
 * CIDR peers) below. Faults between containers arc above the container row; a fault on a
 * container's line to a network or the engine runs beside that line. Every node is a
 * `<g class="node" data-kind data-id>`, every edge a `<g class="edge" data-kind [data-fault
 * data-fault-kind]>`, so tests can find them; plain attributes only, no scripts.
 */
export function renderGraphSvg(g: Graph): string {
  const containers = g.nodes.filter((n) => n.kind === 'container');
  const bottom = g.nodes.filter((n) => n.kind === 'network' || n.kind === 'cidr');
  const colW = 150;
  const nodeW = 124;
  const nodeH = 40;
  const arcs = g.edges.filter((e) => e.kind === 'fault' && e.from.startsWith('c:') && e.to.startsWith('c:'));
  const arcSpace = arcs.length ? 40 + 14 * Math.min(8, arcs.length) : 0;
  const legendKinds = [...new Set(g.faults.filter((f) => f.drawn).map((f) => f.kind))];
  const W = Math.max(420, colW * Math.max(containers.length, bottom.length, 1) + 40);
  const yEngine = 36;
  const yContainers = yEngine + 90 + arcSpace;
  const yNetworks = yContainers + 160;
  const legendY = yNetworks + nodeH + 36;
  const H = legendY + 18 * Math.max(1, legendKinds.length) + 12;
  const pos = new Map<string, { x: number; y: number }>();
  pos.set(ENGINE, { x: W / 2, y: yEngine + nodeH / 2 });
  const engines = g.nodes.filter((n) => n.kind === 'engine');
  if (engines.length > 1) {
    // Each engine above the middle of its containers.
    engines.forEach((e, i) => {
      const mine = g.edges.filter((x) => x.kind === 'runs' && x.from === e.id).map((x) => x.to);
      const at = mine.map((id) => containers.findIndex((c) => c.id === id)).filter((k) => k >= 0);
      const mid = at.length ? (Math.min(...at) + Math.max(...at)) / 2 : i;
      pos.set(e.id, { x: W / 2 + (mid - (containers.length - 1) / 2) * colW, y: yEngine + nodeH / 2 });
    });
  }
  const row = (ns: GraphNode[], y: number) =>
    ns.forEach((n, i) => pos.set(n.id, { x: W / 2 + (i - (ns.length - 1) / 2) * colW, y: y + nodeH / 2 }));
  row(containers, yContainers);
  row(bottom, yNetworks);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(W)}" height="${num(H)}" viewBox="0 0 ${num(W)} ${num(H)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${esc(`scenario ${g.scenario}: engine, containers, networks and active faults`)}</title>`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="12" y="20" font-size="14" font-weight="bold">${esc(`scenario ${g.scenario}`)}</text>`,
  ];
  // Edges first (under the nodes). Several faults on one pair are fanned out.
  const seen = new Map<string, number>();
  let arcIndex = 0;
  const placed: { x: number; y: number; w: number }[] = [];
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const pair = [e.from, e.to].sort().join('\0');
    const k = e.kind === 'fault' ? (seen.get(pair) ?? 0) : 0;
    if (e.kind === 'fault') seen.set(pair, k + 1);
    const colour = e.kind === 'fault' ? FAULT_COLOURS[e.faultKind!] : '#9aa5b1';
    const attrs =
      e.kind === 'fault'
        ? `stroke="${colour}" stroke-width="3" fill="none"${e.cut ? ' stroke-dasharray="7 4"' : ''}`
        : `stroke="${colour}" stroke-width="1.5" fill="none"${e.kind === 'runs' ? ' stroke-dasharray="2 3"' : ''}`;
    const data = e.kind === 'fault' ? ` data-fault="${esc(e.fault!)}" data-fault-kind="${e.faultKind}"` : '';
    out.push(`<g class="edge" data-kind="${e.kind}" data-from="${esc(e.from)}" data-to="${esc(e.to)}"${data}>`);
    let lx: number;
    let ly: number;
    if (e.kind === 'fault' && e.from.startsWith('c:') && e.to.startsWith('c:')) {
      // An arc above the container row, higher for each further fault on the pair.
      // Neighbouring arcs are staggered so that their labels do not sit on one another.
      const top = yContainers - 18 - Math.abs(a.x - b.x) / 10 - 16 * k - 14 * (arcIndex++ % 3);
      const cy = 2 * top - (a.y - nodeH / 2 + b.y - nodeH / 2) / 2;
      out.push(
        `<path d="M ${num(a.x)} ${num(a.y - nodeH / 2)} Q ${num((a.x + b.x) / 2)} ${num(cy)} ${num(b.x)} ${num(b.y - nodeH / 2)}" ${attrs}/>`,
      );
      lx = (a.x + b.x) / 2;
      ly = top - 4;
    } else {
      // A straight line; a fault runs beside the membership or engine line it acts on.
      const off = e.kind === 'fault' ? 10 + 8 * k : 0;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const ox = (-dy / len) * off;
      const oy = (dx / len) * off;
      out.push(
        `<line x1="${num(a.x + ox)}" y1="${num(a.y + oy)}" x2="${num(b.x + ox)}" y2="${num(b.y + oy)}" ${attrs}/>`,
      );
      const t = e.kind === 'fault' ? 0.5 : 0.72;
      lx = a.x + dx * t + ox * 2.2;
      ly = a.y + dy * t + oy * 2.2;
    }
    if (e.label && e.kind === 'fault') {
      // Labels never sit on one another: a label that would is moved up until it is clear (its
      // width estimated from its length at this font size).
      const w = e.label.length * 6.2;
      const clash = () => placed.some((p) => Math.abs(p.x - lx) < (p.w + w) / 2 + 4 && Math.abs(p.y - ly) < 13);
      for (let i = 0; i < 12 && clash(); i++) ly -= 13;
      placed.push({ x: lx, y: ly, w });
    }
    if (e.label)
      out.push(
        `<text x="${num(lx)}" y="${num(ly)}" text-anchor="middle" font-size="${e.kind === 'fault' ? 11 : 10}" fill="${e.kind === 'fault' ? colour : '#5f6b7a'}" stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(e.label)}</text>`,
      );
    out.push('</g>');
  }
  const style = {
    engine: { fill: '#263238', stroke: '#263238', text: '#ffffff', rx: 4 },
    container: { fill: '#e3eef9', stroke: '#3a6ea5', text: '#1b2a3a', rx: 8 },
    network: { fill: '#e8f1e4', stroke: '#5b8c4a', text: '#1f3319', rx: 20 },
    cidr: { fill: '#f4f4f4', stroke: '#777777', text: '#333333', rx: 0 },
  } as const;
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    if (!p) continue;
    const s = style[n.kind];
    const w = n.kind === 'engine' ? 160 : nodeW;
    out.push(
      `<g class="node" data-kind="${n.kind}" data-id="${esc(n.id)}">`,
      `<rect x="${num(p.x - w / 2)}" y="${num(p.y - nodeH / 2)}" width="${w}" height="${nodeH}" rx="${s.rx}" fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"/>`,
      `<text x="${num(p.x)}" y="${num(p.y + (n.detail ? -2 : 4))}" text-anchor="middle" fill="${s.text}" font-weight="bold">${esc(n.label)}</text>`,
    );
    if (n.detail)
      out.push(
        `<text x="${num(p.x)}" y="${num(p.y + 12)}" text-anchor="middle" fill="${s.text}" font-size="10">${esc(n.detail)}</text>`,
      );
    out.push('</g>');
  }
  // Legend: the fault kinds drawn, in the colours of the timeline chart.
  out.push(`<g class="legend">`);
  if (legendKinds.length === 0) out.push(`<text x="12" y="${legendY + 4}" fill="#5f6b7a">no active faults</text>`);
  legendKinds.forEach((kind, i) => {
    const y = legendY + 18 * i;
    const names = g.faults.filter((f) => f.drawn && f.kind === kind).map((f) => f.name);
    out.push(
      `<line x1="12" y1="${y}" x2="40" y2="${y}" stroke="${FAULT_COLOURS[kind]}" stroke-width="3"${['partition', 'blackhole', 'reject', 'disconnect'].includes(kind) ? ' stroke-dasharray="7 4"' : ''}/>`,
      `<text x="48" y="${y + 4}" fill="#333333">${esc(`${FAULT_KIND_TEXT[kind]}: ${names.join(', ')}`)}</text>`,
    );
  });
  out.push('</g>', '</svg>');
  return `${out.join('\n')}\n`;
}

export function renderGraph(g: Graph, format: GraphFormat): string {
  return format === 'svg' ? renderGraphSvg(g) : format === 'dot' ? renderDot(g) : renderMermaid(g);
}
