// The ledger: every network fault that touches ONE network namespace, from every scenario, as
// plain data. The controller builds one Ledger per container netns from the active faults
// (timeline/) and the resolved peer addresses; compile.ts turns it into tc and iptables programs;
// readback.ts reads the kernel back into something comparable; the diff decides what to run.
//
// An entry is always tagged with its source (scenario, fault) — that tag rides along into every
// iptables comment ("faultline:<scenario>/<fault>") and into the tc tag map, so any rule or class in
// the kernel can be traced back to the fault that wanted it, and orphans can be swept.
//
// Worked example. Scenario "shop", fault "slow-db" (targets: [api], peers: [db] = 10.213.0.3,
// ports ["5432"], netem {delay: 100ms, loss: 20%}) becomes, in api's ledger:
//
//   { scenario: 'shop', fault: 'slow-db', action: 'netem',
//     params: { delayUs: 100000, lossPct: 20 },
//     match: { peers: { v4: ['10.213.0.3/32'], v6: [] }, ports: [[5432, 5432]], protocol: 'tcp',
//              direction: 'egress' } }

import { actionOf, assertNever, directionOf } from '../api/kinds.js';
import type { FaultSpec, NetemSpec, Percent } from '../api/types.js';
import type { Capabilities } from './caps.js';
import { normalizeCidr } from '../api/net.js';
import {
  parseDurationUs,
  parsePct,
  parseRateBps,
  parseSizeBytes,
  renderPercent,
  renderRate,
  renderTime,
} from '../api/quantity.js';

export type LedgerAction =
  'netem' | 'bandwidth' | 'partition-drop' | 'blackhole' | 'reject' | 'dns-drop' | 'dns-refuse' | 'loss-statistic';
export type MatchDirection = 'egress' | 'ingress';
export type MatchProtocol = 'tcp' | 'udp' | 'icmp' | 'all';

/** Peer addresses as canonical CIDRs (normalizeCidr). An empty family list matches nothing in it. */
export interface PeerSet {
  v4: string[];
  v6: string[];
}

export interface EntryMatch {
  /** Absent: any peer. Present: only these (egress: destination; ingress: source). */
  peers?: PeerSet;
  /**
   * Absent: any port. Present: inclusive ranges; a packet matches when its SOURCE OR DESTINATION
   * port is in one of them (a port names a service, which sits on either end of a connection:
   * "ports: [5432]" on the client means its Postgres traffic both ways). Ports imply tcp/udp.
   */
  ports?: [number, number][];
  /** Absent: any. Present: the packet's SOURCE port is in one of these ranges (with
   * destinationPorts, both must hold). Never together with `ports`. */
  sourcePorts?: [number, number][];
  /** Absent: any. Present: the packet's DESTINATION port is in one of these ranges. */
  destinationPorts?: [number, number][];
  /**
   * Queries to Docker's embedded resolver (127.0.0.11, udp and tcp 53, on the container's `lo`),
   * optionally only for these names and the names under them (lower case, no trailing dot).
   * Peers and ports never come with it.
   */
  dns?: { names?: string[] };
  protocol: MatchProtocol;
  direction: MatchDirection;
}

/** Docker's embedded DNS server inside every container on a user-defined network. */
export const EMBEDDED_RESOLVER = '127.0.0.11';

