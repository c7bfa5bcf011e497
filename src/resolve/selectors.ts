// Selectors resolved over the view (pure): which containers a `select`, `targets` or `peers`
// selector means right now. `names` match a container declared in the scenario by its short name
// first, then an existing container by its Docker name; labels and compose match existing
// containers (and declared ones through their spec labels). faultline's own containers — the netns
// helper (role=helper) and the controller's (role=controller, a label of its image) — are never
// selected: a selector that names or matches one says so (`refused`). With several engines, names
// and labels match on every engine unless the selector is limited to one (`engine: b`); a declared
// container is wherever its spec puts it:
//
//   names: [web]          declared "web" (engine b)  → shop_web on b
//   names: [redis]        existing "redis" on default and on b → both, each with its engine
//   names: [redis], engine: b                        → only b's
import { dockerName, engineOf, engineTag, LABEL_ROLE, LABEL_SCENARIO } from '../api/ownership.js';
import type { ContainerSpec, Selector } from '../api/types.js';
import type { ObservedContainer, Snapshot } from './view.js';

/** Docker compose's own labels (how compose-made containers are selected). */
export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';

/** Does an existing container match every criterion of a selector (names excluded)? */
function matchesLabels(c: ObservedContainer, sel: Selector): boolean {
  for (const [k, v] of Object.entries(sel.labels ?? {})) if (c.labels[k] !== v) return false;
  if (sel.compose) {
    if (sel.compose.project !== undefined && c.labels[COMPOSE_PROJECT] !== sel.compose.project) return false;
    if (sel.compose.service !== undefined) {
      const services = Array.isArray(sel.compose.service) ? sel.compose.service : [sel.compose.service];
      if (!services.includes(c.labels[COMPOSE_SERVICE])) return false;
    }
  }
  return true;
}

export interface Resolved {
  container: string; // Docker name
  display: string;
  declared: boolean;
  /** The engine it is on (absent: the default engine). */
  engine?: string;
}

/**
 * Resolve a selector to containers. `names` first match containers declared in the scenario (by
 * short name), then existing containers by Docker name. Labels/compose match existing containers
 * (and declared ones, through their spec labels). Every given criterion must hold.
 * Containers owned by faultline infrastructure (role=helper) are never selected.
 */
export function resolveSelector(
  scenario: string,
  sel: Selector,
  declared: ContainerSpec[],
  snapshot: Snapshot,
): { matches: Resolved[]; missing: string[]; refused: string[] } {
  const out = new Map<string, Resolved>();
  const missing: string[] = [];
  const refused = new Set<string>();
  const onSelEngine = (engine: string) => sel.engine === undefined || sel.engine === engine;
  const selectable = snapshot.containers.filter(
    (c) => !INFRASTRUCTURE.has(c.labels[LABEL_ROLE]) && onSelEngine(engineOf(c)),
  );
  const infrastructure = snapshot.containers.filter((c) => INFRASTRUCTURE.has(c.labels[LABEL_ROLE]));
  const hasOther = sel.labels !== undefined || sel.compose !== undefined;
  const key = (engine: string, name: string) => `${engine}\u0000${name}`;
  const addDeclared = (d: ContainerSpec) => {
    const dn = dockerName(scenario, d.name);
    out.set(key(engineOf(d), dn), { container: dn, display: d.name, declared: true, ...engineTag(engineOf(d)) });
  };
  const addExisting = (c: ObservedContainer) =>
    out.set(key(engineOf(c), c.name), {
      container: c.name,
      display: c.name,
      declared: false,
      ...engineTag(engineOf(c)),
    });
  if (sel.names) {
    for (const n of sel.names) {
      const d = declared.find((c) => c.name === n);
      if (d) {
        if ((!hasOther || matchesDeclared(d, sel)) && onSelEngine(engineOf(d))) {
          const why = notOurs(scenario, d, snapshot);
          if (why) refused.add(why);
          else addDeclared(d);
        }
        continue;
      }
      const cs = selectable.filter((x) => x.name === n);
      if (!cs.length) {
        const own = infrastructure.find((x) => x.name === n);
        if (own) refused.add(refusal(own));
        else missing.push(n);
        continue;
      }
      for (const c of cs) if (!hasOther || matchesLabels(c, sel)) addExisting(c);
    }
  } else if (hasOther) {
    for (const d of declared) {
      if (matchesDeclared(d, sel) && onSelEngine(engineOf(d))) {
        const why = notOurs(scenario, d, snapshot);
        if (why) refused.add(why);
        else addDeclared(d);
      }
    }
    for (const c of selectable) {
      // declared containers of THIS scenario were handled above through their spec
      if (c.labels[LABEL_SCENARIO] === scenario && c.labels[LABEL_ROLE] === 'container') continue;
      if (matchesLabels(c, sel)) addExisting(c);
    }
    for (const c of infrastructure) if (matchesLabels(c, sel)) refused.add(refusal(c));
  }
  const order = (r: Resolved) => `${r.container}\u0000${r.engine ?? ''}`;
  const matches = [...out.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { matches, missing, refused: [...refused] };
}

/**
 * A declared container's Docker name taken, on its engine, by a container this scenario does not own
 * (another project's, or a person's): never acted on in its stead (the planner reports the Conflict).
 */
function notOurs(scenario: string, d: ContainerSpec, snapshot: Snapshot): string | undefined {
  const dn = dockerName(scenario, d.name);
  const c = snapshot.containers.find((x) => x.name === dn && engineOf(x) === engineOf(d));
  if (!c || (c.labels[LABEL_SCENARIO] === scenario && c.labels[LABEL_ROLE] === 'container')) return undefined;
  return `container "${dn}" exists but is not this scenario's (another project's, or made by hand): faultline never acts on it in place of the declared one; rename the scenario or that container`;
}

/** The roles of faultline's own containers, which no selector ever selects. */
const INFRASTRUCTURE = new Set(['helper', 'controller']);

function refusal(c: ObservedContainer): string {
  const what = c.labels[LABEL_ROLE] === 'helper' ? "faultline's netns helper" : "faultline's controller";
  return `container "${c.name}" is ${what}: faultline never acts on its own containers (a fault there would cut faultline off from the engine or the namespaces it manages); leave it out of the selector`;
}

function matchesDeclared(d: ContainerSpec, sel: Selector): boolean {
  for (const [k, v] of Object.entries(sel.labels ?? {})) if (d.labels?.[k] !== v) return false;
  return sel.compose === undefined;
}
