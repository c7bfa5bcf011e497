// tc compilation: the desired traffic-control tree of every device in one netns.
//
// OWNERSHIP. Our egress root is always `htb` with the fixed handle 1fa1: ("fault line"), and
// `default 0`: a packet no filter claims goes to htb's direct queue — dequeued first, unshaped —
// so traffic that no fault selects is untouched. A root qdisc with any other handle that is not a
// kernel default (handle 0:, e.g. noqueue on a veth) belongs to someone else: we never replace it,
// and report a ForeignQdisc conflict instead.
//
// CLASSES. Every set S of tc entries whose matches overlap gets ONE htb class 1fa1:<minor> with an
// explicit leaf qdisc (handle <minor>:). The leaf behaves as if the packet had crossed every fault
// in S in series — the only composition that is the same whichever scenario came first:
//   delay   d = Σ d_i                   jitter j = √(Σ j_i²)  (spread of a sum of independent delays)
//   loss, duplicate, corrupt, reorder   p = 1 − Π(1 − p_i)    (independent events)
//   correlations: the largest; gap: the largest; netem rate and bandwidth: the smallest (bottleneck)
//   any drop (egress blackhole) in S → the whole class drops (blackhole leaf).
// Bandwidth is a tbf leaf (its spec fields — rate, burst, limit|latency — are tbf's); netem and
// bandwidth together are netem with a tbf child (handle <minor|0x8000>:, parent <minor>:1). The
// htb class itself never shapes (rate 100gbit): every number that matters lives in a leaf qdisc,
// and leaves are what `tc -j qdisc show` prints reliably (iproute2 6.1 prints classes as text
// even with -j).
//
// SHAPING CLASSES. A bandwidth with `ceil` is shaped by htb itself: its class has rate (guaranteed)
// and ceil, with a bfifo leaf (or its netem), and hangs under 1fa1:1, the parent every such class
// of the device borrows from: rate = ceil = the largest ceil (at least the sum of the rates), so a
// class alone reaches its ceil and classes busy together share the parent (golden/bandwidth-ceil.txt).
// A tbf with `peakrate` gets a one-frame peak bucket (mtu, default 1514 bytes).
//
// DNS. A dns delay is netem on `lo` (queries to 127.0.0.11 travel there), its own tree: by address
// (u32 dst 127.0.0.11), or by name through the packet mark iptables sets (bpf.ts; golden/dns-delay.txt).
//
// FILTERS. Each class's packets are selected by filters (one per atom, see match.ts) at a pref
// of its own; u32 for addresses and the IPv4 protocol, and where u32 would read fixed offsets that
// IP options or IPv6 extension headers move (ports, an IPv6 protocol) cls_flower when the kernel
// has it, else a cls_bpf program that parses the headers (bpf.ts), else u32, reported degraded: the class for a bigger S gets a SMALLER pref (tried first), so a packet matched by
// faults A and B lands in class {A,B}, not in {A}. IPv4 filters sit at an even pref, IPv6 at the
// odd one after it (one pref can hold one protocol only).
//   pref = 0x4000 − |S|·0x400 + 2·slot (+1 for ipv6), slot = minor mod 511 (probing on collision)
//
// TRACEABILITY. minor = 0x100 + fnv1a(sorted "scenario/fault#action" of S) mod 0x7eff (probing;
// 0x1fa1 skipped) — stable for as long as the same faults overlap, whatever their parameters
// (a parameter change is a `qdisc replace` of the leaf: no gap in the traffic). The map
// minor → keys is returned as `tags` and also written into the iptables chain FAULTLINE-TAGS so it
// survives a SIGKILL of the controller (readback.ts reads it for the orphan sweep).
//
// INGRESS. Ingress faults are shaped on an owned ifb device (flifb-<dev>): an `ingress` qdisc on
// <dev> redirects everything (`u32 match u32 0 0 action mirred egress redirect`, pref 0x1fa1) to
// the ifb, whose egress carries the same kind of htb tree with the peer matched as SOURCE.
//
// EGRESS LOSS FALLBACK (no sch_netem). Random loss of our own packets must not be an iptables
// DROP in OUTPUT: that makes the sender's send() fail at once with EPERM (nf_hook_slow turns
// NF_DROP into -EPERM). Instead iptables marks the chosen packets in mangle (FAULTLINE-MARK,
// `-m statistic ... -j MARK --set-xmark 0x800000/0x800000`) and a filter at pref 0x10 sends marked
// packets into a blackhole class: dropped below the socket layer, send() succeeds. The filter is
// cls_bpf running MARK_BPF (u32 `match mark` only where the probe proved the kernel honours it:
// without CONFIG_CLS_U32_MARK it is silently ignored and the filter would match EVERY packet).
// sch_blackhole returns NET_XMIT_SUCCESS|__NET_XMIT_BYPASS: not even IP_RECVERR sockets see an error
// (checked on Linux 6.18: UDP sendto succeeds; a `pfifo limit 0` leaf instead returns
// NET_XMIT_DROP, which UDP turns into ENOBUFS for IP_RECVERR sockets only, so it is our fallback
// when sch_blackhole is missing).
//
// Worked example — api's ledger: shop/slow-all (netem delay 100ms loss 1%, all traffic),
// shop/thin-db (bandwidth 1mbit to db 10.213.0.3), shop/cut-cache (partition: iptables, not here).
// Two classes: {slow-all, thin-db} for packets to db (pref tier 2, tried first), {slow-all} for the
// rest (tier 1); unmatched non-IP traffic (ARP) takes the direct queue. eth0's batch
// (golden/stacked.txt):
//
//   qdisc add dev eth0 root handle 1fa1: htb default 0
//   # 1fa1:2534 <- shop/slow-all + shop/thin-db: netem delay 100ms loss 1% + tbf rate 1mbit burst 32kb latency 50ms
//   class add dev eth0 parent 1fa1: classid 1fa1:2534 htb rate 100gbit ceil 100gbit burst 1250kb cburst 1250kb quantum 60000
//   qdisc add dev eth0 parent 1fa1:2534 handle 2534: netem delay 100ms loss 1%
//   qdisc add dev eth0 parent 2534:1 handle a534: tbf rate 1mbit burst 32kb latency 50ms
//   filter add dev eth0 parent 1fa1: protocol ip prio 14988 u32 match ip dst 10.213.0.3/32 flowid 1fa1:2534
//   # 1fa1:7ee8 <- shop/slow-all: netem delay 100ms loss 1%
//   class add dev eth0 parent 1fa1: classid 1fa1:7ee8 htb rate 100gbit ceil 100gbit burst 1250kb cburst 1250kb quantum 60000
//   qdisc add dev eth0 parent 1fa1:7ee8 handle 7ee8: netem delay 100ms loss 1%
//   filter add dev eth0 parent 1fa1: protocol ip prio 15950 u32 match u32 0 0 flowid 1fa1:7ee8
//   filter add dev eth0 parent 1fa1: protocol ipv6 prio 15951 u32 match u32 0 0 flowid 1fa1:7ee8
//
// and the tag map goes to iptables: -A FAULTLINE-TAGS -m comment --comment
// "faultline:shop/thin-db tc eth0 1fa1:2534" -j RETURN (one rule per class and fault).

