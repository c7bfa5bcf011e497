// Ownership: every name and label by which faultline recognises what it created, in one place.
// Docker objects carry labels; kernel rules carry a key in their iptables comment or tc tag;
// Docker names follow compose. Anything that does not carry these is never changed.
//
//   Docker network of scenario "shop", network "net"      shop_net
//   labels   faultline.dev/managed-by=faultline, faultline.dev/controller=<id>,
//            faultline.dev/scenario=shop, faultline.dev/name=net, faultline.dev/role=network,
//            faultline.dev/config-hash=<hash of what Docker cannot change in place>
//   kernel rule of fault "split" in scenario "shop" of controller "dir-0123456789ab"
//            comment "faultline:dir-0123456789ab.shop/split"

/**
 * The engine a controller talks to when it is given none (DOCKER_HOST, else the local socket).
 * Objects on it carry no engine in status, plans or views; every other engine is named.
 */
export const DEFAULT_ENGINE = 'default';

/** The engine of anything that may carry one (absent: the default engine). */
export function engineOf(x: { engine?: string } | undefined): string {
  return x?.engine ?? DEFAULT_ENGINE;
}

/** `{engine}` for a non-default engine, `{}` for the default one: how plans, views and status carry it. */
export function engineTag(engine: string): { engine?: string } {
  return engine === DEFAULT_ENGINE ? {} : { engine };
}

/** Labels every owned Docker object carries. */
export const LABEL_SCENARIO = 'faultline.dev/scenario';
export const LABEL_MANAGED_BY = 'faultline.dev/managed-by';
export const LABEL_NAME = 'faultline.dev/name'; // short name inside the scenario
export const LABEL_HASH = 'faultline.dev/config-hash'; // hash of the object's desired config
export const LABEL_ROLE = 'faultline.dev/role'; // network | container | helper
/** Which controller owns it: several controllers (directories) may share one engine. */
export const LABEL_CONTROLLER = 'faultline.dev/controller';
export const MANAGED_BY = 'faultline';
/** Label keys under this prefix are faultline's own; a spec may not set them. */
export const RESERVED_LABEL_PREFIX = 'faultline.dev/';

export type OwnedRole = 'network' | 'container' | 'volume' | 'helper';

/** On a volume: keep it when its scenario is deleted ("true"), recorded when it is created. */
export const LABEL_KEEP = 'faultline.dev/keep';

/**
 * An endpoint faultline makes on a network it does not own (spec external) carries this driver
 * option, "<controller>/<scenario>": Docker networks have no labels per endpoint, and without it
 * faultline could not tell its own memberships there from everyone else's (which it never touches).
 */
export const ENDPOINT_OWNER_OPT = 'faultline.dev/owner';

export function endpointOwner(controller: string, scenario: string): string {
  return `${controller}/${scenario}`;
}

/** Labels of a helper container (the netns helper, the capability-probe scratch container). */
export const HELPER_LABELS: Readonly<Record<string, string>> = Object.freeze({
  [LABEL_MANAGED_BY]: MANAGED_BY,
  [LABEL_ROLE]: 'helper',
});

/** Docker name of a scenario's network or container, compose-style: "<scenario>_<name>". */
export function dockerName(scenario: string, name: string): string {
  return `${scenario}_${name}`;
}

export function ownerLabels(
  controller: string,
  scenario: string,
  name: string,
  role: OwnedRole,
  hash: string,
): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_CONTROLLER]: controller,
    [LABEL_SCENARIO]: scenario,
    [LABEL_NAME]: name,
    [LABEL_ROLE]: role,
    [LABEL_HASH]: hash,
  };
}

/** Created by THIS controller for this scenario (another controller's objects are not ours). */
export function isOwnedBy(labels: Record<string, string>, scenario: string, controller: string): boolean {
  return (
    labels[LABEL_MANAGED_BY] === MANAGED_BY &&
    labels[LABEL_SCENARIO] === scenario &&
    labels[LABEL_CONTROLLER] === controller
  );
}

/** One membership (a container on a network), as a map key: Docker names of both. */
export function memberKey(networkDockerName: string, containerDockerName: string): string {
  return `${networkDockerName}\u0000${containerDockerName}`;
}
