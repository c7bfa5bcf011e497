// The Plan: a pure diff of desired vs observed Docker state for one scenario. A Plan is a value:
// ordered phases of operations, each with a stable name and a cause, printable as text (golden
// tests) and JSON. The executor (apply/) runs it without making any decision of its own.
//
// Phases run in this order; operations inside one phase are independent of each other:
//   0 member.disconnect   stale memberships, and every endpoint of a network about to be removed
//   1 container.remove    owned containers no longer declared, or whose config changed
//   2 network.remove      owned networks no longer declared, or whose config changed
//   3 network.create
//   4 container.create    attached at create to its first network (Docker attaches one at create)
//   5 member.connect      every other membership
//   6.. container.start   one phase per dependsOn level (dependencies start first)
//   last container.pause|unpause|stop|kill|restart|start of faults (after convergence, so a
//        container created in this plan can still be hit by its fault in the same pass)
//
// Example (scenario "demo", network "net" absent, container "server" absent):
//   network.create demo_net  # declared in spec.networks[0], absent
//   container.create demo_server  # declared in spec.containers[0], absent (network demo_net, aliases server)
//   container.start demo_server  # created by this plan
import { isOwnedBy, LABEL_CONTROLLER, LABEL_HASH, LABEL_MANAGED_BY, LABEL_ROLE, LABEL_SCENARIO, MANAGED_BY } from '../api/ownership.js';
import type { ObservedNetwork, Snapshot } from '../resolve/index.js';
import type { DesiredMember, DesiredState } from './desired.js';
import type { ContainerCreateRequest, EndpointRequest, NetworkCreateRequest } from './requests.js';

export type Op =
  | { kind: 'member.disconnect'; network: string; container: string; cause: string }
  | { kind: 'container.remove'; container: string; id: string; cause: string }
  | { kind: 'network.remove'; network: string; id: string; cause: string }
  | { kind: 'network.create'; network: string; request: NetworkCreateRequest; cause: string }
  | { kind: 'container.create'; container: string; request: ContainerCreateRequest; cause: string }
  | { kind: 'member.connect'; network: string; container: string; endpoint: EndpointRequest; cause: string }
  | { kind: 'container.start'; container: string; cause: string }
  | { kind: 'container.pause' | 'container.unpause' | 'container.stop' | 'container.restart'; container: string; cause: string }
  | { kind: 'container.kill'; container: string; signal: string; cause: string };

/** Something the plan refuses to do, because it would change what faultline does not own. */
export interface Blocked {
  kind: 'network' | 'container';
  name: string; // short name in the spec
  dockerName: string;
  index: number;
  message: string;
}

export interface Plan {
  scenario: string;
  phases: Op[][];
  blocked: Blocked[];
}

/** Stable, human-readable operation name: the same op always prints the same. */
export function opName(op: Op): string {
  switch (op.kind) {
    case 'member.disconnect':
    case 'member.connect':
      return `${op.kind} ${op.network} ${op.container}`;
    case 'network.create':
    case 'network.remove':
      return `${op.kind} ${op.network}`;
    default:
      return `${op.kind} ${op.container}`;
  }
}

function ownerOf(labels: Record<string, string>): string {
  if (labels[LABEL_MANAGED_BY] !== MANAGED_BY) return 'not created by faultline';
  return `owned by scenario "${labels[LABEL_SCENARIO] ?? '?'}" of controller "${labels[LABEL_CONTROLLER] ?? '?'}"`;
}

/**
 * Does the observed endpoint satisfy the desired one? Desired aliases must all be present (Docker
 * may add its own, e.g. the short container id); static addresses, when requested, must match.
 */
function endpointSatisfies(want: EndpointRequest, have: { aliases: string[]; ipv4Address?: string; ipv6Address?: string }): string | null {
  const missing = want.aliases.filter((a) => !have.aliases.includes(a));
  if (missing.length) return `aliases ${missing.join(', ')} missing`;
  if (want.ipv4Address && want.ipv4Address !== have.ipv4Address)
    return `address ${have.ipv4Address ?? 'none'} is not ${want.ipv4Address}`;
  if (want.ipv6Address && want.ipv6Address !== have.ipv6Address)
    return `address ${have.ipv6Address ?? 'none'} is not ${want.ipv6Address}`;
  return null;
}

