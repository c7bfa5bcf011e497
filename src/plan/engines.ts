// One scenario's Docker plan across several engines (pure). Each engine's part is planned by the
// same stages as a single engine (stages.ts) on the desired state restricted to that engine and on
// that engine's part of the view; overlay networks are planned once, by the swarm stage below,
// through the engine that is a Swarm manager. The parts are merged phase by phase, so compose's
// order holds across engines: every engine's disconnects before any network removal, the overlay
// created through the manager before any engine's containers join it.
//
//   scenario "xs": overlay "ov", container a (engine default), container b (engine b); default is
//   the manager; nothing exists yet:
//     phase 3: network.create xs_ov                      # through the manager
//     phase 4: container.create xs_a                     # (network xs_ov, aliases a)
//              container.create xs_b @b                  # (network xs_ov, aliases b)
//     phase 6: container.start xs_a
//              container.start xs_b @b
//
// An engine that cannot be reached now is not planned (its part is `deferred`, and status shows
// its containers, members and targets as EngineUnreachable); an engine the controller does not know
// refuses what is declared on it (UnknownEngine), and without a manager an overlay network is
// refused with the command that makes one (NoSwarmManager).
import { DEFAULT_ENGINE, engineOf, engineTag, isOwnedBy, LABEL_ROLE, memberKey } from '../api/ownership.js';
import { isSwarmNetwork, onEngine, type ObservedNetwork, type Snapshot } from '../resolve/index.js';
import type { DesiredState } from './desired.js';
import type { Blocked, Op } from './plan.js';
import {
  decideNetwork,
  newPlanState,
  planContainers,
  planFaultOps,
  planMembers,
  planNetworks,
  planStarts,
  planVolumes,
  type SwarmDecisions,
} from './stages.js';

/** The engines a plan may act on, and the Swarm that joins them. */
export interface PlanEngines {
  /** Engines whose part is planned now (configured and reachable). */
  reachable: readonly string[];
  /** Configured engines that cannot be reached now: name → why. Their part waits for them. */
  unreachable?: ReadonlyMap<string, string>;
  /** The engine through which overlay networks are created and removed; absent: none is a manager. */
  manager?: string;
  /** Engines that belong to the manager's Swarm (the manager included): only they join overlays. */
  swarm?: readonly string[];
}

/** One engine, today's: itself the manager of any overlay network it is asked for (as before engines). */
export const SINGLE_ENGINE: PlanEngines = {
  reachable: [DEFAULT_ENGINE],
  manager: DEFAULT_ENGINE,
  swarm: [DEFAULT_ENGINE],
};

/** An engine whose part of a scenario is not planned now. */
export interface Deferred {
  engine: string;
  message: string;
}

export interface EnginePlan {
  phases: Op[][];
  blocked: Blocked[];
  deferred: Deferred[];
}

const noSwarm: SwarmDecisions = { fresh: new Set(), gone: new Set(), unusable: new Set() };

/** The desired state of one engine: its containers, local networks and memberships, and its fault operations. */
function restrict(desired: DesiredState, engine: string): DesiredState {
  const here = (x: { engine?: string }) => engineOf(x) === engine;
  return {
    ...desired,
    networks: desired.networks.filter((n) => n.swarm || here(n)),
    containers: desired.containers.filter(here),
    members: desired.members.filter(here),
    // Volumes are made on the default engine only (a container elsewhere that mounts one: not yet).
    volumes: engine === DEFAULT_ENGINE ? desired.volumes : [],
    faultOps: desired.faultOps.filter(here),
  };
}

function knownEngines(engines: PlanEngines): string {
  return [...engines.reachable, ...(engines.unreachable?.keys() ?? [])].sort().join(', ');
}

/**
 * Overlay networks, through the manager: create what is absent, recreate what changed, refuse what
 * is not ours, remove what is no longer declared. Pure; returns its operations by phase.
 */
