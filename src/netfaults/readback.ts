// Read-back: what the kernel says, parsed into the same shapes the compiler produces, and the diff
// that decides which commands to run. A fault counts as applied only when this read-back shows it.
//
// Inputs (run in the target netns, argument arrays from readbackCommands):
//   tc -j qdisc show                    every device's qdiscs as JSON (has "dev" per record)
//   tc -j class show dev X              iproute2 6.1 prints TEXT here despite -j; both are parsed
//   tc -j filter show dev X             egress filters at our root (u32 keys as repeated "match"
//                                       members — parsed with json.ts, which keeps duplicates)
//   tc -j filter show dev X ingress     the ingress → ifb redirect
//   ip -j -d link show                  ifb devices (linkinfo.info_kind "ifb")
//   iptables-save / ip6tables-save      every table; only FAULTLINE-* chains and the jumps to them
//                                       are looked at
//
// The diff is per object, not per ledger: a changed fault touches only its classes/filters/rules;
// a parameter change is `qdisc replace` on the leaf; unchanged objects produce no command at all,
// so re-applying an unchanged ledger produces ZERO commands.

import { formatCidr, readCidr, type IpFamily } from '../api/net.js';
import { asArray, parseJsonKeepDuplicates, type Json } from './json.js';
import type { Degraded } from './ledger.js';
import { foldKeys, nodeSig, type U32Key } from './match.js';
import {
  CHAIN_TAGS,
  OWNED_CHAINS,
  type DesiredChain,
  type IptablesDesired,
  type OwnedChainDef,
  type Table,
} from './iptables.js';
import {
  INGRESS_PREF,
  PARENT_CLASSID,
  PARENT_MINOR,
  ROOT_HANDLE,
  ROOT_MAJOR,
  UNSHAPED_BPS,
  hex,
  isOwnedIfb,
  leavesEqual,
  tcLines,
  type ClassShape,
  type DesiredDevice,
  type LeafState,
} from './tc.js';

// ---------------------------------------------------------------- raw records

export interface QdiscRecord {
  dev?: string;
  kind: string;
  handle: string;
  parent?: string;
  root: boolean;
  options: Record<string, Json>;
  /** A tbf's peak rate in bytes/s, from `tc qdisc show` text (iproute2 6.1 leaves it out of -j). */
  peakBytes?: number;
}

export interface FilterRecord {
  parent?: string;
  protocol: string;
  pref: number;
  kind: string;
  flowid?: string;
  keys: U32Key[];
  /** mirred redirect target, when the node carries one */
  redirectTo?: string;
  /** bpf bytecode ("bpf:code jt jf k,...") or u32 mark ("mark:val/mask"), see match.nodeSig */
  sig?: string;
}

export interface ClassRecord {
  kind: string;
  classid: string;
  parent?: string; // undefined = root
  leaf?: string;
  /** htb rate and ceil in bits/s, when printed. */
  rateBps?: number;
  ceilBps?: number;
}

export interface LinkState {
  name: string;
  kind?: string;
  up: boolean;
}

export interface IptablesState {
  tables: Record<string, { chains: string[]; rules: { chain: string; spec: string }[] }>;
}

const obj = (v: Json | undefined): Record<string, Json> => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const num = (v: Json | undefined): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function parseArray(text: string): Json[] {
  const t = text.trim();
  if (t === '') return [];
  const v = parseJsonKeepDuplicates(t);
  return Array.isArray(v) ? v : [];
}

/** `tc -j qdisc show [dev X]`. Pass `dev` when the output is for one device (it then has no "dev"). */
export function parseTcQdiscs(json: string, dev?: string): QdiscRecord[] {
  return parseArray(json).map((r) => {
    const o = obj(r);
    return {
      dev: str(o.dev) ?? dev,
      kind: str(o.kind) ?? '',
      handle: str(o.handle) ?? '',
      parent: str(o.parent),
      root: o.root === true,
      options: obj(o.options),
    };
  });
}

const FLOWER_KEYS = ['ip_proto', 'dst_ip', 'src_ip', 'src_port', 'dst_port'] as const;

/**
 * A flower node's keys as match.flowerNodeFor writes them: addresses with their prefix length,
 * ports "5432" or "8000-8100" (iproute2 prints {start, end}), in the order we write them.
 *   {"eth_type":"ipv4","ip_proto":"tcp","dst_ip":"10.0.0.3","dst_port":5432}
 *     → "flower:ip_proto=tcp,dst_ip=10.0.0.3/32,dst_port=5432"
 */
export function flowerSig(keys: Record<string, Json>): string {
  const out: string[] = [];
  const order = ['ip_proto', 'dst_ip', 'src_ip', 'src_port', 'dst_port'];
  for (const k of order) {
    const v = keys[k];
    if (v === undefined) continue;
    if (k === 'dst_ip' || k === 'src_ip') {
      const t = String(v);
      const full = t.includes('/') ? t : `${t}/${t.includes(':') ? 128 : 32}`;
      const c = readCidr(full);
      out.push(`${k}=${c ? formatCidr(c) : full}`);
    } else if (k === 'src_port' || k === 'dst_port') {
      const r = obj(v);
      out.push(`${k}=${typeof v === 'object' && v !== null ? `${num(r.start)}-${num(r.end)}` : num(v)}`);
    } else out.push(`${k}=${String(v)}`);
  }
  // keys we never write make the node foreign: keep them visible in the signature
  for (const k of Object.keys(keys).sort())
    if (!(FLOWER_KEYS as readonly string[]).includes(k) && k !== 'eth_type')
      out.push(`${k}=${JSON.stringify(keys[k])}`);
  return `flower:${out.join(',')}`;
}

