// Read-back parsers against output captured from a real kernel (Linux 6.18, iproute2 6.1,
// iptables 1.8.9 nft) and the diff/sweep built on them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultSpec } from '../../../src/api/types.js';
import {
  FULL_CAPS,
  buildEntries,
  compileLedger,
  diffLedger,
  emptyDesired,
  formatDiff,
  observeNetns,
  observedFromDesired,
  ownedButUnwanted,
  parseIpLinks,
  parseIptablesSave,
  parseTcClasses,
  parseTcFilters,
  parseTcQdiscs,
  parseTcRateText,
  deviceState,
  readbackCommands,
  tagsFromIptables,
  type Capabilities,
  type LedgerEntry,
  type ObservedNetns,
  type ResolvedFault,
} from '../../../src/netfaults/index.js';
import { parseJsonKeepDuplicates } from '../../../src/netfaults/json.js';
import { leafStateFromQdisc } from '../../../src/netfaults/readback.js';
import { leavesEqual } from '../../../src/netfaults/tc.js';
import { flowerNodeFor } from '../../../src/netfaults/match.js';
import { THIS_KERNEL, fixture, fixtureJson } from './helpers.js';
import { APPLIED } from './applied.js';

type Raw = Parameters<typeof observeNetns>[0];

function compileFaults(faults: [string, FaultSpec, ResolvedFault][], caps: Capabilities, netns = 'api') {
  const entries: LedgerEntry[] = faults.flatMap(([s, f, r]) => buildEntries(s, f, r, caps).entries);
  return compileLedger({ netns, interfaces: ['eth0'], entries }, caps);
}

const applied = () => observeNetns(fixtureJson<Raw>('applied-linux-6.18.json'));

describe('json: duplicate keys are kept', () => {
  it('turns repeated "match" members into an array, in order', () => {
    const v = parseJsonKeepDuplicates('{"a":1,"match":{"off":16},"match":{"off":8},"b":[true,null,"x\\"y"]}') as Record<
      string,
      unknown
    >;
    assert.deepEqual(v, { a: 1, match: [{ off: 16 }, { off: 8 }], b: [true, null, 'x"y'] });
  });
});

