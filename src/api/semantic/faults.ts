// spec.faults: unique names, exactly one action, who (targets, peers, ports, protocol, what does not
// apply to the action) and what (netem, bandwidth, partition, reject, disconnect, container), then
// when (timing.ts), fault by fault.

import { FAULT_ACTIONS } from '../kinds.js';
import {
  checkCidr,
  notBoth,
  percent,
  percentOrObject,
  portRange,
  positive,
  rate,
  selector,
  size,
  uniqueNames,
} from './fields.js';
import type { NetworkRef } from './networks.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';
import { checkFaultTiming } from './timing.js';

/** netem fields that mean nothing without another: [field, the field it needs, what to say]. */
const NETEM_NEEDS: readonly [string, string, string][] = [
  ['jitter', 'delay', 'jitter varies the delay; give delay too, e.g. delay: 100ms'],
  ['correlation', 'jitter', 'correlation relates successive delays and needs jitter, e.g. jitter: 10ms'],
  ['distribution', 'jitter', 'distribution shapes the jitter; give jitter too, e.g. jitter: 10ms'],
  ['reorder', 'delay', 'reorder sends some packets without the delay, so it needs delay, e.g. delay: 10ms'],
];

export function checkFaults(r: Report, spec: Obj, networkRef: NetworkRef): void {
  const faults = list(spec.faults);
  uniqueNames(r, faults, [...S, 'faults'], 'fault');
  faults.forEach((f, i) => {
    if (!isObj(f)) return;
    const p: Path = [...S, 'faults', i];
    const label = str(f.name) !== undefined ? `fault ${q(f.name as string)}` : 'this fault';
    const actions = FAULT_ACTIONS.filter((a) => f[a] !== undefined);
    if (actions.length === 0) {
      r.add('fault.action', p, `${label} has no action; give exactly one of ${FAULT_ACTIONS.join(', ')}`);
    } else if (actions.length > 1) {
      r.add(
        'fault.action',
        [...p, actions[1] as string],
        `${label} has ${actions.length} actions (${actions.join(', ')}); give exactly one, and split the rest into separate faults`,
      );
    }
    const action = actions.length === 1 ? actions[0] : undefined;

    // Who.
    const partition = isObj(f.partition) ? f.partition : undefined;
    const explicitGroups = action === 'partition' && partition !== undefined && partition.groups !== undefined;
    if (explicitGroups && f.targets !== undefined) {
      r.add(
        'fault.targets',
        [...p, 'targets'],
        `${label}: a partition with explicit groups takes no targets (the groups name every container); remove targets`,
      );
    } else if (!explicitGroups && action !== undefined && f.targets === undefined) {
      r.add(
        'fault.targets',
        p,
        `${label} needs targets: which containers get the fault, e.g. targets: {names: [server]}`,
      );
    }
    selector(r, f.targets, [...p, 'targets'], true);
    if (isObj(f.peers)) {
      list(f.peers.cidrs).forEach((c, j) => checkCidr(r, c, [...p, 'peers', 'cidrs', j], true));
    }
    list(f.ports).forEach((port, j) => {
      if (typeof port !== 'string' || !/^[0-9]{1,5}(-[0-9]{1,5})?$/.test(port)) return;
      if (!portRange(port)) {
        r.add(
          'port.invalid',
          [...p, 'ports', j],
          `${q(port)} is not a port or range: ports run from 1 to 65535 and a range is low-high, e.g. "8000-8100"`,
        );
      }
    });
    if (f.ports !== undefined && (f.protocol === 'icmp' || f.protocol === 'all')) {
      r.add(
        'port.protocol',
        [...p, 'protocol'],
        `ports need protocol tcp or udp (${f.protocol} has no ports); set protocol: tcp or remove ports`,
      );
    }
    if (action === 'container' || action === 'disconnect') {
      for (const k of ['peers', 'ports', 'protocol', 'direction']) {
        if (f[k] !== undefined) {
          r.add(
            'fault.notApplicable',
            [...p, k],
            `${k} does not apply to a ${action} fault (it acts on whole containers); remove it`,
          );
        }
      }
    }
    if (action === 'partition' && f.peers !== undefined) {
      r.add(
        'fault.notApplicable',
        [...p, 'peers'],
        'peers does not apply to a partition (its groups say who is cut off from whom); remove it',
      );
    }

    // What.
    if (isObj(f.netem)) {
      const n = f.netem;
      const np: Path = [...p, 'netem'];
      const effects = ['delay', 'loss', 'gemodel', 'duplicate', 'corrupt', 'reorder', 'rate'];
      if (!effects.some((k) => n[k] !== undefined)) {
        r.add('netem.empty', np, `netem needs at least one of ${effects.join(', ')}`);
      }
      for (const [field, needs, message] of NETEM_NEEDS) {
        if (n[field] !== undefined && n[needs] === undefined) r.add('netem.dependency', [...np, field], message);
      }
      notBoth(
        r,
        n,
        np,
        'loss',
        'gemodel',
        'netem.conflict',
        'give loss or gemodel, not both (both set the loss model)',
      );
      percent(r, n.correlation, [...np, 'correlation']);
      percentOrObject(r, n.loss, [...np, 'loss']);
      percentOrObject(r, n.duplicate, [...np, 'duplicate']);
      percentOrObject(r, n.corrupt, [...np, 'corrupt']);
      if (isObj(n.reorder)) {
        percent(r, n.reorder.percent, [...np, 'reorder', 'percent']);
        percent(r, n.reorder.correlation, [...np, 'reorder', 'correlation']);
      }
      if (isObj(n.gemodel)) for (const k of ['p', 'r', 'h', 'k']) percent(r, n.gemodel[k], [...np, 'gemodel', k]);
      rate(r, n.rate, [...np, 'rate']);
    }
    if (isObj(f.bandwidth)) {
      const b = f.bandwidth;
      const bp: Path = [...p, 'bandwidth'];
      rate(r, b.rate, [...bp, 'rate']);
      size(r, b.burst, [...bp, 'burst']);
      size(r, b.limit, [...bp, 'limit']);
      notBoth(
        r,
        b,
        bp,
        'limit',
        'latency',
        'bandwidth.conflict',
        'give limit or latency, not both (tbf sizes its queue from one of them)',
      );
      positive(r, b.latency, [...bp, 'latency'], 'latency');
    }
    if (partition) {
      const pp: Path = [...p, 'partition'];
      const hasGroups = partition.groups !== undefined;
      const hasGen = partition.generator !== undefined;
      if (hasGroups === hasGen) {
        r.add(
          'partition.spec',
          pp,
          hasGroups
            ? 'give groups or generator, not both'
            : 'a partition needs groups (e.g. [[server], [client1, client2]]) or a generator (halves, majority, isolate, ring, bridge)',
        );
      }
      const where = new Map<string, number>();
      list(partition.groups).forEach((g, gi) => {
        list(g).forEach((name, ni) => {
          if (typeof name !== 'string') return;
          const prior = where.get(name);
          if (prior !== undefined) {
            r.add(
              'partition.groups',
              [...pp, 'groups', gi, ni],
              prior === gi
                ? `${q(name)} appears twice in group ${gi}`
                : `${q(name)} is in group ${prior} and group ${gi}; a container belongs to one group`,
            );
          } else where.set(name, gi);
        });
      });
      if (partition.count !== undefined && partition.generator !== 'isolate') {
        r.add('partition.count', [...pp, 'count'], 'count applies only to generator: isolate');
      }
    }
    if (isObj(f.reject) && f.reject.with === 'tcp-reset' && (f.protocol === 'udp' || f.protocol === 'icmp')) {
      r.add(
        'reject.protocol',
        [...p, 'reject', 'with'],
        `tcp-reset answers TCP only, but protocol is ${f.protocol}; use icmp-port-unreachable or protocol: tcp`,
      );
    }
    if (isObj(f.disconnect)) networkRef(f.disconnect.network, [...p, 'disconnect', 'network']);
    if (
      isObj(f.container) &&
      f.container.signal !== undefined &&
      f.container.action !== 'kill' &&
      f.container.action !== 'stop'
    ) {
      r.add(
        'container.signal',
        [...p, 'container', 'signal'],
        `signal applies to kill and stop, not ${String(f.container.action)}; remove it`,
      );
    }

    // When.
    checkFaultTiming(r, f, p);
  });
}
