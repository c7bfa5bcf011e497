// What the Docker-level faults mean for the desired Docker state (pure). An ACTIVE fault:
//      disconnect {network}      the member is absent from that network while the window is open
//                                (the normal member convergence reconnects it, aliases and static
//                                addresses included, when the window closes);
//      container {pause|stop}    the container is held paused / stopped for the window, released
//                                after — only if faultline did it (recorded in status);
//      container {kill|restart}  done once per window (status records which window it was done in);
//                                after a kill window, a container faultline killed is started again.
//
// On a network faultline does not own (external), a disconnect takes whatever endpoint the target
// has there, and the status records it (FaultTargetStatus.restore: its aliases, and whose mark it
// carried). When the window closes it is given back as it was: unmarked when faultline had not
// made it, so that the container stays on that network after the scenario is gone, as before.
//
//   compose network shop_default, target shop-api-1 (on it since `compose up`), window 10s..30s
//     10s  disconnect shop_default shop-api-1       status restore {network: shop_default, aliases: [api]}
//     30s  connect shop_default shop-api-1 aliases [api], no mark
import { actionOf, assertNever } from '../api/kinds.js';
import { dockerName, ENDPOINT_OWNER_OPT, engineTag, memberKey } from '../api/ownership.js';
import type { FaultSpec, FaultStatus, FaultTargetStatus } from '../api/types.js';

type FaultTargetRestore = FaultTargetStatus['restore'];
import type { ActiveFault, FaultTarget, ObservedContainer, Snapshot } from '../resolve/index.js';
import type { EndpointRequest } from './requests.js';

export type Hold = 'paused' | 'stopped';

export interface ContainerFaultOp {
  kind: 'pause' | 'unpause' | 'stop' | 'start' | 'kill' | 'restart';
  container: string; // Docker name
  /** The container's engine (absent: the default engine). */
  engine?: string;
  fault: string;
  signal?: string;
  cause: string;
}

/** An endpoint a closed disconnect window gives back on an external network. */
export interface Reconnect {
  network: string; // Docker name
  container: string; // Docker name
  endpoint: EndpointRequest;
  cause: string;
}

export interface DockerFaultEffects {
  /** "<network docker name>\0<container docker name>" pairs to keep disconnected now. */
  disconnected: Set<string>;
  /** Containers held in a state by an active fault: the planner neither starts nor unpauses them. */
  holds: Map<string, Hold>;
  /** Container operations this reconcile must run (planner places them last). */
  ops: ContainerFaultOp[];
  /** Endpoints on external networks to give back as they were (by member key). */
  restores: Map<string, EndpointRequest>;
  /** The same, as operations for containers that are not members of that network. */
  reconnects: Reconnect[];
}

/** How the Docker-level faults name networks: the Docker name of each spec network, and which are external. */
export interface FaultNetworks {
  dockerNames: ReadonlyMap<string, string>;
  external: ReadonlySet<string>;
}

/** What status says faultline did to a target of a fault (to release only what it did). */
function prevTarget(prev: FaultStatus[] | undefined, fault: string, container: string) {
  return prev?.find((f) => f.name === fault)?.targets?.find((t) => t.container === container);
}

/**
 * Docker-level effects of the active faults, given what the previous status recorded.
 * `inactive` lists faults whose window is closed now: their injected holds are released.
 */