describe('parsers on captured kernel output', () => {
  const raw = fixtureJson<Raw>('applied-linux-6.18.json');

  it('tc -j qdisc show: roots, leaves, per-device records', () => {
    const q = parseTcQdiscs(raw.qdiscs);
    const root = q.find((r) => r.dev === 'eth0' && r.root)!;
    assert.equal(root.kind, 'htb');
    assert.equal(root.handle, '1fa1:');
    const tbf = q.find((r) => r.dev === 'eth0' && r.handle === '1a49:')!;
    assert.deepEqual(leafStateFromQdisc(tbf).params, { rateBytes: 125000, burstBytes: 32768, latUs: 50000 });
    assert.ok(q.some((r) => r.dev === 'eth0' && r.kind === 'ingress' && r.parent === 'ffff:fff1'));
    // the htb-shaped class queues in a bfifo
    assert.deepEqual(leafStateFromQdisc(q.find((r) => r.handle === '221f:')!).params, { limit: 131072 });
  });

  it('a tbf peak bucket: "minburst" in JSON, the peak rate from `tc qdisc show` text (iproute2 6.1)', () => {
    assert.equal(raw.qdiscsText!.includes('peakrate 8Mbit minburst 1513b'), true);
    const web = applied()
      .devices.find((d) => d.dev === 'eth0')!
      .classes.find((c) => c.classid === '1fa1:3397')!;
    assert.deepEqual(web.leaf!.params, {
      rateBytes: 250000,
      burstBytes: 65536,
      latUs: 50001,
      mtuBytes: 1513,
      peakBytes: 1000000,
    });
  });

  it('tc -j filter show: multi-key u32 nodes keep every key (duplicate "match" members); bpf bytecode', () => {
    const f = parseTcFilters(raw.perDevice.eth0.filters!);
    const v6 = f.find((x) => x.flowid === '1fa1:1a49' && x.protocol === 'ipv6')!;
    assert.deepEqual(
      v6.keys.map((k) => [k.off, k.value.toString(16), k.mask.toString(16)]),
      [
        [24, 'fd000213', 'ffffffff'],
        [28, '0', 'ffffffff'],
        [32, '0', 'ffffffff'],
        [36, '2', 'ffffffff'],
      ],
    );
    // ports: one cls_bpf program per side of the range, read back as its instructions
    const hole = f.filter((x) => x.flowid === '1fa1:12e8');
    assert.deepEqual(
      hole.map((x) => x.kind),
      ['bpf', 'bpf'],
    );
    assert.match(hole[0].sig!, /^bpf:32 0 0 30,84 0 0 4294967040,21 0 9 181733120,48 0 0 23,21 0 7 6,/);
    const mark = f.find((x) => x.pref === 16)!;
    assert.equal(mark.protocol, 'all');
    assert.equal(mark.kind, 'bpf');
    assert.equal(mark.sig, 'bpf:32 0 0 4294963220,84 0 0 8388608,21 0 1 8388608,6 0 0 4294967295,6 0 0 0');
  });

  it('tc -j filter show ingress: the mirred redirect to our ifb', () => {
    const f = parseTcFilters(raw.perDevice.eth0.ingressFilters!);
    assert.equal(f.length, 1);
    assert.equal(f[0].pref, 0x1fa1);
    assert.equal(f[0].redirectTo, 'flifb-eth0');
  });

  it('tc class show: iproute2 6.1 prints text even with -j', () => {
    const c = parseTcClasses(raw.perDevice.eth0.classes!);
    assert.deepEqual(
      c.filter((x) => x.kind === 'htb').map((x) => [x.classid, x.parent, x.leaf, x.rateBps, x.ceilBps]),
      [
        ['1fa1:1', undefined, undefined, 4e6, 4e6],
        ['1fa1:12e8', undefined, '12e8:', 100e9, 100e9],
        ['1fa1:1a49', undefined, '1a49:', 100e9, 100e9],
        ['1fa1:6ba0', undefined, '6ba0:', 100e9, 100e9],
        ['1fa1:221f', '1fa1:1', '221f:', 1e6, 4e6],
        ['1fa1:12f2', undefined, '12f2:', 100e9, 100e9],
        ['1fa1:3397', undefined, '3397:', 100e9, 100e9],
      ],
    );
    assert.deepEqual(parseTcClasses('[{"class":"htb","handle":"1fa1:10","root":true,"leaf":"10:"}]'), [
      { kind: 'htb', classid: '1fa1:10', parent: undefined, leaf: '10:' },
    ]);
    assert.equal(parseTcRateText('1234Kbit'), 1234000);
    assert.equal(parseTcRateText('1Mibit'), 1048576);
  });

  it('ip -j -d link show: the owned ifb, up', () => {
    const l = parseIpLinks(raw.links!);
    assert.deepEqual(
      l.find((x) => x.name === 'flifb-eth0'),
      { name: 'flifb-eth0', kind: 'ifb', up: true },
    );
  });

  it('iptables-save: tables, chains and rules; statistic probability as the kernel rounds it', () => {
    const s = parseIptablesSave(raw.iptables!);
    assert.deepEqual(s.tables.filter.chains, ['INPUT', 'FORWARD', 'OUTPUT', 'FAULTLINE-INPUT', 'FAULTLINE-TAGS']);
    assert.equal(s.tables.filter.rules[0].spec, '-j FAULTLINE-INPUT');
    assert.match(s.tables.mangle.rules[1].spec, /--probability 0\.00999999978 /);
    assert.deepEqual([...tagsFromIptables(s).entries()].slice(0, 1), [
      ['eth0 1fa1:12f2', ['shop/db-link', 'shop/queries']],
    ]);
    // a DNS name in wire form, printed in hex by iptables-save
    assert.ok(
      s.tables.filter.rules.some((r) =>
        r.spec.startsWith('-d 127.0.0.11/32 -p udp -m string --hex-string "|02646200|" --algo bm --from 40 --icase'),
      ),
    );
  });

  it('netem JSON (shape from iproute2 q_netem.c; sch_netem is absent on the capture machine)', () => {
    const q = parseTcQdiscs(fixture('netem-qdisc-iproute2-synthesized.json'));
    const st = deviceState('eth0', q);
    const full = st.classes.find((c) => c.classid === '1fa1:2534')!;
    assert.deepEqual(full.leaf!.params, {
      delayUs: 100000,
      jitterUs: 10000,
      delayCorrPct: 25,
      lossPct: 20,
      lossCorrPct: 25,
      duplicatePct: 1,
      corruptPct: 0.1,
      reorderPct: 25,
      reorderCorrPct: 50,
      gap: 5,
      rateBytes: 125000,
    });
    assert.equal(full.leaf!.child!.kind, 'tbf');
    assert.deepEqual(st.classes.find((c) => c.classid === '1fa1:7ee8')!.leaf!.params, { geP: 1, geR: 10, ge1h: 50 });
  });

  it('netem JSON compares equal to the leaf we would write for the same parameters', () => {
    const c = compileFaults(
      [
        [
          'shop',
          {
            name: 'n',
            netem: {
              delay: '100ms',
              jitter: '10ms',
              correlation: '25%',
              loss: { percent: '20%', correlation: '25%' },
              duplicate: '1%',
              corrupt: '0.1%',
              reorder: { percent: '25%', correlation: '50%', gap: 5 },
              rate: '1mbit',
            },
          },
          {},
        ],
      ],
      FULL_CAPS,
    );
    const want = c.devices[0].classes[0].leaf;
    const got = deviceState('eth0', parseTcQdiscs(fixture('netem-qdisc-iproute2-synthesized.json'))).classes.find(
      (x) => x.classid === '1fa1:2534',
    )!.leaf!;
    assert.deepEqual({ ...got, child: undefined, handle: undefined }, { ...want, child: undefined, handle: undefined });
  });
});