/** netem parameters, parsed: times in µs, percents 0..100, rate in bits/s. Absent = not set. */
export interface NetemParams {
  delayUs?: number;
  jitterUs?: number;
  delayCorrelationPct?: number;
  distribution?: 'uniform' | 'normal' | 'pareto' | 'paretonormal';
  lossPct?: number;
  lossCorrelationPct?: number;
  /**
   * Gilbert–Elliott, as tc takes it: p, r, and tc's "1-h" and "1-k" — the LOSS in the Bad and in
   * the Good state (the spec's h is the delivery probability in the Bad state: hPct = 100 − h).
   */
  gemodel?: { pPct: number; rPct?: number; hPct?: number; kPct?: number };
  /** 4-state Markov loss (tc `loss state p13 p31 p32 p23 p14`), in percent. */
  lossState?: { p13Pct: number; p31Pct?: number; p32Pct?: number; p23Pct?: number; p14Pct?: number };
  /** Mark ECN-capable packets CE instead of dropping them. */
  ecn?: boolean;
  duplicatePct?: number;
  duplicateCorrelationPct?: number;
  corruptPct?: number;
  corruptCorrelationPct?: number;
  reorderPct?: number;
  reorderCorrelationPct?: number;
  reorderGap?: number;
  rateBps?: number;
  /** With rateBps: what tc adds to each packet's length for the rate (bytes; cells of cellSize). */
  rateOverhead?: { packet?: number; cellSize?: number; cell?: number };
  /** Slotted delivery (tc `slot MIN MAX packets N bytes N`), times in µs. */
  slot?: { minUs: number; maxUs: number; packets?: number; bytes?: number };
  /** netem's queue in packets (absent: tc's default, 1000). */
  limit?: number;
}

/** netem's own queue length when none is given (tc and the kernel default). */
export const NETEM_DEFAULT_LIMIT = 1000;

export interface BandwidthParams {
  rateBps: number;
  burstBytes: number;
  /** tbf queue: exactly one of limitBytes / latencyUs is set after buildEntries. */
  limitBytes?: number;
  latencyUs?: number;
  /** htb instead of tbf: guaranteed rateBps, borrowing up to ceilBps (> rateBps). */
  ceilBps?: number;
  /** tbf peak bucket: a burst leaves at most this fast, in packets of at most mtuBytes. */
  peakBps?: number;
  mtuBytes?: number;
}

export interface RejectParams {
  with: 'tcp-reset' | 'icmp-port-unreachable';
}

export interface LossStatisticParams {
  lossPct: number;
}

interface EntryBase {
  scenario: string;
  fault: string;
  match: EntryMatch;
}

export type LedgerEntry =
  | (EntryBase & { action: 'netem'; params: NetemParams })
  | (EntryBase & { action: 'bandwidth'; params: BandwidthParams })
  | (EntryBase & { action: 'partition-drop'; params: Record<string, never> })
  | (EntryBase & { action: 'blackhole'; params: Record<string, never> })
  | (EntryBase & { action: 'reject'; params: RejectParams })
  | (EntryBase & { action: 'dns-drop'; params: Record<string, never> })
  | (EntryBase & { action: 'dns-refuse'; params: Record<string, never> })
  | (EntryBase & { action: 'loss-statistic'; params: LossStatisticParams });

export interface Ledger {
  /** Which namespace: e.g. the container id (the controller's key; never interpreted here). */
  netns: string;
  /**
   * The container's interfaces, one per Docker network it is on (eth0, eth1 ...). Their addresses
   * are not needed: every egress tree goes on every interface, and a peer's address only ever
   * matches on the interface whose network routes to it.
   */
  interfaces: string[];
  entries: LedgerEntry[];
}

export type DegradedReason =
  | 'KernelLacksNetem'
  | 'KernelLacksIfb'
  | 'KernelLacksTbf'
  | 'KernelLacksHtb'
  | 'KernelLacksU32'
  | 'KernelLacksBlackhole'
  | 'KernelLacksIptables'
  | 'KernelLacksStatistic'
  | 'KernelLacksString'
  | 'KernelLacksBpf'
  | 'FixedOffsetPortMatch'
  | 'TooManyDnsDelays'
  | 'NetemDuplicateConflict'
  | 'StackedFaultsApproximated'
  | 'ForeignQdisc'
  | 'InvalidValue'
  | 'UnsafeInterfaceName';

/**
 * An interface name faultline writes into a tc or iptables program. Linux allows nearly any byte
 * but '/', ':' and whitespace (a process in a container may rename its own interfaces); tc -batch
 * reads '#' as a comment and '"' as a quote, iptables-restore reads quotes too. Anything beyond
 * letters, digits and "_.-" (at most 15 bytes, IFNAMSIZ) is never written into a program.
 */
