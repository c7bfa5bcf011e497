// Golden tests: a table of ledgers and the exact programs they compile to. The golden files in
// golden/ double as worked examples of what faultline writes into a container's kernel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec } from '../../../src/api/types.js';
import {
  FULL_CAPS,
  blockedSenders,
  buildEntries,
  compileLedger,
  diffLedger,
  formatDiff,
  observedFromDesired,
  partitionBlocks,
  type Capabilities,
  type CompiledLedger,
  type Ledger,
  type LedgerEntry,
  type ResolvedFault,
} from '../../../src/netfaults/index.js';
import { THIS_KERNEL, golden } from './helpers.js';

type Fault = { scenario: string; spec: FaultSpec; resolved?: ResolvedFault };

function ledgerOf(
  netns: string,
  faults: Fault[],
  caps: Capabilities,
  interfaces = ['eth0'],
): { ledger: Ledger; built: ReturnType<typeof buildEntries>['degraded'] } {
  const entries: LedgerEntry[] = [];
  const built = [];
  for (const f of faults) {
    const r = buildEntries(f.scenario, f.spec, f.resolved ?? {}, caps);
    entries.push(...r.entries);
    built.push(...r.degraded);
  }
  return { ledger: { netns, interfaces, entries }, built };
}

function render(c: CompiledLedger, built: { reason: string; message: string }[]): string {
  const out: string[] = [];
  out.push('## entries', ...c.ledger.entries.map((e) => JSON.stringify(e)));
  const degraded = [...built, ...c.degraded];
  out.push('## degraded', ...(degraded.length ? degraded.map((d) => `${d.reason}: ${d.message}`) : ['(none)']));
  out.push('## mechanisms', ...c.mechanisms.map((m) => `${m.scenario}/${m.fault}: ${m.mechanisms.join(', ')}`));
  out.push('## apply', formatDiff(c.apply).trimEnd(), '## teardown', formatDiff(c.teardown).trimEnd());
  return out.join('\n') + '\n';
}

function check(
  name: string,
  netns: string,
  faults: Fault[],
  caps: Capabilities,
  interfaces?: string[],
): CompiledLedger {
  const { ledger, built } = ledgerOf(netns, faults, caps, interfaces);
  const c = compileLedger(ledger, caps);
  golden(`${name}.txt`, render(c, built));
  // Applied exactly as compiled, the kernel would read back equal: zero commands.
  const again = diffLedger(c, observedFromDesired(c));
  assert.equal(again.empty, true, formatDiff(again));
  assert.deepEqual(again.pendingKeys, []);
  return c;
}

const DB = { peersV4: ['10.213.0.3'] };