const byName = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * Compute the plan that takes `snapshot` to `desired` for one scenario. A scenario being deleted
 * is planned with an empty desired state: everything it owns is removed, adopted containers are
 * only disconnected from its networks.
 */
export function planScenario(desired: DesiredState, snapshot: Snapshot): Plan {
  const scenario = desired.scenario;
  const controller = desired.controller;
  const phases: Op[][] = [[], [], [], [], [], []];
  const [disconnects, containerRemoves, networkRemoves, networkCreates, containerCreates, connects] = phases;
  const blocked: Blocked[] = [];

  // Docker does not enforce unique network names atomically: a create sent by a controller that
  // was SIGKILLed can land after its successor looked. Keep one owned network per name (the one
  // with most endpoints, then the lowest id) and remove the others.
  const extraNetworks: ObservedNetwork[] = [];
  const netByName = new Map<string, ObservedNetwork>();
  const rank = (n: ObservedNetwork) => [-n.containerIds.length, n.id] as const;
  for (const n of [...snapshot.networks].sort((a, b) => (rank(a)[0] - rank(b)[0]) || (rank(a)[1] < rank(b)[1] ? -1 : 1))) {
    if (!netByName.has(n.name)) netByName.set(n.name, n);
    else if (isOwnedBy(n.labels, scenario, controller)) extraNetworks.push(n);
  }
  const ctrByName = new Map(snapshot.containers.map((c) => [c.name, c]));

  // ---- networks
  const goneNetworks = new Set<string>(); // Docker names removed by this plan (endpoints vanish)
  const freshNetworks = new Set<string>(); // Docker names created by this plan
  const blockedNetworks = new Set<string>();
  for (const n of desired.networks) {
    const o = netByName.get(n.dockerName);
    if (!o) {
      networkCreates.push({ kind: 'network.create', network: n.dockerName, request: n.request, cause: `declared in spec.networks[${n.index}], absent` });
      freshNetworks.add(n.dockerName);
    } else if (!isOwnedBy(o.labels, scenario, controller)) {
      blocked.push({
        kind: 'network',
        name: n.name,
        dockerName: n.dockerName,
        index: n.index,
        message: `a Docker network named "${n.dockerName}" already exists and is ${ownerOf(o.labels)}; faultline never changes what it does not own: remove that network or rename spec.networks[${n.index}].name`,
      });
      blockedNetworks.add(n.dockerName);
    } else if (o.labels[LABEL_HASH] !== n.hash) {
      networkRemoves.push({ kind: 'network.remove', network: n.dockerName, id: o.id, cause: `config of spec.networks[${n.index}] changed (hash ${o.labels[LABEL_HASH] ?? 'none'} → ${n.hash}); recreate` });
      networkCreates.push({ kind: 'network.create', network: n.dockerName, request: n.request, cause: `config of spec.networks[${n.index}] changed; recreate` });
      goneNetworks.add(n.dockerName);
      freshNetworks.add(n.dockerName);
    }
  }
  for (const x of extraNetworks) {
    networkRemoves.push({ kind: 'network.remove', network: `${x.name}@${x.id.slice(0, 12)}`, id: x.id, cause: `a second network named ${x.name} (a create that raced another); keep one` });
  }
  const wantedNetworks = new Set(desired.networks.map((n) => n.dockerName));
  for (const o of snapshot.networks.filter((x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'network')) {
    if (wantedNetworks.has(o.name)) continue;
    networkRemoves.push({ kind: 'network.remove', network: o.name, id: o.id, cause: 'no longer declared in spec.networks' });
    goneNetworks.add(o.name);
  }

  // ---- containers
  const goneContainers = new Set<string>();
  const freshContainers = new Set<string>();
  const blockedContainers = new Set<string>();
  const toStart = new Set<string>();
  for (const c of desired.containers) {
    const o = ctrByName.get(c.dockerName);
    if (!o) {
      freshContainers.add(c.dockerName);
      toStart.add(c.dockerName);
    } else if (!isOwnedBy(o.labels, scenario, controller)) {
      blocked.push({
        kind: 'container',
        name: c.name,
        dockerName: c.dockerName,
        index: c.index,
        message: `a Docker container named "${c.dockerName}" already exists and is ${ownerOf(o.labels)}; faultline never changes what it does not own: remove that container or rename spec.containers[${c.index}].name`,
      });
      blockedContainers.add(c.dockerName);
    } else if (o.labels[LABEL_HASH] !== c.hash) {
      containerRemoves.push({ kind: 'container.remove', container: c.dockerName, id: o.id, cause: `config of spec.containers[${c.index}] changed (hash ${o.labels[LABEL_HASH] ?? 'none'} → ${c.hash}); recreate` });
      goneContainers.add(c.dockerName);
      freshContainers.add(c.dockerName);
      toStart.add(c.dockerName);
    } else if (o.state !== 'running' && o.state !== 'paused' && o.state !== 'restarting' && o.state !== 'removing' && !desired.holds.has(c.dockerName)) {
      toStart.add(c.dockerName);
    }
  }
  const wantedContainers = new Set(desired.containers.map((c) => c.dockerName));
  for (const o of snapshot.containers.filter((x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'container')) {
    if (wantedContainers.has(o.name)) continue;
    containerRemoves.push({ kind: 'container.remove', container: o.name, id: o.id, cause: 'no longer declared in spec.containers' });
    goneContainers.add(o.name);
  }

  // ---- memberships
  const usable = (m: DesiredMember) => !blockedNetworks.has(m.networkDockerName) && !blockedContainers.has(m.container);
  const wantedMember = new Set(desired.members.filter(usable).map((m) => `${m.networkDockerName}\u0000${m.container}`));
  const firstNetwork = new Map<string, DesiredMember>();
  for (const m of desired.members.filter(usable)) {
    if (freshContainers.has(m.container) && !firstNetwork.has(m.container)) firstNetwork.set(m.container, m);
  }
  for (const m of desired.members.filter(usable)) {
    if (firstNetwork.get(m.container) === m) continue; // attached at create
    const exists = ctrByName.get(m.container);
    if (!exists && !freshContainers.has(m.container)) continue; // unresolved: reported in status
    if (freshContainers.has(m.container) || freshNetworks.has(m.networkDockerName)) {
      connects.push({ kind: 'member.connect', network: m.networkDockerName, container: m.container, endpoint: m.endpoint, cause: `spec.members[${m.memberIndex}]` });
      continue;
    }
    const ep = exists!.endpoints.find((e) => e.networkName === m.networkDockerName);
    if (!ep) {
      connects.push({ kind: 'member.connect', network: m.networkDockerName, container: m.container, endpoint: m.endpoint, cause: `spec.members[${m.memberIndex}], not connected` });
      continue;
    }
    const why = endpointSatisfies(m.endpoint, ep);
    if (why) {
      disconnects.push({ kind: 'member.disconnect', network: m.networkDockerName, container: m.container, cause: `reconnect: ${why}` });
      connects.push({ kind: 'member.connect', network: m.networkDockerName, container: m.container, endpoint: m.endpoint, cause: `spec.members[${m.memberIndex}], reconnect: ${why}` });
    }
  }
  // Endpoints on this scenario's networks that nobody declares any more (adopted containers
  // included: they are only ever disconnected, never stopped or removed), and every endpoint of a
  // network about to be removed (Docker refuses to remove a network with active endpoints).
  const ownedNetworks = snapshot.networks.filter((x) => isOwnedBy(x.labels, scenario, controller) && x.labels[LABEL_ROLE] === 'network');
  const ownedNames = new Set(ownedNetworks.map((n) => n.name));
  const extraIds = new Set(extraNetworks.map((x) => x.id));
  for (const c of snapshot.containers) {
    if (goneContainers.has(c.name)) continue; // removal takes its endpoints along
    for (const ep of c.endpoints) {
      const extra = extraNetworks.find((x) => x.id === ep.networkId);
      if (extra) {
        disconnects.push({ kind: 'member.disconnect', network: extra.id, container: c.name, cause: `${extra.name}@${extra.id.slice(0, 12)} is a duplicate being removed` });
        continue;
      }
      if (!ownedNames.has(ep.networkName) || extraIds.has(ep.networkId)) continue;
      const key = `${ep.networkName}\u0000${c.name}`;
      if (goneNetworks.has(ep.networkName)) {
        disconnects.push({ kind: 'member.disconnect', network: ep.networkName, container: c.name, cause: `network ${ep.networkName} is being removed` });
      } else if (!wantedMember.has(key)) {
        disconnects.push({ kind: 'member.disconnect', network: ep.networkName, container: c.name, cause: 'no longer a member' });
      }
    }
  }

  // ---- creates and starts
  for (const c of desired.containers) {
    if (!freshContainers.has(c.dockerName)) continue;
    const first = firstNetwork.get(c.dockerName);
    const request: ContainerCreateRequest = first
      ? { ...c.request, network: { name: first.networkDockerName, endpoint: first.endpoint } }
      : c.request;
    const attach = first ? ` (network ${first.networkDockerName}, aliases ${first.endpoint.aliases.join(',') || 'none'})` : '';
    const cause = goneContainers.has(c.dockerName) ? `config of spec.containers[${c.index}] changed; recreate` : `declared in spec.containers[${c.index}], absent`;
    containerCreates.push({ kind: 'container.create', container: c.dockerName, request, cause: cause + attach });
  }
  // Start levels: a container starts in a later phase than everything it depends on.
  const level = new Map<string, number>();
  const byShort = new Map(desired.containers.map((c) => [c.name, c]));
  const levelOf = (name: string, depth = 0): number => {
    const c = byShort.get(name);
    if (!c || depth > byShort.size) return 0; // cycles are rejected by validation
    const known = level.get(name);
    if (known !== undefined) return known;
    const l = c.dependsOn.reduce((max, d) => Math.max(max, levelOf(d, depth + 1) + 1), 0);
    level.set(name, l);
    return l;
  };
  for (const c of desired.containers) {
    if (!toStart.has(c.dockerName)) continue;
    const l = levelOf(c.name);
    while (phases.length <= 6 + l) phases.push([]);
    const o = ctrByName.get(c.dockerName);
    const cause = freshContainers.has(c.dockerName) ? 'created by this plan' : `not running (state ${o?.state ?? 'unknown'})`;
    phases[6 + l].push({ kind: 'container.start', container: c.dockerName, cause });
  }

  const faultPhase: Op[] = desired.faultOps.map((f) =>
    f.kind === 'kill'
      ? { kind: 'container.kill', container: f.container, signal: f.signal ?? 'SIGKILL', cause: f.cause }
      : { kind: `container.${f.kind}` as 'container.pause', container: f.container, cause: f.cause },
  );
  if (faultPhase.length) phases.push(faultPhase);
  for (const p of phases) p.sort(byName(opName));
  // De-duplicate (a member can be both "reconnect" and "network removed"): keep the first.
  const uniq = phases.map((p) => p.filter((op, i) => p.findIndex((q) => opName(q) === opName(op)) === i));
  while (uniq.length > 0 && uniq[uniq.length - 1].length === 0) uniq.pop();
  return { scenario, phases: uniq, blocked: blocked.sort(byName((b) => b.dockerName)) };
}

export function planOps(plan: Plan): Op[] {
  return plan.phases.flat();
}

export function isEmptyPlan(plan: Plan): boolean {
  return planOps(plan).length === 0;
}

/** The Plan as text: one line per operation, `# cause` after it; blocked items last. Deterministic. */
export function planToText(plan: Plan): string {
  const lines: string[] = [];
  const ops = planOps(plan);
  lines.push(`Plan for scenario "${plan.scenario}": ${ops.length} operation${ops.length === 1 ? '' : 's'}`);
  plan.phases.forEach((phase, i) => {
    if (phase.length === 0) return;
    lines.push(`  phase ${i}:`);
    for (const op of phase) lines.push(`    ${opName(op)}  # ${op.cause}`);
  });
  for (const b of plan.blocked) lines.push(`  blocked ${b.kind} ${b.dockerName}: ${b.message}`);
  if (ops.length === 0 && plan.blocked.length === 0) lines.push('  (no changes: live state matches the spec)');
  return lines.join('\n') + '\n';
}

export function planToJSON(plan: Plan): unknown {
  return {
    scenario: plan.scenario,
    operations: plan.phases.flatMap((phase, i) => phase.map((op) => ({ phase: i, name: opName(op), ...op }))),
    blocked: plan.blocked,
  };
}

/** Scenario names that own something on the engine (label values), for the orphan sweep. */
export function scenariosWithResources(snapshot: Snapshot, controller: string): string[] {
  const names = new Set<string>();
  for (const o of [...snapshot.networks, ...snapshot.containers]) {
    if (o.labels[LABEL_MANAGED_BY] === MANAGED_BY && o.labels[LABEL_CONTROLLER] === controller && o.labels[LABEL_SCENARIO] && o.labels[LABEL_ROLE] !== 'helper')
      names.add(o.labels[LABEL_SCENARIO]);
  }
  return [...names].sort();
}
