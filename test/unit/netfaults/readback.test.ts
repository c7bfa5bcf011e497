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
import { THIS_KERNEL, fixture, fixtureJson } from './helpers.js';

type Raw = Parameters<typeof observeNetns>[0];

/** The ledger that was applied in the scratch netns when applied-linux-6.18.json was captured. */
const APPLIED: [string, FaultSpec, ResolvedFault][] = [
  ['shop', { name: 'slow-all', netem: { delay: '100ms', loss: '1%' } }, {}],
  [
    'shop',
    { name: 'db-link', bandwidth: { rate: '1mbit', burst: '32kb' }, peers: { names: ['db'] } },
    { peersV4: ['10.213.0.2'], peersV6: ['fd00:213::2'] },
  ],
  [
    'shop',
    { name: 'split', partition: { generator: 'halves' } },
    { partitionDropFrom: { v4: ['10.213.0.4'], v6: ['fd00:213::4'] } },
  ],
  ['shop', { name: 'hole', blackhole: {}, ports: ['8000-8100'] }, { peersV4: ['10.213.7.0/24'] }],
  ['shop', { name: 'refuse', reject: { with: 'tcp-reset' }, direction: 'ingress' }, { peersV4: ['10.213.0.9'] }],
  [
    'shop',
    { name: 'in-slow', bandwidth: { rate: '5mbit', burst: '64kb', limit: '128kb' }, direction: 'ingress' },
    { peersV4: ['10.213.0.2'] },
  ],
];

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
    const tbf = q.find((r) => r.dev === 'eth0' && r.kind === 'tbf')!;
    assert.deepEqual(leafStateFromQdisc(tbf).params, { rateBytes: 125000, burstBytes: 32768, latUs: 50000 });
    assert.ok(q.some((r) => r.dev === 'eth0' && r.kind === 'ingress' && r.parent === 'ffff:fff1'));
  });

  it('tc -j filter show: multi-key u32 nodes keep every key (duplicate "match" members)', () => {
    const f = parseTcFilters(raw.perDevice.eth0.filters!);
    const hole = f.filter((x) => x.flowid === '1fa1:12e8');
    assert.equal(hole.length, 8, 'four port blocks × {sport, dport}');
    assert.deepEqual(
      hole[0].keys.map((k) => [k.off, k.value.toString(16), k.mask.toString(16)]),
      [
        [8, '60000', 'ff0000'],
        [16, 'ad50700', 'ffffff00'],
        [20, '1f40', 'ffc0'],
      ],
    );
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
      c.filter((x) => x.kind === 'htb').map((x) => [x.classid, x.parent, x.leaf]),
      [
        ['1fa1:12e8', undefined, '12e8:'],
        ['1fa1:1a49', undefined, '1a49:'],
        ['1fa1:6ba0', undefined, '6ba0:'],
      ],
    );
    assert.deepEqual(parseTcClasses('[{"class":"htb","handle":"1fa1:10","root":true,"leaf":"10:"}]'), [
      { kind: 'htb', classid: '1fa1:10', parent: undefined, leaf: '10:' },
    ]);
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
    assert.deepEqual([...tagsFromIptables(s).entries()].slice(0, 1), [['eth0 1fa1:1a49', ['shop/db-link']]]);
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
      f.name === 'db-link' ? [s, { ...f, bandwidth: { rate: '2mbit', burst: '32kb' } } as FaultSpec, r] : [s, f, r],
    );
    const d = diffLedger(compileFaults(changed, THIS_KERNEL), applied());
    assert.equal(d.iptablesProgram, undefined);
    assert.deepEqual(
      d.tcPrograms.map((p) => [p.dev, p.batch.split('\n').filter((l) => l && !l.startsWith('#'))]),
      [['eth0', ['qdisc replace dev eth0 parent 1fa1:1a49 handle 1a49: tbf rate 2mbit burst 32kb latency 50ms']]],
    );
    assert.deepEqual(d.pendingKeys, ['shop/db-link']);
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
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/db-link tc eth0 1fa1:1a49" -j RETURN',
        '-A FAULTLINE-TAGS -m comment --comment "faultline:shop/slow-all tc eth0 1fa1:6ba0" -j RETURN',
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
    const gone = ownedButUnwanted(applied(), ['shop/slow-all', 'shop/split', 'shop/refuse', 'shop/db-link']);
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
        '4 filter/FAULTLINE-TAGS shop/hole',
        '4 filter/FAULTLINE-TAGS shop/in-slow',
        'tc eth0 1fa1:12e8 shop/hole',
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