/** `tc -j filter show dev X [ingress]`: one record per u32 node (hash-table headers are skipped). */
export function parseTcFilters(json: string): FilterRecord[] {
  const out: FilterRecord[] = [];
  for (const r of parseArray(json)) {
    const o = obj(r);
    const opts = obj(o.options);
    const fh = str(opts.fh);
    // Per pref, iproute2 prints a bare header, then (u32) the hash table "800:", then the nodes
    // "800::800"; only nodes carry matches and a flowid.
    if (o.options === undefined) continue;
    if (str(o.kind) === 'u32' && !(fh && /^[0-9a-f]+:[0-9a-f]*:[0-9a-f]+$/.test(fh))) continue;
    const keys: U32Key[] = asArray(opts.match as Json | Json[] | undefined).map((m) => {
      const k = obj(m);
      return {
        off: num(k.off),
        value: parseInt(str(k.value) ?? '0', 16) >>> 0,
        mask: parseInt(str(k.mask) ?? '0', 16) >>> 0,
      };
    });
    let redirectTo: string | undefined;
    for (const a of asArray(opts.actions as Json | Json[] | undefined)) {
      const ao = obj(a);
      if (str(ao.kind) === 'mirred' && str(ao.mirred_action) === 'redirect') redirectTo = str(ao.to_dev);
    }
    let sig: string | undefined;
    const bc = obj(opts.bytecode);
    if (str(o.kind) === 'bpf' && Array.isArray(bc.insns)) {
      sig = `bpf:${bc.insns
        .map((i) => {
          const x = obj(i);
          return `${num(x.code)} ${num(x.jt)} ${num(x.jf)} ${num(x.k)}`;
        })
        .join(',')}`;
    }
    if (str(o.kind) === 'flower') sig = flowerSig(obj(opts.keys));
    if (opts.fwmark_value !== undefined)
      sig = `mark:${(parseInt(String(opts.fwmark_value), 16) >>> 0).toString(16)}/${(parseInt(String(opts.fwmark_mask), 16) >>> 0).toString(16)}`;
    const rec: FilterRecord = {
      parent: str(o.parent),
      protocol: str(o.protocol) ?? 'all',
      pref: num(o.pref),
      kind: str(o.kind) ?? '',
      flowid: str(opts.flowid) ?? str(opts.classid),
      keys: foldKeys(keys),
      redirectTo,
    };
    if (sig) rec.sig = sig;
    out.push(rec);
  }
  return out;
}

/**
 * `tc -j class show dev X`. iproute2 6.1 ignores -j for classes and prints
 *   class htb 1fa1:2a3b root leaf 2a3b: prio 0 rate 100Gbit ceil 100Gbit burst 1262500b cburst 1262500b
 * newer versions print JSON objects; both are accepted.
 */
export function parseTcClasses(output: string): ClassRecord[] {
  const t = output.trim();
  if (t.startsWith('[')) {
    return parseArray(t).map((r) => {
      const o = obj(r);
      const rec: ClassRecord = {
        kind: str(o.class) ?? str(o.kind) ?? '',
        classid: str(o.handle) ?? str(o.classid) ?? '',
        parent: o.root === true ? undefined : str(o.parent),
        leaf: str(o.leaf),
      };
      // newer iproute2: rates in bytes per second
      if (typeof o.rate === 'number') rec.rateBps = o.rate * 8;
      if (typeof o.ceil === 'number') rec.ceilBps = o.ceil * 8;
      return rec;
    });
  }
  const out: ClassRecord[] = [];
  for (const line of t.split('\n')) {
    const m = /^class (\S+) (\S+) (root|parent (\S+))(?: leaf (\S+))?/.exec(line.trim());
    if (!m) continue;
    const rec: ClassRecord = { kind: m[1], classid: m[2], parent: m[4], leaf: m[5] };
    const rate = / rate (\S+)/.exec(line);
    const ceil = / ceil (\S+)/.exec(line);
    if (rate) rec.rateBps = parseTcRateText(rate[1]);
    if (ceil) rec.ceilBps = parseTcRateText(ceil[1]);
    if (rec.rateBps === undefined) delete rec.rateBps;
    if (rec.ceilBps === undefined) delete rec.ceilBps;
    out.push(rec);
  }
  return out;
}

/** A rate as tc prints it ("100Gbit", "1234Kbit", "1Mibit", "800bit") → bits/s; undefined if not one. */
export function parseTcRateText(text: string): number | undefined {
  const m = /^([0-9.]+)([KMGT]?)(i?)bit$/.exec(text);
  if (!m) return undefined;
  const k = m[3] ? 1024 : 1000;
  const pow = ['', 'K', 'M', 'G', 'T'].indexOf(m[2]);
  return Math.round(Number(m[1]) * k ** pow);
}

/**
 * `tc qdisc show` (text) → the peak rate of every tbf that has one, by "dev handle":
 *   qdisc tbf 102: dev eth0 parent 1fa1:102 rate 1Mbit burst 32Kb peakrate 2Mbit minburst 1514b lat 50ms
 */
export function parseTbfPeakrates(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^qdisc tbf (\S+) dev (\S+) .* peakrate (\S+)/.exec(line.trim());
    const bps = m ? parseTcRateText(m[3]) : undefined;
    if (m && bps !== undefined) out.set(`${m[2]} ${m[1]}`, Math.floor(bps / 8));
  }
  return out;
}

/** `ip -j -d link show`: names, kinds (linkinfo.info_kind) and whether they are up. */
export function parseIpLinks(json: string): LinkState[] {
  return parseArray(json).map((r) => {
    const o = obj(r);
    const flags = asArray(o.flags as Json | Json[] | undefined);
    return { name: str(o.ifname) ?? '', kind: str(obj(o.linkinfo).info_kind), up: flags.includes('UP') };
  });
}

/** iptables-save (any tables). Rules keep the text after "-A <chain> ". */
export function parseIptablesSave(text: string): IptablesState {
  const tables: IptablesState['tables'] = {};
  let cur: { chains: string[]; rules: { chain: string; spec: string }[] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      cur = tables[line.slice(1)] ??= { chains: [], rules: [] };
    } else if (line === 'COMMIT') cur = undefined;
    else if (cur && line.startsWith(':')) cur.chains.push(line.slice(1).split(/\s+/)[0]);
    else if (cur && line.startsWith('-A ')) {
      const m = /^-A (\S+)\s*(.*)$/.exec(line);
      if (m) cur.rules.push({ chain: m[1], spec: m[2] });
    }
  }
  return { tables };
}

// ---------------------------------------------------------------- normalized device state

