// Small pieces: quantities, CIDR math, u32 keys, entries from FaultSpecs, the capability probe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FULL_CAPS,
  PROBE_PROGRAM,
  buildEntries,
  mergeNetem,
  parsePorts,
  parseProbe,
  renderProbability,
} from '../../../src/netfaults/index.js';
import { intersectCidr, normalizeCidr } from '../../../src/api/net.js';
import { portBlocks, u32Words } from '../../../src/netfaults/u32.js';
import { atomsOf, intersectAtoms, u32NodesFor } from '../../../src/netfaults/match.js';
import {
  parseDurationUs,
  parsePct,
  parseRateBps,
  parseSizeBytes,
  renderRate,
  renderTime,
} from '../../../src/api/quantity.js';
import { THIS_KERNEL } from './helpers.js';

describe('quantities (api/ parsers, integer base units, tc spellings)', () => {
  it('durations, percents, rates, sizes in tc units', () => {
    assert.equal(parseDurationUs('1h30m'), 5_400_000_000);
    assert.equal(parseDurationUs('150ms'), 150_000);
    assert.equal(parseDurationUs('1.5s'), 1_500_000);
    assert.equal(parseDurationUs('250us'), 250);
    assert.throws(() => parseDurationUs('5 parsecs'));
    assert.equal(parsePct('0.1%'), 0.1);
    assert.throws(() => parsePct('101%'));
    assert.equal(parseRateBps('1mbit'), 1_000_000);
    assert.equal(parseRateBps('10mbps'), 80_000_000, 'mbps is megaBYTES per second in tc');
    assert.equal(parseRateBps('1kibit'), 1024);
    assert.equal(parseSizeBytes('32kb'), 32768);
    assert.equal(parseSizeBytes('1500'), 1500);
    assert.equal(renderTime(1500), '1500us');
    assert.equal(renderRate(2_500_000), '2500kbit');
  });

  it('statistic probability is spelled the way iptables-save prints it', () => {
    assert.equal(renderProbability(20), '0.20000000019');
    assert.equal(renderProbability(1), '0.00999999978');
    assert.equal(renderProbability(100), '1.00000000000');
  });
});

describe('CIDR and u32', () => {
  it('canonical spellings match iptables-save', () => {
    assert.equal(normalizeCidr('10.213.0.7/24'), '10.213.0.0/24');
    assert.equal(normalizeCidr('10.213.0.7'), '10.213.0.7/32');
    assert.equal(normalizeCidr('FD00:0213:0:0:0:0:0:0002'), 'fd00:213::2/128');
    assert.equal(normalizeCidr('fd00:0:0:1::/64'), 'fd00:0:0:1::/64');
    assert.equal(normalizeCidr('::ffff:10.0.0.1'), '::ffff:a00:1/128');
  });

  it('intersections of prefixes', () => {
    assert.equal(intersectCidr('10.0.0.0/8', '10.213.0.2/32'), '10.213.0.2/32');
    assert.equal(intersectCidr('10.213.0.0/24', '10.213.1.0/24'), null);
    assert.equal(intersectCidr('10.0.0.0/8', 'fd00::/8'), null);
  });

  it('u32 words and port blocks as iproute2 builds them', () => {
    assert.deepEqual(u32Words('fd00:1:2:3:4:5:6:0/120'), [
      { word: 0, value: 0xfd000001, mask: 0xffffffff },
      { word: 1, value: 0x00020003, mask: 0xffffffff },
      { word: 2, value: 0x00040005, mask: 0xffffffff },
      { word: 3, value: 0x00060000, mask: 0xffffff00 },
    ]);
    assert.deepEqual(u32Words('0.0.0.0/0'), []);
    assert.deepEqual(
      portBlocks(8000, 8100).map((b) => [b.value, b.mask.toString(16)]),
      [
        [8000, 'ffc0'],
        [8064, 'ffe0'],
        [8096, 'fffc'],
        [8100, 'ffff'],
      ],
    );
  });

  it('sport and dport in one node fold into one key at offset 20 (as captured: 15381f40/ffffffe0)', () => {
    const [node] = u32NodesFor(
      { family: 4, cidr: '10.213.0.0/16', sport: [5432, 5432], dport: [8000, 8031] },
      'ingress',
    );
    assert.equal(node.matchText, 'match ip src 10.213.0.0/16 match ip sport 5432 0xffff match ip dport 8000 0xffe0');
    assert.deepEqual(node.keys, [
      { off: 12, value: 0x0ad50000, mask: 0xffff0000 },
      { off: 20, value: 0x15381f40, mask: 0xffffffe0 },
    ]);
  });

  it('"ports" means source OR destination: one atom per side; overlaps stay exact', () => {
    const a = atomsOf({ protocol: 'tcp', direction: 'egress', ports: [[5432, 5432]] });
    assert.equal(a.length, 4, 'v4/v6 × sport/dport');
    const x = intersectAtoms({ family: 4, proto: 'tcp', sport: [5432, 5432] }, { family: 4, dport: [8080, 8080] });
    assert.deepEqual(x, { family: 4, proto: 'tcp', sport: [5432, 5432], dport: [8080, 8080] });
    assert.equal(intersectAtoms({ family: 4, proto: 'icmp' }, { family: 4, dport: [1, 2] }), null);
  });
});

