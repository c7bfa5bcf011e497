// Subnets for networks declared without one, from faultline's own address pools (pure).
//
// Docker's default pools hold 31 networks (172.17-31.0.0/16 and 192.168.0.0/20 in /20 and /24
// blocks … in practice 30 user networks), and a busy engine runs out: "could not find an available,
// non-overlapping IPv4 address pool among the defaults". So faultline does not ask Docker for one:
// every network declared without an IPv4 subnet gets a block of faultline's pool
// (--address-pool 10.200.0.0/16/24: 256 blocks of /24), chosen so that it overlaps no subnet of any
// network on the engine and no route of the engine's host, and kept across reconciles and restarts:
//
//   1. the network exists (owned): its subnet, as Docker holds it;
//   2. chosen earlier by this controller, and still free;
//   3. recorded in the scenario's status (a restarted controller), and still free;
//   4. otherwise the first free block of the first pool that has one.
//
// The subnet is not part of the network's config hash (the spec did not ask for one), so a choice
// never makes a network be recreated. None left: the network is not created, and its status says
// what to change.
//
//   pools 10.200.0.0/16/24; engine networks 10.200.0.0/24 (another scenario), 10.200.2.0/23 (a person's)
//   → shop_net gets 10.200.1.0/24
import { cidrsOverlap, formatCidr, parseCidr, readCidr, type Cidr } from '../api/net.js';
import type { NetworkStatus } from '../api/types.js';
import type { Snapshot } from '../resolve/index.js';
import type { DesiredNetwork } from './desired.js';

/** A pool: blocks of /`size` carved out of `cidr`, in address order. */
export interface AddressPool {
  cidr: string;
  size: number;
}

export const DEFAULT_ADDRESS_POOL = '10.200.0.0/16/24';

/** "10.200.0.0/16/24" → { cidr: "10.200.0.0/16", size: 24 }; a message a person can act on otherwise. */
export function parseAddressPool(text: string): AddressPool {
  const m = /^(.+)\/(\d{1,2})\/(\d{1,2})$/.exec(text.trim());
  const hint = 'write an IPv4 network, its prefix and the prefix of each block, like 10.200.0.0/16/24';
  if (!m) throw new Error(`address pool "${text}": ${hint}`);
  const r = parseCidr(`${m[1]}/${m[2]}`);
  if (!r.ok) throw new Error(`address pool "${text}": ${r.reason}${r.suggestion ? ` (${r.suggestion}?)` : ''}`);
  if (r.cidr.family !== 4) throw new Error(`address pool "${text}": only IPv4 pools; ${hint}`);
  const size = Number(m[3]);
  if (size < r.cidr.prefix || size > 30)
    throw new Error(
      `address pool "${text}": blocks of /${size} do not fit in /${r.cidr.prefix} (use /${r.cidr.prefix}..30)`,
    );
  return { cidr: formatCidr(r.cidr), size };
}

/** The IPv4 subnet a network was declared with, if any. */
function declaredV4(n: DesiredNetwork): string | undefined {
  return n.request?.ipam?.config?.find((c) => !c.subnet.includes(':'))?.subnet;
}

/** Drivers whose networks take an IPv4 subnet from this engine's IPAM (overlay has Swarm's). */
const LOCAL_DRIVERS = new Set(['bridge', 'macvlan', 'ipvlan']);

export type SubnetChoice = { subnet: string; from: 'existing' | 'pool' } | { exhausted: string };

export interface AllocateInput {
  scenario: string;
  networks: DesiredNetwork[];
  snapshot: Snapshot;
  pools: AddressPool[];
  /** Subnets this controller chose earlier, by network Docker name (its own book). */
  chosen: ReadonlyMap<string, string>;
  /** What the scenario's status recorded (a controller that restarted keeps its choices). */
  recorded?: readonly NetworkStatus[];
  /** Routes of the engine's host (destinations as CIDRs): a block never covers them. */
  hostRoutes?: readonly string[];
}