export interface ObservedClass {
  minor: number;
  classid: string;
  leaf?: LeafState & { handle: string };
  /** Absent: directly under our root; "1fa1:1": an htb-shaped class under our parent. */
  parent?: string;
  /** The class's own htb rate and ceil (bits/s), when the read-back printed them. */
  rateBps?: number;
  ceilBps?: number;
}

export interface ObservedFilterGroup {
  pref: number;
  protocol: string;
  flowids: string[];
  /** nodeSig of each node (u32 keys, or the bpf/mark signature), sorted */
  nodes: string[];
  redirectTo?: string;
}

export interface TcDeviceState {
  dev: string;
  /** The root qdisc; undefined when the device showed none (absent device). */
  root?: { kind: string; handle: string };
  /** Classes under OUR root (empty when the root is not ours). */
  classes: ObservedClass[];
  /** Filter groups attached at OUR root. */
  groups: ObservedFilterGroup[];
  ingress?: { kind: 'ingress' | 'clsact' };
  ingressGroups: ObservedFilterGroup[];
}

export interface ObservedNetns {
  devices: TcDeviceState[];
  links: LinkState[];
  /** null: not readable / not installed. Treated as "no owned chains". */
  iptables: IptablesState | null;
  ip6tables: IptablesState | null;
}

const pct = (v: Json | undefined) => num(v) * 100;

/** A qdisc's options as the normalized LeafState numbers tc.ts compares with. */
export function leafStateFromQdisc(q: QdiscRecord): LeafState & { handle: string } {
  const o = q.options;
  const params: Record<string, number> = {};
  const put = (k: string, v: number) => {
    if (v) params[k] = Math.abs(v - Math.round(v)) < 1e-9 ? Math.round(v) : v;
  };
  switch (q.kind) {
    case 'netem': {
      const d = obj(o.delay);
      put('delayUs', Math.round(num(d.delay) * 1e6));
      put('jitterUs', Math.round(num(d.jitter) * 1e6));
      if (num(d.jitter)) put('delayCorrPct', pct(d.correlation));
      const lr = obj(o['loss-random']);
      put('lossPct', pct(lr.loss));
      if (num(lr.loss)) put('lossCorrPct', pct(lr.correlation));
      const ge = obj(o['loss-gemodel']);
      if (Object.keys(ge).length) {
        put('geP', pct(ge.p));
        put('geR', pct(ge.r));
        put('ge1h', pct(ge['1-h']));
        put('ge1k', pct(ge['1-k']));
      }
      const ls = obj(o['loss-state']);
      if (Object.keys(ls).length) {
        put('ls13Pct', pct(ls.p13));
        put('ls31Pct', pct(ls.p31));
        put('ls32Pct', pct(ls.p32));
        put('ls23Pct', pct(ls.p23));
        put('ls14Pct', pct(ls.p14));
      }
      if (o.ecn === true) params.ecn = 1;
      const lim = num(o.limit);
      if (lim && lim !== 1000) params.limit = lim;
      const sl = obj(o.slot);
      if (Object.keys(sl).length) {
        put('slotMinUs', Math.round(num(sl['min-delay']) * 1e6));
        put('slotMaxUs', Math.round(num(sl['max-delay']) * 1e6));
        put('slotPackets', num(sl.packets));
        put('slotBytes', num(sl.bytes));
      }
      const du = obj(o.duplicate);
      put('duplicatePct', pct(du.duplicate));
      if (num(du.duplicate)) put('duplicateCorrPct', pct(du.correlation));
      const co = obj(o.corrupt);
      put('corruptPct', pct(co.corrupt));
      if (num(co.corrupt)) put('corruptCorrPct', pct(co.correlation));
      const re = obj(o.reorder);
      if (num(re.reorder)) {
        put('reorderPct', pct(re.reorder));
        put('reorderCorrPct', pct(re.correlation));
        put('gap', num(o.gap));
      }
      const r = obj(o.rate);
      put('rateBytes', num(r.rate));
      if (num(r.rate)) {
        put('rateOverhead', num(r.packetoverhead));
        put('rateCellSize', num(r.cellsize));
        if (num(r.cellsize)) put('rateCellOverhead', num(r.celloverhead));
      }
      break;
    }
    case 'tbf':
      put('rateBytes', num(o.rate));
      put('burstBytes', num(o.burst));
      put('latUs', num(o.lat));
      // iproute2 6.1 prints the peak rate as text only; "minburst" (the peak bucket) is in JSON
      put('mtuBytes', num(o.minburst));
      if (q.peakBytes) put('peakBytes', q.peakBytes);
      break;
    case 'pfifo':
    case 'bfifo':
      params.limit = num(o.limit);
      break;
  }
  return { kind: q.kind, handle: q.handle, params };
}

const majorOf = (handle: string) => parseInt(handle.split(':')[0] || '0', 16);
const minorOf = (classid: string) => parseInt(classid.split(':')[1] || '0', 16);

function groupFilters(records: FilterRecord[]): ObservedFilterGroup[] {
  const groups = new Map<string, ObservedFilterGroup>();
  for (const f of records) {
    const k = `${f.pref}/${f.protocol}`;
    const g = groups.get(k) ?? { pref: f.pref, protocol: f.protocol, flowids: [], nodes: [] };
    if (f.flowid && !g.flowids.includes(f.flowid)) g.flowids.push(f.flowid);
    g.nodes.push(nodeSig(f));
    if (f.redirectTo) g.redirectTo = f.redirectTo;
    groups.set(k, g);
  }
  for (const g of groups.values()) g.nodes.sort();
  return [...groups.values()].sort((a, b) => a.pref - b.pref || (a.protocol < b.protocol ? -1 : 1));
}

