// The api layer's value parsers and printers: durations, tc quantities, IPs/CIDRs, hashes, issue text.
// (One file: each test file costs a process start, and these tests take microseconds.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDuration, formatDuration, isDuration } from '../../../src/api/duration.js';
import { parsePercent, parseRate, parseSize } from '../../../src/api/quantity.js';
import {
  parseCidr,
  parseIp,
  formatIp,
  cidrContains,
  cidrContainsCidr,
  formatCidr,
  normalizeCidr,
  readCidr,
  type Cidr,
} from '../../../src/api/net.js';
import { formatPath, formatIssue } from '../../../src/api/format.js';
import { fnv1a32 } from '../../../src/api/hash.js';

// ---------------------------------------------------------------- Durations (Go syntax)
test('parseDuration reads Go durations into milliseconds', () => {
  const table: [string, number][] = [
    ['100ms', 100],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.5h', 1_800_000],
    ['300us', 0.3],
    ['300µs', 0.3], // U+00B5 micro sign
    ['300μs', 0.3], // U+03BC greek mu
    ['1500ns', 0.0015],
    ['2m0s', 120_000],
    ['0', 0],
    ['0s', 0],
    ['-1s', -1000],
    ['+1s', 1000],
    ['.5s', 500],
    // from the timeline's former private parser
    ['150ms', 150],
    ['1.s', 1000],
    ['1h0m30s', 3_630_000],
    ['1m1m', 120_000],
    ['-30s', -30_000],
    ['+5s', 5000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['2000000ns', 2],
  ];
  for (const [input, ms] of table) assert.equal(parseDuration(input), ms, input);
});

test('parseDuration counts whole nanoseconds, so fractions are exact (the timeline once multiplied floats)', () => {
  // The timeline's own parser gave 1000.0001000000001 and 5e-7 here.
  assert.equal(parseDuration('1.0000001s'), 1000.0001);
  assert.equal(parseDuration('0.5ns'), 0.000001); // rounded to a whole nanosecond
  assert.equal(parseDuration('4.36ns'), 0.000004);
});

test('parseDuration rejects what Go rejects, saying why and showing an example', () => {
  const table: [string, RegExp][] = [
    ['', /empty/],
    ['100', /has no unit/],
    ['5 s', /"5" is followed by " s", which is not a unit/],
    ['1d', /"1" is followed by "d"/],
    ['s', /no number/],
    ['1h30', /"30" has no unit/],
    ['abc', /unexpected/],
    // from the timeline's former private parser
    ['30', /"30" has no unit/],
    ['m', /no number/],
    ['.s', /no number/],
    ['1h 30m', /unexpected " 30m"/],
    [' 1s', /unexpected/],
    ['1s ', /unexpected/],
    ['-', /empty/],
    ['1.2.3s', /is followed by/],
    ['one minute', /unexpected/],
    ['1S', /"1" is followed by "S"/],
  ];
  for (const [input, why] of table) {
    assert.throws(
      () => parseDuration(input),
      (e: Error) => why.test(e.message) && /e\.g\. "100ms"/.test(e.message),
      input,
    );
  }
  assert.equal(isDuration('1m'), true);
  assert.equal(isDuration('1 m'), false);
  assert.equal(isDuration(60), false);
});

test('formatDuration writes the shortest natural form', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [100, '100ms'],
    [1500, '1.5s'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [90_061_001, '25h1m1.001s'],
    [0.25, '250us'],
    [0.000_01, '10ns'],
    [-1000, '-1s'],
    // from the timeline's former private formatter (Gantt axis labels, whole milliseconds)
    [150, '150ms'],
    [120_000, '2m'],
    [3_630_000, '1h30s'],
    [-30_000, '-30s'],
    [172_800_000, '48h'],
  ];
  for (const [ms, text] of table) assert.equal(formatDuration(ms), text, String(ms));
});

test('formatDuration keeps fractions of a millisecond and refuses infinity (the timeline rounded and drew ∞)', () => {
  assert.equal(formatDuration(150.7), '150.7ms');
  assert.equal(formatDuration(0.5), '500us');
  assert.throws(() => formatDuration(Infinity), /cannot format duration Infinity/);
});

