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

import type { IpFamily } from '../api/net.js';
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
  ROOT_HANDLE,
  ROOT_MAJOR,
  hex,
  isOwnedIfb,
  leavesEqual,
  tcLines,
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
      return {
        kind: str(o.class) ?? str(o.kind) ?? '',
        classid: str(o.handle) ?? str(o.classid) ?? '',
        parent: o.root === true ? undefined : str(o.parent),
        leaf: str(o.leaf),
      };
    });
  }
  const out: ClassRecord[] = [];
  for (const line of t.split('\n')) {
    const m = /^class (\S+) (\S+) (root|parent (\S+))(?: leaf (\S+))?/.exec(line.trim());
    if (m) out.push({ kind: m[1], classid: m[2], parent: m[4], leaf: m[5] });
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
      put('rateBytes', num(obj(o.rate).rate));
      break;
    }
    case 'tbf':
      put('rateBytes', num(o.rate));
      put('burstBytes', num(o.burst));
      put('latUs', num(o.lat));
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
    if (c.kind !== 'htb' || majorOf(c.classid) !== ROOT_MAJOR || c.parent !== undefined) continue;
    const minor = minorOf(c.classid);
    byMinor.set(minor, { minor, classid: `${ROOT_HANDLE}${hex(minor)}` });
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
  links?: string;
  iptables?: string | null;
  ip6tables?: string | null;
  perDevice: Record<string, { classes?: string; filters?: string; ingressFilters?: string }>;
}): ObservedNetns {
  const qdiscs = parseTcQdiscs(out.qdiscs);
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
    for (const c of d!.classes) {
      out.push(...addClassLines(dev, c));
      for (const g of d!.groups.filter((x) => x.flowid === c.classid))
        out.push(...tcLines.addFilters(dev, g).map((line) => ({ line, keys: g.keys })));
    }
  } else if (wantTree) {
    const obsClasses = new Map(o!.classes.map((c) => [c.minor, c]));
    const desClasses = new Map(d!.classes.map((c) => [c.minor, c]));
    const obsGroups = new Map(o!.groups.map((g) => [`${g.pref}/${g.protocol}`, g]));
    const desGroups = new Map(d!.groups.map((g) => [`${g.pref}/${g.protocol}`, g]));
    const groupEqual = (dg: (typeof d)['groups'][number], og: ObservedFilterGroup) =>
      og.flowids.length === 1 && og.flowids[0] === dg.flowid && sameList(og.nodes, dg.nodes.map(nodeSig).sort());
    const delGroups: ProgramLine[] = [];
    const addGroups: ProgramLine[] = [];
    for (const [k, og] of obsGroups) {
      const dg = desGroups.get(k);
      if (!dg || !groupEqual(dg, og))
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
      if (!desClasses.has(minor)) delClasses.push({ line: tcLines.delClass(dev, oc.classid), keys: [] });
    const fixLeaves: ProgramLine[] = [];
    const addClasses: ProgramLine[] = [];
    for (const [minor, dc] of desClasses) {
      const oc = obsClasses.get(minor);
      if (!oc) {
        dc.keys.forEach((x) => pending.add(x));
        addClasses.push(...addClassLines(dev, dc));
        continue;
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
    out.push(...delGroups, ...delClasses, ...fixLeaves, ...addClasses, ...addGroups);
  } else if (rootOurs) {
    out.push({ line: tcLines.delRoot(dev), keys: [] });
  }
  if (!teardownIngress) out.push(...ingressOps);
  return out;
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
      classes: d.classes.map((c) => ({
        minor: c.minor,
        classid: c.classid,
        leaf: { ...c.leaf, handle: `${hex(c.minor)}:`, child: c.leaf.child ? { ...c.leaf.child } : undefined },
      })),
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