/** Assemble one device's state from its parsed read-back. */
export function deviceState(
  dev: string,
  qdiscs: QdiscRecord[],
  filters: FilterRecord[] = [],
  ingressFilters: FilterRecord[] = [],
  classes: ClassRecord[] = [],
): TcDeviceState {
  const mine = qdiscs.filter((q) => q.dev === undefined || q.dev === dev);
  const root = mine.find((q) => q.root);
  const rootOurs = root?.kind === 'htb' && majorOf(root.handle) === ROOT_MAJOR;
  const st: TcDeviceState = { dev, classes: [], groups: [], ingressGroups: groupFilters(ingressFilters) };
  if (root) st.root = { kind: root.kind, handle: root.handle };
  const ing = mine.find((q) => q.kind === 'ingress' || q.kind === 'clsact');
  if (ing) st.ingress = { kind: ing.kind as 'ingress' | 'clsact' };
  if (!rootOurs) return st;
  const byMinor = new Map<number, ObservedClass>();
  for (const c of classes) {
    // ours: directly under the root, or under our parent of htb-shaped classes (1fa1:1)
    if (c.kind !== 'htb' || majorOf(c.classid) !== ROOT_MAJOR) continue;
    if (c.parent !== undefined && c.parent !== PARENT_CLASSID) continue;
    const minor = minorOf(c.classid);
    const oc: ObservedClass = { minor, classid: `${ROOT_HANDLE}${hex(minor)}` };
    if (c.parent) oc.parent = c.parent;
    if (c.rateBps !== undefined) oc.rateBps = c.rateBps;
    if (c.ceilBps !== undefined) oc.ceilBps = c.ceilBps;
    byMinor.set(minor, oc);
  }
  for (const q of mine) {
    if (!q.parent || majorOf(q.parent) !== ROOT_MAJOR || q.root) continue;
    const minor = minorOf(q.parent);
    const c = byMinor.get(minor) ?? { minor, classid: `${ROOT_HANDLE}${hex(minor)}` };
    c.leaf = leafStateFromQdisc(q);
    const child = mine.find((x) => x.parent === `${q.handle.replace(/:$/, '')}:1`);
    if (child) c.leaf.child = leafStateFromQdisc(child);
    byMinor.set(minor, c);
  }
  st.classes = [...byMinor.values()].sort((a, b) => a.minor - b.minor);
  st.groups = groupFilters(filters.filter((f) => !f.parent || majorOf(f.parent) === ROOT_MAJOR));
  return st;
}

/** The commands whose output readback parses, for a netns with these interfaces. */
export function readbackCommands(
  interfaces: readonly string[],
  ifbs: readonly string[] = [],
): { id: string; dev?: string; argv: string[] }[] {
  const out: { id: string; dev?: string; argv: string[] }[] = [
    { id: 'qdiscs', argv: ['tc', '-j', 'qdisc', 'show'] },
    { id: 'links', argv: ['ip', '-j', '-d', 'link', 'show'] },
    { id: 'iptables', argv: ['iptables-save'] },
    { id: 'ip6tables', argv: ['ip6tables-save'] },
  ];
  for (const dev of [...interfaces, ...ifbs]) {
    out.push({ id: 'classes', dev, argv: ['tc', '-j', 'class', 'show', 'dev', dev] });
    out.push({ id: 'filters', dev, argv: ['tc', '-j', 'filter', 'show', 'dev', dev] });
    out.push({ id: 'ingress-filters', dev, argv: ['tc', '-j', 'filter', 'show', 'dev', dev, 'ingress'] });
  }
  return out;
}

/** Everything readbackCommands produced (stdout by id/dev) → ObservedNetns. */
export function observeNetns(out: {
  qdiscs: string;
  /** `tc qdisc show` as text, read only when a tbf has a peak bucket (its rate is text-only). */
  qdiscsText?: string;
  links?: string;
  iptables?: string | null;
  ip6tables?: string | null;
  perDevice: Record<string, { classes?: string; filters?: string; ingressFilters?: string }>;
}): ObservedNetns {
  const qdiscs = parseTcQdiscs(out.qdiscs);
  if (out.qdiscsText) {
    const peaks = parseTbfPeakrates(out.qdiscsText);
    for (const q of qdiscs) {
      const p = peaks.get(`${q.dev} ${q.handle}`);
      if (q.kind === 'tbf' && p !== undefined) q.peakBytes = p;
    }
  }
  const links = out.links === undefined ? [] : parseIpLinks(out.links);
  const devs = new Set<string>([
    ...Object.keys(out.perDevice),
    ...links.filter((l) => isOwnedIfb(l.name)).map((l) => l.name),
  ]);
  const devices = [...devs].sort().map((dev) => {
    const p = out.perDevice[dev] ?? {};
    return deviceState(
      dev,
      qdiscs.filter((q) => q.dev === dev),
      parseTcFilters(p.filters ?? ''),
      parseTcFilters(p.ingressFilters ?? ''),
      parseTcClasses(p.classes ?? ''),
    );
  });
  return {
    devices,
    links,
    iptables: out.iptables == null ? null : parseIptablesSave(out.iptables),
    ip6tables: out.ip6tables == null ? null : parseIptablesSave(out.ip6tables),
  };
}

// ---------------------------------------------------------------- the diff

/** One command line of a program, and the faults it exists for (comments carry none). */
export interface ProgramLine {
  line: string;
  keys: string[];
}

export interface ExecStep {
  argv: string[];
  stdin: string;
  what: string;
}

export interface LedgerDiff {
  /** `ip -batch -`: owned ifb devices to create / bring up. Runs first. */
  linkSetup?: string;
  /** `tc -batch -` per device; physical devices first, then ifbs. */
  tcPrograms: { dev: string; batch: string }[];
  /** `iptables-restore --noflush` / `ip6tables-restore --noflush`. */
  iptablesProgram?: string;
  ip6tablesProgram?: string;
  /** `ip -batch -`: owned ifb devices to delete. Runs last (after the redirects are gone). */
  linkCleanup?: string;
  /** Everything above, in execution order, as argument arrays + stdin. */
  steps: ExecStep[];
  /** Objects we must not touch (a foreign root qdisc) — the affected faults are not applied. */
  conflicts: Degraded[];
  /** Keys with something still to do (or blocked): not verified in the kernel. */
  pendingKeys: string[];
  /** true when there is nothing to run. */
  empty: boolean;
}

/** What diffLedger needs from a compiled ledger (CompiledLedger satisfies it). */
export interface DesiredNetns {
  interfaces: string[];
  devices: DesiredDevice[];
  ifbs: string[];
  iptables: IptablesDesired;
  ip6tables: IptablesDesired;
}

