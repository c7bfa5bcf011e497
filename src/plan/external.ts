// Networks faultline does not own (spec.networks[].external), found in the view (pure). faultline
// never creates, changes or removes them: it connects members to them, marking each endpoint it
// makes with the driver option faultline.dev/owner=<controller>/<scenario>, and disconnects only
// what carries its mark (a container that was on the network before keeps its endpoint as it is).
//
//   { name: bridge, external: true }                          Docker network "bridge" (the default)
//   { name: lan, external: { name: corp-lan } }               Docker network "corp-lan"
//   { name: app, external: { compose: { project: shop, network: default } } }
//        the network labelled com.docker.compose.project=shop, com.docker.compose.network=default
//        (compose names it shop_default unless the compose file says otherwise)
import { dockerName } from '../api/ownership.js';
import type { NetworkSpec, ScenarioSpec } from '../api/types.js';
import { COMPOSE_PROJECT, type ObservedNetwork, type Snapshot } from '../resolve/index.js';

/** The label compose puts on the networks it makes: the network's key in the compose file. */
export const COMPOSE_NETWORK = 'com.docker.compose.network';
/** The option Docker sets on its default network. */
const DEFAULT_BRIDGE_OPT = 'com.docker.network.bridge.default_bridge';

export interface ExternalNetwork {
  /** How the spec names it, for messages: `Docker network "bridge"`, `compose network "default" of project "shop"`. */
  ref: string;
  /** The network, when exactly one matches. */
  observed?: ObservedNetwork;
  /** Why it cannot be joined now (absent, or two networks match). */
  problem?: string;
  /** Docker's default bridge: no aliases and no static addresses there. */
  defaultBridge: boolean;
}

export function isExternal(n: NetworkSpec): boolean {
  return n.external === true || (typeof n.external === 'object' && n.external !== null);
}

/** Find an external entry's network in the view. */
export function findExternal(n: NetworkSpec, view: Snapshot): ExternalNetwork {
  const ext = n.external;
  const compose = typeof ext === 'object' && ext !== null ? ext.compose : undefined;
  if (compose) {
    const ref = `compose network "${compose.network}" of project "${compose.project}"`;
    const found = view.networks.filter(
      (x) => x.labels[COMPOSE_PROJECT] === compose.project && x.labels[COMPOSE_NETWORK] === compose.network,
    );
    if (found.length === 1) return { ref, observed: found[0], defaultBridge: false };
    return {
      ref,
      defaultBridge: false,
      problem:
        found.length === 0
          ? `no ${ref} exists (no network has labels ${COMPOSE_PROJECT}=${compose.project} and ${COMPOSE_NETWORK}=${compose.network}); start the compose project (docker compose -p ${compose.project} up) or fix external.compose`
          : `${found.length} networks are the ${ref} (${found.map((x) => x.name).join(', ')}); remove the stale one`,
    };
  }
  const name = typeof ext === 'object' && ext !== null && ext.name ? ext.name : n.name;
  const ref = `Docker network "${name}"`;
  const found = view.networks.filter((x) => x.name === name);
  const defaultBridge = name === 'bridge' || found.some((x) => x.options[DEFAULT_BRIDGE_OPT] === 'true');
  if (found.length === 1) return { ref, observed: found[0], defaultBridge };
  return {
    ref,
    defaultBridge,
    problem:
      found.length === 0
        ? `${ref} does not exist; faultline never creates an external network: create it (docker network create ${name}) or fix spec.networks external`
        : `${found.length} Docker networks are named "${name}"; Docker cannot tell them apart: remove one`,
  };
}

/**
 * The Docker name of every spec network, by its short name: `<scenario>_<name>` for the networks
 * the scenario owns, the existing network's name for an external one (a compose reference that
 * matches nothing is named by its reference, which no network has).
 */
export function networkDockerNames(scenario: string, spec: Pick<ScenarioSpec, 'networks'>, view: Snapshot) {
  const out = new Map<string, string>();
  for (const n of spec.networks ?? []) {
    if (!isExternal(n)) out.set(n.name, dockerName(scenario, n.name));
    else out.set(n.name, findExternal(n, view).observed?.name ?? externalPlaceholder(n));
  }
  return out;
}

function externalPlaceholder(n: NetworkSpec): string {
  const ext = n.external;
  if (typeof ext === 'object' && ext !== null) {
    if (ext.compose) return `compose:${ext.compose.project}/${ext.compose.network}`;
    if (ext.name) return ext.name;
  }
  return n.name;
}

/** How Docker-level faults name networks (plan/fault-effects, status/faults): Docker names, and which are external. */
export function faultNetworks(
  scenario: string,
  spec: Pick<ScenarioSpec, 'networks'>,
  view: Snapshot,
): { dockerNames: Map<string, string>; external: Set<string> } {
  return {
    dockerNames: networkDockerNames(scenario, spec, view),
    external: new Set((spec.networks ?? []).filter(isExternal).map((n) => n.name)),
  };
}