function planSwarm(
  desired: DesiredState,
  snapshot: Snapshot,
  engines: PlanEngines,
): { ops: Map<number, Op[]>; blocked: Blocked[]; decisions: SwarmDecisions; deferred?: Deferred } {
  const { scenario, controller } = desired;
  const ops = new Map<number, Op[]>();
  const add = (phase: number, op: Op) => ops.set(phase, [...(ops.get(phase) ?? []), op]);
  const blocked: Blocked[] = [];
  const fresh = new Set<string>();
  const gone = new Set<string>();
  const unusable = new Set<string>();
  // Overlay networks the scenario makes (an external overlay has no request: never made or removed).
  const wanted = desired.networks.filter(
    (n): n is typeof n & { request: NonNullable<typeof n.request> } => n.swarm && n.request !== undefined,
  );
  const owned = (n: ObservedNetwork) =>
    isSwarmNetwork(n) && isOwnedBy(n.labels, scenario, controller) && n.labels[LABEL_ROLE] === 'network';
  const manager = engines.manager;
  if (!manager) {
    for (const n of wanted) {
      blocked.push({
        kind: 'network',
        name: n.name,
        dockerName: n.dockerName,
        index: n.index,
        reason: 'NoSwarmManager',
        message: `overlay network ${n.name} needs a Swarm manager and none of the engines the controller talks to (${knownEngines(engines)}) is one: run \`docker swarm init --advertise-addr <this host's address>\` on one of them and \`docker swarm join --token <token> <manager>:2377\` on the others (\`docker swarm join-token worker\` on the manager prints it), or give the controller a manager with --engine NAME=URL`,
      });
      unusable.add(n.dockerName);
    }
    return { ops, blocked, decisions: { fresh, gone, unusable } };
  }
  const why = engines.unreachable?.get(manager);
  if (why !== undefined) {
    // Overlays that exist may still be joined; nothing is created or removed until the manager is back.
    const seen = new Set(snapshot.networks.filter(isSwarmNetwork).map((n) => n.name));
    for (const n of wanted) if (!seen.has(n.dockerName)) unusable.add(n.dockerName);
    const has = wanted.length > 0 || snapshot.networks.some(owned);
    return {
      ops,
      blocked,
      decisions: { fresh, gone, unusable },
      deferred: has
        ? {
            engine: manager,
            message: `the Swarm manager (engine ${manager}) is unreachable: ${why}; overlay networks are created and removed when it is back`,
          }
        : undefined,
    };
  }
  const managerView = onEngine(snapshot, manager).networks.filter(isSwarmNetwork);
  const tag = engineTag(manager);
  for (const n of wanted) {
    const d = decideNetwork(
      n,
      managerView.find((x) => x.name === n.dockerName),
      { scenario, controller },
      'Swarm',
    );
    if (d.step === 'blocked') {
      blocked.push(d.blocked);
      unusable.add(n.dockerName);
    } else if (d.step !== 'keep') {
      if (d.step === 'recreate') {
        add(2, { ...d.remove, ...tag });
        gone.add(n.dockerName);
      }
      add(3, { ...d.create, ...tag });
      fresh.add(n.dockerName);
    }
  }
  const names = new Set(wanted.map((n) => n.dockerName));
  for (const o of managerView.filter(owned)) {
    if (names.has(o.name)) continue;
    add(2, { kind: 'network.remove', network: o.name, id: o.id, cause: 'no longer declared in spec.networks', ...tag });
    gone.add(o.name);
  }
  return { ops, blocked, decisions: { fresh, gone, unusable } };
}

/** Everything of the scenario that is declared on an engine the controller does not know. */
function refuseUnknown(desired: DesiredState, engine: string, engines: PlanEngines): Blocked[] {
  const fix = (field: string) =>
    `engine "${engine}" is not one the controller talks to (${knownEngines(engines)}): start the controller with --engine ${engine}=URL or --context ${engine}, or change ${field}`;
  return [
    ...desired.networks
      .filter((n) => !n.swarm && engineOf(n) === engine)
      .map((n): Blocked => ({
        kind: 'network',
        name: n.name,
        dockerName: n.dockerName,
        index: n.index,
        reason: 'UnknownEngine',
        message: fix(`spec.networks[${n.index}].engine`),
      })),
    ...desired.containers
      .filter((c) => engineOf(c) === engine)
      .map((c): Blocked => ({
        kind: 'container',
        name: c.name,
        dockerName: c.dockerName,
        index: c.index,
        reason: 'UnknownEngine',
        message: fix(`spec.containers[${c.index}].engine`),
      })),
  ];
}