export function dockerFaultEffects(
  scenario: string,
  active: ActiveFault[],
  inactive: { fault: FaultSpec; targets: FaultTarget[] }[],
  prev: FaultStatus[] | undefined,
  networks?: FaultNetworks,
  view?: Snapshot,
): DockerFaultEffects {
  const disconnected = new Set<string>();
  const holds = new Map<string, Hold>();
  const ops: ContainerFaultOp[] = [];
  const restores = new Map<string, EndpointRequest>();
  const reconnects: Reconnect[] = [];
  const netName = (short: string) => networks?.dockerNames.get(short) ?? dockerName(scenario, short);
  for (const { fault, index, targets } of active) {
    const a = actionOf(fault);
    switch (a.kind) {
      case 'disconnect': {
        const net = netName(a.spec.network);
        for (const t of targets) disconnected.add(memberKey(net, t.container));
        break;
      }
      case 'container':
        for (const t of targets) {
          const o = t.observed;
          if (!o) continue;
          const done = prevTarget(prev, fault.name, t.display)?.window === index;
          const cause = `fault "${fault.name}" window ${index + 1}`;
          const base = { container: t.container, ...engineTag(t.engine ?? 'default'), fault: fault.name, cause };
          switch (a.spec.action) {
            case 'pause':
              holds.set(t.container, 'paused');
              if (o.state === 'running') ops.push({ ...base, kind: 'pause' });
              break;
            case 'stop':
              holds.set(t.container, 'stopped');
              if (o.state === 'running' || o.state === 'paused' || o.state === 'restarting')
                ops.push({ ...base, kind: 'stop' });
              break;
            case 'kill':
              holds.set(t.container, 'stopped'); // killed stays down for the window (unless its restart policy revives it)
              if (!done && o.state === 'running')
                ops.push({ ...base, kind: 'kill', signal: a.spec.signal ?? 'SIGKILL' });
              break;
            case 'restart':
              if (!done) ops.push({ ...base, kind: 'restart' });
              break;
            default:
              assertNever(a.spec.action, 'container action');
          }
        }
        break;
      case 'netem':
      case 'bandwidth':
      case 'partition':
      case 'blackhole':
      case 'reject':
      case 'dns':
        break; // enforced in network namespaces (netplan/), not through Docker
      default:
        assertNever(a, 'fault action');
    }
  }
  /** Give an endpoint taken by a disconnect on an external network back, as status recorded it. */
  const giveBack = (
    fault: string,
    rec: FaultTargetRestore | undefined,
    o: ObservedContainer | undefined,
    why: string,
  ) => {
    if (!rec || !o || o.endpoints.some((e) => e.networkName === rec.network)) return; // back already
    const endpoint: EndpointRequest = {
      aliases: rec.aliases ?? [],
      ...(rec.owner ? { driverOpts: { [ENDPOINT_OWNER_OPT]: rec.owner } } : {}),
    };
    restores.set(memberKey(rec.network, o.name), endpoint);
    reconnects.push({
      network: rec.network,
      container: o.name,
      endpoint,
      cause: `fault "${fault}" ${why}: reconnect as it was`,
    });
  };
  for (const { fault, targets } of inactive) {
    if (fault.disconnect && networks?.external.has(fault.disconnect.network)) {
      const net = netName(fault.disconnect.network);
      for (const t of targets) {
        const rec = prevTarget(prev, fault.name, t.display)?.restore;
        if (rec?.network === net) giveBack(fault.name, rec, t.observed, 'window closed');
      }
      continue;
    }
    const action = fault.container?.action;
    if (action !== 'pause' && action !== 'stop' && action !== 'kill') continue;
    for (const t of targets) {
      const rec = prevTarget(prev, fault.name, t.display);
      if (!rec || rec.phase !== 'Injected' || holds.has(t.container)) continue; // not ours to release
      const o = t.observed;
      if (!o) continue;
      const cause = `fault "${fault.name}" window closed: release`;
      const where = engineTag(t.engine ?? 'default');
      if (action === 'pause' && o.state === 'paused')
        ops.push({ kind: 'unpause', container: t.container, ...where, fault: fault.name, cause });
      if (
        (action === 'stop' || action === 'kill') &&
        (o.state === 'exited' || o.state === 'created' || o.state === 'dead')
      )
        ops.push({ kind: 'start', container: t.container, ...where, fault: fault.name, cause });
    }
  }
  // A fault removed from the spec while its window was open: what it took is given back too.
  const inSpec = new Set([...active.map((a) => a.fault.name), ...inactive.map((i) => i.fault.name)]);
  for (const f of prev ?? []) {
    if (inSpec.has(f.name)) continue;
    for (const t of f.targets ?? []) {
      if (!t.restore) continue;
      const o = view?.containers.find((c) => c.id === t.containerId || c.name === t.container);
      giveBack(f.name, t.restore, o, 'removed from the spec');
    }
  }
  return { disconnected, holds, ops, restores, reconnects };
}