import type { Capabilities } from './caps.js';
import {
  NETEM_DEFAULT_LIMIT,
  defaultBurstBytes,
  entryKey,
  type BandwidthParams,
  type Degraded,
  type Ledger,
  type LedgerEntry,
  type MatchDirection,
  type NetemParams,
} from './ledger.js';
import {
  atomCovers,
  atomsOf,
  flowerNodeFor,
  intersectAtomSets,
  isDeepAtom,
  u32NodesFor,
  keyText,
  type Atom,
  type U32Node,
} from './match.js';
import { bpfBytecode, bpfProgram, bpfSig } from './bpf.js';
import { fnv1a32 } from '../api/hash.js';
import { renderPercent, renderRate, renderSize, renderTime, trimNumber } from '../api/quantity.js';

export const ROOT_MAJOR = 0x1fa1;
export const ROOT_HANDLE = '1fa1:';
/** pref of the ingress → ifb redirect filter. */
export const INGRESS_PREF = 0x1fa1;
/** pref of the "marked for loss" filter (egress loss fallback). */
export const MARK_PREF = 0x10;
/** The packet-mark bit the mangle FAULTLINE-MARK chain sets for packets to lose. */
export const DROP_MARK = 0x800000;
export const MINOR_MIN = 0x100;
export const MINOR_MAX = 0x7ffe;
export const CHILD_BIT = 0x8000;
/** The htb class shape of every owned class that does not shape itself: a container, not a shaper. */
export const UNSHAPED_CLASS = 'htb rate 100gbit ceil 100gbit burst 1250kb cburst 1250kb quantum 60000';
export const UNSHAPED_BPS = 100e9;
/** The parent of the classes that shape with htb (bandwidth with ceil): they borrow from it. */
export const PARENT_MINOR = 0x1;
export const PARENT_CLASSID = '1fa1:1';
/** The loopback device, where a container's DNS queries to Docker's resolver travel. */
export const LOOPBACK = 'lo';

const TIER = 0x400;
const TIER_TOP = 0x4000;
const SLOTS = 511;

/** Owned ifb for a device: "flifb-eth0"; a name too long for IFNAMSIZ is hashed. */
export function ifbName(dev: string): string {
  const plain = `flifb-${dev}`;
  return plain.length <= 15 ? plain : `flifb-${fnv1a32(dev).toString(16).padStart(8, '0')}`;
}

export function isOwnedIfb(name: string): boolean {
  return name.startsWith('flifb-');
}

export const hex = (n: number) => n.toString(16);
export const classId = (minor: number) => `${ROOT_HANDLE}${hex(minor)}`;

// ---------------------------------------------------------------- normalized leaf state

/**
 * A leaf qdisc as numbers, in the units `tc -j qdisc show` can be normalized to. Desired leaves are
 * turned into the same shape, so comparing is comparing numbers (with tc's rounding tolerated).
 */
export interface LeafState {
  kind: string; // netem | tbf | blackhole | pfifo | anything else we find
  params: Record<string, number>;
  child?: LeafState;
}

/** Merged netem + tbf + drop of one class (htb: the class itself shapes, rate and ceil). */
export interface LeafSpec {
  drop?: 'blackhole' | 'pfifo';
  netem?: NetemParams;
  tbf?: BandwidthParams;
  htb?: { rateBps: number; ceilBps: number; burstBytes: number; limitBytes?: number };
}

/** The htb parameters of a class that shapes: its guaranteed rate and its ceiling (bits/s). */
export interface ClassShape {
  rateBps: number;
  ceilBps: number;
  burstBytes?: number;
  cburstBytes?: number;
}

export function netemState(p: NetemParams): Record<string, number> {
  const s: Record<string, number> = {};
  const put = (k: string, v: number | undefined) => {
    if (v) s[k] = v;
  };
  put('delayUs', p.delayUs);
  put('jitterUs', p.jitterUs);
  if (p.jitterUs) put('delayCorrPct', p.delayCorrelationPct);
  if (p.gemodel) {
    // tc's defaults for what is not given: r = 1 − p, loss in Bad ("1-h") 100%, loss in Good 0%
    put('geP', p.gemodel.pPct);
    put('geR', p.gemodel.rPct ?? 100 - p.gemodel.pPct);
    put('ge1h', p.gemodel.hPct ?? 100);
    put('ge1k', p.gemodel.kPct);
  } else if (p.lossState) {
    const l = lossStateFull(p.lossState);
    put('ls13Pct', l.p13Pct);
    put('ls31Pct', l.p31Pct);
    put('ls32Pct', l.p32Pct);
    put('ls23Pct', l.p23Pct);
    put('ls14Pct', l.p14Pct);
  } else {
    put('lossPct', p.lossPct);
    if (p.lossPct) put('lossCorrPct', p.lossCorrelationPct);
  }
  if (p.ecn) s.ecn = 1;
  put('duplicatePct', p.duplicatePct);
  if (p.duplicatePct) put('duplicateCorrPct', p.duplicateCorrelationPct);
  put('corruptPct', p.corruptPct);
  if (p.corruptPct) put('corruptCorrPct', p.corruptCorrelationPct);
  if (p.reorderPct && p.delayUs) {
    put('reorderPct', p.reorderPct);
    put('reorderCorrPct', p.reorderCorrelationPct);
    put('gap', p.reorderGap ?? 1);
  }
  put('rateBytes', p.rateBps === undefined ? undefined : Math.floor(p.rateBps / 8));
  if (p.rateBps) {
    put('rateOverhead', p.rateOverhead?.packet);
    put('rateCellSize', p.rateOverhead?.cellSize);
    put('rateCellOverhead', p.rateOverhead?.cell);
  }
  if (p.slot) {
    put('slotMinUs', p.slot.minUs);
    put('slotMaxUs', p.slot.maxUs);
    put('slotPackets', p.slot.packets);
    put('slotBytes', p.slot.bytes);
  }
  if (p.limit && p.limit !== NETEM_DEFAULT_LIMIT) s.limit = p.limit;
  return s;
}

