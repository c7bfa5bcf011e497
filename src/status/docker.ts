// Docker status records, computed from the desired state and the view AFTER the plan ran: what the
// file reports is what Docker shows, never merely what was requested.
import type { ContainerStatus, MemberStatus, NetworkStatus } from '../api/types.js';
import { memberKey } from '../api/ownership.js';
import type { DesiredState } from '../plan/desired.js';
import type { Blocked } from '../plan/plan.js';
import type { Snapshot } from '../resolve/index.js';

export interface DockerStatus {
  networks: NetworkStatus[];
  containers: ContainerStatus[];
  members: MemberStatus[];
  /** Everything converged: every network, container and resolvable membership is live. */
  ready: boolean;
  /** Human summary of what is not ready, for the Ready condition's message. */
  notReady: string[];
}

/** Errors of operations that failed in this reconcile, by Docker name of their object. */
export type OpErrors = ReadonlyMap<string, string>;

export function dockerStatus(
  desired: DesiredState,
  after: Snapshot,
  blocked: Blocked[],
  errors: OpErrors,
): DockerStatus {
  const notReady: string[] = [];
  const netByName = new Map(after.networks.map((n) => [n.name, n]));
  const ctrByName = new Map(after.containers.map((c) => [c.name, c]));
  const blockedMsg = new Map(blocked.map((b) => [b.dockerName, b.message]));

  const networks: NetworkStatus[] = desired.networks.map((n) => {
    const o = netByName.get(n.dockerName);
    const failure = blockedMsg.get(n.dockerName) ?? errors.get(n.dockerName);
    if (failure) {
      notReady.push(`network ${n.name}: ${failure}`);
      return { name: n.name, dockerName: n.dockerName, id: o?.id, phase: 'Failed', message: failure };
    }
    if (!o) {
      notReady.push(`network ${n.name} does not exist yet`);
      return { name: n.name, dockerName: n.dockerName, phase: 'Pending' };
    }
    return {
      name: n.name,
      dockerName: n.dockerName,
      id: o.id,
      phase: 'Ready',
      subnets: o.subnets.map((s) => s.subnet),
    };
  });

  const containers: ContainerStatus[] = desired.containers.map((c) => {
    const o = ctrByName.get(c.dockerName);
    const failure = blockedMsg.get(c.dockerName) ?? errors.get(c.dockerName);
    if (failure) {
      notReady.push(`container ${c.name}: ${failure}`);
      return { name: c.name, dockerName: c.dockerName, id: o?.id, state: o?.state, phase: 'Failed', message: failure };
    }
    if (!o) {
      notReady.push(`container ${c.name} does not exist yet`);
      return { name: c.name, dockerName: c.dockerName, phase: 'Pending' };
    }
    if (o.state === 'running' || o.state === 'paused') {
      return { name: c.name, dockerName: c.dockerName, id: o.id, state: o.state, phase: 'Running' };
    }
    notReady.push(`container ${c.name} is ${o.state}`);
    return {
      name: c.name,
      dockerName: c.dockerName,
      id: o.id,
      state: o.state,
      phase: o.state === 'exited' || o.state === 'dead' ? 'Exited' : 'Pending',
    };
  });

  const members: MemberStatus[] = desired.members.map((m) => {
    const o = ctrByName.get(m.container);
    const ep = o?.endpoints.find((e) => e.networkName === m.networkDockerName);
    const failure =
      errors.get(memberKey(m.networkDockerName, m.container)) ??
      blockedMsg.get(m.networkDockerName) ??
      blockedMsg.get(m.container);
    const base = { network: m.network, container: m.display, containerId: o?.id };
    if (failure) {
      notReady.push(`member ${m.display} on ${m.network}: ${failure}`);
      return { ...base, phase: 'Failed', message: failure };
    }
    if (!ep) {
      notReady.push(`member ${m.display} is not connected to ${m.network}`);
      return { ...base, phase: 'Pending' };
    }
    const aliases = m.endpoint.aliases.filter((a) => ep.aliases.includes(a));
    return {
      ...base,
      phase: 'Connected',
      ipv4Address: ep.ipv4Address,
      ipv6Address: ep.ipv6Address,
      aliases: aliases.length ? aliases : undefined,
    };
  });
  for (const u of desired.unresolved) if (u.missing) notReady.push(u.message);
  return { networks, containers, members, ready: notReady.length === 0, notReady };
}
