// Docker status records, computed from the desired state and the view AFTER the plan ran: what the
// file reports is what Docker shows, never merely what was requested.
//
//   a plugin driver            Ready, message 'driver "weave" is a plugin's, not built into Docker…'
//   an external network        Ready with external: true, or Pending with why it cannot be found
//   a member already on an external network when faultline came: Connected, message says faultline
//                              leaves that endpoint as it is (never reconnects or disconnects it)
import { BUILTIN_DRIVERS, type ContainerStatus, type MemberStatus, type NetworkStatus } from '../api/types.js';
import type { VolumeStatus } from '../api/types.js';
import { LABEL_KEEP, memberKey } from '../api/ownership.js';
import type { DesiredState } from '../plan/desired.js';
import { endpointSatisfies, type Blocked } from '../plan/plan.js';
import type { Snapshot } from '../resolve/index.js';

export interface DockerStatus {
  networks: NetworkStatus[];
  volumes: VolumeStatus[];
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
    if (n.external) {
      const o = n.external.observed;
      const base = { name: n.name, dockerName: o?.name ?? n.external.ref, external: true };
      if (n.external.problem || !o) {
        const why = n.external.problem ?? `${n.external.ref} is not there`;
        notReady.push(`network ${n.name}: ${why}`);
        return { ...base, phase: 'Pending', message: why };
      }
      return { ...base, id: o.id, phase: 'Ready', driver: o.driver, subnets: o.subnets.map((s) => s.subnet) };
    }
    const o = netByName.get(n.dockerName);
    const failure = blockedMsg.get(n.dockerName) ?? errors.get(n.dockerName);
    if (failure) {
      notReady.push(`network ${n.name}: ${failure}`);
      const note = n.request && pluginNote(n.request.driver);
      const message = note ? `${failure} (${note})` : failure;
      return { name: n.name, dockerName: n.dockerName, id: o?.id, phase: 'Failed', message };
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
      driver: o.driver,
      subnets: o.subnets.map((s) => s.subnet),
      ...(pluginNote(o.driver) ? { message: pluginNote(o.driver) } : {}),
    };
  });

  const volByName = new Map((after.volumes ?? []).map((v) => [v.name, v]));
  const volumes: VolumeStatus[] = desired.volumes.map((v) => {
    const o = volByName.get(v.dockerName);
    const failure = blockedMsg.get(v.dockerName) ?? errors.get(v.dockerName);
    const base = { name: v.name, dockerName: v.dockerName };
    if (failure) {
      notReady.push(`volume ${v.name}: ${failure}`);
      return { ...base, phase: 'Failed', message: failure };
    }
    if (!o) {
      notReady.push(`volume ${v.name} does not exist yet`);
      return { ...base, phase: 'Pending' };
    }
    const keep = o.labels[LABEL_KEEP] === 'true';
    return {
      ...base,
      phase: 'Ready',
      ...(keep ? { keep } : {}),
      ...(keep !== v.keep
        ? {
            message: `created with keep: ${keep}, which the volume records for good (Docker cannot relabel a volume); remove the volume to have it created with keep: ${v.keep}`,
          }
        : {}),
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
    // On an external network: an endpoint faultline did not make stays as it is.
    const notOurs = m.external && ep.owner !== desired.endpointOwner;
    return {
      ...base,
      phase: 'Connected',
      ipv4Address: ep.ipv4Address,
      ipv6Address: ep.ipv6Address,
      aliases: aliases.length ? aliases : undefined,
      ...(notOurs
        ? {
            message: `was on ${m.networkDockerName} before faultline joined it: left as it is, never disconnected by faultline${endpointSatisfies(m.endpoint, ep) ? ` (${endpointSatisfies(m.endpoint, ep)})` : ''}`,
          }
        : {}),
    };
  });
  for (const u of desired.unresolved) if (u.missing) notReady.push(u.message);
  return { networks, volumes, containers, members, ready: notReady.length === 0, notReady };
}

/** A driver Docker does not build in is a plugin's: say so (faults there act inside containers). */
export function pluginNote(driver: string): string | undefined {
  if ((BUILTIN_DRIVERS as readonly string[]).includes(driver) || driver === 'host' || driver === 'null')
    return undefined;
  return `driver "${driver}" is a network plugin's, not built into Docker: passed to Docker as is; faults on this network act inside each container's namespace`;
}
