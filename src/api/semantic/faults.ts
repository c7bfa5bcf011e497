// spec.faults: unique names, exactly one action, who (targets, peers, ports, protocol, what does not
// apply to the action) and what (netem, bandwidth, partition, reject, dns, disconnect, container),
// whether packets can verify it (verify: probe), then when (timing.ts), fault by fault.

import { FAULT_ACTIONS } from '../kinds.js';
import {
  checkCidr,
  notBoth,
  percent,
  percentOrObject,
  portRange,
  positive,
  positiveOrZero,
  rate,
  selector,
  size,
  uniqueNames,
} from './fields.js';
import { parseRate } from '../quantity.js';
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

/**
 * verify: probe measures with ICMP echo (delay, loss, rate, reachability) or a TCP connect
 * (partition, blackhole and reject limited to tcp ports): only what those can see.
 */
function checkProbe(r: Report, f: Obj, p: Path, action: string): void {
  const vp: Path = [...p, 'verify'];
  const ports = [f.ports, f.destinationPorts, f.sourcePorts].some((x) => x !== undefined);
  const icmpSees = !ports && (f.protocol === undefined || f.protocol === 'all' || f.protocol === 'icmp');
  const cut = action === 'partition' || action === 'blackhole' || action === 'reject';
  if (!['netem', 'bandwidth', 'partition', 'blackhole', 'reject'].includes(action)) {
    r.add(
      'verify.probe',
      vp,
      `verify: probe is not available for a ${action} fault (it measures delay, loss, bandwidth and reachability: netem, bandwidth, partition, blackhole, reject); remove it`,
    );
    return;
  }
  if (action === 'netem' && isObj(f.netem) && f.netem.delay === undefined && f.netem.loss === undefined) {
    r.add(
      'verify.probe',
      vp,
      'verify: probe measures netem delay (round-trip time) and loss (a burst of echo requests); this fault has neither, remove verify',
    );
    return;
  }
  if (!icmpSees && !(cut && f.protocol !== 'udp' && f.protocol !== 'icmp' && (f.ports || f.destinationPorts))) {
    r.add(
      'verify.probe',
      vp,
      cut
        ? 'verify: probe measures a cut with ICMP echo, or with a TCP connect to its (destination) port; a fault on udp ports or only on source ports cannot be measured, remove verify'
        : 'verify: probe measures with ICMP echo, which a fault limited to ports or to tcp/udp does not touch; remove verify or the limit',
    );
  }
}

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
    for (const k of ['ports', 'sourcePorts', 'destinationPorts']) {
      list(f[k]).forEach((port, j) => {
        if (typeof port !== 'string' || !/^[0-9]{1,5}(-[0-9]{1,5})?$/.test(port)) return;
        if (!portRange(port)) {
          r.add(
            'port.invalid',
            [...p, k, j],
            `${q(port)} is not a port or range: ports run from 1 to 65535 and a range is low-high, e.g. "8000-8100"`,
          );
        }
      });
    }
    const directional = ['sourcePorts', 'destinationPorts'].filter((k) => f[k] !== undefined);
    if (f.ports !== undefined && directional.length) {
      r.add(
        'port.conflict',
        [...p, directional[0]],
        `give ports (either end of a packet) or sourcePorts/destinationPorts (that end only), not both; e.g. destinationPorts: ["5432"] for requests to a server on 5432`,
      );
    }
    const portsGiven = f.ports !== undefined || directional.length > 0;
    if (portsGiven && (f.protocol === 'icmp' || f.protocol === 'all')) {
      r.add(
        'port.protocol',
        [...p, 'protocol'],
        `ports need protocol tcp or udp (${f.protocol} has no ports); set protocol: tcp or remove ports`,
      );
    }
    if (action === 'dns') {
      for (const k of ['peers', 'ports', 'sourcePorts', 'destinationPorts', 'protocol', 'direction']) {
        if (f[k] !== undefined) {
          r.add(
            'fault.notApplicable',
            [...p, k],
            `${k} does not apply to a dns fault (it acts on the targets' queries to Docker's embedded resolver, 127.0.0.11); remove it, or use dns.names to pick queries`,
          );
        }
      }
    }
    if (action === 'container' || action === 'disconnect') {
      for (const k of ['peers', 'ports', 'sourcePorts', 'destinationPorts', 'protocol', 'direction']) {
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
      const effects = ['delay', 'loss', 'gemodel', 'lossState', 'duplicate', 'corrupt', 'reorder', 'rate', 'slot'];
      if (!effects.some((k) => n[k] !== undefined)) {
        r.add('netem.empty', np, `netem needs at least one of ${effects.join(', ')}`);
      }
      for (const [field, needs, message] of NETEM_NEEDS) {
        if (n[field] !== undefined && n[needs] === undefined) r.add('netem.dependency', [...np, field], message);
      }
      const models = ['loss', 'gemodel', 'lossState'].filter((k) => n[k] !== undefined);
      if (models.length > 1) {
        r.add(
          'netem.conflict',
          [...np, models[1]],
          `give one loss model, not ${models.join(' and ')} (each sets how packets are lost): loss (random), gemodel (Gilbert-Elliott) or lossState (4 states)`,
        );
      }
      if (n.ecn === true && models.length === 0) {
        r.add(
          'netem.dependency',
          [...np, 'ecn'],
          'ecn marks the packets a loss model would drop; give loss, gemodel or lossState too, e.g. loss: 1%',
        );
      }
      if (isObj(n.lossState))
        for (const k of ['p13', 'p31', 'p32', 'p23', 'p14']) percent(r, n.lossState[k], [...np, 'lossState', k]);
      if (isObj(n.slot)) {
        const min = positiveOrZero(n.slot.minDelay);
        const max = positiveOrZero(n.slot.maxDelay);
        if (min !== undefined && max !== undefined && max < min)
          r.add(
            'netem.slot',
            [...np, 'slot', 'maxDelay'],
            `maxDelay (${String(n.slot.maxDelay)}) is shorter than minDelay (${String(n.slot.minDelay)}); slots come every minDelay..maxDelay`,
          );
        size(r, n.slot.bytes, [...np, 'slot', 'bytes']);
      }
      if (isObj(n.rate)) {
        rate(r, n.rate.rate, [...np, 'rate', 'rate']);
        if (n.rate.cellOverhead !== undefined && !n.rate.cellSize)
          r.add(
            'netem.dependency',
            [...np, 'rate', 'cellOverhead'],
            'cellOverhead is added per cell; give cellSize too, e.g. cellSize: 48',
          );
      }
      percent(r, n.correlation, [...np, 'correlation']);
      percentOrObject(r, n.loss, [...np, 'loss']);
      percentOrObject(r, n.duplicate, [...np, 'duplicate']);
      percentOrObject(r, n.corrupt, [...np, 'corrupt']);
      if (isObj(n.reorder)) {
        percent(r, n.reorder.percent, [...np, 'reorder', 'percent']);
        percent(r, n.reorder.correlation, [...np, 'reorder', 'correlation']);
      }
      if (isObj(n.gemodel)) for (const k of ['p', 'r', 'h', 'k']) percent(r, n.gemodel[k], [...np, 'gemodel', k]);
      if (!isObj(n.rate)) rate(r, n.rate, [...np, 'rate']);
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
      rate(r, b.ceil, [...bp, 'ceil']);
      rate(r, b.peakrate, [...bp, 'peakrate']);
      size(r, b.mtu, [...bp, 'mtu']);
      const bps = (v: unknown) => {
        try {
          return typeof v === 'string' ? parseRate(v) : undefined;
        } catch {
          return undefined;
        }
      };
      const base = bps(b.rate);
      const ceil = bps(b.ceil);
      const peak = bps(b.peakrate);
      if (base !== undefined && ceil !== undefined && ceil < base)
        r.add(
          'bandwidth.ceil',
          [...bp, 'ceil'],
          `ceil ${q(String(b.ceil))} is below rate ${q(String(b.rate))}; ceil is the most the traffic may borrow up to, at least rate`,
        );
      if (base !== undefined && peak !== undefined && peak <= base)
        r.add(
          'bandwidth.peakrate',
          [...bp, 'peakrate'],
          `peakrate ${q(String(b.peakrate))} must be above rate ${q(String(b.rate))}: it caps how fast a burst leaves`,
        );
      notBoth(
        r,
        b,
        bp,
        'ceil',
        'peakrate',
        'bandwidth.conflict',
        'give ceil (htb: borrow up to it) or peakrate (tbf: bursts no faster than it), not both',
      );
      notBoth(
        r,
        b,
        bp,
        'ceil',
        'latency',
        'bandwidth.conflict',
        'with ceil the class queues in a plain fifo: size it with limit, not latency',
      );
      if (b.mtu !== undefined && b.peakrate === undefined)
        r.add('bandwidth.mtu', [...bp, 'mtu'], 'mtu sizes the peak bucket; it applies only with peakrate');
    }
    if (isObj(f.dns)) {
      const d = f.dns;
      const dp: Path = [...p, 'dns'];
      if (d.action === 'delay' && d.delay === undefined)
        r.add('dns.delay', dp, 'a dns delay needs delay: how long each query waits, e.g. delay: 2s');
      if (d.action !== 'delay' && d.action !== undefined && d.delay !== undefined)
        r.add('dns.delay', [...dp, 'delay'], `delay applies to action delay, not ${String(d.action)}; remove it`);
      positive(r, d.delay, [...dp, 'delay'], 'delay');
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

    if (f.verify === 'probe' && action !== undefined) checkProbe(r, f, p, action);

    // When.
    checkFaultTiming(r, f, p);
  });
}
