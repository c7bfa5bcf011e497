// Fault kinds: the one table that says, for every action a fault can take, where it is enforced
// and how it defaults. Every dispatch on a fault's action is a `switch (action.kind)` over
// TaggedAction with `assertNever` in its default, so adding a kind to api/types.ts FaultActions is a
// compile error at every site that must handle it (the list of those sites: CONTRIBUTING.md).
//
//   actionOf({ name: 'slow', netem: { delay: '100ms' }, ... })  →  { kind: 'netem', spec: { delay: '100ms' } }
import type { Direction, FaultAction, FaultActions, FaultSpec } from './types.js';

export interface FaultKindInfo {
  /**
   * netns: rules in network namespaces (a container's, or the host's FORWARD path), read back from
   * the kernel. docker: an operation through the Docker API, verified by what Docker reports.
   */
  layer: 'netns' | 'docker';
  /** Direction when the spec gives none (netns kinds only). */
  defaultDirection?: Direction;
}

export const FAULT_KINDS: { readonly [K in FaultAction]: FaultKindInfo } = Object.freeze({
  netem: { layer: 'netns', defaultDirection: 'egress' },
  bandwidth: { layer: 'netns', defaultDirection: 'egress' },
  partition: { layer: 'netns', defaultDirection: 'both' },
  blackhole: { layer: 'netns', defaultDirection: 'both' },
  reject: { layer: 'netns', defaultDirection: 'both' },
  // the target's queries to Docker's embedded resolver: they leave the target towards 127.0.0.11
  dns: { layer: 'netns', defaultDirection: 'egress' },
  disconnect: { layer: 'docker' },
  container: { layer: 'docker' },
});

/** Every action key, in table order (the order messages list them in). */
export const FAULT_ACTIONS = Object.freeze(Object.keys(FAULT_KINDS) as FaultAction[]);

/** A fault's action as a tagged value: `switch (a.kind)` narrows `a.spec`. */
export type TaggedAction = { [K in FaultAction]: { kind: K; spec: FaultActions[K] } }[FaultAction];

/** The action of a validated fault (validation guarantees exactly one). */
export function actionOf(f: FaultSpec): TaggedAction {
  for (const kind of FAULT_ACTIONS) {
    const spec = (f as Partial<FaultActions>)[kind];
    if (spec !== undefined) return { kind, spec } as TaggedAction;
  }
  throw new Error(`fault "${f.name}" has no action (validation should have refused it)`);
}

export function kindOf(f: FaultSpec): FaultAction {
  return actionOf(f).kind;
}

/** Enforced in network namespaces (tc/iptables), as opposed to through the Docker API. */
export function isNetnsFault(f: FaultSpec): boolean {
  return FAULT_KINDS[kindOf(f)].layer === 'netns';
}

export function isDockerFault(f: FaultSpec): boolean {
  return FAULT_KINDS[kindOf(f)].layer === 'docker';
}

/** The direction a netns fault acts in: the spec's, else its kind's default. */
export function directionOf(f: FaultSpec): Direction {
  return f.direction ?? FAULT_KINDS[kindOf(f)].defaultDirection ?? 'both';
}

/** The default of every exhaustive switch: unreachable while every kind is handled. */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}
