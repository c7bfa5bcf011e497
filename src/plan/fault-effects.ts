// What the Docker-level faults mean for the desired Docker state (pure). An ACTIVE fault:
//      disconnect {network}      the member is absent from that network while the window is open
//                                (the normal member convergence reconnects it, aliases and static
//                                addresses included, when the window closes);
//      container {pause|stop}    the container is held paused / stopped for the window, released
//                                after — only if faultline did it (recorded in status);
//      container {kill|restart}  done once per window (status records which window it was done in);
//                                after a kill window, a container faultline killed is started again.
import { actionOf, assertNever } from '../api/kinds.js';
import { dockerName, engineTag, memberKey } from '../api/ownership.js';
import type { FaultSpec, FaultStatus } from '../api/types.js';
import type { ActiveFault, FaultTarget } from '../resolve/index.js';

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

export interface DockerFaultEffects {
  /** "<network docker name>\0<container docker name>" pairs to keep disconnected now. */
  disconnected: Set<string>;
  /** Containers held in a state by an active fault: the planner neither starts nor unpauses them. */
  holds: Map<string, Hold>;
  /** Container operations this reconcile must run (planner places them last). */
  ops: ContainerFaultOp[];
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
): DockerFaultEffects {
  const disconnected = new Set<string>();
  const holds = new Map<string, Hold>();
  const ops: ContainerFaultOp[] = [];
  for (const { fault, index, targets } of active) {
    const a = actionOf(fault);
    switch (a.kind) {
      case 'disconnect': {
        const net = dockerName(scenario, a.spec.network);
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
        break; // enforced in network namespaces (netplan/), not through Docker
      default:
        assertNever(a, 'fault action');
    }
  }
  for (const { fault, targets } of inactive) {
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
  return { disconnected, holds, ops };
}
