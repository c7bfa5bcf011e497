// The Scenarios that `fl.partition(...)` and `fl.delay(...)` write (pure). A shorthand is only a
// way to write a Scenario: the file it puts in the directory is an ordinary one, `faultline get`
// and `describe` show it, and the same verification applies.
//
//   fl.partition([['app'], ['db', 'cache']], { name: 'split' })
//     -> metadata: {name: split}
//        spec: {faults: [{name: partition, partition: {groups: [[app], [db, cache]]}}]}
//
//   fl.delay('db', '100ms', { jitter: '10ms', peers: ['app'] })
//     -> spec: {faults: [{name: delay, targets: {names: [db]}, peers: {names: [app]},
//                         netem: {delay: 100ms, jitter: 10ms}}]}
import type {
  Direction,
  Duration,
  FaultBase,
  FaultSpec,
  NetemSpec,
  Percent,
  Protocol,
  Scenario,
  Selector,
} from '../api/types.js';

/** What every shorthand accepts. */
export interface FaultOptions {
  /** The scenario's name (a DNS label, unique in the directory). Default: `partition-1`, `delay-2`, … */
  name?: string;
  /** Start this long after the scenario is applied (default: at once). */
  at?: Duration;
  /** Remove the fault after this long (default: until `delete`). */
  duration?: Duration;
  /** Only these ports ("5432", "8000-8100"); protocol defaults to tcp when ports are given. */
  ports?: string[];
  protocol?: Protocol;
  direction?: Direction;
}

/** A partition cuts both directions: no `direction`. */
export type PartitionOptions = Omit<FaultOptions, 'direction'>;

export interface DelayOptions extends FaultOptions {
  jitter?: Duration;
  correlation?: Percent;
  distribution?: NetemSpec['distribution'];
  /** Only traffic to and from these containers (names) or addresses. */
  peers?: string[] | NonNullable<FaultBase['peers']>;
}

/** Containers by name (Docker names, or short names of containers the scenario declares), or a Selector. */
export type Targets = string | string[] | Selector;

function selector(t: Targets): Selector {
  if (typeof t === 'string') return { names: [t] };
  if (Array.isArray(t)) return { names: [...t] };
  return t;
}

function scenario(name: string, fault: FaultSpec): Scenario {
  return { apiVersion: 'faultline.dev/v1alpha1', kind: 'Scenario', metadata: { name }, spec: { faults: [fault] } };
}

/** The timing and match fields a shorthand passes through, without absent keys. */
function common(o: FaultOptions): Partial<FaultBase> {
  const out: Partial<FaultBase> = {};
  if (o.at !== undefined) out.at = o.at;
  if (o.duration !== undefined) out.duration = o.duration;
  if (o.ports !== undefined) out.ports = [...o.ports];
  if (o.protocol !== undefined) out.protocol = o.protocol;
  if (o.direction !== undefined) out.direction = o.direction;
  return out;
}

/** Containers in different groups cannot reach each other, in either direction. */
export function partitionScenario(name: string, groups: string[][], o: PartitionOptions = {}): Scenario {
  return scenario(name, {
    name: 'partition',
    ...common(o),
    partition: { groups: groups.map((g) => [...g]) },
  } as FaultSpec);
}

/** Packets from the targets (egress, by default) wait `delay` (netem; the kernel needs sch_netem). */
export function delayScenario(name: string, targets: Targets, delay: Duration, o: DelayOptions = {}): Scenario {
  const netem: NetemSpec = { delay };
  if (o.jitter !== undefined) netem.jitter = o.jitter;
  if (o.correlation !== undefined) netem.correlation = o.correlation;
  if (o.distribution !== undefined) netem.distribution = o.distribution;
  const fault: Partial<FaultBase> & { netem: NetemSpec } = {
    name: 'delay',
    targets: selector(targets),
    ...common(o),
    netem,
  };
  if (o.peers !== undefined) fault.peers = Array.isArray(o.peers) ? { names: [...o.peers] } : o.peers;
  return scenario(name, fault as FaultSpec);
}