/** Members of overlay networks on engines outside the manager's Swarm: they cannot join. */
function outsideSwarm(desired: DesiredState, engine: string, engines: PlanEngines): Blocked[] {
  if (!engines.manager || (engines.swarm ?? []).includes(engine)) return [];
  const swarmNets = new Set(desired.networks.filter((n) => n.swarm).map((n) => n.dockerName));
  return desired.members
    .filter((m) => swarmNets.has(m.networkDockerName) && engineOf(m) === engine)
    .map((m) => ({
      kind: 'member' as const,
      name: m.display,
      dockerName: memberKey(m.networkDockerName, m.container),
      index: m.memberIndex,
      reason: 'EngineNotInSwarm',
      message: `${m.display} runs on engine ${engine}, which is not in the Swarm of engine ${engines.manager}, so it cannot join overlay network ${m.network}: run \`docker swarm join-token worker\` on engine ${engines.manager} and the command it prints on engine ${engine}`,
    }));
}

/** Does the engine hold or need anything of this scenario (to say its part waits)? */
function concerns(desired: DesiredState, snapshot: Snapshot, engine: string): boolean {
  const here = (x: { engine?: string }) => engineOf(x) === engine;
  const { scenario, controller } = desired;
  return (
    desired.containers.some(here) ||
    desired.members.some(here) ||
    desired.networks.some((n) => !n.swarm && here(n)) ||
    onEngine(snapshot, engine).containers.some((c) => isOwnedBy(c.labels, scenario, controller)) ||
    onEngine(snapshot, engine).networks.some((n) => !isSwarmNetwork(n) && isOwnedBy(n.labels, scenario, controller))
  );
}

/**
 * Plan every engine's part of the scenario and the swarm's, merged phase by phase. Operations of an
 * engine other than the default carry it (`engine`), and so does their name (`… @b`).
 */
export function planEngines(desired: DesiredState, snapshot: Snapshot, engines: PlanEngines): EnginePlan {
  const phases: Op[][] = [[], [], [], [], [], []];
  const put = (i: number, ops: Op[]) => {
    while (phases.length <= i) phases.push([]);
    phases[i].push(...ops);
  };
  const swarm = planSwarm(desired, snapshot, engines);
  const blocked: Blocked[] = [...swarm.blocked];
  const deferred: Deferred[] = swarm.deferred ? [swarm.deferred] : [];
  // Fault operations go last, after every engine's starts: they are placed once all are known.
  const faultOps: Op[] = [];
  const known = new Set([...engines.reachable, ...(engines.unreachable?.keys() ?? [])]);
  const declaredOn = new Set(
    [...desired.containers, ...desired.networks.filter((n) => !n.swarm), ...desired.members].map(engineOf),
  );
  for (const engine of [...new Set([...engines.reachable, ...declaredOn])].sort()) {
    if (!known.has(engine)) {
      blocked.push(...refuseUnknown(desired, engine, engines));
      continue;
    }
    const why = engines.unreachable?.get(engine);
    if (why !== undefined) {
      if (concerns(desired, snapshot, engine))
        deferred.push({ engine, message: `engine ${engine} is unreachable: ${why}` });
      continue;
    }
    const part = restrict(desired, engine);
    const refused = outsideSwarm(desired, engine, engines);
    const refusedKeys = new Set(refused.map((b) => b.dockerName));
    part.members = part.members.filter((m) => !refusedKeys.has(memberKey(m.networkDockerName, m.container)));
    const st = newPlanState(part, onEngine(snapshot, engine), swarm.decisions ?? noSwarm);
    planNetworks(st);
    planVolumes(st);
    planContainers(st);
    planMembers(st);
    planStarts(st);
    planFaultOps(st);
    const nFault = part.faultOps.length ? st.phases.length - 1 : -1;
    const tag = engineTag(engine);
    st.phases.forEach((p, i) => {
      const tagged = p.map((op) => ({ ...op, ...tag }));
      if (i === nFault) faultOps.push(...tagged);
      else put(i, tagged);
    });
    blocked.push(...st.blocked, ...refused);
  }
  for (const [i, ops] of swarm.ops) put(i, ops);
  if (faultOps.length) phases.push(faultOps);
  return { phases, blocked, deferred };
}