export const SAFE_IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** A fault (or part of it) that cannot be applied as asked, as data for status conditions. */
export interface Degraded {
  scenario: string;
  fault: string;
  reason: DegradedReason;
  /** Names the fault, says what is lost and what would fix it. */
  message: string;
}

/** The tag every object we install carries: "<scenario>/<fault>". */
export function entryKey(e: { scenario: string; fault: string }): string {
  return `${e.scenario}/${e.fault}`;
}

export const COMMENT_PREFIX = 'faultline:';

/** iptables comment for an entry: "faultline:<scenario>/<fault>". */
export function commentFor(e: { scenario: string; fault: string }): string {
  return `${COMMENT_PREFIX}${entryKey(e)}`;
}

/** ["5432", "8000-8100", "5432"] → [[5432,5432],[8000,8100]] (sorted, merged). */
export function parsePorts(ports: readonly string[]): [number, number][] {
  const ranges = ports.map((p): [number, number] => {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5}))?\s*$/.exec(p);
    if (!m) throw new Error(`invalid port or range ${JSON.stringify(p)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) throw new Error(`invalid port or range ${JSON.stringify(p)}`);
    return [lo, hi];
  });
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** Sorted, de-duplicated, canonical CIDRs. */
export function normalizePeers(v4: readonly string[], v6: readonly string[]): PeerSet {
  const norm = (xs: readonly string[]) => [...new Set(xs.map(normalizeCidr))].sort(compareCidrText);
  return { v4: norm(v4), v6: norm(v6) };
}

function compareCidrText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ACTION_ORDER: Record<LedgerAction, number> = {
  'partition-drop': 0,
  blackhole: 1,
  reject: 2,
  'dns-drop': 3,
  'dns-refuse': 4,
  'loss-statistic': 5,
  netem: 6,
  bandwidth: 7,
};

/** Canonical order of entries (the order rules are written in): action, scenario, fault, direction. */
export function compareEntries(a: LedgerEntry, b: LedgerEntry): number {
  return (
    ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
    cmp(a.scenario, b.scenario) ||
    cmp(a.fault, b.fault) ||
    cmp(a.match.direction, b.match.direction)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy with entries in canonical order and peers canonical; compile() calls this first. */
export function normalizeLedger(ledger: Ledger): Ledger {
  return {
    netns: ledger.netns,
    interfaces: [...new Set(ledger.interfaces)].sort(),
    entries: ledger.entries
      .map((e) => ({
        ...e,
        match: { ...e.match, peers: e.match.peers ? normalizePeers(e.match.peers.v4, e.match.peers.v6) : undefined },
      }))
      .map((e) => {
        if (e.match.peers === undefined) delete e.match.peers;
        if (e.match.dns?.names) e.match.dns = { names: normalizeDnsNames(e.match.dns.names) };
        return e as LedgerEntry;
      })
      .sort(compareEntries),
  };
}

// ---------------------------------------------------------------- FaultSpec → entries

/** Peer addresses resolved by the controller (container names → their IPs; cidrs as given). */
export interface ResolvedFault {
  /** Absent (both): the fault has no peers selector — all traffic. */
  peersV4?: string[];
  peersV6?: string[];
  /** For `partition`: addresses THIS container must not receive from (see partitionBlocks). */
  partitionDropFrom?: { v4: string[]; v6: string[] };
}

export interface BuildResult {
  entries: LedgerEntry[];
  degraded: Degraded[];
}

function pctOf(v: Percent | { percent: Percent; correlation?: Percent } | undefined): { pct?: number; corr?: number } {
  if (v === undefined) return {};
  if (typeof v === 'string' || typeof v === 'number') return { pct: parsePct(v) };
  return { pct: parsePct(v.percent), corr: v.correlation === undefined ? undefined : parsePct(v.correlation) };
}

/** NetemSpec (strings) → NetemParams (numbers). Zero-valued fields are dropped. */
export function parseNetem(spec: NetemSpec): NetemParams {
  const p: NetemParams = {};
  const set = <K extends keyof NetemParams>(k: K, v: NetemParams[K] | undefined) => {
    if (v !== undefined && v !== 0) p[k] = v;
  };
  const pctOrUndef = (v: Percent | undefined) => (v === undefined ? undefined : parsePct(v));
  set('delayUs', spec.delay === undefined ? undefined : parseDurationUs(spec.delay));
  set('jitterUs', spec.jitter === undefined ? undefined : parseDurationUs(spec.jitter));
  set('delayCorrelationPct', spec.correlation === undefined ? undefined : parsePct(spec.correlation));
  if (spec.distribution) p.distribution = spec.distribution;
  const loss = pctOf(spec.loss);
  set('lossPct', loss.pct);
  if (loss.pct) set('lossCorrelationPct', loss.corr);
  if (spec.gemodel) {
    p.gemodel = { pPct: parsePct(spec.gemodel.p) };
    if (spec.gemodel.r !== undefined) p.gemodel.rPct = parsePct(spec.gemodel.r);
    // the spec's h is the delivery probability in the Bad state; tc takes the loss there ("1-h")
    if (spec.gemodel.h !== undefined) p.gemodel.hPct = round6(100 - parsePct(spec.gemodel.h));
    if (spec.gemodel.k !== undefined) p.gemodel.kPct = parsePct(spec.gemodel.k);
  }
  if (spec.lossState) {
    const ls = spec.lossState;
    p.lossState = { p13Pct: parsePct(ls.p13) };
    const opt = { p31Pct: ls.p31, p32Pct: ls.p32, p23Pct: ls.p23, p14Pct: ls.p14 } as const;
    for (const [k, v] of Object.entries(opt)) {
      const n = pctOrUndef(v);
      if (n !== undefined) p.lossState[k as 'p31Pct'] = n;
    }
  }
  if (spec.ecn) p.ecn = true;
  const dup = pctOf(spec.duplicate);
  set('duplicatePct', dup.pct);
  if (dup.pct) set('duplicateCorrelationPct', dup.corr);
  const cor = pctOf(spec.corrupt);
  set('corruptPct', cor.pct);
  if (cor.pct) set('corruptCorrelationPct', cor.corr);
  if (spec.reorder) {
    set('reorderPct', parsePct(spec.reorder.percent));
    if (p.reorderPct) {
      set(
        'reorderCorrelationPct',
        spec.reorder.correlation === undefined ? undefined : parsePct(spec.reorder.correlation),
      );
      set('reorderGap', spec.reorder.gap);
    }
  }
  if (spec.rate !== undefined) {
    const r = typeof spec.rate === 'string' ? { rate: spec.rate } : spec.rate;
    set('rateBps', parseRateBps(r.rate));
    const o: NonNullable<NetemParams['rateOverhead']> = {};
    if (r.packetOverhead) o.packet = r.packetOverhead;
    if (r.cellSize) o.cellSize = r.cellSize;
    if (r.cellSize && r.cellOverhead) o.cell = r.cellOverhead;
    if (Object.keys(o).length) p.rateOverhead = o;
  }
  if (spec.slot) {
    const minUs = parseDurationUs(spec.slot.minDelay);
    const maxUs = spec.slot.maxDelay === undefined ? minUs : parseDurationUs(spec.slot.maxDelay);
    p.slot = { minUs, maxUs };
    if (spec.slot.packets) p.slot.packets = spec.slot.packets;
    const bytes = spec.slot.bytes === undefined ? 0 : parseSizeBytes(spec.slot.bytes);
    if (bytes) p.slot.bytes = bytes;
  }
  if (spec.limit !== undefined && spec.limit !== NETEM_DEFAULT_LIMIT) p.limit = spec.limit;
  return p;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * DNS names as the ledger keeps them: lower case (matching ignores case), no trailing dot, sorted,
 * without names under another name of the list (db covers a.db).
 */
export function normalizeDnsNames(names: readonly string[]): string[] {
  const clean = [...new Set(names.map((n) => n.toLowerCase().replace(/\.$/, '')))].sort();
  return clean.filter((n) => !clean.some((o) => o !== n && n.endsWith(`.${o}`)));
}

/**
 * Default tbf burst: 10 ms worth of traffic, at least two full Ethernet frames. A fixed large floor
 * is wrong at low rates: 32 KiB at 50 kbit/s is 5 s of line time, so a 24 KiB response would pass
 * unshaped as one burst (measured). tbf segments GSO packets larger than its burst, so a small
 * burst does not stall (measured: 24 KiB at 50 kbit/s with a 3 KiB burst takes 3.8 s).
 */
export function defaultBurstBytes(rateBps: number): number {
  return Math.max(2 * 1514, Math.ceil(rateBps / 8 / 100));
}

/** Default tbf queue when neither limit nor latency is given: 50 ms of queueing. */
export const DEFAULT_TBF_LATENCY_US = 50_000;

/** The peak bucket of a tbf with peakrate when no mtu is given: one full Ethernet frame. */
export const DEFAULT_PEAK_MTU = 1514;

export function bandwidthParams(
  rate: string,
  burst?: string,
  limit?: string,
  latency?: string,
  more: { ceil?: string; peakrate?: string; mtu?: string } = {},
): BandwidthParams {
  const rateBps = parseRateBps(rate);
  const p: BandwidthParams = {
    rateBps,
    burstBytes: burst === undefined ? defaultBurstBytes(rateBps) : parseSizeBytes(burst),
  };
  if (limit !== undefined) p.limitBytes = parseSizeBytes(limit);
  else p.latencyUs = latency === undefined ? DEFAULT_TBF_LATENCY_US : parseDurationUs(latency);
  if (more.ceil !== undefined) {
    const ceil = parseRateBps(more.ceil);
    if (ceil > rateBps) p.ceilBps = ceil; // ceil == rate is plain tbf
  }
  if (more.peakrate !== undefined) {
    p.peakBps = parseRateBps(more.peakrate);
    p.mtuBytes = more.mtu === undefined ? DEFAULT_PEAK_MTU : parseSizeBytes(more.mtu);
  }
  return p;
}

/** Can ingress traffic be shaped here (ingress qdisc → mirred → ifb → htb)? */
export function ingressShapingPossible(caps: Capabilities): boolean {
  return caps.ifb && caps.mirred && (caps.ingress || caps.clsact) && caps.htb && caps.u32;
}

/** Can loss be emulated by iptables statistic (at least for one family)? */
function statisticPossible(caps: Capabilities): boolean {
  return (caps.iptables !== null || caps.ip6tables !== null) && caps.statistic;
}

/** What a NetemParams holds that nothing but sch_netem can do, worded for a message. */
function netemOnlyFeatures(p: NetemParams, lossFallback: boolean): string[] {
  const out: string[] = [];
  if (p.delayUs) out.push(`delay ${renderTime(p.delayUs)}`);
  if (p.jitterUs) out.push(`jitter ${renderTime(p.jitterUs)}`);
  if (p.delayCorrelationPct) out.push(`delay correlation ${renderPercent(p.delayCorrelationPct)}`);
  if (p.distribution) out.push(`distribution ${p.distribution}`);
  if (p.lossPct && !lossFallback) out.push(`loss ${renderPercent(p.lossPct)}`);
  if (p.lossPct && lossFallback && p.lossCorrelationPct)
    out.push(`loss correlation ${renderPercent(p.lossCorrelationPct)}`);
  if (p.gemodel) out.push('gemodel loss');
  if (p.lossState) out.push('4-state loss');
  if (p.ecn) out.push('ecn');
  if (p.slot) out.push('slot');
  if (p.limit) out.push(`limit ${p.limit}`);
  if (p.duplicatePct) out.push(`duplicate ${renderPercent(p.duplicatePct)}`);
  if (p.corruptPct) out.push(`corrupt ${renderPercent(p.corruptPct)}`);
  if (p.reorderPct) out.push(`reorder ${renderPercent(p.reorderPct)}`);
  return out;
}

function directionsOf(fault: FaultSpec): MatchDirection[] {
  const d = directionOf(fault);
  return d === 'both' ? ['egress', 'ingress'] : [d];
}

/**
 * One FaultSpec + its resolved peers → ledger entries for one container, with the fallbacks the
 * capabilities force (this is the ONE place where a fault changes mechanism):
 *
 *   netem without sch_netem (or ingress netem without ifb/mirred):
 *     loss → 'loss-statistic' entry (iptables -m statistic), rate → 'bandwidth' entry (tbf);
 *     everything else (delay, jitter, duplicate, corrupt, reorder, gemodel, loss correlation) is
 *     reported as Degraded with reason KernelLacksNetem / KernelLacksIfb.
 *
 * Entries that survive here may still be impossible (no htb, no iptables at all); compile()
 * reports those. partition: the caller resolves groups → partitionBlocks → this container's
 * senders to ignore, passed as resolved.partitionDropFrom; the entry drops them on INPUT.
 * disconnect / container actions are not network-namespace faults: no entries.
 */
export function buildEntries(
  scenario: string,
  fault: FaultSpec,
  resolved: ResolvedFault,
  caps: Capabilities,
): BuildResult {
  const entries: LedgerEntry[] = [];
  const degraded: Degraded[] = [];
  const ports = fault.ports && fault.ports.length > 0 ? parsePorts(fault.ports) : undefined;
  const sourcePorts = fault.sourcePorts?.length ? parsePorts(fault.sourcePorts) : undefined;
  const destinationPorts = fault.destinationPorts?.length ? parsePorts(fault.destinationPorts) : undefined;
  const anyPorts = !!(ports || sourcePorts || destinationPorts);
  const protocol: MatchProtocol = fault.protocol ?? (anyPorts ? 'tcp' : 'all');
  const hasPeers = resolved.peersV4 !== undefined || resolved.peersV6 !== undefined || fault.peers !== undefined;
  const peers = hasPeers ? normalizePeers(resolved.peersV4 ?? [], resolved.peersV6 ?? []) : undefined;
  // A peers selector that currently resolves to no address matches nothing: nothing to install.
  if (peers && peers.v4.length === 0 && peers.v6.length === 0 && !fault.partition) return { entries, degraded };
  const base = { scenario, fault: fault.name };
  const matchFor = (direction: MatchDirection): EntryMatch => {
    const m: EntryMatch = { protocol, direction };
    if (peers) m.peers = peers;
    if (ports) m.ports = ports;
    if (sourcePorts) m.sourcePorts = sourcePorts;
    if (destinationPorts) m.destinationPorts = destinationPorts;
    return m;
  };

  const action = actionOf(fault);
  switch (action.kind) {
    case 'netem': {
      const params = parseNetem(action.spec);
      for (const direction of directionsOf(fault)) {
        const tcOk = caps.netem && (direction === 'egress' || ingressShapingPossible(caps));
        if (tcOk) {
          entries.push({ ...base, action: 'netem', params, match: matchFor(direction) });
          continue;
        }
        const reason = caps.netem ? 'KernelLacksIfb' : 'KernelLacksNetem';
        const lossFallback = params.lossPct !== undefined && statisticPossible(caps);
        const notes: string[] = [];
        if (params.lossPct !== undefined && lossFallback) {
          entries.push({
            ...base,
            action: 'loss-statistic',
            params: { lossPct: params.lossPct },
            match: matchFor(direction),
          });
          notes.push('loss falls back to iptables statistic');
        }
        const rateOk = caps.tbf && caps.htb && caps.u32 && (direction === 'egress' || ingressShapingPossible(caps));
        if (params.rateBps !== undefined && rateOk) {
          entries.push({
            ...base,
            action: 'bandwidth',
            params: {
              rateBps: params.rateBps,
              burstBytes: defaultBurstBytes(params.rateBps),
              latencyUs: DEFAULT_TBF_LATENCY_US,
            },
            match: matchFor(direction),
          });
          notes.push('rate falls back to tbf');
        }
        const lost = netemOnlyFeatures(params, lossFallback);
        if (params.rateBps !== undefined && !rateOk) lost.push(`rate ${renderRate(params.rateBps)}`);
        if (params.rateBps !== undefined && rateOk && params.rateOverhead) lost.push('rate overhead');
        if (lost.length === 0) continue;
        const fix =
          reason === 'KernelLacksNetem'
            ? 'load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM'
            : 'load the ifb and act_mirred modules, or apply the fault as egress on the peer';
        const what =
          reason === 'KernelLacksNetem'
            ? 'kernel has no sch_netem'
            : 'kernel has no ifb/act_mirred for ingress shaping';
        const dirWord = direction === 'ingress' ? 'ingress ' : '';
        degraded.push({
          ...base,
          reason,
          message: `fault "${fault.name}": ${what}; ${dirWord}${lost.join(', ')} cannot be applied (${[...notes, fix].join('; ')})`,
        });
      }
      break;
    }
    case 'bandwidth': {
      const b = action.spec;
      const params = bandwidthParams(b.rate, b.burst, b.limit, b.latency, {
        ceil: b.ceil,
        peakrate: b.peakrate,
        mtu: b.mtu,
      });
      for (const direction of directionsOf(fault)) {
        entries.push({ ...base, action: 'bandwidth', params, match: matchFor(direction) });
      }
      break;
    }
    case 'blackhole':
      for (const direction of directionsOf(fault)) {
        entries.push({ ...base, action: 'blackhole', params: {}, match: matchFor(direction) });
      }
      break;
    case 'reject':
      for (const direction of directionsOf(fault)) {
        entries.push({ ...base, action: 'reject', params: { with: action.spec.with }, match: matchFor(direction) });
      }
      break;
    case 'partition': {
      const from = resolved.partitionDropFrom;
      if (from && from.v4.length + from.v6.length > 0) {
        const m: EntryMatch = { protocol, direction: 'ingress', peers: normalizePeers(from.v4, from.v6) };
        if (ports) m.ports = ports;
        if (sourcePorts) m.sourcePorts = sourcePorts;
        if (destinationPorts) m.destinationPorts = destinationPorts;
        entries.push({ ...base, action: 'partition-drop', params: {}, match: m });
      }
      break;
    }
    case 'dns': {
      // The target's queries to 127.0.0.11: drop and refuse are iptables rules on INPUT (where the
      // query arrives, already DNATed by Docker to the resolver's port), delay is netem on `lo`.
      const d = action.spec;
      const m: EntryMatch = { protocol: 'all', direction: 'egress', dns: d.names ? { names: d.names } : {} };
      if (d.action === 'drop') entries.push({ ...base, action: 'dns-drop', params: {}, match: m });
      else if (d.action === 'refuse') entries.push({ ...base, action: 'dns-refuse', params: {}, match: m });
      else if (caps.netem && d.delay !== undefined)
        entries.push({ ...base, action: 'netem', params: { delayUs: parseDurationUs(d.delay) }, match: m });
      else
        degraded.push({
          ...base,
          reason: 'KernelLacksNetem',
          message: `fault "${fault.name}": kernel has no sch_netem; dns delay ${d.delay ?? ''} cannot be applied, the queries are not delayed (load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM; dns drop and refuse need only iptables)`,
        });
      break;
    }
    case 'disconnect':
    case 'container':
      break; // Docker-level faults: no namespace entries
    default:
      assertNever(action, 'fault action');
  }
  return { entries, degraded };
}
