// verify: probe — which target of which fault is measured now, against which peer (pure).
//
// A target is measured once its fault is Injected and verified by the read-back, again when its
// window, the requested effect or the scenario's spec changes, and at most every PROBE_INTERVAL_MS otherwise; in between,
// its last observation is carried. The peer is a running container of the scenario (declared by it
// or on one of its networks) that shares a network with the target and whose traffic with the
// target the fault touches — never an address outside the scenario.
import { LABEL_SCENARIO } from '../api/ownership.js';
import type { FaultSpec, FaultStatus, ObservedEffect, Scenario } from '../api/types.js';
import { PROBE_INTERVAL_MS, expectedText, probeSpecOf, type ProbeSpec } from '../netfaults/probe.js';
import type { ObservedContainer, Snapshot } from '../resolve/index.js';
import type { NetPlan } from './netplan.js';

export { judge } from '../netfaults/probe.js';

export interface ProbeEnd {
  pid: number;
  containerId: string;
  /** Its address on the network the two share. */
  address: string;
}

/** One measurement: the target's and the peer's namespaces, the peer's address, what to run. */
export interface ProbeRequest {
  target: ProbeEnd;
  peer: ProbeEnd;
  spec: ProbeSpec;
}

export type ProbeDecision =
  | { fault: string; target: string; measure: ProbeRequest }
  /** Nothing to run now: keep (or write) this observation. */
  | { fault: string; target: string; observed: ObservedEffect };

export interface ProbeInput {
  scenario: Scenario;
  plan: NetPlan;
  view: Snapshot;
  /** The fault records just computed for this reconcile, and the ones in the file before it. */
  faults: FaultStatus[];
  prev: FaultStatus[] | undefined;
  /** The spec was edited since the last status (another fault may now change what packets see). */
  respec: boolean;
  now: Date;
}