/** A 4-state loss model with tc's defaults filled in (p31 = 100 − p13, p32 0, p23 100, p14 0). */
export function lossStateFull(
  l: NonNullable<NetemParams['lossState']>,
): Required<NonNullable<NetemParams['lossState']>> {
  return {
    p13Pct: l.p13Pct,
    p31Pct: l.p31Pct ?? Number(trimNumber(100 - l.p13Pct, 6)),
    p32Pct: l.p32Pct ?? 0,
    p23Pct: l.p23Pct ?? 100,
    p14Pct: l.p14Pct ?? 0,
  };
}

export function tbfState(b: BandwidthParams): Record<string, number> {
  const rateBytes = Math.floor(b.rateBps / 8);
  const s: Record<string, number> = { rateBytes, burstBytes: b.burstBytes };
  // tc prints the queue as latency whichever way it was given: lat = limit/rate − burst/rate, or
  // with a peak bucket the larger of that and limit/peak − mtu/peak (q_tbf.c).
  let lat = b.latencyUs ?? Math.round(((b.limitBytes! - b.burstBytes) / rateBytes) * 1e6);
  if (b.peakBps) {
    const peakBytes = Math.floor(b.peakBps / 8);
    s.peakBytes = peakBytes;
    s.mtuBytes = b.mtuBytes!;
    if (b.latencyUs === undefined) lat = Math.max(lat, Math.round(((b.limitBytes! - b.mtuBytes!) / peakBytes) * 1e6));
  }
  if (lat > 0) s.latUs = lat;
  return s;
}

/**
 * The queue of an htb-shaped class with no netem: bfifo, sized from limit or 50 ms at ceil — but
 * never smaller than two GSO super-packets (64 KiB each: a veth hands TCP's segments to the qdisc
 * unsegmented, and a bfifo drops every packet larger than its room; measured on this kernel, a
 * 25 kB queue slowed a 4 Mbit/s class to ~140 kbit/s).
 */
export const GSO_MAX_BYTES = 65536;
export function htbFifoLimit(h: NonNullable<LeafSpec['htb']>): number {
  return h.limitBytes ?? Math.max(2 * GSO_MAX_BYTES, Math.ceil((h.ceilBps / 8) * 0.05));
}

export function leafStateOf(spec: LeafSpec): LeafState {
  if (spec.drop === 'blackhole') return { kind: 'blackhole', params: {} };
  if (spec.drop === 'pfifo') return { kind: 'pfifo', params: { limit: 0 } };
  if (spec.netem) {
    const s: LeafState = { kind: 'netem', params: netemState(spec.netem) };
    if (spec.tbf) s.child = { kind: 'tbf', params: tbfState(spec.tbf) };
    return s;
  }
  if (spec.htb) return { kind: 'bfifo', params: { limit: htbFifoLimit(spec.htb) } };
  return { kind: 'tbf', params: tbfState(spec.tbf!) };
}

/** Tolerances: tc stores times in ticks and percents as u32 fractions; rates/bursts round. */
function close(key: string, a: number, b: number): boolean {
  if (key.endsWith('Pct') || key.startsWith('ge')) return Math.abs(a - b) <= 1e-4;
  if (key === 'latUs') return Math.abs(a - b) <= Math.max(50, 0.02 * Math.abs(b));
  if (key === 'burstBytes') return Math.abs(a - b) <= Math.max(2, 0.01 * Math.abs(b));
  if (key === 'rateBytes') return Math.abs(a - b) <= Math.max(1, 1e-6 * Math.abs(b));
  // read from tc's text ("2Mbit", "1234Kbit"): it drops digits below the third significant one
  if (key === 'peakBytes') return Math.abs(a - b) <= Math.max(1, 1e-3 * Math.abs(b));
  if (key === 'mtuBytes') return Math.abs(a - b) <= 2;
  if (key.endsWith('Us')) return Math.abs(a - b) <= 1;
  return a === b;
}

export function leavesEqual(desired: LeafState, observed: LeafState | undefined): boolean {
  if (!observed || desired.kind !== observed.kind) return false;
  const keys = new Set([...Object.keys(desired.params), ...Object.keys(observed.params)]);
  for (const k of keys) if (!close(k, observed.params[k] ?? 0, desired.params[k] ?? 0)) return false;
  if (!desired.child !== !observed.child) return false;
  return !desired.child || leavesEqual(desired.child, observed.child);
}

// ---------------------------------------------------------------- rendering leaf arguments

function pctArgs(pct: number | undefined, corr: number | undefined): string {
  return corr ? `${renderPercent(pct!)} ${renderPercent(corr)}` : renderPercent(pct!);
}