describe('diff against the kernel', () => {
  it('the captured state of an applied ledger diffs to ZERO commands', () => {
    const c = compileFaults(APPLIED, THIS_KERNEL);
    const d = diffLedger(c, applied());
    assert.equal(d.empty, true, formatDiff(d));
    assert.deepEqual(d.pendingKeys, []);
    assert.deepEqual(d.conflicts, []);
  });

  it('a parameter change is one `qdisc replace` of one leaf; nothing else is touched', () => {
    const changed = APPLIED.map(([s, f, r]): [string, FaultSpec, ResolvedFault] =>
      f.name === 'web-link'
        ? [s, { ...f, bandwidth: { rate: '3mbit', burst: '64kb', peakrate: '8mbit' } } as FaultSpec, r]
        : [s, f, r],
    );
    const d = diffLedger(compileFaults(changed, THIS_KERNEL), applied());
    assert.equal(d.iptablesProgram, undefined);
    assert.deepEqual(
      d.tcPrograms.map((p) => [p.dev, p.batch.split('\n').filter((l) => l && !l.startsWith('#'))]),
      [
        [
          'eth0',
          [
            'qdisc replace dev eth0 parent 1fa1:3397 handle 3397: tbf rate 3mbit burst 64kb latency 50ms peakrate 8mbit mtu 1514b',
          ],
        ],
      ],
    );
    assert.deepEqual(d.pendingKeys, ['shop/web-link']);
  });

  it('a ceil change is one `class change` (and the parent follows the largest ceil; the leaf queue keeps its GSO floor)', () => {
    const changed = APPLIED.map(([s, f, r]): [string, FaultSpec, ResolvedFault] =>
      f.name === 'cache-link' ? [s, { ...f, bandwidth: { rate: '1mbit', ceil: '6mbit' } } as FaultSpec, r] : [s, f, r],
    );
    const d = diffLedger(compileFaults(changed, THIS_KERNEL), applied());
    assert.deepEqual(
      d.tcPrograms.map((p) => p.batch.split('\n').filter((l) => l && !l.startsWith('#'))),
      [
        [
          'class change dev eth0 classid 1fa1:1 htb rate 6mbit ceil 6mbit',
          'class change dev eth0 classid 1fa1:221f htb rate 1mbit ceil 6mbit burst 3028b cburst 7500b',
        ],
      ],
    );
  });

  it('a class that starts shaping with ceil is deleted and added again under the parent, filters too', () => {
    const changed = APPLIED.map(([s, f, r]): [string, FaultSpec, ResolvedFault] =>
      f.name === 'web-link' ? [s, { ...f, bandwidth: { rate: '2mbit', ceil: '8mbit' } } as FaultSpec, r] : [s, f, r],
    );
    const d = diffLedger(compileFaults(changed, THIS_KERNEL), applied());
    assert.deepEqual(
      d.tcPrograms.map((p) => p.batch.split('\n').filter((l) => l && !l.startsWith('#'))),
      [
        [
          'filter del dev eth0 parent 1fa1: protocol ip prio 16224',
          'class del dev eth0 classid 1fa1:3397',
          'class change dev eth0 classid 1fa1:1 htb rate 8mbit ceil 8mbit',
          'class add dev eth0 parent 1fa1:1 classid 1fa1:3397 htb rate 2mbit ceil 8mbit burst 3028b cburst 10000b',
          'qdisc add dev eth0 parent 1fa1:3397 handle 3397: bfifo limit 131072',
          'filter add dev eth0 parent 1fa1: protocol ip prio 16224 u32 match ip dst 10.213.0.6/32 flowid 1fa1:3397',
        ],
      ],
    );
  });

  it('removing one fault removes its filters and class; the owned chains are rebuilt as a whole', () => {
    const fewer = APPLIED.filter(([, f]) => f.name !== 'hole');
    const d = diffLedger(compileFaults(fewer, THIS_KERNEL), applied());
    assert.deepEqual(
      d.tcPrograms.map((p) => p.batch),
      ['filter del dev eth0 parent 1fa1: protocol ip prio 15842\nclass del dev eth0 classid 1fa1:12e8\n'],
    );
    assert.equal(
      d.iptablesProgram,
      [
        '*filter',
        ':FAULTLINE-INPUT - [0:0]',
        ':FAULTLINE-TAGS - [0:0]',
        '-A FAULTLINE-INPUT -s 10.213.0.4/32 -m comment --comment "faultline:shop/split" -j DROP',
        '-A FAULTLINE-INPUT -s 10.213.0.9/32 -p tcp -m tcp ! --tcp-flags RST RST -m comment --comment "faultline:shop/refuse" -j REJECT --reject-with tcp-reset',
        '-A FAULTLINE-INPUT -s 10.213.0.9/32 -m conntrack ! --ctstate RELATED -m comment --comment "faultline:shop/refuse" -j REJECT --reject-with icmp-port-unreachable',
        '-A FAULTLINE-INPUT -d 127.0.0.11/32 -p udp -m string --hex-string "|02646200|" --algo bm --from 40 --icase -m comment --comment "faultline:shop/no-db-name" -j REJECT --reject-with icmp-port-unreachable',
        '-A FAULTLINE-INPUT -d 127.0.0.11/32 -p tcp -m string --hex-string "|02646200|" --algo bm --from 40 --icase -m comment --comment "faultline:shop/no-db-name" -j REJECT --reject-with tcp-reset',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/db-link tc eth0 1fa1:12f2" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/queries tc eth0 1fa1:12f2" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/cache-link tc eth0 1fa1:221f" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/db-link tc eth0 1fa1:1a49" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/web-link tc eth0 1fa1:3397" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/slow-all tc eth0 1fa1:6ba0" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/cache-link tc eth0 1fa1:1" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/in-slow tc flifb-eth0 1fa1:3b57" -j RETURN',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('a foreign root qdisc is never replaced: conflict; Docker nat rules and user rules are never touched', () => {
    const raw = fixtureJson<Raw>('docker-netns-applied.json');
    const obs = observeNetns(raw);
    const faults: [string, FaultSpec, ResolvedFault][] = [
      ['shop', { name: 'split', partition: {} }, { partitionDropFrom: { v4: ['10.213.0.1'], v6: [] } }],
      ['shop', { name: 'refuse', reject: { with: 'tcp-reset' }, ports: ['8000-8100'], direction: 'ingress' }, {}],
      ['shop', { name: 'thin', bandwidth: { rate: '2mbit', burst: '32kb' } }, {}],
    ];
    const c = compileFaults(faults, THIS_KERNEL, 'db');
    const d = diffLedger(c, obs);
    assert.equal(d.empty, true, formatDiff(d));
    assert.deepEqual(
      d.conflicts.map((x) => [x.fault, x.reason]),
      [['thin', 'ForeignQdisc']],
    );
    assert.match(d.conflicts[0].message, /eth0 already has a root qdisc faultline does not own \(tbf 8004:\)/);
    assert.deepEqual(d.pendingKeys, ['shop/thin']);
    // our jump sits before the user's ESTABLISHED,RELATED accept
    assert.deepEqual(
      obs.iptables!.tables.filter.rules.filter((r) => r.chain === 'INPUT').map((r) => r.spec),
      [
        '-j FAULTLINE-INPUT',
        '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-s 10.213.9.9/32 -m comment --comment "user rule" -j ACCEPT',
      ],
    );
    // teardown touches FAULTLINE-* only, never the foreign tbf, nat, or the user's rules
    const t = diffLedger(emptyDesired(['eth0']), obs);
    assert.equal(t.tcPrograms.length, 0);
    assert.equal(
      t.iptablesProgram,
      '*filter\n:FAULTLINE-INPUT - [0:0]\n:FAULTLINE-TAGS - [0:0]\n-D INPUT -j FAULTLINE-INPUT\n-X FAULTLINE-INPUT\n-X FAULTLINE-TAGS\nCOMMIT\n',
    );
  });

  it('a jump that is not first (someone inserted above us) is moved back to position 1', () => {
    const c = compileFaults(
      [['shop', { name: 'split', partition: {} }, { partitionDropFrom: { v4: ['10.213.0.1'], v6: [] } }]],
      FULL_CAPS,
      'db',
    );
    const obs = observedFromDesired(c);
    obs.iptables!.tables.filter.rules.unshift({
      chain: 'INPUT',
      spec: '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    });
    const d = diffLedger(c, obs);
    assert.equal(d.iptablesProgram, '*filter\n-D INPUT -j FAULTLINE-INPUT\n-I INPUT 1 -j FAULTLINE-INPUT\nCOMMIT\n');
  });

  it('a class that lost its leaf (a half-applied batch) gets the leaf back, nothing more', () => {
    const c = compileFaults([['shop', { name: 'thin', bandwidth: { rate: '2mbit', burst: '32kb' } }, {}]], FULL_CAPS);
    const obs: ObservedNetns = observedFromDesired(c);
    delete obs.devices[0].classes[0].leaf;
    const d = diffLedger(c, obs);
    const minor = c.devices[0].classes[0].minor.toString(16);
    assert.deepEqual(
      d.tcPrograms[0].batch.split('\n').filter((l) => l && !l.startsWith('#')),
      [`qdisc add dev eth0 parent 1fa1:${minor} handle ${minor}: tbf rate 2mbit burst 32kb latency 50ms`],
    );
  });

  it('read-back commands are argument arrays', () => {
    assert.deepEqual(readbackCommands(['eth0'], ['flifb-eth0']).slice(0, 5), [
      { id: 'qdiscs', argv: ['tc', '-j', 'qdisc', 'show'] },
      { id: 'links', argv: ['ip', '-j', '-d', 'link', 'show'] },
      { id: 'iptables', argv: ['iptables-save'] },
      { id: 'ip6tables', argv: ['ip6tables-save'] },
      { id: 'classes', dev: 'eth0', argv: ['tc', '-j', 'class', 'show', 'dev', 'eth0'] },
    ]);
  });
});

describe('orphan sweep (after a SIGKILL: scenario files are the truth, the kernel has leftovers)', () => {
  it('lists every owned object whose scenario/fault is not live, tc classes via the tag chain', () => {
    const gone = ownedButUnwanted(applied(), [
      'shop/slow-all',
      'shop/split',
      'shop/refuse',
      'shop/db-link',
      'shop/queries',
      'shop/web-link',
      'shop/no-db-name',
    ]);
    assert.deepEqual(
      gone.map((o) =>
        o.kind === 'iptables-rule'
          ? `${o.family} ${o.table}/${o.chain} ${o.key}`
          : o.kind === 'tc-class'
            ? `tc ${o.dev} ${o.classid} ${o.deadKeys.join(',')}`
            : `ifb ${o.name}`,
      ),
      [
        '4 filter/FAULTLINE-INPUT shop/hole',
        '4 filter/FAULTLINE-TAGS shop/cache-link',
        '4 filter/FAULTLINE-TAGS shop/hole',
        '4 filter/FAULTLINE-TAGS shop/cache-link',
        '4 filter/FAULTLINE-TAGS shop/in-slow',
        'tc eth0 1fa1:1 shop/cache-link',
        'tc eth0 1fa1:12e8 shop/hole',
        'tc eth0 1fa1:221f shop/cache-link',
        'tc flifb-eth0 1fa1:3b57 shop/in-slow',
        'ifb flifb-eth0',
      ],
    );
    assert.deepEqual(
      ownedButUnwanted(
        applied(),
        APPLIED.map(([s, f]) => `${s}/${f.name}`),
      ),
      [],
    );
  });
});

// Captured in the netem guest (Debian 6.1 kernel, iproute2 6.1): netem with the issue-10 options and
// flower filters, as `tc -j` prints them. Each must compare equal to what faultline would write.
describe('read-back of netem extras and flower (captured in the netem guest)', () => {
  const g = fixtureJson<{ qdiscs: unknown[]; filters: unknown[] }>('guest-6.1-netem-flower.json');
  const leaves = new Map(
    parseTcQdiscs(JSON.stringify(g.qdiscs), 'fa').map((q) => [q.handle, leafStateFromQdisc(q)] as const),
  );
  const leafFor = (netem: FaultSpec['netem']) =>
    compileFaults([['g', { name: 'n', netem } as FaultSpec, {}]], FULL_CAPS).devices[0].classes[0].leaf;
  const cases: [string, FaultSpec['netem']][] = [
    [
      '101:',
      {
        delay: '10ms',
        lossState: { p13: '1%', p31: '30%', p32: '2%', p23: '60%', p14: '0.5%' },
        ecn: true,
        limit: 500,
      },
    ],
    [
      '102:',
      {
        slot: { minDelay: '1ms', maxDelay: '5ms', packets: 10, bytes: '3000' },
        rate: { rate: '1mbit', packetOverhead: 20, cellSize: 48, cellOverhead: -4 },
      },
    ],
    ['103:', { gemodel: { p: '1%', r: '20%', h: '30%', k: '0.1%' } }],
    ['104:', { gemodel: { p: '1%' } }],
    ['105:', { slot: { minDelay: '2ms' }, rate: { rate: '2mbit', packetOverhead: -10 } }],
  ];
  for (const [handle, netem] of cases)
    it(`netem ${handle} ${JSON.stringify(netem)}`, () => {
      const got = leaves.get(handle)!;
      const want = leafFor(netem);
      assert.ok(leavesEqual(want, got), `want ${JSON.stringify(want.params)}\ngot  ${JSON.stringify(got.params)}`);
    });

  it('a netem that differs in one extra is not equal (slot packets, ecn)', () => {
    assert.ok(
      !leavesEqual(
        leafFor({ slot: { minDelay: '2ms', packets: 5 }, rate: { rate: '2mbit', packetOverhead: -10 } }),
        leaves.get('105:'),
      ),
    );
    assert.ok(
      !leavesEqual(
        leafFor({
          delay: '10ms',
          lossState: { p13: '1%', p31: '30%', p32: '2%', p23: '60%', p14: '0.5%' },
          limit: 500,
        }),
        leaves.get('101:'),
      ),
    );
  });

  it('flower nodes read back as the signature faultline writes', () => {
    const sigs = parseTcFilters(JSON.stringify(g.filters)).map((f) => f.sig);
    const want = [
      flowerNodeFor({ family: 4, cidr: '10.0.0.3/32', proto: 'tcp', dport: [5432, 5432] }, 'egress'),
      flowerNodeFor({ family: 4, cidr: '10.0.0.0/24', proto: 'udp', sport: [8000, 8100] }, 'egress'),
      flowerNodeFor({ family: 4, proto: 'tcp', sport: [80, 80], dport: [1024, 65535] }, 'egress'),
      flowerNodeFor({ family: 6, cidr: 'fd00::3/128', proto: 'tcp', dport: [5432, 5432] }, 'egress'),
      flowerNodeFor({ family: 6, cidr: 'fd00::/64', proto: 'udp' }, 'ingress'),
      flowerNodeFor({ family: 4, cidr: '10.0.0.3/32', proto: 'icmp' }, 'egress'),
    ].map((n) => n.sig);
    assert.deepEqual(sigs, want);
    assert.equal(want[0], 'flower:ip_proto=tcp,dst_ip=10.0.0.3/32,dst_port=5432');
  });
});