function v4Int(a: string): number | undefined {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Is `addr` inside one of `cidrs`? (IPv4 by prefix; IPv6 by exact address or ::/0.) */
export function inCidrs(addr: string, cidrs: readonly string[]): boolean {
  return cidrs.some((c) => {
    const [net, lenText] = c.split('/');
    const len = lenText === undefined ? (addr.includes(':') ? 128 : 32) : Number(lenText);
    if (addr.includes(':') || net.includes(':')) return len === 0 || net.toLowerCase() === addr.toLowerCase();
    const a = v4Int(addr);
    const n = v4Int(net);
    if (a === undefined || n === undefined) return false;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return (a & mask) === (n & mask);
  });
}

/** Containers of the scenario: declared by it, or on one of its networks. */
function inScenario(c: ObservedContainer, scenario: string, view: Snapshot): boolean {
  if (c.labels[LABEL_SCENARIO] === scenario) return true;
  const own = new Set(view.networks.filter((n) => n.labels[LABEL_SCENARIO] === scenario).map((n) => n.id));
  return c.endpoints.some((e) => own.has(e.networkId));
}

/** Does the fault act on traffic between the target's namespace and `addr` (the peer `peerKey`)? */
function touches(plan: NetPlan, key: string, f: FaultSpec, target: Ctr, peer: Ctr & { address: string }): boolean {
  const scoped = `${plan.scoped}/${f.name}`;
  const entriesIn = (ns: string) =>
    (plan.namespaces.get(ns)?.entries ?? []).filter((e) => `${e.scenario}/${e.fault}` === scoped);
  const allOrHas = (ns: string, addr: string) => {
    const es = entriesIn(ns);
    return es.length > 0 && es.some((e) => !e.match.peers || inCidrs(addr, [...e.match.peers.v4, ...e.match.peers.v6]));
  };
  const hasPeer = (ns: string, addr: string) =>
    entriesIn(ns).some((e) => e.match.peers && inCidrs(addr, [...e.match.peers.v4, ...e.match.peers.v6]));
  if (f.partition) {
    const hostCut = plan.host.some(
      (h) =>
        h.fault === f.name &&
        ((h.receiver.target.key === target.key && h.senders.some((s) => s.target.key === peer.key)) ||
          (h.receiver.target.key === peer.key && h.senders.some((s) => s.target.key === target.key))),
    );
    return hostCut || hasPeer(target.key, peer.address) || hasPeer(peer.key, target.address);
  }
  return allOrHas(key, peer.address);
}

interface Ctr {
  key: string;
  c: ObservedContainer;
  address: string;
}

/** The namespace key of a container: its own id, or the owner's for `container:<id>`. */
function nsKey(c: ObservedContainer): string {
  return c.networkMode.startsWith('container:') ? c.networkMode.slice('container:'.length) : c.id;
}

/** What to measure now, and what to carry, for every verified target of every `verify: probe` fault. */
export function planProbes(x: ProbeInput): ProbeDecision[] {
  const out: ProbeDecision[] = [];
  const name = x.scenario.metadata.name;
  for (const f of x.scenario.spec.faults ?? []) {
    if (f.verify !== 'probe') continue;
    const rec = x.faults.find((r) => r.name === f.name);
    const placements = x.plan.placements.get(f.name) ?? [];
    const spec = probeSpecOf(f);
    for (const t of rec?.targets ?? []) {
      if (t.phase !== 'Injected' || t.verified !== true) continue;
      const prevT = x.prev?.find((r) => r.name === f.name)?.targets?.find((r) => r.container === t.container);
      const base = { fault: f.name, target: t.container };
      const at = x.now.toISOString();
      if ('unmeasurable' in spec) {
        out.push({
          ...base,
          observed: { at, peer: '', samples: 0, verdict: 'Inconclusive', message: spec.unmeasurable },
        });
        continue;
      }
      const prevObs = prevT?.observed;
      const due =
        x.respec ||
        !prevObs ||
        prevT?.phase !== 'Injected' ||
        prevT.window !== t.window ||
        JSON.stringify(prevObs.expected ?? {}) !== JSON.stringify(expectedText(spec.expected)) ||
        x.now.getTime() - Date.parse(prevObs.at) >= PROBE_INTERVAL_MS ||
        !(Date.parse(prevObs.at) <= x.now.getTime());
      if (!due) {
        out.push({ ...base, observed: prevObs });
        continue;
      }
      const pl = placements.find((p) => p.display === t.container);
      const tc = x.view.containers.find((c) => c.id === (pl?.containerId ?? t.containerId));
      // A peer that another fault acts on (its own loss, delay or rate) would mix that fault's
      // effect into this one's measurement: one that no other fault touches is measured first.
      const busy = (c: ObservedContainer): number => {
        const other = (e: { scenario: string; fault: string }) =>
          `${e.scenario}/${e.fault}` !== `${x.plan.scoped}/${f.name}`;
        const inNs = (x.plan.namespaces.get(nsKey(c))?.entries ?? []).some(other);
        const onHost = x.plan.host.some(
          (h) =>
            h.fault !== f.name &&
            (h.receiver.target.key === nsKey(c) || h.senders.some((s) => s.target.key === nsKey(c))),
        );
        return inNs || onHost ? 1 : 0;
      };
      const peerOf = (): { target: Ctr; peer: Ctr } | undefined => {
        if (!tc || !(tc.pid > 0)) return undefined;
        const nets = new Set(tc.endpoints.map((e) => e.networkId));
        const candidates = x.view.containers
          .filter((c) => c.id !== tc.id && c.state === 'running' && c.pid > 0 && nsKey(c) !== nsKey(tc))
          .filter((c) => inScenario(c, name, x.view))
          .sort((a, b) => busy(a) - busy(b) || (a.name < b.name ? -1 : 1));
        for (const c of candidates)
          for (const e of c.endpoints) {
            if (!nets.has(e.networkId)) continue;
            const mine = tc.endpoints.find((y) => y.networkId === e.networkId)!;
            for (const fam of ['ipv4Address', 'ipv6Address'] as const) {
              const pa = e[fam];
              const ta = mine[fam];
              if (!pa || !ta) continue;
              const target = { key: nsKey(tc), c: tc, address: ta };
              const peer = { key: nsKey(c), c, address: pa };
              if (touches(x.plan, pl?.netns ?? target.key, f, target, peer)) return { target, peer };
            }
          }
        return undefined;
      };
      const ends = peerOf();
      if (!ends) {
        out.push({
          ...base,
          observed: {
            at,
            peer: '',
            samples: 0,
            verdict: 'Inconclusive',
            expected: expectedText(spec.expected),
            message:
              'no running container of the scenario shares a network with this target on a path the fault acts on; nothing to measure against',
          },
        });
        continue;
      }
      const end = (e: Ctr) => ({ pid: e.c.pid, containerId: e.c.id, address: e.address });
      out.push({ ...base, measure: { target: end(ends.target), peer: end(ends.peer), spec } });
    }
  }
  return out;
}