describe('buildEntries', () => {
  it('ports default the protocol to tcp; "both" splits into two directions', () => {
    const r = buildEntries(
      's',
      { name: 'hole', blackhole: {}, ports: ['80', '8000-8100', '81'] },
      { peersV4: ['10.213.0.9'] },
      FULL_CAPS,
    );
    assert.deepEqual(
      r.entries.map((e) => [e.match.direction, e.match.protocol, e.match.ports]),
      [
        [
          'egress',
          'tcp',
          [
            [80, 81],
            [8000, 8100],
          ],
        ],
        [
          'ingress',
          'tcp',
          [
            [80, 81],
            [8000, 8100],
          ],
        ],
      ],
    );
  });

  it('peers that resolve to nothing install nothing', () => {
    assert.deepEqual(
      buildEntries(
        's',
        { name: 'x', peers: { names: ['gone'] }, netem: { delay: '1ms' } },
        { peersV4: [], peersV6: [] },
        FULL_CAPS,
      ).entries,
      [],
    );
  });

  it('netem rate without sch_netem becomes a tbf bandwidth entry', () => {
    const r = buildEntries('s', { name: 'slow', netem: { rate: '1mbit', duplicate: '1%' } }, {}, THIS_KERNEL);
    assert.deepEqual(
      r.entries.map((e) => e.action),
      ['bandwidth'],
    );
    assert.equal(
      r.degraded[0].message,
      'fault "slow": kernel has no sch_netem; duplicate 1% cannot be applied (rate falls back to tbf; load sch_netem or run on a kernel with CONFIG_NET_SCH_NETEM)',
    );
  });

  it('disconnect and container actions are not netns faults', () => {
    assert.deepEqual(buildEntries('s', { name: 'd', disconnect: { network: 'n' } }, {}, FULL_CAPS).entries, []);
  });

  it('parsePorts merges overlapping and adjacent ranges', () => {
    assert.deepEqual(parsePorts(['10-20', '21', '5', '15-30']), [
      [5, 5],
      [10, 30],
    ]);
  });
});

describe('stacked netem composes in series', () => {
  it('delays add, jitters add in quadrature, losses are independent, rate is the bottleneck', () => {
    const notes: string[] = [];
    const m = mergeNetem(
      [
        { delayUs: 100_000, jitterUs: 30_000, lossPct: 10, rateBps: 5_000_000 },
        { delayUs: 50_000, jitterUs: 40_000, lossPct: 20, delayCorrelationPct: 25, rateBps: 1_000_000 },
      ],
      notes,
    );
    assert.deepEqual(m, {
      delayUs: 150_000,
      jitterUs: 50_000,
      delayCorrelationPct: 25,
      lossPct: 28,
      rateBps: 1_000_000,
    });
    assert.deepEqual(notes, []);
  });
});

describe('capability probe', () => {
  it('is argument arrays (no shell: the only argument with spaces is a bpf bytecode)', () => {
    for (const s of PROBE_PROGRAM)
      assert.ok(
        s.argv.every((a, i) => typeof a === 'string' && (!a.includes(' ') || s.argv[i - 1] === 'bytecode')),
        s.argv.join(' '),
      );
  });

  it('u32 mark counts only when the kernel dumps it back (CONFIG_CLS_U32_MARK)', () => {
    const base = PROBE_PROGRAM.map((s) => ({
      id: s.id,
      code: 0,
      stdout: s.id === 'iptables-version' ? 'iptables v1.8.9 (nf_tables)' : '',
      stderr: '',
    }));
    assert.equal(parseProbe(base).u32Mark, false, 'accepted but not shown: silently ignored by the kernel');
    const shown = base.map((r) =>
      r.id === 'u32Mark-show'
        ? { ...r, stdout: '... *flowid 1fa1:103 not_in_hw \n  mark 0x800000 0x800000 (success 0)' }
        : r,
    );
    assert.equal(parseProbe(shown).u32Mark, true);
  });

  it('the captured probe of this machine: no netem, no flower, no matchall/gact, everything else', () => {
    assert.deepEqual(THIS_KERNEL, {
      netem: false,
      tbf: true,
      htb: true,
      blackhole: true,
      ingress: true,
      clsact: true,
      ifb: true,
      mirred: true,
      u32: true,
      u32Mark: false,
      bpf: true,
      flower: false,
      matchall: false,
      gact: false,
      iptables: 'nft',
      ip6tables: 'nft',
      statistic: true,
      multiport: true,
      string: true,
      reject: true,
      mark: true,
    });
  });

  it('a missing step counts as unsupported; htb failing takes everything under it down', () => {
    const ok = PROBE_PROGRAM.map((s) => ({
      id: s.id,
      code: s.id === 'htb' ? 2 : 0,
      stdout: s.id === 'iptables-version' ? 'iptables v1.8.7 (legacy)' : '',
      stderr: '',
    }));
    const caps = parseProbe(ok);
    assert.equal(caps.htb, false);
    assert.equal(caps.netem, false);
    assert.equal(caps.u32, false);
    assert.equal(caps.iptables, 'legacy');
    assert.equal(parseProbe([]).iptables, null);
  });
});

describe('overlap explosion is bounded and reported', () => {
  it('ten faults that all overlap stop at MAX_REGIONS classes, with a StackedFaultsApproximated condition', async () => {
    const { compileLedger, buildEntries } = await import('../../../src/netfaults/index.js');
    const { MAX_REGIONS } = await import('../../../src/netfaults/tc.js');
    const entries = Array.from(
      { length: 10 },
      (_, i) => buildEntries('s', { name: `f${i}`, netem: { delay: `${i + 1}ms` } }, {}, FULL_CAPS).entries,
    ).flat();
    const c = compileLedger({ netns: 'x', interfaces: ['eth0'], entries }, FULL_CAPS);
    assert.equal(c.devices[0].classes.length, MAX_REGIONS);
    assert.ok(c.degraded.every((d) => d.reason === 'StackedFaultsApproximated') && c.degraded.length === 10);
    // the biggest overlap that was computed comes first, and the tree still round-trips
    assert.ok(c.devices[0].classes[0].keys.length >= 3);
  });
});