function render(lines: ProgramLine[]): string {
  return lines.map((l) => l.line).join('\n') + '\n';
}

const realLines = (lines: ProgramLine[]) => lines.filter((l) => !l.line.startsWith('#'));

function diffDevice(
  d: DesiredDevice | undefined,
  o: TcDeviceState | undefined,
  conflicts: Degraded[],
  pending: Set<string>,
): ProgramLine[] {
  const dev = d?.dev ?? o!.dev;
  const out: ProgramLine[] = [];
  const wantTree = !!d && (d.classes.length > 0 || d.groups.length > 0);
  const rootOurs = o?.root?.kind === 'htb' && majorOf(o.root.handle) === ROOT_MAJOR;
  const rootForeign = !!o?.root && !rootOurs && o.root.handle !== '0:';
  const keysOf = (dd: DesiredDevice) => [...new Set(dd.classes.flatMap((c) => c.keys))].sort();

  // ---- ingress redirect (physical devices) first in teardown order, last in setup order
  const ingressOps: ProgramLine[] = [];
  const redirect = o?.ingressGroups.find((g) => g.pref === INGRESS_PREF && g.protocol === 'all');
  const wantRedirect = d?.ingressRedirectTo;
  if (wantRedirect) {
    const ok =
      redirect &&
      redirect.redirectTo === wantRedirect &&
      redirect.nodes.length === 1 &&
      redirect.nodes[0] === '00000000/00000000@0';
    if (!ok) {
      const rk = d!.ingressKeys ?? [];
      rk.forEach((k) => pending.add(k));
      if (redirect && !(redirect.redirectTo && isOwnedIfb(redirect.redirectTo))) {
        for (const k of rk) {
          const [scenario, fault] = k.split('/');
          conflicts.push({
            scenario,
            fault,
            reason: 'ForeignQdisc',
            message: `fault "${fault}": ingress filter pref ${INGRESS_PREF} on ${dev} belongs to someone else; ingress faults are not applied there (remove that filter)`,
          });
        }
      } else {
        if (redirect) ingressOps.push({ line: tcLines.delRedirect(dev), keys: rk });
        if (!o?.ingress) ingressOps.push({ line: tcLines.addIngress(dev, d!.ingressKind ?? 'ingress'), keys: rk });
        ingressOps.push(
          { line: `# ingress of ${dev} -> ${wantRedirect} (${rk.join(', ')})`, keys: [] },
          { line: tcLines.addRedirect(dev, wantRedirect), keys: rk },
        );
      }
    }
  } else if (redirect && redirect.redirectTo && isOwnedIfb(redirect.redirectTo)) {
    ingressOps.push({ line: tcLines.delRedirect(dev), keys: [] });
    // The ingress qdisc goes too when nothing else hangs off it. A clsact stays: its egress hook
    // may carry someone's filters (we do not read that hook), and an empty clsact is inert.
    const others = o!.ingressGroups.filter((g) => g !== redirect);
    if (others.length === 0 && o!.ingress?.kind === 'ingress')
      ingressOps.push({ line: tcLines.delIngress(dev, 'ingress'), keys: [] });
  }
  const teardownIngress = !wantRedirect;
  if (teardownIngress) out.push(...ingressOps);

  // ---- the egress tree
  if (wantTree && rootForeign) {
    for (const k of keysOf(d!)) {
      pending.add(k);
      const [scenario, fault] = k.split('/');
      conflicts.push({
        scenario,
        fault,
        reason: 'ForeignQdisc',
        message: `fault "${fault}": ${dev} already has a root qdisc faultline does not own (${o!.root!.kind} ${o!.root!.handle}); its tc faults are not applied there (remove that qdisc, or stop the tool that installed it)`,
      });
    }
  } else if (wantTree && !rootOurs) {
    keysOf(d!).forEach((k) => pending.add(k));
    out.push({ line: `# ${dev}: faultline root (unclassified traffic: htb direct queue, unshaped)`, keys: [] });
    out.push({ line: tcLines.addRoot(dev), keys: keysOf(d!) });
    if (d!.parent) out.push(...addParentLines(dev, d!.parent));
    for (const c of d!.classes) {
      out.push(...addClassLines(dev, c));
      for (const g of d!.groups.filter((x) => x.flowid === c.classid))
        out.push(...tcLines.addFilters(dev, g).map((line) => ({ line, keys: g.keys })));
    }
  } else if (wantTree) {
    const obsParent = o!.classes.find((c) => c.minor === PARENT_MINOR);
    const obsClasses = new Map(o!.classes.filter((c) => c.minor !== PARENT_MINOR).map((c) => [c.minor, c]));
    const desClasses = new Map(d!.classes.map((c) => [c.minor, c]));
    // htb cannot move a class to another parent: a class that must start (or stop) shaping is
    // deleted and added again, its filters with it (a class in use by a filter cannot be deleted)
    const recreate = new Set(
      [...desClasses.values()]
        .filter((dc) => {
          const oc = obsClasses.get(dc.minor);
          return !!oc && (oc.parent ?? ROOT_HANDLE) !== (dc.shape ? PARENT_CLASSID : ROOT_HANDLE);
        })
        .map((dc) => dc.classid),
    );
    const obsGroups = new Map(o!.groups.map((g) => [`${g.pref}/${g.protocol}`, g]));
    const desGroups = new Map(d!.groups.map((g) => [`${g.pref}/${g.protocol}`, g]));
    const groupEqual = (dg: (typeof d)['groups'][number], og: ObservedFilterGroup) =>
      og.flowids.length === 1 &&
      og.flowids[0] === dg.flowid &&
      !recreate.has(dg.flowid) &&
      sameList(og.nodes, dg.nodes.map(nodeSig).sort());
    const delGroups: ProgramLine[] = [];
    const addGroups: ProgramLine[] = [];
    for (const [k, og] of obsGroups) {
      const dg = desGroups.get(k);
      if (!dg || !groupEqual(dg, og) || og.flowids.some((f) => recreate.has(f)))
        delGroups.push({ line: tcLines.delFilters(dev, og.pref, og.protocol), keys: dg?.keys ?? [] });
    }
    for (const [k, dg] of desGroups) {
      const og = obsGroups.get(k);
      if (!og || !groupEqual(dg, og)) {
        dg.keys.forEach((x) => pending.add(x));
        addGroups.push(...tcLines.addFilters(dev, dg).map((line) => ({ line, keys: dg.keys })));
      }
    }
    const delClasses: ProgramLine[] = [];
    for (const [minor, oc] of obsClasses)
      if (!desClasses.has(minor) || recreate.has(oc.classid))
        delClasses.push({ line: tcLines.delClass(dev, oc.classid), keys: [] });
    const parentOps: ProgramLine[] = [];
    if (d!.parent && !obsParent) {
      d!.parent.keys.forEach((x) => pending.add(x));
      parentOps.push(...addParentLines(dev, d!.parent));
    } else if (d!.parent && !sameShape(d!.parent.shape, obsParent)) {
      d!.parent.keys.forEach((x) => pending.add(x));
      parentOps.push({ line: tcLines.changeParent(dev, d!.parent.shape), keys: d!.parent.keys });
    }
    const delParent = !d!.parent && obsParent ? [{ line: tcLines.delClass(dev, PARENT_CLASSID), keys: [] }] : [];
    const fixLeaves: ProgramLine[] = [];
    const addClasses: ProgramLine[] = [];
    for (const [minor, dc] of desClasses) {
      const oc = obsClasses.get(minor);
      if (!oc || recreate.has(dc.classid)) {
        dc.keys.forEach((x) => pending.add(x));
        addClasses.push(...addClassLines(dev, dc));
        continue;
      }
      if (!sameShape(dc.shape ?? UNSHAPED, oc)) {
        dc.keys.forEach((x) => pending.add(x));
        fixLeaves.push({ line: tcLines.changeClass(dev, dc), keys: dc.keys });
      }
      if (leavesEqual(dc.leaf, oc.leaf)) continue;
      dc.keys.forEach((x) => pending.add(x));
      fixLeaves.push({ line: `# ${dc.classid} <- ${dc.keys.join(' + ')}: ${dc.note}`, keys: [] });
      const ours = oc.leaf && majorOf(oc.leaf.handle) === dc.minor;
      if (oc.leaf && ours && oc.leaf.kind === dc.leaf.kind && !dc.leaf.child && !oc.leaf.child) {
        fixLeaves.push({ line: tcLines.addLeaf(dev, dc, 'replace'), keys: dc.keys });
      } else {
        if (oc.leaf) fixLeaves.push({ line: tcLines.delLeaf(dev, dc.classid, oc.leaf.handle), keys: dc.keys });
        fixLeaves.push({ line: tcLines.addLeaf(dev, dc), keys: dc.keys });
        if (dc.childArgs) fixLeaves.push({ line: tcLines.addChild(dev, dc), keys: dc.keys });
      }
    }
    out.push(...delGroups, ...delClasses, ...delParent, ...parentOps, ...fixLeaves, ...addClasses, ...addGroups);
  } else if (rootOurs) {
    out.push({ line: tcLines.delRoot(dev), keys: [] });
  }
  if (!teardownIngress) out.push(...ingressOps);
  return out;
}