/** "netem delay 100ms 10ms 25% distribution normal loss 20% duplicate 1% ..." */
export function netemArgs(p: NetemParams): string {
  const a: string[] = ['netem'];
  if (p.limit && p.limit !== NETEM_DEFAULT_LIMIT) a.push(`limit ${p.limit}`);
  if (p.delayUs) {
    let d = `delay ${renderTime(p.delayUs)}`;
    if (p.jitterUs) {
      d += ` ${renderTime(p.jitterUs)}`;
      if (p.delayCorrelationPct) d += ` ${renderPercent(p.delayCorrelationPct)}`;
      if (p.distribution) d += ` distribution ${p.distribution}`;
    }
    a.push(d);
  }
  if (p.gemodel) {
    // positional: a later value needs the ones before it, written with tc's own defaults
    const g = p.gemodel;
    const parts = [g.pPct, g.rPct, g.hPct, g.kPct];
    const defaults = [g.pPct, 100 - g.pPct, 100, 0];
    while (parts.length && parts[parts.length - 1] === undefined) parts.pop();
    a.push(`loss gemodel ${parts.map((x, i) => renderPercent(x ?? defaults[i])).join(' ')}`);
  } else if (p.lossState) {
    const l = p.lossState;
    const full = lossStateFull(l);
    const parts = [l.p13Pct, l.p31Pct, l.p32Pct, l.p23Pct, l.p14Pct];
    const defaults = [full.p13Pct, full.p31Pct, full.p32Pct, full.p23Pct, full.p14Pct];
    while (parts.length && parts[parts.length - 1] === undefined) parts.pop();
    a.push(`loss state ${parts.map((x, i) => renderPercent(x ?? defaults[i])).join(' ')}`);
  } else if (p.lossPct) a.push(`loss ${pctArgs(p.lossPct, p.lossCorrelationPct)}`);
  if (p.ecn) a.push('ecn');
  if (p.duplicatePct) a.push(`duplicate ${pctArgs(p.duplicatePct, p.duplicateCorrelationPct)}`);
  if (p.corruptPct) a.push(`corrupt ${pctArgs(p.corruptPct, p.corruptCorrelationPct)}`);
  if (p.reorderPct && p.delayUs)
    a.push(`reorder ${pctArgs(p.reorderPct, p.reorderCorrelationPct)} gap ${p.reorderGap ?? 1}`);
  if (p.rateBps) {
    // positional too: rate RATE [PACKETOVERHEAD [CELLSIZE [CELLOVERHEAD]]]
    const o = p.rateOverhead ?? {};
    const parts = [o.packet, o.cellSize, o.cell];
    while (parts.length && !parts[parts.length - 1]) parts.pop();
    a.push(['rate', renderRate(p.rateBps), ...parts.map((x) => String(x ?? 0))].join(' '));
  }
  if (p.slot) {
    let t = `slot ${renderTime(p.slot.minUs)} ${renderTime(p.slot.maxUs)}`;
    if (p.slot.packets) t += ` packets ${p.slot.packets}`;
    if (p.slot.bytes) t += ` bytes ${p.slot.bytes}`;
    a.push(t);
  }
  return a.join(' ');
}

/** "tbf rate 1mbit burst 32kb latency 50ms" or "... limit 64kb" (and "peakrate 2mbit mtu 1514b"). */
export function tbfArgs(b: BandwidthParams): string {
  const q = b.limitBytes !== undefined ? `limit ${renderSize(b.limitBytes)}` : `latency ${renderTime(b.latencyUs!)}`;
  const peak = b.peakBps ? ` peakrate ${renderRate(b.peakBps)} mtu ${renderSize(b.mtuBytes!)}` : '';
  return `tbf rate ${renderRate(b.rateBps)} burst ${renderSize(b.burstBytes)} ${q}${peak}`;
}

export function leafArgs(spec: LeafSpec): { leaf: string; child?: string } {
  if (spec.drop === 'blackhole') return { leaf: 'blackhole' };
  if (spec.drop === 'pfifo') return { leaf: 'pfifo limit 0' };
  if (spec.netem) return { leaf: netemArgs(spec.netem), child: spec.tbf ? tbfArgs(spec.tbf) : undefined };
  if (spec.htb) return { leaf: `bfifo limit ${htbFifoLimit(spec.htb)}` };
  return { leaf: tbfArgs(spec.tbf!) };
}

/** The class's own htb parameters: "htb rate 1mbit ceil 4mbit" (+ burst) or the unshaped container. */
export function classArgs(shape: ClassShape | undefined): string {
  if (!shape) return UNSHAPED_CLASS;
  const burst =
    (shape.burstBytes ? ` burst ${renderSize(shape.burstBytes)}` : '') +
    (shape.cburstBytes ? ` cburst ${renderSize(shape.cburstBytes)}` : '');
  return `htb rate ${renderRate(shape.rateBps)} ceil ${renderRate(shape.ceilBps)}${burst}`;
}

function summary(spec: LeafSpec): string {
  const { leaf, child } = leafArgs(spec);
  const htb = spec.htb ? `htb rate ${renderRate(spec.htb.rateBps)} ceil ${renderRate(spec.htb.ceilBps)} + ` : '';
  return child ? `${htb}${leaf} + ${child}` : `${htb}${leaf}`;
}

// ---------------------------------------------------------------- merging stacked entries

const round6 = (x: number) => Number(trimNumber(x, 6));
const independent = (ps: number[]) => round6(100 * (1 - ps.reduce((acc, p) => acc * (1 - p / 100), 1)));

/** Series composition of netem parameters (see the header). `notes` collects approximations. */
export function mergeNetem(list: NetemParams[], notes: string[]): NetemParams {
  if (list.length === 1) return { ...list[0] };
  const out: NetemParams = {};
  const vals = <K extends keyof NetemParams>(k: K) =>
    list.map((p) => p[k]).filter((v): v is NonNullable<NetemParams[K]> => v !== undefined && v !== 0);
  const delays = vals('delayUs') as number[];
  if (delays.length) out.delayUs = delays.reduce((a, b) => a + b, 0);
  const jitters = vals('jitterUs') as number[];
  if (jitters.length) out.jitterUs = Math.round(Math.sqrt(jitters.reduce((a, j) => a + j * j, 0)));
  const maxOf = (xs: number[]) => (xs.length ? Math.max(...xs) : undefined);
  const dc = maxOf(vals('delayCorrelationPct') as number[]);
  if (dc) out.delayCorrelationPct = dc;
  const withDist = list
    .filter((p) => p.distribution && p.jitterUs)
    .sort((a, b) => (b.jitterUs ?? 0) - (a.jitterUs ?? 0));
  if (withDist.length) out.distribution = withDist[0].distribution;
  // One loss model per class: a Markov model (gemodel, 4-state) where any fault has one, else the
  // random losses combined.
  const models = list.filter((p) => p.gemodel || p.lossState);
  if (models.length) {
    const m = models[0];
    if (m.gemodel) out.gemodel = { ...m.gemodel };
    else out.lossState = { ...m.lossState! };
    if (models.length > 1 || vals('lossPct').length)
      notes.push('only the first Markov loss model (gemodel or lossState) is kept where faults overlap');
  } else {
    const losses = vals('lossPct') as number[];
    if (losses.length) out.lossPct = independent(losses);
    const lc = maxOf(vals('lossCorrelationPct') as number[]);
    if (lc) out.lossCorrelationPct = lc;
  }
  if (list.some((p) => p.ecn)) out.ecn = true;
  const dups = vals('duplicatePct') as number[];
  if (dups.length) out.duplicatePct = independent(dups);
  const dupc = maxOf(vals('duplicateCorrelationPct') as number[]);
  if (dupc) out.duplicateCorrelationPct = dupc;
  const cors = vals('corruptPct') as number[];
  if (cors.length) out.corruptPct = independent(cors);
  const corc = maxOf(vals('corruptCorrelationPct') as number[]);
  if (corc) out.corruptCorrelationPct = corc;
  const reos = vals('reorderPct') as number[];
  if (reos.length) out.reorderPct = independent(reos);
  const reoc = maxOf(vals('reorderCorrelationPct') as number[]);
  if (reoc) out.reorderCorrelationPct = reoc;
  const gap = maxOf(vals('reorderGap') as number[]);
  if (gap) out.reorderGap = gap;
  const rated = list.filter((p) => p.rateBps).sort((a, b) => a.rateBps! - b.rateBps!);
  if (rated.length) {
    out.rateBps = rated[0].rateBps;
    if (rated[0].rateOverhead) out.rateOverhead = { ...rated[0].rateOverhead };
  }
  const slots = list.filter((p) => p.slot);
  if (slots.length) {
    out.slot = { ...slots[0].slot! };
    if (slots.length > 1) notes.push('only the first slot configuration is kept where faults overlap');
  }
  const limits = vals('limit') as number[];
  if (limits.length) out.limit = Math.min(...limits);
  return out;
}