test('formatDuration and parseDuration round-trip to the nanosecond', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1e12, max: 1e12 }), (ns) => {
      const ms = ns / 1e6;
      return Math.abs(parseDuration(formatDuration(ms)) - ms) < 1e-9;
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------- tc quantities
test('parsePercent reads "N%"', () => {
  for (const [input, value] of [
    ['25%', 25],
    ['0.1%', 0.1],
    ['100%', 100],
    ['0%', 0],
    ['120%', 120],
  ] as const) {
    assert.equal(parsePercent(input), value, input);
  }
  for (const bad of ['25', '%', '25 %', '-1%', 'abc', '1e2%']) {
    assert.throws(() => parsePercent(bad), /invalid percent .* e\.g\. "25%"/, bad);
  }
});

test('parseRate uses tc(8) units: bit decimal, kibit binary, bps bytes per second', () => {
  const table: [string, number][] = [
    ['500', 500],
    ['500bit', 500],
    ['1kbit', 1e3],
    ['1mbit', 1e6],
    ['2.5mbit', 2.5e6],
    ['1gbit', 1e9],
    ['1tbit', 1e12],
    ['1kibit', 1024],
    ['1mibit', 1024 ** 2],
    ['1gibit', 1024 ** 3],
    ['1tibit', 1024 ** 4],
    ['1bps', 8],
    ['1kbps', 8e3],
    ['10mbps', 8e7],
    ['1gbps', 8e9],
    ['1tbps', 8e12],
    ['1kibps', 8 * 1024],
    ['1mibps', 8 * 1024 ** 2],
    ['1gibps', 8 * 1024 ** 3],
    ['1tibps', 8 * 1024 ** 4],
    ['1Mbit', 1e6], // tc compares units case-insensitively
    ['1KiBps', 8 * 1024],
  ];
  for (const [input, bps] of table) assert.equal(parseRate(input), bps, input);
  for (const bad of ['', 'mbit', '1 mbit', '1mb', '1kibi', '10%', '-1mbit']) {
    assert.throws(() => parseRate(bad), /invalid rate .* e\.g\. "1mbit"/, bad);
  }
});

test('parseSize uses tc(8) units, which are binary', () => {
  const table: [string, number][] = [
    ['1500', 1500],
    ['1500b', 1500],
    ['32k', 32 * 1024],
    ['32kb', 32 * 1024],
    ['1m', 1024 ** 2],
    ['1mb', 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['1kbit', 128],
    ['1mbit', 1024 ** 2 / 8],
    ['1gbit', 1024 ** 3 / 8],
    ['1.5kb', 1536],
    ['32KB', 32 * 1024],
  ];
  for (const [input, bytes] of table) assert.equal(parseSize(input), bytes, input);
  for (const bad of ['', 'kb', '1 kb', '1kib', '1tb', '1bps']) {
    assert.throws(() => parseSize(bad), /invalid size .* e\.g\. "32kb"/, bad);
  }
});

// ---------------------------------------------------------------- IP addresses and CIDRs
const cidr = (s: string): Cidr => {
  const r = parseCidr(s);
  assert.ok(r.ok, s);
  return r.cidr;
};

test('parseIp accepts strict IPv4 and IPv6 text', () => {
  for (const ok of [
    '10.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    'fd00:30::10',
    '1:2:3:4:5:6:7:8',
    '::ffff:10.0.0.1',
    'FD00::A',
  ]) {
    assert.ok(parseIp(ok), ok);
  }
  for (const bad of [
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '10.0.0.1.2',
    '1::2::3',
    '12345::',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:10.0.0',
    'x',
  ]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('formatIp writes canonical text (RFC 5952 for IPv6)', () => {
  const round = (s: string): string => {
    const ip = parseIp(s);
    assert.ok(ip, s);
    return formatIp(ip.family, ip.value);
  };
  assert.equal(round('10.0.0.1'), '10.0.0.1');
  assert.equal(round('FD00:0030:0000:0000:0000:0000:0000:0010'), 'fd00:30::10');
  assert.equal(round('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(round('::'), '::');
  assert.equal(round('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
});

test('parseCidr explains what is wrong and offers a fix', () => {
  const table: [string, RegExp, string | undefined][] = [
    ['10.0.0.0/33', /prefix length 33 exceeds 32 for IPv4/, '10.0.0.0/24'],
    ['fd00::/129', /prefix length 129 exceeds 128 for IPv6/, 'fd00::/64'],
    ['10.0.0.5/24', /host bits are set; the network address is 10\.0\.0\.0\/24/, '10.0.0.0/24'],
    ['fd00::1/64', /host bits are set; the network address is fd00::\/64/, 'fd00::/64'],
    ['10.0.0.0', /prefix length is missing/, '10.0.0.0/24'],
    ['10.0.0.300/24', /"10\.0\.0\.300" is not an IPv4 address/, undefined],
    ['fd00:::/64', /is not an IPv6 address/, undefined],
    ['10.0.0.0/x', /prefix length "x" is not a number/, '10.0.0.0/24'],
    ['', /empty/, undefined],
  ];
  for (const [input, reason, suggestion] of table) {
    const r = parseCidr(input);
    assert.equal(r.ok, false, input);
    if (r.ok) continue;
    assert.match(r.reason, reason, input);
    assert.equal(r.suggestion, suggestion, input);
  }
});

test('containment of addresses and ranges', () => {
  const net = cidr('10.30.0.0/24');
  assert.equal(cidrContains(net, parseIp('10.30.0.254')!), true);
  assert.equal(cidrContains(net, parseIp('10.30.1.1')!), false);
  assert.equal(cidrContains(net, parseIp('fd00::1')!), false);
  assert.equal(cidrContainsCidr(net, cidr('10.30.0.128/25')), true);
  assert.equal(cidrContainsCidr(net, cidr('10.30.0.0/16')), false);
  assert.equal(cidrContainsCidr(cidr('fd00:30::/64'), cidr('fd00:30::/80')), true);
  assert.equal(formatCidr(cidr('0.0.0.0/0')), '0.0.0.0/0');
});

test('one grammar for spec and kernel: what the netfaults CIDR parser used to accept is refused on both sides', () => {
  // Docker (Go) refuses leading zeros; iptables reads them as octal ("010" is 8): never pass them on.
  const table: [string, string][] = [
    ['010.0.0.1', '10.0.0.1/32'], // octet with a leading zero
    ['10.0.0.0/08', '10.0.0.0/8'], // prefix length with a leading zero
    ['::ffff:010.0.0.1', '::ffff:a00:1/128'], // leading zero in an IPv6 dotted tail
    ['::f0.0.0.5', '::f0:5/128'], // a dotted tail glued to a hex group
    [' 10.0.0.1', '10.0.0.1/32'], // surrounding space (it used to be trimmed)
  ];
  for (const [text, formerly] of table) {
    assert.throws(() => normalizeCidr(text), /not an IP address or CIDR/, `${text} (netfaults read ${formerly})`);
    assert.equal(readCidr(text), undefined, text);
    assert.equal(parseCidr(text).ok, false, text);
  }
});

test('readCidr takes a bare address as one host and clears host bits, as iptables does', () => {
  assert.deepEqual(readCidr('10.213.0.7'), { family: 4, network: 0x0ad50007n, prefix: 32 });
  assert.equal(normalizeCidr('10.213.0.7/24'), '10.213.0.0/24');
  assert.equal(normalizeCidr('fd00::7'), 'fd00::7/128');
  assert.equal(normalizeCidr('0.0.0.0/0'), '0.0.0.0/0');
  for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/9', 'fe80::1%eth0', '']) {
    assert.equal(readCidr(bad), undefined, bad);
  }
});

test('where ipaddr.js alone would read differently, the IPv4 rules of Go win', () => {
  const round = (s: string): string | undefined => {
    const ip = parseIp(s);
    return ip && formatIp(ip.family, ip.value);
  };
  assert.equal(round('::1.2.3.4'), '::102:304'); // RFC 4291 IPv4-compatible, not ::ffff:1.2.3.4
  assert.equal(round('::ffff:1.2.3.4'), '::ffff:102:304');
  for (const bad of ['10.1', '167772161', '0x0a.0.0.1', '10.0.0.00']) assert.equal(round(bad), undefined, bad);
});

// ---------------------------------------------------------------- Hashes
test('fnv1a32 is FNV-1a 32-bit (tc class minors and ifb names depend on these values)', () => {
  assert.deepEqual(['', 'a', 'foobar'].map(fnv1a32), [0x811c9dc5, 0xe40c292c, 0xbf9cf968]);
});

// ---------------------------------------------------------------- Issue formatting
test('formatPath writes dots for keys and [n] for items', () => {
  const table: [(string | number)[], string][] = [
    [[], ''],
    [['spec'], 'spec'],
    [['spec', 'networks', 0, 'ipam', 'config', 0, 'subnet'], 'spec.networks[0].ipam.config[0].subnet'],
    [['spec', 'containers', 1, 'labels', 'com.example/role'], 'spec.containers[1].labels["com.example/role"]'],
    [['spec', 'containers', 0, 'env', 'A=B'], 'spec.containers[0].env["A=B"]'],
    [['spec', 'faults', 2, 'partition', 'groups', 0, 1], 'spec.faults[2].partition.groups[0][1]'],
  ];
  for (const [path, text] of table) assert.equal(formatPath(path), text);
});

test('formatIssue is file:line:col: path: message, leaving out what is unknown', () => {
  const path = ['spec', 'networks', 0, 'ipam', 'config', 0, 'subnet'];
  const message = '"10.0.0.0/33" is not a valid CIDR: prefix length 33 exceeds 32 for IPv4; write e.g. 10.0.0.0/24';
  assert.equal(
    formatIssue('scenarios/x.yaml', { code: 'cidr.invalid', path, message, line: 12, column: 7 }),
    `scenarios/x.yaml:12:7: spec.networks[0].ipam.config[0].subnet: ${message}`,
  );
  assert.equal(
    formatIssue('x.yaml', { code: 'c', path, message: 'm', line: 3 }),
    'x.yaml:3: spec.networks[0].ipam.config[0].subnet: m',
  );
  assert.equal(formatIssue('x.yaml', { code: 'c', path: [], message: 'm' }), 'x.yaml: m');
  assert.equal(formatIssue('x.yaml', { code: 'c', path: [], message: 'm', line: 1, column: 1 }), 'x.yaml:1:1: m');
});