const UNSHAPED: ClassShape = { rateBps: UNSHAPED_BPS, ceilBps: UNSHAPED_BPS };

/** Does an observed class have this rate and ceil? Unknown (not printed) counts as yes. */
function sameShape(want: ClassShape, o: { rateBps?: number; ceilBps?: number } | undefined): boolean {
  if (!o) return false;
  const near = (a: number | undefined, b: number) => a === undefined || Math.abs(a - b) <= Math.max(8, 1e-3 * b);
  return near(o.rateBps, want.rateBps) && near(o.ceilBps, want.ceilBps);
}

function addParentLines(dev: string, p: NonNullable<DesiredDevice['parent']>): ProgramLine[] {
  return [
    { line: `# ${PARENT_CLASSID} <- ${p.keys.join(' + ')}: parent of the htb-shaped classes`, keys: [] },
    { line: tcLines.addParent(dev, p.shape), keys: p.keys },
  ];
}

function addClassLines(dev: string, c: DesiredDevice['classes'][number]): ProgramLine[] {
  const lines: ProgramLine[] = [
    { line: `# ${c.classid} <- ${c.keys.join(' + ')}: ${c.note}`, keys: [] },
    { line: tcLines.addClass(dev, c), keys: c.keys },
    { line: tcLines.addLeaf(dev, c), keys: c.keys },
  ];
  if (c.childArgs) lines.push({ line: tcLines.addChild(dev, c), keys: c.keys });
  return lines;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const normSpec = (s: string) => s.replace(/"/g, '').replace(/\s+/g, ' ').trim();

export function commentKey(spec: string): string | undefined {
  const m = /--comment\s+"?faultline:([^\s"]+)/.exec(spec);
  return m ? m[1] : undefined;
}