// ---------------------------------------------------------------- the desired tree

export interface DesiredClass {
  minor: number;
  classid: string;
  /** "scenario/fault" of every entry in S, sorted. */
  keys: string[];
  leaf: LeafState;
  leafArgs: string;
  childArgs?: string;
  note: string;
  /** A class that shapes with htb (bandwidth with ceil): its rate and ceil; it hangs under 1fa1:1. */
  shape?: ClassShape;
}

export interface FilterGroup {
  pref: number;
  protocol: 'ip' | 'ipv6' | 'all';
  classifier: 'u32' | 'bpf' | 'flower';
  flowid: string;
  nodes: U32Node[];
  keys: string[];
}

export interface DesiredDevice {
  dev: string;
  /** egress: a container interface; ifb: its ingress, shaped on an owned ifb; lo: DNS queries. */
  role: 'egress' | 'ifb' | 'lo';
  classes: DesiredClass[];
  groups: FilterGroup[];
  /** The parent of the htb-shaped classes (1fa1:1): as large as the largest ceil (or the sum of rates). */
  parent?: { shape: ClassShape; keys: string[] };
  /** On a physical device with ingress faults: redirect ingress to this ifb. */
  ingressRedirectTo?: string;
  ingressKind?: 'ingress' | 'clsact';
  /** Keys of the entries whose ingress is redirected (for verification). */
  ingressKeys?: string[];
}

export interface Tag {
  dev: string;
  classid: string;
  keys: string[];
}

export interface TcDesired {
  devices: DesiredDevice[];
  /** ifb devices that must exist (and be up). */
  ifbs: string[];
  tags: Tag[];
  degraded: Degraded[];
  /** key → mechanisms used for it in tc */
  mechanisms: Map<string, Set<string>>;
}

/** Entries that live in a tc tree for a direction. */
export function isTcEntry(e: LedgerEntry, caps: Capabilities): boolean {
  if (e.action === 'netem' || e.action === 'bandwidth') return true;
  if (e.action === 'blackhole' && e.match.direction === 'egress') return tcDropPossible(caps);
  return false;
}

export function tcDropPossible(caps: Capabilities): boolean {
  return caps.htb && caps.u32;
}

/** Egress loss-statistic entries are realised as mangle MARK + a u32 mark filter when possible. */
export function markDropPossible(caps: Capabilities): boolean {
  return caps.htb && (caps.bpf || caps.u32Mark) && caps.mark && caps.statistic && caps.iptables !== null;
}

/**
 * Classic BPF for cls_bpf: "is bit 0x800000 of skb->mark set?" → -1 (use the filter's flowid) or
 * 0 (no match). Instructions as `code jt jf k` (tc's bytecode syntax), decimal:
 *   ld  [SKF_AD_OFF + SKF_AD_MARK]    32 0 0 4294963220   (0xfffff000 + 20)
 *   and #0x800000                     84 0 0 8388608
 *   jeq #0x800000, match, nomatch     21 0 1 8388608
 *   ret #-1                            6 0 0 4294967295
 *   ret #0                             6 0 0 0
 */
export const MARK_BPF = '5,32 0 0 4294963220,84 0 0 8388608,21 0 1 8388608,6 0 0 4294967295,6 0 0 0';

interface Region {
  members: number[]; // indices into the tree's entries
  atoms: Atom[];
}

/** At most this many classes per device: beyond it, deeper overlaps are not split out. */
export const MAX_REGIONS = 256;

/**
 * All non-empty overlaps of the entries' matches (a lattice walk, pruned at empty sets). Usually a
 * handful; in the worst case (n faults that all overlap) 2^n, so the walk stops at MAX_REGIONS:
 * packets in a deeper overlap then get the class of a smaller set (`truncated` is reported).
 */
function regionsOf(atomLists: Atom[][]): Region[] & { truncated?: boolean } {
  const out: Region[] & { truncated?: boolean } = [];
  let frontier: Region[] = atomLists.map((atoms, i) => ({ members: [i], atoms })).filter((r) => r.atoms.length > 0);
  while (frontier.length) {
    if (out.length + frontier.length > MAX_REGIONS) {
      out.truncated = true;
      frontier = frontier.slice(0, Math.max(0, MAX_REGIONS - out.length));
      out.push(...frontier);
      break;
    }
    out.push(...frontier);
    const next: Region[] = [];
    for (const r of frontier) {
      const last = r.members[r.members.length - 1];
      for (let j = last + 1; j < atomLists.length; j++) {
        const atoms = intersectAtomSets(r.atoms, atomLists[j]);
        if (atoms.length) next.push({ members: [...r.members, j], atoms });
      }
    }
    frontier = next;
  }
  // A region whose packets ALL match some further entry j is never reached: they land in the
  // bigger region S∪{j} first. E.g. "loss to db:5432" inside "delay to everyone": the class for
  // {loss} alone would hold no packet. Drop such regions (atom coverage implies packet coverage).
  // (Not when truncated: the bigger region may be the one that was cut off.)
  if (out.truncated) return out;
  const covered = (r: Region, j: number) => r.atoms.every((a) => atomLists[j].some((b) => atomCovers(b, a)));
  const kept: Region[] & { truncated?: boolean } = out.filter(
    (r) => !atomLists.some((_, j) => !r.members.includes(j) && covered(r, j)),
  );
  return kept;
}

