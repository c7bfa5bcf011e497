// Selectors resolved over the view (pure): which containers a `select`, `targets` or `peers`
// selector means right now. `names` match a container declared in the scenario by its short name
// first, then an existing container by its Docker name; labels and compose match existing
// containers (and declared ones through their spec labels). faultline's own containers — the netns
// helper (role=helper) and the controller's (role=controller, a label of its image) — are never
// selected: a selector that names or matches one says so (`refused`).
import { dockerName, LABEL_ROLE, LABEL_SCENARIO } from '../api/ownership.js';
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
  const selectable = snapshot.containers.filter((c) => !INFRASTRUCTURE.has(c.labels[LABEL_ROLE]));
  const infrastructure = snapshot.containers.filter((c) => INFRASTRUCTURE.has(c.labels[LABEL_ROLE]));
  const hasOther = sel.labels !== undefined || sel.compose !== undefined;
  if (sel.names) {
    for (const n of sel.names) {
      const d = declared.find((c) => c.name === n);
      if (d) {
        if (!hasOther || matchesDeclared(d, sel)) {
          const dn = dockerName(scenario, d.name);
          const why = notOurs(scenario, dn, snapshot);
          if (why) refused.add(why);
          else out.set(dn, { container: dn, display: d.name, declared: true });
        }
        continue;
      }
      const c = selectable.find((x) => x.name === n);
      if (!c) {
        const own = infrastructure.find((x) => x.name === n);
        if (own) refused.add(refusal(own));
        else missing.push(n);
        continue;
      }
      if (!hasOther || matchesLabels(c, sel)) out.set(c.name, { container: c.name, display: c.name, declared: false });
    }
  } else if (hasOther) {
    for (const d of declared) {
      if (matchesDeclared(d, sel)) {
        const dn = dockerName(scenario, d.name);
        const why = notOurs(scenario, dn, snapshot);
        if (why) refused.add(why);
        else out.set(dn, { container: dn, display: d.name, declared: true });
      }
    }
    for (const c of selectable) {
      // declared containers of THIS scenario were handled above through their spec
      if (c.labels[LABEL_SCENARIO] === scenario && c.labels[LABEL_ROLE] === 'container') continue;
      if (matchesLabels(c, sel)) out.set(c.name, { container: c.name, display: c.name, declared: false });
    }
    for (const c of infrastructure) if (matchesLabels(c, sel)) refused.add(refusal(c));
  }
  const matches = [...out.values()].sort((a, b) =>
    a.container < b.container ? -1 : a.container > b.container ? 1 : 0,
  );
  return { matches, missing, refused: [...refused] };
}

/**
 * A declared container's Docker name taken by a container this scenario does not own (another
 * project's, or a person's): never acted on in its stead (the planner reports the Conflict).
 */
function notOurs(scenario: string, dn: string, snapshot: Snapshot): string | undefined {
  const c = snapshot.containers.find((x) => x.name === dn);
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