/**
 * A subnet for every network of the scenario declared without an IPv4 one (Docker name → choice).
 * Networks with a subnet of their own, or of a driver without local IPAM, are not in the answer.
 */
export function allocateSubnets(x: AllocateInput): Map<string, SubnetChoice> {
  const out = new Map<string, SubnetChoice>();
  const wanting = x.networks.filter(
    // An external network (no request) is never created: it has its subnet.
    (n) => n.request !== undefined && declaredV4(n) === undefined && LOCAL_DRIVERS.has(n.request.driver ?? 'bridge'),
  );
  if (!wanting.length) return out;
  const byName = new Map(x.snapshot.networks.map((n) => [n.name, n]));
  // Everything taken on the engine, by whom (a network's own subnet never blocks itself).
  const taken: { cidr: Cidr; by: string }[] = [];
  for (const n of x.snapshot.networks)
    for (const s of n.subnets) {
      const c = readCidr(s.subnet);
      if (c && c.family === 4) taken.push({ cidr: c, by: n.name });
    }
  for (const r of x.hostRoutes ?? []) {
    const c = readCidr(r);
    // The default route (0.0.0.0/0) and other very wide routes say nothing about what is in use.
    if (c && c.family === 4 && c.prefix >= 8) taken.push({ cidr: c, by: 'a route of the host' });
  }
  for (const [name, s] of x.chosen) {
    const c = readCidr(s);
    if (c) taken.push({ cidr: c, by: name });
  }
  const free = (c: Cidr, self: string) => !taken.some((t) => t.by !== self && cidrsOverlap(t.cidr, c));
  const take = (c: Cidr, self: string) => taken.push({ cidr: c, by: self });

  for (const n of wanting) {
    const existing = byName.get(n.dockerName);
    const own = existing?.subnets.map((s) => readCidr(s.subnet)).find((c) => c?.family === 4);
    if (existing && own) {
      out.set(n.dockerName, { subnet: formatCidr(own), from: 'existing' });
      continue;
    }
    const earlier = [x.chosen.get(n.dockerName), ...(x.recorded?.find((r) => r.name === n.name)?.subnets ?? [])]
      .map((s) => (s ? readCidr(s) : undefined))
      .find((c): c is Cidr => !!c && c.family === 4 && free(c, n.dockerName));
    if (earlier) {
      take(earlier, n.dockerName);
      out.set(n.dockerName, { subnet: formatCidr(earlier), from: 'pool' });
      continue;
    }
    const block = firstFree(x.pools, (c) => free(c, n.dockerName));
    if (block) {
      take(block, n.dockerName);
      out.set(n.dockerName, { subnet: formatCidr(block), from: 'pool' });
      continue;
    }
    const pools = x.pools.map((p) => `${p.cidr}/${p.size}`).join(', ');
    out.set(n.dockerName, {
      exhausted:
        `no free block left in faultline's address pool ${pools} for network "${n.name}" ` +
        `(${taken.length} subnets on the engine and the host overlap it): give the controller a larger or another pool ` +
        `(--address-pool 10.201.0.0/16/24, or FAULTLINE_ADDRESS_POOL; several, comma-separated), remove networks nobody uses ` +
        `(docker network prune), or declare spec.networks[${n.index}].ipam.config[0].subnet`,
    });
  }
  return out;
}

/** The first block of the pools (in order) that `ok` accepts. */
function firstFree(pools: AddressPool[], ok: (c: Cidr) => boolean): Cidr | undefined {
  for (const p of pools) {
    const outer = readCidr(p.cidr);
    if (!outer) continue;
    const step = 1n << BigInt(32 - p.size);
    const end = outer.network + (1n << BigInt(32 - outer.prefix));
    for (let net = outer.network; net < end; net += step) {
      const c: Cidr = { family: 4, network: net, prefix: p.size };
      if (ok(c)) return c;
    }
  }
  return undefined;
}