function diffIptables(
  desired: IptablesDesired,
  observed: IptablesState | null,
  pending: Set<string>,
): string | undefined {
  const perTable = new Map<
    Table,
    { decl: ProgramLine[]; del: ProgramLine[]; x: ProgramLine[]; ins: ProgramLine[]; add: ProgramLine[] }
  >();
  const block = (t: Table) => {
    if (!perTable.has(t)) perTable.set(t, { decl: [], del: [], x: [], ins: [], add: [] });
    return perTable.get(t)!;
  };
  for (const def of OWNED_CHAINS) {
    const dc: DesiredChain | undefined = desired.chains.find((c) => c.table === def.table && c.chain === def.chain);
    const t = observed?.tables[def.table];
    const exists = !!t?.chains.includes(def.chain);
    const rules = t ? t.rules.filter((r) => r.chain === def.chain).map((r) => normSpec(r.spec)) : [];
    const jumps =
      def.hook && t
        ? t.rules
            .filter((r) => r.chain === def.hook)
            .map((r, i) => (normSpec(r.spec) === `-j ${def.chain}` ? i : -1))
            .filter((i) => i >= 0)
        : [];
    const b = () => block(def.table);
    if (dc) {
      const keys = [...new Set(dc.rules.map((r) => r.key))].sort();
      const chainOk =
        exists &&
        sameList(
          rules,
          dc.rules.map((r) => normSpec(r.spec)),
        );
      const jumpOk = !def.hook || (jumps.length === 1 && jumps[0] === 0);
      if (!chainOk) {
        keys.forEach((k) => pending.add(k));
        b().decl.push({ line: `:${def.chain} - [0:0]`, keys });
        b().add.push(...dc.rules.map((r) => ({ line: `-A ${def.chain} ${r.spec}`, keys: [r.key] })));
      }
      if (!jumpOk) {
        keys.forEach((k) => pending.add(k));
        for (const _ of jumps) b().del.push({ line: `-D ${def.hook} -j ${def.chain}`, keys });
        b().ins.push({ line: `-I ${def.hook} 1 -j ${def.chain}`, keys });
      }
    } else if (exists || jumps.length) {
      for (const _ of jumps) b().del.push({ line: `-D ${def.hook} -j ${def.chain}`, keys: [] });
      if (exists) {
        b().decl.push({ line: `:${def.chain} - [0:0]`, keys: [] });
        b().x.push({ line: `-X ${def.chain}`, keys: [] });
      }
    }
  }
  const text: string[] = [];
  for (const table of ['filter', 'mangle'] as Table[]) {
    const b = perTable.get(table);
    if (!b) continue;
    const lines = [...b.decl, ...b.del, ...b.x, ...b.ins, ...b.add];
    if (!lines.length) continue;
    text.push(`*${table}`, ...lines.map((l) => l.line), 'COMMIT');
  }
  return text.length ? text.join('\n') + '\n' : undefined;
}

/**
 * desired vs observed → the programs to run. Equal ⇒ `empty` and no program at all.
 * Devices looked at: the desired ones, plus every observed device carrying something of ours.
 */
export function diffLedger(desired: DesiredNetns, observed: ObservedNetns): LedgerDiff {
  const conflicts: Degraded[] = [];
  const pending = new Set<string>();
  const linkSetup: string[] = [];
  const linkCleanup: string[] = [];

  // ifb links
  const obsLinks = new Map(observed.links.map((l) => [l.name, l]));
  for (const ifb of desired.ifbs) {
    const l = obsLinks.get(ifb);
    if (!l) linkSetup.push(`link add ${ifb} type ifb`, `link set ${ifb} up`);
    else if (!l.up) linkSetup.push(`link set ${ifb} up`);
  }
  const doomedIfbs = observed.links
    .filter((l) => isOwnedIfb(l.name) && l.kind === 'ifb' && !desired.ifbs.includes(l.name))
    .map((l) => l.name);
  for (const name of doomedIfbs) linkCleanup.push(`link del ${name}`);

  // tc
  const obsDevs = new Map(observed.devices.map((d) => [d.dev, d]));
  const desDevs = new Map(desired.devices.map((d) => [d.dev, d]));
  const devNames = new Set<string>([...desDevs.keys()]);
  for (const o of observed.devices) {
    const ours =
      (o.root?.kind === 'htb' && majorOf(o.root.handle) === ROOT_MAJOR) ||
      o.ingressGroups.some((g) => g.pref === INGRESS_PREF && !!g.redirectTo && isOwnedIfb(g.redirectTo));
    if (ours && !doomedIfbs.includes(o.dev)) devNames.add(o.dev);
  }
  const tcPrograms: { dev: string; batch: string }[] = [];
  const order = (dev: string) => (isOwnedIfb(dev) ? 1 : 0);
  for (const dev of [...devNames].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1))) {
    const lines = diffDevice(desDevs.get(dev), obsDevs.get(dev), conflicts, pending);
    if (realLines(lines).length) tcPrograms.push({ dev, batch: render(lines) });
  }

  const iptablesProgram = diffIptables(desired.iptables, observed.iptables, pending);
  const ip6tablesProgram = diffIptables(desired.ip6tables, observed.ip6tables, pending);

  const diff: LedgerDiff = { tcPrograms, steps: [], conflicts, pendingKeys: [], empty: false };
  if (linkSetup.length) diff.linkSetup = linkSetup.join('\n') + '\n';
  if (iptablesProgram) diff.iptablesProgram = iptablesProgram;
  if (ip6tablesProgram) diff.ip6tablesProgram = ip6tablesProgram;
  if (linkCleanup.length) diff.linkCleanup = linkCleanup.join('\n') + '\n';
  for (const c of conflicts) pending.add(`${c.scenario}/${c.fault}`);
  diff.pendingKeys = [...pending].sort();
  diff.steps = stepsOf(diff);
  diff.empty = diff.steps.length === 0;
  return diff;
}

/** The programs in execution order, as argument arrays (never a shell string) plus stdin. */
export function stepsOf(d: Omit<LedgerDiff, 'steps' | 'empty'>): ExecStep[] {
  const steps: ExecStep[] = [];
  if (d.linkSetup) steps.push({ argv: ['ip', '-batch', '-'], stdin: d.linkSetup, what: 'create owned ifb devices' });
  // --wait: with the legacy backend another writer (Docker, at container start) may hold the xtables
  // lock for a moment; the nft backend accepts and ignores it.
  if (d.iptablesProgram)
    steps.push({
      argv: ['iptables-restore', '--wait=5', '--noflush'],
      stdin: d.iptablesProgram,
      what: 'rebuild FAULTLINE-* chains (IPv4)',
    });
  if (d.ip6tablesProgram)
    steps.push({
      argv: ['ip6tables-restore', '--wait=5', '--noflush'],
      stdin: d.ip6tablesProgram,
      what: 'rebuild FAULTLINE-* chains (IPv6)',
    });
  for (const p of d.tcPrograms) steps.push({ argv: ['tc', '-batch', '-'], stdin: p.batch, what: `tc on ${p.dev}` });
  if (d.linkCleanup)
    steps.push({ argv: ['ip', '-batch', '-'], stdin: d.linkCleanup, what: 'delete owned ifb devices' });
  return steps;
}