function allocate(
  sigs: string[],
  lo: number,
  hi: number,
  skip: Set<number>,
  hash: (s: string) => number,
): Map<string, number> {
  const used = new Set<number>(skip);
  const out = new Map<string, number>();
  const span = hi - lo + 1;
  for (const sig of [...sigs].sort()) {
    let v = lo + (hash(sig) % span);
    while (used.has(v)) v = v === hi ? lo : v + 1;
    used.add(v);
    out.set(sig, v);
  }
  return out;
}

interface TreeClass {
  sig: string;
  keys: string[];
  size: number;
  spec: LeafSpec;
  atoms: Atom[];
  mark?: boolean;
  duplicateKeys: string[];
}

function buildTree(
  dev: string,
  role: DesiredDevice['role'],
  direction: MatchDirection,
  entries: LedgerEntry[],
  markKeys: string[],
  caps: Capabilities,
  degraded: Degraded[],
  mechanisms: Map<string, Set<string>>,
  dnsMarks: ReadonlyMap<string, number> = new Map(),
): DesiredDevice {
  const MECH = {
    netem: 'netem',
    bandwidth: 'tbf',
    blackhole: caps.blackhole ? 'tc-blackhole' : 'tc-pfifo-drop',
  } as Record<string, string>;
  for (const e of entries)
    addMechanism(
      mechanisms,
      entryKey(e),
      e.action === 'bandwidth' && (e.params as BandwidthParams).ceilBps ? 'htb' : MECH[e.action],
    );
  for (const k of markKeys) addMechanism(mechanisms, k, 'iptables-statistic');
  const regions = regionsOf(entries.map((e) => atomsOf(e.match, dnsMarks.get(entryKey(e)))));
  if (regions.truncated) {
    for (const e of entries)
      degraded.push({
        scenario: e.scenario,
        fault: e.fault,
        reason: 'StackedFaultsApproximated',
        message: `fault "${e.fault}": more than ${MAX_REGIONS} overlapping combinations of faults on ${dev}; packets matched by many faults at once get the parameters of only some of them (use fewer overlapping faults on one container)`,
      });
  }
  const classes: TreeClass[] = [];
  for (const r of regions) {
    const members = r.members.map((i) => entries[i]);
    const notes: string[] = [];
    const spec: LeafSpec = {};
    if (members.some((e) => e.action === 'blackhole')) spec.drop = caps.blackhole ? 'blackhole' : 'pfifo';
    else {
      const netems = members.filter((e) => e.action === 'netem').map((e) => e.params as NetemParams);
      if (netems.length) spec.netem = mergeNetem(netems, notes);
      const bws = members.filter((e) => e.action === 'bandwidth').map((e) => e.params as BandwidthParams);
      if (bws.length) {
        // the bottleneck: the smallest guaranteed rate, and the lowest ceiling any of them allows
        const low = [...bws].sort((a, b) => a.rateBps - b.rateBps)[0];
        const ceil = Math.min(...bws.map((b) => b.ceilBps ?? b.rateBps));
        if (ceil > low.rateBps) {
          spec.htb = { rateBps: low.rateBps, ceilBps: ceil, burstBytes: low.burstBytes };
          if (low.limitBytes !== undefined) spec.htb.limitBytes = low.limitBytes;
        } else {
          spec.tbf = { ...low };
          delete spec.tbf.ceilBps;
        }
      }
    }
    const keys = [...new Set(members.map(entryKey))].sort();
    if (notes.length) {
      for (const e of members.filter((m) => m.action === 'netem'))
        degraded.push({
          scenario: e.scenario,
          fault: e.fault,
          reason: 'StackedFaultsApproximated',
          message: `fault "${e.fault}": where it overlaps ${keys.filter((k) => k !== entryKey(e)).join(', ')} on ${dev}, ${notes.join('; ')}`,
        });
    }
    classes.push({
      sig: members.map((e) => `${entryKey(e)}#${e.action}`).join(','),
      keys,
      size: members.length,
      spec,
      atoms: r.atoms,
      duplicateKeys: members
        .filter((e) => e.action === 'netem' && (e.params as NetemParams).duplicatePct)
        .map(entryKey),
    });
  }
  if (markKeys.length) {
    classes.push({
      sig: `mark:${markKeys.join(',')}`,
      keys: markKeys,
      size: 0,
      spec: { drop: caps.blackhole ? 'blackhole' : 'pfifo' },
      atoms: [],
      mark: true,
      duplicateKeys: [],
    });
  }

  // Since 2025 kernels refuse a duplicating netem in a tree holding other netems ("netem: cannot
  // mix duplicating netems with other netems in tree", EINVAL). Keep the tree loadable: drop the
  // duplicate parameter where that would happen, and say so.
  const netemClasses = classes.filter((c) => c.spec.netem);
  if (netemClasses.length > 1) {
    const reported = new Set<string>();
    for (const c of netemClasses) {
      if (!c.spec.netem!.duplicatePct) continue;
      c.spec.netem = { ...c.spec.netem! };
      delete c.spec.netem.duplicatePct;
      delete c.spec.netem.duplicateCorrelationPct;
      for (const k of c.duplicateKeys) {
        if (reported.has(k)) continue;
        reported.add(k);
        const [scenario, fault] = k.split('/');
        degraded.push({
          scenario,
          fault,
          reason: 'NetemDuplicateConflict',
          message: `fault "${fault}": duplicate cannot be applied on ${dev} while other netem faults share the device (the kernel refuses "duplicating netems with other netems in tree"); the rest of the fault is applied`,
        });
      }
    }
  }

  const minors = allocate(
    classes.map((c) => c.sig),
    MINOR_MIN,
    MINOR_MAX,
    new Set([ROOT_MAJOR]),
    fnv1a32,
  );
  // prefs: per tier, slots probed in sig order
  const slotsUsed = new Map<number, Set<number>>();
  const desiredClasses: DesiredClass[] = [];
  const groups: FilterGroup[] = [];
  for (const c of [...classes].sort((a, b) => b.size - a.size || (a.sig < b.sig ? -1 : 1))) {
    const minor = minors.get(c.sig)!;
    const { leaf, child } = leafArgs(c.spec);
    const flowid = classId(minor);
    const dc: DesiredClass = {
      minor,
      classid: flowid,
      keys: c.keys,
      leaf: leafStateOf(c.spec),
      leafArgs: leaf,
      childArgs: child,
      note: summary(c.spec),
    };
    if (c.spec.htb) {
      const h = c.spec.htb;
      // bursts: the fault's (10 ms at its rate by default), and 10 ms at the ceil for borrowing
      dc.shape = {
        rateBps: h.rateBps,
        ceilBps: h.ceilBps,
        burstBytes: h.burstBytes,
        cburstBytes: defaultBurstBytes(h.ceilBps),
      };
    }
    desiredClasses.push(dc);
    if (c.mark) {
      groups.push(
        caps.bpf
          ? {
              pref: MARK_PREF,
              protocol: 'all',
              classifier: 'bpf',
              flowid,
              nodes: [{ matchText: `bytecode "${MARK_BPF}"`, keys: [], sig: `bpf:${MARK_BPF.slice(2)}` }],
              keys: c.keys,
            }
          : {
              pref: MARK_PREF,
              protocol: 'all',
              classifier: 'u32',
              flowid,
              nodes: [
                {
                  matchText: `match mark 0x${hex(DROP_MARK)} 0x${hex(DROP_MARK)}`,
                  keys: [],
                  sig: `mark:${hex(DROP_MARK)}/${hex(DROP_MARK)}`,
                },
              ],
              keys: c.keys,
            },
      );
      continue;
    }
    const tier = Math.min(c.size, 15);
    const base = TIER_TOP - tier * TIER;
    if (!slotsUsed.has(tier)) slotsUsed.set(tier, new Set());
    const used = slotsUsed.get(tier)!;
    let slot = minor % SLOTS;
    while (used.has(slot)) slot = (slot + 1) % SLOTS;
    used.add(slot);
    for (const family of [4, 6] as const) {
      const atoms = c.atoms.filter((a) => a.family === family);
      if (!atoms.length) continue;
      const { classifier, nodes } = filterNodes(atoms, direction, caps, dev, c.keys, degraded);
      if (nodes.length)
        groups.push({
          pref: base + 2 * slot + (family === 6 ? 1 : 0),
          protocol: family === 4 ? 'ip' : 'ipv6',
          classifier,
          flowid,
          nodes,
          keys: c.keys,
        });
    }
  }
  groups.sort((a, b) => a.pref - b.pref);
  const out: DesiredDevice = { dev, role, classes: desiredClasses, groups };
  // htb-shaped classes borrow from one parent: as large as the largest ceil, and never smaller
  // than their guaranteed rates together (so that every guarantee can hold at once).
  const shaped = desiredClasses.filter((x) => x.shape);
  if (shaped.length) {
    const top = Math.max(
      ...shaped.map((x) => x.shape!.ceilBps),
      shaped.reduce((sum, x) => sum + x.shape!.rateBps, 0),
    );
    out.parent = {
      shape: { rateBps: top, ceilBps: top },
      keys: [...new Set(shaped.flatMap((x) => x.keys))].sort(),
    };
  }
  return out;
}

