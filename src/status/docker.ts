// Docker status records, computed from the desired state and the view AFTER the plan ran: what the
// file reports is what Docker shows, never merely what was requested. With several engines each
// record names its engine (when not the default one); the parts of an engine that cannot be
// reached are shown as last seen, Pending with reason EngineUnreachable.
//
//   a plugin driver            Ready, message 'driver "weave" is a plugin's, not built into Docker…'
//   an external network        Ready with external: true, or Pending with why it cannot be found
//   a member already on an external network when faultline came: Connected, message says faultline
//                              leaves that endpoint as it is (never reconnects or disconnects it)
import { BUILTIN_DRIVERS, type ContainerStatus, type MemberStatus, type NetworkStatus } from '../api/types.js';
import type { VolumeStatus } from '../api/types.js';
import { engineOf, engineTag, LABEL_KEEP, memberKey } from '../api/ownership.js';
import type { DesiredState } from '../plan/desired.js';
import { endpointSatisfies, type Blocked } from '../plan/plan.js';
import type { Deferred } from '../plan/engines.js';
import { containerNamed, isSwarmNetwork, type Snapshot } from '../resolve/index.js';

export interface DockerStatus {
  networks: NetworkStatus[];
  volumes: VolumeStatus[];
  containers: ContainerStatus[];
  members: MemberStatus[];
  /** Everything converged: every network, container and resolvable membership is live. */
  ready: boolean;
  /** Human summary of what is not ready, for the Ready condition's message. */
  notReady: string[];
  /** Why not ready, when one word says it (EngineUnreachable, UnknownEngine, NoSwarmManager…). */
  reason?: string;
}

/** Errors of operations that failed in this reconcile, by Docker name of their object. */
export type OpErrors = ReadonlyMap<string, string>;