/** Printable form of a diff (the Plan shows this). Empty diff → "". */
export function formatDiff(d: LedgerDiff): string {
  return d.steps.map((s) => `$ ${s.argv.join(' ')}   # ${s.what}\n${s.stdin}`).join('');
}

// ---------------------------------------------------------------- observed from desired

/** What the kernel would show right after a successful apply (used for teardown and tests). */
export function observedFromDesired(desired: DesiredNetns): ObservedNetns {
  const devices: TcDeviceState[] = desired.devices.map((d) => {
    const st: TcDeviceState = {
      dev: d.dev,
      root:
        d.classes.length || d.groups.length ? { kind: 'htb', handle: ROOT_HANDLE } : { kind: 'noqueue', handle: '0:' },
      classes: [
        ...(d.parent
          ? [
              {
                minor: PARENT_MINOR,
                classid: PARENT_CLASSID,
                rateBps: d.parent.shape.rateBps,
                ceilBps: d.parent.shape.ceilBps,
              },
            ]
          : []),
        ...d.classes.map((c) => {
          const oc: ObservedClass = {
            minor: c.minor,
            classid: c.classid,
            leaf: { ...c.leaf, handle: `${hex(c.minor)}:`, child: c.leaf.child ? { ...c.leaf.child } : undefined },
            rateBps: (c.shape ?? UNSHAPED).rateBps,
            ceilBps: (c.shape ?? UNSHAPED).ceilBps,
          };
          if (c.shape) oc.parent = PARENT_CLASSID;
          return oc;
        }),
      ],
      groups: d.groups.map((g) => ({
        pref: g.pref,
        protocol: g.protocol,
        flowids: [g.flowid],
        nodes: g.nodes.map(nodeSig).sort(),
      })),
      ingressGroups: [],
    };
    for (const c of st.classes) if (c.leaf && !c.leaf.child) delete c.leaf.child;
    if (d.ingressRedirectTo) {
      st.ingress = { kind: d.ingressKind ?? 'ingress' };
      st.ingressGroups = [
        {
          pref: INGRESS_PREF,
          protocol: 'all',
          flowids: [],
          nodes: ['00000000/00000000@0'],
          redirectTo: d.ingressRedirectTo,
        },
      ];
    }
    return st;
  });
  const ipt = (des: IptablesDesired): IptablesState | null => {
    const tables: IptablesState['tables'] = {};
    for (const c of des.chains) {
      const t = (tables[c.table] ??= { chains: [], rules: [] });
      t.chains.push(c.chain);
      if (c.hook) t.rules.unshift({ chain: c.hook, spec: `-j ${c.chain}` });
      t.rules.push(...c.rules.map((r) => ({ chain: c.chain, spec: r.spec })));
    }
    return { tables };
  };
  return {
    devices,
    links: desired.ifbs.map((name) => ({ name, kind: 'ifb', up: true })),
    iptables: ipt(desired.iptables),
    ip6tables: ipt(desired.ip6tables),
  };
}

/** A desired state with nothing in it, for the given interfaces (diff against it = teardown). */
export function emptyDesired(interfaces: string[]): DesiredNetns {
  return {
    interfaces,
    devices: [],
    ifbs: [],
    iptables: { family: 4, chains: [] },
    ip6tables: { family: 6, chains: [] },
  };
}

// ---------------------------------------------------------------- orphan sweep

export type OwnedObject =
  | { kind: 'iptables-rule'; family: IpFamily; table: string; chain: string; spec: string; key?: string }
  | { kind: 'tc-class'; dev: string; classid: string; keys: string[]; deadKeys: string[] }
  | { kind: 'ifb'; name: string };

/** The tc tag map (dev classid → keys) stored in FAULTLINE-TAGS, read back. */
export function tagsFromIptables(state: IptablesState | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of state?.tables.filter?.rules ?? []) {
    if (r.chain !== CHAIN_TAGS) continue;
    const m = /--comment\s+"?faultline:(\S+) tc (\S+) (\S+?)"?\s+-j/.exec(r.spec);
    if (!m) continue;
    const id = `${m[2]} ${m[3]}`;
    out.set(id, [...new Set([...(out.get(id) ?? []), m[1]])].sort());
  }
  return out;
}

/**
 * Owned objects whose scenario/fault is not live — what the orphan sweep after a SIGKILL finds.
 * Every rule in a FAULTLINE-* chain is owned; its key comes from its comment (none: unknown, also
 * listed). A tc class is listed when its tags name a dead key or it has no tag at all. An owned
 * ifb is listed when no live class remains on it. Removing them is the diff's job: compile the
 * live ledgers and diff (that also rebuilds classes that merged a dead fault with a live one).
 */
export function ownedButUnwanted(observed: ObservedNetns, liveKeys: Iterable<string>): OwnedObject[] {
  const live = new Set(liveKeys);
  const out: OwnedObject[] = [];
  for (const [family, state] of [
    [4, observed.iptables],
    [6, observed.ip6tables],
  ] as [IpFamily, IptablesState | null][]) {
    if (!state) continue;
    for (const def of OWNED_CHAINS as readonly OwnedChainDef[]) {
      for (const r of state.tables[def.table]?.rules ?? []) {
        if (r.chain !== def.chain) continue;
        const key = commentKey(r.spec);
        if (key === undefined || !live.has(key))
          out.push({
            kind: 'iptables-rule',
            family,
            table: def.table,
            chain: def.chain,
            spec: r.spec,
            ...(key ? { key } : {}),
          });
      }
    }
  }
  const tags = tagsFromIptables(observed.iptables);
  const liveIfbs = new Set<string>();
  for (const d of observed.devices) {
    for (const c of d.classes) {
      const keys = tags.get(`${d.dev} ${c.classid}`) ?? [];
      const deadKeys = keys.filter((k) => !live.has(k));
      if (keys.length === 0 || deadKeys.length)
        out.push({ kind: 'tc-class', dev: d.dev, classid: c.classid, keys, deadKeys });
      else liveIfbs.add(d.dev);
    }
  }
  for (const l of observed.links)
    if (isOwnedIfb(l.name) && !liveIfbs.has(l.name)) out.push({ kind: 'ifb', name: l.name });
  return out;
}