/**
 * The filter nodes of one class and family, and the classifier they need. u32 where it is right
 * (addresses, IPv4 protocol); for ports, an IPv6 protocol or a mark: flower where the kernel has
 * it (no mark), else cls_bpf (bpf.ts), else u32 at fixed offsets, reported as degraded.
 */
function filterNodes(
  atoms: Atom[],
  direction: MatchDirection,
  caps: Capabilities,
  dev: string,
  keys: string[],
  degraded: Degraded[],
): { classifier: FilterGroup['classifier']; nodes: U32Node[] } {
  const deep = atoms.some(isDeepAtom);
  const marked = atoms.some((a) => a.mark);
  if (deep && caps.flower && !marked)
    return { classifier: 'flower', nodes: uniqueNodes(atoms.map((a) => flowerNodeFor(a, direction))) };
  if (deep && caps.bpf) {
    const nodes = atoms.map((a) => {
      const prog = bpfProgram(a, direction);
      return { matchText: `bytecode "${bpfBytecode(prog)}"`, keys: [], sig: bpfSig(prog) };
    });
    return { classifier: 'bpf', nodes: uniqueNodes(nodes) };
  }
  const report = (reason: Degraded['reason'], message: (fault: string) => string) => {
    for (const k of keys) {
      const i = k.indexOf('/');
      degraded.push({ scenario: k.slice(0, i), fault: k.slice(i + 1), reason, message: message(k.slice(i + 1)) });
    }
  };
  if (marked) {
    report(
      'KernelLacksBpf',
      (f) =>
        `fault "${f}": kernel has no cls_bpf, so the DNS queries marked by name cannot be picked out on ${dev}; those names are not delayed (load cls_bpf)`,
    );
    atoms = atoms.filter((a) => !a.mark);
  }
  if (deep && atoms.some(isDeepAtom))
    report(
      'FixedOffsetPortMatch',
      (f) =>
        `fault "${f}": kernel has neither cls_flower nor cls_bpf; ports (and IPv6 protocols) are matched at fixed offsets on ${dev}, so packets with IP options or IPv6 extension headers escape the fault (load cls_flower or cls_bpf)`,
    );
  return { classifier: 'u32', nodes: uniqueNodes(atoms.flatMap((a) => u32NodesFor(a, direction))) };
}

function addMechanism(m: Map<string, Set<string>>, key: string, mech: string): void {
  if (!m.has(key)) m.set(key, new Set());
  m.get(key)!.add(mech);
}

function uniqueNodes(nodes: U32Node[]): U32Node[] {
  const seen = new Map<string, U32Node>();
  for (const n of nodes) {
    const k = n.sig ?? n.keys.map(keyText).join(' ');
    if (!seen.has(k)) seen.set(k, n);
  }
  return [...seen.values()];
}

/**
 * The desired tc state of a (normalized) ledger: one egress tree per interface, one ifb tree per
 * interface when there are ingress faults. Entries the kernel cannot carry are left out and
 * reported in `degraded`.
 */