describe('golden: ledgers → tc batch + iptables-restore', () => {
  it('single delay on all egress traffic', () => {
    const c = check(
      'single-delay',
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'slow', netem: { delay: '100ms', jitter: '10ms', correlation: '25%', distribution: 'normal' } },
        },
      ],
      FULL_CAPS,
    );
    assert.equal(c.apply.iptablesProgram?.includes('FAULTLINE-INPUT'), false, 'a pure tc fault writes no filter rules');
  });

  it('loss without sch_netem falls back to iptables statistic; the delay is reported, not faked', () => {
    const c = check(
      'loss-fallback-no-netem',
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'slow-db', peers: { names: ['db'] }, netem: { delay: '100ms', loss: '20%' } },
          resolved: DB,
        },
        { scenario: 'shop', spec: { name: 'lossy-in', direction: 'ingress', netem: { loss: '5%' } } },
      ],
      THIS_KERNEL,
    );
    assert.equal(c.degraded.length, 0);
    const { built } = ledgerOf(
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'slow-db', peers: { names: ['db'] }, netem: { delay: '100ms', loss: '20%' } },
          resolved: DB,
        },
      ],
      THIS_KERNEL,
    );
    assert.deepEqual(built, [
      {
        scenario: 'shop',
        fault: 'slow-db',
        reason: 'KernelLacksNetem',
        message:
          'fault "slow-db": kernel has no sch_netem; delay 100ms cannot be applied (loss falls back to iptables statistic; load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM)',
      },
    ]);
    // egress loss never becomes an OUTPUT drop (EPERM for the sender): mark + tc blackhole
    assert.ok(!c.apply.iptablesProgram!.includes('FAULTLINE-OUTPUT'));
    assert.ok(c.apply.iptablesProgram!.includes('-j MARK --set-xmark 0x800000/0x800000'));
  });

  it('bandwidth to one peer', () => {
    check(
      'bandwidth-one-peer',
      'api',
      [
        {
          scenario: 'shop',
          spec: {
            name: 'thin-db',
            peers: { names: ['db'] },
            bandwidth: { rate: '1mbit', burst: '32kb', limit: '64kb' },
          },
          resolved: DB,
        },
      ],
      FULL_CAPS,
    );
  });

  it('stacked: delay for all + partition from one peer + bandwidth to another', () => {
    const c = check(
      'stacked',
      'api',
      [
        { scenario: 'shop', spec: { name: 'slow-all', netem: { delay: '100ms', loss: '1%' } } },
        {
          scenario: 'shop',
          spec: { name: 'cut-cache', partition: {} },
          resolved: { partitionDropFrom: { v4: ['10.213.0.5'], v6: [] } },
        },
        {
          scenario: 'shop',
          spec: { name: 'thin-db', peers: { names: ['db'] }, bandwidth: { rate: '1mbit' } },
          resolved: DB,
        },
      ],
      FULL_CAPS,
    );
    // the db traffic class carries both faults: netem (delay) with a tbf child (bandwidth)
    const both = c.devices[0].classes.find((k) => k.keys.length === 2)!;
    assert.deepEqual(both.keys, ['shop/slow-all', 'shop/thin-db']);
    assert.equal(both.leaf.kind, 'netem');
    assert.equal(both.leaf.child?.kind, 'tbf');
  });

  it('two scenarios on one container merge into one tree, each class tagged with both', () => {
    check(
      'two-scenarios',
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'slow-db', peers: { names: ['db'] }, ports: ['5432'], netem: { delay: '50ms' } },
          resolved: DB,
        },
        { scenario: 'chaos', spec: { name: 'flaky', netem: { loss: '10%', delay: '10ms' } } },
      ],
      FULL_CAPS,
    );
  });

  for (const direction of ['both', 'egress'] as const) {
    it(`partition of 4 nodes (${direction === 'both' ? 'both ways' : 'one-way'}): drops on each receiver's INPUT`, () => {
      const ips: Record<string, string> = {
        n1: '10.213.0.11',
        n2: '10.213.0.12',
        n3: '10.213.0.13',
        n4: '10.213.0.14',
      };
      const groups = [
        ['n1', 'n2'],
        ['n3', 'n4'],
      ];
      const senders = blockedSenders(partitionBlocks(groups, direction));
      const out: string[] = [];
      for (const node of Object.keys(ips)) {
        const from = senders.get(node) ?? [];
        const spec: FaultSpec = { name: 'split', partition: { groups }, direction };
        const { ledger } = ledgerOf(
          node,
          [{ scenario: 'jepsen', spec, resolved: { partitionDropFrom: { v4: from.map((n) => ips[n]), v6: [] } } }],
          FULL_CAPS,
        );
        const c = compileLedger(ledger, FULL_CAPS);
        assert.equal(c.apply.tcPrograms.length, 0, 'a partition is pure iptables');
        out.push(
          `## ${node} (${ips[node]}) ignores ${from.join(', ') || 'nobody'}`,
          formatDiff(c.apply).trimEnd() || '(nothing)',
        );
      }
      golden(`partition-4-${direction === 'both' ? 'both' : 'one-way'}.txt`, out.join('\n') + '\n');
    });
  }

  it('blackhole on a port range: INPUT drop for ingress, tc blackhole below the socket for egress', () => {
    const c = check(
      'blackhole-ports',
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'hole', blackhole: {}, ports: ['8000-8100'] },
          resolved: { peersV4: ['10.213.7.0/24'] },
        },
      ],
      FULL_CAPS,
    );
    assert.ok(c.apply.tcPrograms[0].batch.includes('blackhole'));
    assert.ok(!c.apply.iptablesProgram!.includes('FAULTLINE-OUTPUT'), 'never a DROP in OUTPUT');
  });

  it('reject with tcp-reset: TCP gets a reset, everything else port-unreachable', () => {
    check(
      'reject-tcp-reset',
      'db',
      [
        {
          scenario: 'shop',
          spec: { name: 'refuse', reject: { with: 'tcp-reset' } },
          resolved: { peersV4: ['10.213.0.2'], peersV6: ['fd00:213::2'] },
        },
      ],
      FULL_CAPS,
    );
  });

  it('ingress delay through an owned ifb', () => {
    const c = check(
      'ingress-ifb',
      'db',
      [
        {
          scenario: 'shop',
          spec: { name: 'slow-in', direction: 'ingress', netem: { delay: '30ms' } },
          resolved: { peersV4: ['10.213.0.2'] },
        },
      ],
      FULL_CAPS,
      ['eth0', 'eth1'],
    );
    assert.deepEqual(c.ifbs, ['flifb-eth0', 'flifb-eth1']);
  });

  it('ingress delay without ifb: degraded with a reason, loss still falls back', () => {
    const caps = { ...FULL_CAPS, ifb: false };
    check(
      'ingress-no-ifb',
      'db',
      [{ scenario: 'shop', spec: { name: 'slow-in', direction: 'ingress', netem: { delay: '30ms', loss: '2%' } } }],
      caps,
    );
  });

  it('IPv6 peers: ip6 u32 filters and ip6tables rules', () => {
    check(
      'ipv6-peers',
      'api',
      [
        {
          scenario: 'v6',
          spec: { name: 'slow', peers: { names: ['db'] }, netem: { delay: '20ms' } },
          resolved: { peersV4: ['10.213.0.3'], peersV6: ['fd00:213::3'] },
        },
        {
          scenario: 'v6',
          spec: { name: 'cut', partition: {} },
          resolved: { partitionDropFrom: { v4: [], v6: ['fd00:213::/64'] } },
        },
      ],
      FULL_CAPS,
    );
  });

  it('two netem faults, one duplicating: duplicate dropped where the kernel would refuse the tree', () => {
    const c = check(
      'duplicate-conflict',
      'api',
      [
        { scenario: 'a', spec: { name: 'dup', peers: { names: ['db'] }, netem: { duplicate: '5%' } }, resolved: DB },
        { scenario: 'b', spec: { name: 'slow', netem: { delay: '10ms' } } },
      ],
      FULL_CAPS,
    );
    assert.deepEqual(
      c.degraded.map((d) => d.reason),
      ['NetemDuplicateConflict'],
    );
  });

  // ---------------------------------------------------------------- issue 10: netem and bandwidth

  it('netem: 4-state loss with ecn, slots, a queue limit and a rate with packet and cell overhead', () => {
    const c = check(
      'netem-extras',
      'api',
      [
        {
          scenario: 'radio',
          spec: {
            name: 'burst-loss',
            peers: { names: ['db'] },
            netem: {
              delay: '10ms',
              lossState: { p13: '1%', p31: '30%', p32: '2%', p23: '60%', p14: '0.5%' },
              ecn: true,
              limit: 500,
            },
          },
          resolved: DB,
        },
        {
          scenario: 'radio',
          spec: {
            name: 'wifi',
            netem: {
              slot: { minDelay: '1ms', maxDelay: '5ms', packets: 10, bytes: '3000b' },
              rate: { rate: '1mbit', packetOverhead: 20, cellSize: 48, cellOverhead: -4 },
            },
          },
        },
      ],
      FULL_CAPS,
    );
    // where both faults hit (packets to db), one netem carries both
    const both = c.devices[0].classes.find((k) => k.keys.length === 2)!;
    assert.match(
      both.leafArgs,
      /^netem limit 500 delay 10ms loss state 1% 30% 2% 60% 0.5% ecn rate 1mbit 20 48 -4 slot 1ms 5ms packets 10 bytes 3000$/,
    );
  });

  it("netem: a loss model given in part is written with tc's own defaults for the rest", () => {
    const c = check(
      'loss-models',
      'api',
      [
        {
          scenario: 'm',
          spec: { name: 'ge-p', peers: { names: ['db'] }, netem: { gemodel: { p: '1%' } } },
          resolved: DB,
        },
        {
          scenario: 'm',
          spec: { name: 'ge-k', peers: { names: ['cache'] }, netem: { gemodel: { p: '2%', k: '0.1%' } } },
          resolved: { peersV4: ['10.213.0.4'] },
        },
        {
          scenario: 'm',
          spec: {
            name: 'ge-all',
            peers: { names: ['web'] },
            netem: { gemodel: { p: '1%', r: '20%', h: '30%', k: '0.1%' } },
          },
          resolved: { peersV4: ['10.213.0.5'] },
        },
        {
          scenario: 'm',
          spec: { name: 'four', peers: { names: ['mq'] }, netem: { lossState: { p13: '5%', p32: '1%' } } },
          resolved: { peersV4: ['10.213.0.6'] },
        },
      ],
      FULL_CAPS,
    );
    const leaf = (key: string) => c.devices[0].classes.find((k) => k.keys.length === 1 && k.keys[0] === key)!;
    // the spec's h is the delivery probability in the Bad state; tc takes the loss there ("1-h")
    assert.equal(leaf('m/ge-all').leafArgs, 'netem loss gemodel 1% 20% 70% 0.1%');
    assert.equal(leaf('m/ge-k').leafArgs, 'netem loss gemodel 2% 98% 100% 0.1%');
    assert.deepEqual(leaf('m/ge-p').leaf.params, { geP: 1, geR: 99, ge1h: 100 });
    assert.equal(leaf('m/four').leafArgs, 'netem loss state 5% 95% 1%');
  });

  it('netem extras without sch_netem: named in the degradation, never faked', () => {
    const { built } = ledgerOf(
      'api',
      [
        {
          scenario: 'radio',
          spec: {
            name: 'wifi',
            netem: {
              lossState: { p13: '1%' },
              ecn: true,
              slot: { minDelay: '1ms' },
              limit: 100,
              rate: { rate: '1mbit', packetOverhead: 20 },
            },
          },
        },
      ],
      THIS_KERNEL,
    );
    assert.deepEqual(
      built.map((d) => d.message),
      [
        'fault "wifi": kernel has no sch_netem; 4-state loss, ecn, slot, limit 100, rate overhead cannot be applied (rate falls back to tbf; load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM)',
      ],
    );
  });

  it('bandwidth with ceil: htb classes under one parent that is as large as the largest ceil', () => {
    const c = check(
      'bandwidth-ceil',
      'api',
      [
        {
          scenario: 'shop',
          spec: { name: 'to-db', peers: { names: ['db'] }, bandwidth: { rate: '1mbit', ceil: '4mbit' } },
          resolved: DB,
        },
        {
          scenario: 'shop',
          spec: {
            name: 'to-cache',
            peers: { names: ['cache'] },
            bandwidth: { rate: '2mbit', ceil: '3mbit', limit: '16kb' },
          },
          resolved: { peersV4: ['10.213.0.4'] },
        },
        {
          scenario: 'shop',
          spec: { name: 'flat', peers: { names: ['web'] }, bandwidth: { rate: '5mbit' } },
          resolved: { peersV4: ['10.213.0.5'] },
        },
      ],
      FULL_CAPS,
    );
    const d = c.devices[0];
    assert.deepEqual(d.parent?.shape, { rateBps: 4e6, ceilBps: 4e6 });
    assert.deepEqual(
      d.classes.map((x) => [x.keys.join('+'), x.shape ? `${x.shape.rateBps}/${x.shape.ceilBps}` : 'tbf']),
      [
        ['shop/flat', 'tbf'],
        ['shop/to-cache', '2000000/3000000'],
        ['shop/to-db', '1000000/4000000'],
      ],
    );
    assert.deepEqual(
      c.mechanisms.map((m) => `${m.fault}: ${m.mechanisms.join('+')}`),
      ['flat: tbf', 'to-cache: htb', 'to-db: htb'],
    );
  });

  it('bandwidth with peakrate: a tbf with a peak bucket of one frame', () => {
    check(
      'bandwidth-peakrate',
      'api',
      [
        {
          scenario: 'shop',
          spec: {
            name: 'bursty',
            peers: { names: ['db'] },
            bandwidth: { rate: '1mbit', burst: '64kb', peakrate: '4mbit' },
          },
          resolved: DB,
        },
      ],
      FULL_CAPS,
    );
  });

  // ---------------------------------------------------------------- issue 10: ports

  const DIRECTIONAL: Fault[] = [
    {
      scenario: 'shop',
      spec: {
        name: 'thin-queries',
        peers: { names: ['db'] },
        destinationPorts: ['5432'],
        bandwidth: { rate: '2mbit' },
      },
      resolved: { peersV4: ['10.213.0.3'], peersV6: ['fd00:213::3'] },
    },
    {
      scenario: 'shop',
      spec: {
        name: 'thin-replies',
        direction: 'ingress',
        sourcePorts: ['8000-8100'],
        destinationPorts: ['1024-65535'],
        protocol: 'udp',
        bandwidth: { rate: '1mbit' },
      },
    },
  ];

  it('sourcePorts / destinationPorts with cls_flower: one node per range, headers parsed by the kernel', () => {
    const c = check('ports-flower', 'api', DIRECTIONAL, FULL_CAPS);
    assert.ok(c.devices.every((d) => d.groups.every((g) => g.classifier === 'flower')));
  });

  it('sourcePorts / destinationPorts with cls_bpf (no flower, as here): IHL and IPv6 extension headers walked', () => {
    const c = check('ports-bpf', 'api', DIRECTIONAL, THIS_KERNEL);
    assert.ok(c.devices.every((d) => d.groups.every((g) => g.classifier === 'bpf')));
    // and iptables: --sports / --dports as separate multiport matches
    const { ledger } = ledgerOf(
      'db',
      [
        {
          scenario: 'shop',
          spec: {
            name: 'refuse',
            reject: { with: 'tcp-reset' },
            direction: 'ingress',
            sourcePorts: ['1024-65535'],
            destinationPorts: ['5432'],
          },
        },
      ],
      THIS_KERNEL,
    );
    assert.match(
      compileLedger(ledger, THIS_KERNEL).apply.iptablesProgram!,
      /-A FAULTLINE-INPUT -p tcp -m multiport --sports 1024:65535 -m multiport --dports 5432 -m tcp ! --tcp-flags RST RST -m comment --comment "faultline:shop\/refuse" -j REJECT --reject-with tcp-reset/,
    );
  });

  it('ports on a kernel with neither flower nor bpf: u32 at fixed offsets, reported', () => {
    const caps = { ...THIS_KERNEL, flower: false, bpf: false };
    const c = check('ports-u32-fallback', 'api', [DIRECTIONAL[0]], caps);
    assert.deepEqual([...new Set(c.degraded.map((d) => d.reason))], ['FixedOffsetPortMatch']);
  });

  // ---------------------------------------------------------------- issue 10: DNS

  it('dns drop and refuse: INPUT rules on queries to 127.0.0.11, by name in DNS wire form', () => {
    const c = check(
      'dns-drop-refuse',
      'api',
      [
        { scenario: 'shop', spec: { name: 'no-dns', dns: { action: 'drop' } } },
        {
          scenario: 'shop',
          spec: { name: 'no-db', dns: { action: 'refuse', names: ['DB', 'cache.internal.', 'a.db'] } },
        },
      ],
      FULL_CAPS,
    );
    assert.equal(c.apply.tcPrograms.length, 0, 'drop and refuse are iptables only');
    assert.deepEqual(
      c.ledger.entries[1].match.dns,
      { names: ['cache.internal', 'db'] },
      'lower case, a.db is under db',
    );
  });

  it('dns delay: netem on lo; by name, iptables marks the queries and cls_bpf picks the mark', () => {
    const c = check(
      'dns-delay',
      'api',
      [
        { scenario: 'shop', spec: { name: 'slow-dns', dns: { action: 'delay', delay: '2s' } } },
        { scenario: 'shop', spec: { name: 'slow-db', dns: { action: 'delay', delay: '500ms', names: ['db'] } } },
      ],
      FULL_CAPS,
    );
    assert.deepEqual(
      c.devices.map((d) => d.dev),
      ['lo'],
    );
    // queries for db get both delays (2.5 s); others 2 s
    assert.deepEqual(
      c.devices[0].classes.map((k) => [k.keys.join('+'), k.leafArgs]),
      [
        ['shop/slow-db+shop/slow-dns', 'netem delay 2500ms'],
        ['shop/slow-dns', 'netem delay 2s'],
      ],
    );
  });

  it('dns delay without sch_netem: degraded, nothing installed; drop still works', () => {
    const c = check(
      'dns-delay-no-netem',
      'api',
      [
        { scenario: 'shop', spec: { name: 'slow-dns', dns: { action: 'delay', delay: '2s' } } },
        { scenario: 'shop', spec: { name: 'no-db', dns: { action: 'drop', names: ['db'] } } },
      ],
      THIS_KERNEL,
    );
    assert.equal(c.apply.tcPrograms.length, 0);
  });
});
