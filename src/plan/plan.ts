// The Plan: a pure diff of desired vs observed Docker state for one scenario. A Plan is a value:
// ordered phases of operations, each with a stable name and a cause, printable as text (golden
// tests) and JSON. The executor (apply/) runs it without making any decision of its own.
//
// Phases run in this order; operations inside one phase are independent of each other:
//   0 member.disconnect   stale memberships, and every endpoint of a network about to be removed
//   1 container.remove    owned containers no longer declared, or whose config changed
//   2 network.remove      owned networks no longer declared, or whose config changed
//     volume.remove       owned volumes no longer declared (or the scenario's end), unless kept
//   3 network.create
//     volume.create
//   4 container.create    attached at create to its first network (Docker attaches one at create)
//   5 member.connect      every other membership (external networks too: never created or removed)
//   6.. container.start   one phase per dependsOn level (dependencies start first)
//   last container.pause|unpause|stop|kill|restart|start of faults (after convergence, so a
//        container created in this plan can still be hit by its fault in the same pass)
//
// Example (scenario "demo", network "net" absent, container "server" absent):
//   network.create demo_net  # declared in spec.networks[0], absent
//   container.create demo_server  # declared in spec.containers[0], absent (network demo_net, aliases server)
//   container.start demo_server  # created by this plan
import {
  LABEL_CONTROLLER,
  LABEL_KEEP,
  LABEL_MANAGED_BY,
  LABEL_ROLE,
  LABEL_SCENARIO,
  MANAGED_BY,
} from '../api/ownership.js';
import type { Snapshot } from '../resolve/index.js';
import type { DesiredState } from './desired.js';
import {
  newPlanState,
  planContainers,
  planFaultOps,
  planMembers,
  planNetworks,
  planStarts,
  planVolumes,
} from './stages.js';
import type { ContainerCreateRequest, EndpointRequest, NetworkCreateRequest, VolumeCreateRequest } from './requests.js';

export type Op =
  | { kind: 'member.disconnect'; network: string; container: string; cause: string }
  | { kind: 'container.remove'; container: string; id: string; cause: string }
  | { kind: 'network.remove'; network: string; id: string; cause: string }
  | { kind: 'network.create'; network: string; request: NetworkCreateRequest; cause: string }
  | { kind: 'volume.remove'; volume: string; cause: string }
  | { kind: 'volume.create'; volume: string; request: VolumeCreateRequest; cause: string }
  | { kind: 'container.create'; container: string; request: ContainerCreateRequest; cause: string }
  | { kind: 'member.connect'; network: string; container: string; endpoint: EndpointRequest; cause: string }
  | { kind: 'container.start'; container: string; cause: string }
  | {
      kind: 'container.pause' | 'container.unpause' | 'container.stop' | 'container.restart';
      container: string;
      cause: string;
    }
  | { kind: 'container.kill'; container: string; signal: string; cause: string };

/** Something the plan refuses to do, because it would change what faultline does not own. */
export interface Blocked {
  kind: 'network' | 'container' | 'volume';
  name: string; // short name in the spec
  dockerName: string;
  index: number;
  message: string;
  /** Why, as a condition reason (default Conflict: something faultline does not own is in the way). */
  reason?: string;
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
    case 'volume.create':
    case 'volume.remove':
      return `${op.kind} ${op.volume}`;
    default:
      return `${op.kind} ${op.container}`;
  }
}

export function ownerOf(labels: Record<string, string>): string {
  if (labels[LABEL_MANAGED_BY] !== MANAGED_BY) return 'not created by faultline';
  return `owned by scenario "${labels[LABEL_SCENARIO] ?? '?'}" of controller "${labels[LABEL_CONTROLLER] ?? '?'}"`;
}

/**
 * Does the observed endpoint satisfy the desired one? Desired aliases must all be present (Docker
 * may add its own, e.g. the short container id); static addresses, when requested, must match.
 */
export function endpointSatisfies(
  want: EndpointRequest,
  have: { aliases: string[]; ipv4Address?: string; ipv6Address?: string },
): string | null {
  const missing = want.aliases.filter((a) => !have.aliases.includes(a));
  if (missing.length) return `aliases ${missing.join(', ')} missing`;
  if (want.ipv4Address && want.ipv4Address !== have.ipv4Address)
    return `address ${have.ipv4Address ?? 'none'} is not ${want.ipv4Address}`;
  if (want.ipv6Address && want.ipv6Address !== have.ipv6Address)
    return `address ${have.ipv6Address ?? 'none'} is not ${want.ipv6Address}`;
  return null;
}

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * Compute the plan that takes `snapshot` to `desired` for one scenario. A scenario being deleted
 * is planned with an empty desired state: everything it owns is removed, adopted containers are
 * only disconnected from its networks.
 */
export function planScenario(desired: DesiredState, snapshot: Snapshot): Plan {
  const st = newPlanState(desired, snapshot);
  planNetworks(st);
  planVolumes(st);
  planContainers(st);
  planMembers(st);
  planStarts(st);
  planFaultOps(st);
  for (const p of st.phases) p.sort(byName(opName));
  // De-duplicate (a member can be both "reconnect" and "network removed"): keep the first.
  const uniq = st.phases.map((p) => p.filter((op, i) => p.findIndex((q) => opName(q) === opName(op)) === i));
  while (uniq.length > 0 && uniq[uniq.length - 1].length === 0) uniq.pop();
  return { scenario: desired.scenario, phases: uniq, blocked: st.blocked.sort(byName((b) => b.dockerName)) };
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

/**
 * Scenario names that own something on the engine, for the orphan sweep: networks, containers and
 * volumes by their labels (a volume kept on purpose does not count), and endpoints faultline made on
 * external networks by their mark.
 */
export function scenariosWithResources(snapshot: Snapshot, controller: string): string[] {
  const names = new Set<string>();
  for (const o of [...snapshot.networks, ...snapshot.containers, ...(snapshot.volumes ?? [])]) {
    if (
      o.labels[LABEL_MANAGED_BY] === MANAGED_BY &&
      o.labels[LABEL_CONTROLLER] === controller &&
      o.labels[LABEL_SCENARIO] &&
      o.labels[LABEL_ROLE] !== 'helper' &&
      o.labels[LABEL_KEEP] !== 'true'
    )
      names.add(o.labels[LABEL_SCENARIO]);
  }
  const mark = `${controller}/`;
  for (const c of snapshot.containers)
    for (const e of c.endpoints) if (e.owner?.startsWith(mark)) names.add(e.owner.slice(mark.length));
  return [...names].sort();
}