export function desiredTc(
  ledger: Ledger,
  caps: Capabilities,
  markKeys: string[],
  dnsMarks: ReadonlyMap<string, number> = new Map(),
): TcDesired {
  const degraded: Degraded[] = [];
  const mechanisms = new Map<string, Set<string>>();
  const egress: LedgerEntry[] = [];
  const ingress: LedgerEntry[] = [];
  const dns: LedgerEntry[] = [];
  for (const e of ledger.entries) {
    if (!isTcEntry(e, caps)) continue;
    const base = { scenario: e.scenario, fault: e.fault };
    const what = e.action === 'netem' ? 'netem' : e.action === 'bandwidth' ? 'bandwidth' : 'egress blackhole';
    if (!caps.htb || !caps.u32) {
      degraded.push({
        ...base,
        reason: caps.htb ? 'KernelLacksU32' : 'KernelLacksHtb',
        message: `fault "${e.fault}": kernel has no ${caps.htb ? 'cls_u32' : 'sch_htb'}; ${what} cannot be applied per peer (load ${caps.htb ? 'cls_u32' : 'sch_htb'})`,
      });
      continue;
    }
    if (e.action === 'netem' && !caps.netem) {
      degraded.push({
        ...base,
        reason: 'KernelLacksNetem',
        message: `fault "${e.fault}": kernel has no sch_netem; netem cannot be applied (load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM)`,
      });
      continue;
    }
    if (e.action === 'bandwidth' && !caps.tbf) {
      degraded.push({
        ...base,
        reason: 'KernelLacksTbf',
        message: `fault "${e.fault}": kernel has no sch_tbf; bandwidth cannot be applied (load sch_tbf)`,
      });
      continue;
    }
    if (e.match.direction === 'ingress') {
      if (!caps.ifb || !caps.mirred || !(caps.ingress || caps.clsact)) {
        degraded.push({
          ...base,
          reason: 'KernelLacksIfb',
          message: `fault "${e.fault}": kernel has no ifb/act_mirred for ingress shaping; ingress ${what} cannot be applied (load the ifb and act_mirred modules, or apply the fault as egress on the peer)`,
        });
        continue;
      }
      ingress.push(e);
    } else if (e.match.dns) dns.push(e);
    else egress.push(e);
  }
  const devices: DesiredDevice[] = [];
  const tags: Tag[] = [];
  const ifbs: string[] = [];
  for (const dev of ledger.interfaces) {
    if (egress.length || markKeys.length)
      devices.push(buildTree(dev, 'egress', 'egress', egress, markKeys, caps, degraded, mechanisms));
    if (ingress.length) {
      const ifb = ifbName(dev);
      ifbs.push(ifb);
      const tree = buildTree(ifb, 'ifb', 'ingress', ingress, [], caps, degraded, mechanisms);
      devices.push(tree);
      let phys = devices.find((d) => d.dev === dev);
      if (!phys) {
        phys = { dev, role: 'egress', classes: [], groups: [] };
        devices.push(phys);
      }
      phys.ingressRedirectTo = ifb;
      phys.ingressKind = caps.ingress ? 'ingress' : 'clsact';
      phys.ingressKeys = [...new Set(ingress.map(entryKey))].sort();
    }
  }
  // DNS queries travel over lo (the application → 127.0.0.11, DNATed by Docker to the resolver's
  // port): their own tree there, matched by the resolver's address (and a mark, by name).
  if (dns.length) devices.push(buildTree(LOOPBACK, 'lo', 'egress', dns, [], caps, degraded, mechanisms, dnsMarks));
  for (const d of devices) {
    for (const c of d.classes) tags.push({ dev: d.dev, classid: c.classid, keys: c.keys });
    if (d.parent) tags.push({ dev: d.dev, classid: PARENT_CLASSID, keys: d.parent.keys });
  }
  return { devices, ifbs, tags, degraded: dedupeDegraded(degraded), mechanisms };
}

export function dedupeDegraded(list: Degraded[]): Degraded[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.scenario}/${d.fault}|${d.reason}|${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---------------------------------------------------------------- batch lines

export const tcLines = {
  addRoot: (dev: string) => `qdisc add dev ${dev} root handle ${ROOT_HANDLE} htb default 0`,
  delRoot: (dev: string) => `qdisc del dev ${dev} root`,
  addClass: (dev: string, c: DesiredClass) =>
    `class add dev ${dev} parent ${c.shape ? PARENT_CLASSID : ROOT_HANDLE} classid ${c.classid} ${classArgs(c.shape)}`,
  changeClass: (dev: string, c: DesiredClass) => `class change dev ${dev} classid ${c.classid} ${classArgs(c.shape)}`,
  addParent: (dev: string, shape: ClassShape) =>
    `class add dev ${dev} parent ${ROOT_HANDLE} classid ${PARENT_CLASSID} ${classArgs(shape)}`,
  changeParent: (dev: string, shape: ClassShape) =>
    `class change dev ${dev} classid ${PARENT_CLASSID} ${classArgs(shape)}`,
  delClass: (dev: string, classid: string) => `class del dev ${dev} classid ${classid}`,
  addLeaf: (dev: string, c: DesiredClass, verb: 'add' | 'replace' = 'add') =>
    `qdisc ${verb} dev ${dev} parent ${c.classid} handle ${hex(c.minor)}: ${c.leafArgs}`,
  delLeaf: (dev: string, classid: string, handle: string) => `qdisc del dev ${dev} parent ${classid} handle ${handle}`,
  addChild: (dev: string, c: DesiredClass) =>
    `qdisc add dev ${dev} parent ${hex(c.minor)}:1 handle ${hex(c.minor | CHILD_BIT)}: ${c.childArgs}`,
  addFilters: (dev: string, g: FilterGroup) =>
    g.nodes.map((n) =>
      [
        `filter add dev ${dev} parent ${ROOT_HANDLE} protocol ${g.protocol} prio ${g.pref} ${g.classifier}`,
        n.matchText,
        `flowid ${g.flowid}`,
      ]
        .filter(Boolean)
        .join(' '),
    ),
  delFilters: (dev: string, pref: number, protocol: string) =>
    `filter del dev ${dev} parent ${ROOT_HANDLE} protocol ${protocol} prio ${pref}`,
  addIngress: (dev: string, kind: 'ingress' | 'clsact') =>
    kind === 'ingress' ? `qdisc add dev ${dev} handle ffff: ingress` : `qdisc add dev ${dev} clsact`,
  delIngress: (dev: string, kind: 'ingress' | 'clsact') => `qdisc del dev ${dev} ${kind}`,
  addRedirect: (dev: string, ifb: string) =>
    `filter add dev ${dev} ingress protocol all prio ${INGRESS_PREF} u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
  delRedirect: (dev: string) => `filter del dev ${dev} ingress protocol all prio ${INGRESS_PREF}`,
};