export function dockerStatus(
  desired: DesiredState,
  after: Snapshot,
  blocked: Blocked[],
  errors: OpErrors,
  deferred: readonly Deferred[] = [],
): DockerStatus {
  const notReady: string[] = [];
  const reasons: string[] = [];
  const blockedBy = new Map(blocked.map((b) => [b.dockerName, b]));
  const away = new Map(deferred.map((d) => [d.engine, d.message]));
  const refused = (key: string) => {
    const b = blockedBy.get(key);
    if (b) reasons.push(b.reason ?? 'Conflict');
    return b;
  };
  const unreachable = (engine: string) => {
    const m = away.get(engine);
    if (m !== undefined) reasons.push('EngineUnreachable');
    return m;
  };

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
    const o = n.swarm
      ? after.networks.find((x) => x.name === n.dockerName && isSwarmNetwork(x))
      : after.networks.find((x) => x.name === n.dockerName && engineOf(x) === engineOf(n));
    const where = n.swarm ? { engine: 'swarm' } : engineTag(engineOf(n));
    const b = refused(n.dockerName);
    const failure = b?.message ?? errors.get(n.dockerName);
    if (failure) {
      notReady.push(`network ${n.name}: ${failure}`);
      const note = n.request && pluginNote(n.request.driver);
      const message = note ? `${failure} (${note})` : failure;
      return { name: n.name, dockerName: n.dockerName, ...where, id: o?.id, phase: 'Failed', message };
    }
    const gone = n.swarm ? undefined : unreachable(engineOf(n));
    if (gone !== undefined) {
      notReady.push(`network ${n.name}: ${gone}`);
      return { name: n.name, dockerName: n.dockerName, ...where, id: o?.id, phase: 'Pending', message: gone };
    }
    if (!o) {
      notReady.push(`network ${n.name} does not exist yet`);
      return { name: n.name, dockerName: n.dockerName, ...where, phase: 'Pending' };
    }
    return {
      name: n.name,
      dockerName: n.dockerName,
      ...where,
      id: o.id,
      phase: 'Ready',
      driver: o.driver,
      subnets: o.subnets.map((s) => s.subnet),
      ...(pluginNote(o.driver) ? { message: pluginNote(o.driver) } : {}),
    };
  });

  const volByName = new Map((after.volumes ?? []).filter((v) => engineOf(v) === 'default').map((v) => [v.name, v]));
  const volumes: VolumeStatus[] = desired.volumes.map((v) => {
    const o = volByName.get(v.dockerName);
    const failure = refused(v.dockerName)?.message ?? errors.get(v.dockerName);
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
    const engine = engineOf(c);
    const o = containerNamed(after, c.dockerName, engine);
    const here = engineTag(engine);
    const b = refused(c.dockerName);
    const failure = b?.message ?? errors.get(c.dockerName);
    if (failure) {
      notReady.push(`container ${c.name}: ${failure}`);
      return {
        name: c.name,
        dockerName: c.dockerName,
        ...here,
        id: o?.id,
        state: o?.state,
        phase: 'Failed',
        ...(b?.reason ? { reason: b.reason } : {}),
        message: failure,
      };
    }
    const gone = unreachable(engine);
    if (gone !== undefined) {
      notReady.push(`container ${c.name}: ${gone}`);
      return {
        name: c.name,
        dockerName: c.dockerName,
        ...here,
        id: o?.id,
        state: o?.state,
        phase: 'Pending',
        reason: 'EngineUnreachable',
        message: `${gone} (shown as last seen)`,
      };
    }
    if (!o) {
      notReady.push(`container ${c.name} does not exist yet`);
      return { name: c.name, dockerName: c.dockerName, ...here, phase: 'Pending' };
    }
    if (o.state === 'running' || o.state === 'paused') {
      return { name: c.name, dockerName: c.dockerName, ...here, id: o.id, state: o.state, phase: 'Running' };
    }
    notReady.push(`container ${c.name} is ${o.state}`);
    return {
      name: c.name,
      dockerName: c.dockerName,
      ...here,
      id: o.id,
      state: o.state,
      phase: o.state === 'exited' || o.state === 'dead' ? 'Exited' : 'Pending',
    };
  });

  const members: MemberStatus[] = desired.members.map((m) => {
    const engine = engineOf(m);
    const o = containerNamed(after, m.container, engine);
    const ep = o?.endpoints.find((e) => e.networkName === m.networkDockerName);
    const b =
      refused(memberKey(m.networkDockerName, m.container)) ?? refused(m.networkDockerName) ?? refused(m.container);
    const failure = errors.get(memberKey(m.networkDockerName, m.container)) ?? b?.message;
    const base = { network: m.network, container: m.display, containerId: o?.id, ...engineTag(engine) };
    if (failure) {
      notReady.push(`member ${m.display} on ${m.network}: ${failure}`);
      return { ...base, phase: 'Failed', ...(b?.reason ? { reason: b.reason } : {}), message: failure };
    }
    const gone = unreachable(engine);
    if (gone !== undefined) {
      notReady.push(`member ${m.display} on ${m.network}: ${gone}`);
      return {
        ...base,
        phase: ep ? 'Connected' : 'Pending',
        ipv4Address: ep?.ipv4Address,
        ipv6Address: ep?.ipv6Address,
        reason: 'EngineUnreachable',
        message: `${gone} (shown as last seen)`,
      };
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
  // The swarm part of a scenario may wait for its manager with nothing else of it on that engine.
  for (const d of deferred) {
    if (!notReady.some((n) => n.includes(d.message))) {
      notReady.push(d.message);
      reasons.push('EngineUnreachable');
    }
  }
  // One word for Ready=False: an unreachable engine first (it explains the rest), then a refusal.
  const reason = reasons.includes('EngineUnreachable') ? 'EngineUnreachable' : reasons[0];
  return {
    networks,
    volumes,
    containers,
    members,
    ready: notReady.length === 0,
    notReady,
    ...(reason ? { reason } : {}),
  };
}

/** A driver Docker does not build in is a plugin's: say so (faults there act inside containers). */
export function pluginNote(driver: string): string | undefined {
  if ((BUILTIN_DRIVERS as readonly string[]).includes(driver) || driver === 'host' || driver === 'null')
    return undefined;
  return `driver "${driver}" is a network plugin's, not built into Docker: passed to Docker as is; faults on this network act inside each container's namespace`;
}
