// validateScenario through parseScenario: codes, paths, positions and the words of each message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../../src/api/parse.js';
import { validateScenario } from '../../../src/api/validate.js';
import { formatPath } from '../../../src/api/format.js';
import type { Issue } from '../../../src/api/types.js';
import { FULL } from './fixtures.js';

const HEAD = 'apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: demo\nspec:\n';

interface Expected {
  code: string;
  path: string;
  /** A snippet of the file; the issue must point at its first character (first occurrence). */
  at?: string;
  message?: RegExp;
}

function issuesOf(text: string): Issue[] {
  const r = parseScenario(text, 'x.yaml');
  return r.ok ? [] : r.issues;
}

/** Line and column (1-based) of the first occurrence of `needle` in `text`. */
function position(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `snippet not found: ${needle}`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1] as string).length + 1 };
}

/** Exactly these issues (by code and path), each at its snippet and with its words. */
function expectIssues(text: string, expected: Expected[]): void {
  const issues = issuesOf(text);
  const got = issues.map((i) => `${i.code} ${formatPath(i.path)}`).sort();
  const want = expected.map((e) => `${e.code} ${e.path}`).sort();
  assert.deepEqual(got, want, JSON.stringify(issues, null, 1));
  for (const e of expected) {
    const issue = issues.find((i) => i.code === e.code && formatPath(i.path) === e.path) as Issue;
    if (e.at !== undefined) {
      const p = position(text, e.at);
      assert.deepEqual({ line: issue.line, column: issue.column }, p, `${e.code} ${e.path} position`);
    }
    if (e.message) assert.match(issue.message, e.message, `${e.code} ${e.path}`);
  }
}

const spec = (body: string): string => HEAD + body;

test('a scenario exercising every field produces zero issues', () => {
  assert.deepEqual(issuesOf(FULL), []);
});

test('validateScenario works on plain objects too (no positions)', () => {
  const issues = validateScenario({
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 'x' },
    spec: { faults: [{ name: 'f' }] },
  });
  assert.deepEqual(
    issues.map((i) => [i.code, formatPath(i.path), i.line]),
    [['fault.action', 'spec.faults[0]', undefined]],
  );
  const notAnObject = validateScenario('hello');
  assert.equal(notAnObject[0]?.code, 'schema.type');
});

test('unknown fields at any depth are errors that point at the key and suggest the field meant', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: net',
      '      ipam:',
      '        config:',
      '          - subnet: 10.0.0.0/24',
      '            gatway: 10.0.0.1',
      '  faults:',
      '    - name: slow',
      '      targets: { names: [a] }',
      '      netem: { delay: 10ms, duplicate: { percent: 1%, corelation: 5% } }',
      '      jitter: 5ms',
      '  colour: red',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'schema.additionalProperties',
      path: 'spec.networks[0].ipam.config[0].gatway',
      at: 'gatway',
      message: /^unknown field "gatway"; did you mean "gateway"\? \(allowed: subnet, gateway, ipRange, auxAddresses\)$/,
    },
    {
      code: 'schema.additionalProperties',
      path: 'spec.faults[0].netem.duplicate.corelation',
      at: 'corelation',
      message: /did you mean "correlation"\? \(allowed: percent, correlation\)/,
    },
    {
      code: 'schema.additionalProperties',
      path: 'spec.faults[0].jitter',
      at: 'jitter',
      message: /"jitter"; it belongs under "netem"/,
    },
    {
      code: 'schema.additionalProperties',
      path: 'spec.colour',
      at: 'colour',
      message: /unknown field "colour" \(allowed: description, networks,/,
    },
  ]);
});

test('a misspelled top-level key is caught with its suggestion', () => {
  const text = HEAD.replace('spec:\n', 'sepc:\n  networks: []\n');
  expectIssues(text, [
    { code: 'schema.required', path: 'spec', message: /missing required field "spec"/ },
    { code: 'schema.additionalProperties', path: 'sepc', at: 'sepc', message: /did you mean "spec"\?/ },
  ]);
});

test('wrong types say what to write instead', () => {
  const text = spec(
    [
      '  suspend: yes',
      '  seed: "42"',
      '  networks:',
      '    - name: net',
      '      internal: "false"',
      '      labels: { port: 8080 }',
      '  containers:',
      '    - name: web',
      '      image: nginx',
      '      command: sleep',
      '      stopTimeout: "10"',
      '  faults:',
      '    - name: slow',
      '      targets: web',
      '      netem: { delay: 100, loss: 5 }',
      '    - name: hole',
      '      targets: { names: [web] }',
      '      blackhole:',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'schema.type', path: 'spec.suspend', at: 'yes', message: /YAML 1\.2 reads "yes" as text: write true/ },
    { code: 'schema.type', path: 'spec.seed', at: '"42"', message: /must be a whole number; remove the quotes: 42/ },
    {
      code: 'schema.type',
      path: 'spec.networks[0].internal',
      at: '"false"',
      message: /must be true or false; YAML 1\.2 reads "false" as text/,
    },
    {
      code: 'schema.type',
      path: 'spec.networks[0].labels.port',
      at: '8080',
      message: /must be a string; quote it: "8080"/,
    },
    {
      code: 'schema.type',
      path: 'spec.containers[0].command',
      at: 'sleep',
      message: /must be a list; write a list: \[sleep\]/,
    },
    { code: 'schema.type', path: 'spec.containers[0].stopTimeout', at: '"10"', message: /remove the quotes/ },
    {
      code: 'schema.type',
      path: 'spec.faults[0].targets',
      at: 'web\n      netem',
      message: /e\.g\. \{names: \[web\]\}/,
    },
    {
      code: 'schema.type',
      path: 'spec.faults[0].netem.delay',
      at: '100,',
      message: /must be a duration .*; add a unit: "100s" or "100ms"/,
    },
    {
      code: 'schema.type',
      path: 'spec.faults[0].netem.loss',
      at: '5 }',
      message: /must be a percent .* or a mapping with percent, correlation; add "%": "5%"/,
    },
    {
      code: 'schema.type',
      path: 'spec.faults[1].blackhole',
      at: 'blackhole',
      message: /must be an empty mapping: write \{\}/,
    },
  ]);
});

test('bad names: uppercase, underscore, leading dash, too long', () => {
  const long = 'n'.repeat(64);
  const text =
    HEAD.replace('name: demo', 'name: Split_Brain') +
    [
      '  networks:',
      '    - name: Backend',
      '    - name: -edge',
      `    - name: ${long}`,
      '  containers:',
      '    - name: web_1',
      '      image: nginx',
      '',
    ].join('\n');
  expectIssues(text, [
    {
      code: 'schema.pattern',
      path: 'metadata.name',
      at: 'Split_Brain',
      message: /"Split_Brain" is not a name \(DNS label.*\); write "split-brain"/,
    },
    { code: 'schema.pattern', path: 'spec.networks[0].name', at: 'Backend', message: /write "backend"/ },
    { code: 'schema.pattern', path: 'spec.networks[1].name', at: '-edge', message: /write "edge"/ },
    {
      code: 'schema.maxLength',
      path: 'spec.networks[2].name',
      at: long,
      message: /^"n{57}\.\.\." is 64 characters long; at most 63 are allowed/,
    },
    { code: 'schema.pattern', path: 'spec.containers[0].name', at: 'web_1', message: /write "web-1"/ },
  ]);
});

test('a scenario name longer than 40 is refused, and Docker names must fit 63 characters', () => {
  const text = HEAD.replace('name: demo', `name: ${'s'.repeat(41)}`) + '  networks:\n    - name: net\n';
  expectIssues(text, [
    {
      code: 'schema.maxLength',
      path: 'metadata.name',
      message: /at most 40 are allowed \(it prefixes every Docker name\)/,
    },
  ]);
  const combined =
    HEAD.replace('name: demo', `name: ${'s'.repeat(40)}`) +
    `  containers:\n    - name: ${'c'.repeat(23)}\n      image: nginx\n`;
  expectIssues(combined, [
    {
      code: 'name.tooLong',
      path: 'spec.containers[0].name',
      at: 'c'.repeat(23),
      message: /would be 64 characters; at most 63 are allowed/,
    },
  ]);
});

test('CIDRs must really parse: IPv4 and IPv6, prefix in range, no host bits', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: a',
      '      ipam:',
      '        config:',
      '          - subnet: 10.0.0.0/33',
      '    - name: b',
      '      enableIPv6: true',
      '      ipam:',
      '        config:',
      '          - subnet: fd00:1::/129',
      '          - subnet: 10.1.0.5/24',
      '          - subnet: fd00:2::1/64',
      '          - subnet: 10.2.0.0',
      '          - subnet: 10.300.0.0/16',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'cidr.invalid',
      path: 'spec.networks[0].ipam.config[0].subnet',
      at: '10.0.0.0/33',
      message:
        /^"10\.0\.0\.0\/33" is not a valid CIDR: prefix length 33 exceeds 32 for IPv4; write e\.g\. 10\.0\.0\.0\/24$/,
    },
    {
      code: 'cidr.invalid',
      path: 'spec.networks[1].ipam.config[0].subnet',
      at: 'fd00:1::/129',
      message: /exceeds 128 for IPv6; write e\.g\. fd00:1::\/64/,
    },
    {
      code: 'cidr.invalid',
      path: 'spec.networks[1].ipam.config[1].subnet',
      at: '10.1.0.5/24',
      message: /host bits are set; the network address is 10\.1\.0\.0\/24$/,
    },
    {
      code: 'cidr.invalid',
      path: 'spec.networks[1].ipam.config[2].subnet',
      at: 'fd00:2::1/64',
      message: /the network address is fd00:2::\/64/,
    },
    {
      code: 'cidr.invalid',
      path: 'spec.networks[1].ipam.config[3].subnet',
      at: '10.2.0.0\n',
      message: /prefix length is missing; write e\.g\. 10\.2\.0\.0\/24/,
    },
    {
      code: 'cidr.invalid',
      path: 'spec.networks[1].ipam.config[4].subnet',
      at: '10.300.0.0/16',
      message: /"10\.300\.0\.0" is not an IPv4 address/,
    },
  ]);
});

test('gateway, ipRange and aux addresses must lie inside their subnet; subnets must not overlap', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: a',
      '      ipam:',
      '        config:',
      '          - subnet: 10.0.0.0/24',
      '            gateway: 10.0.1.1',
      '            ipRange: 10.0.0.0/16',
      '            auxAddresses: { router: 10.9.9.9, bad: 10.0.0.999 }',
      '    - name: b',
      '      ipam:',
      '        config:',
      '          - subnet: 10.0.0.128/25',
      '    - name: c',
      '      ipam:',
      '        config:',
      '          - subnet: fd00::/64',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'ip.outsideSubnet',
      path: 'spec.networks[0].ipam.config[0].gateway',
      at: '10.0.1.1',
      message: /gateway 10\.0\.1\.1 is outside subnet 10\.0\.0\.0\/24; pick an address inside it, e\.g\. 10\.0\.0\.1/,
    },
    {
      code: 'cidr.outsideSubnet',
      path: 'spec.networks[0].ipam.config[0].ipRange',
      at: '10.0.0.0/16',
      message: /ipRange 10\.0\.0\.0\/16 is outside subnet 10\.0\.0\.0\/24/,
    },
    {
      code: 'ip.outsideSubnet',
      path: 'spec.networks[0].ipam.config[0].auxAddresses.router',
      at: '10.9.9.9',
      message: /aux address "router"/,
    },
    {
      code: 'ip.invalid',
      path: 'spec.networks[0].ipam.config[0].auxAddresses.bad',
      at: '10.0.0.999',
      message: /"10\.0\.0\.999" is not an IP address/,
    },
    {
      code: 'cidr.overlap',
      path: 'spec.networks[1].ipam.config[0].subnet',
      at: '10.0.0.128/25',
      message: /overlaps 10\.0\.0\.0\/24 \(spec\.networks\.0\.ipam\.config\.0\.subnet\)/,
    },
    { code: 'network.ipv6', path: 'spec.networks[2].enableIPv6', message: /set enableIPv6: true/ },
  ]);
});

test('duplicate names among networks, containers and faults point at the second one', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: net',
      '    - name: net',
      '  containers:',
      '    - { name: web, image: nginx }',
      '    - { name: web, image: nginx }',
      '  faults:',
      '    - { name: f, targets: { names: [web] }, blackhole: {} }',
      '    - { name: f, targets: { names: [web] }, blackhole: {} }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'name.duplicate',
      path: 'spec.networks[1].name',
      message: /network "net" is declared twice \(first at spec\.networks\[0\]\)/,
    },
    { code: 'name.duplicate', path: 'spec.containers[1].name', message: /container "web" is declared twice/ },
    { code: 'name.duplicate', path: 'spec.faults[1].name', message: /fault "f" is declared twice/ },
  ]);
  const issue = issuesOf(text).find((i) => formatPath(i.path) === 'spec.networks[1].name') as Issue;
  assert.equal(issue.line, 8); // the second "- name: net", not the first (line 7)
});

test('references to undeclared networks and containers, and dependsOn cycles', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: backend',
      '  containers:',
      '    - { name: a, image: nginx, dependsOn: [b] }',
      '    - { name: b, image: nginx, dependsOn: [c] }',
      '    - { name: c, image: nginx, dependsOn: [a, dbb] }',
      '  members:',
      '    - network: backnd',
      '      select: { names: [a] }',
      '  faults:',
      '    - name: unplug',
      '      targets: { names: [a] }',
      '      disconnect: { network: frontend }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'ref.container',
      path: 'spec.containers[2].dependsOn[1]',
      at: 'dbb',
      message: /dependsOn "dbb" is not declared in spec\.containers/,
    },
    { code: 'dependsOn.cycle', path: 'spec.containers[2].dependsOn[0]', message: /cycle: a -> b -> c -> a/ },
    {
      code: 'ref.network',
      path: 'spec.members[0].network',
      at: 'backnd',
      message: /network "backnd" is not declared in spec\.networks \(declared: backend\); did you mean "backend"\?/,
    },
    {
      code: 'ref.network',
      path: 'spec.faults[0].disconnect.network',
      at: 'frontend',
      message: /network "frontend" is not declared/,
    },
  ]);
});

test('static addresses need one named container and an address inside a declared subnet', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: net',
      '      ipam: { config: [{ subnet: 10.0.0.0/24, gateway: 10.0.0.1 }] }',
      '    - name: plain',
      '  members:',
      '    - network: net',
      '      select: { names: [a, b] }',
      '      ipv4Address: 10.0.0.10',
      '    - network: net',
      '      select: { names: [c] }',
      '      ipv4Address: 10.0.1.10',
      '    - network: net',
      '      select: { names: [d] }',
      '      ipv4Address: 10.0.0.1',
      '      ipv6Address: 10.0.0.2',
      '    - network: plain',
      '      select: { names: [e] }',
      '      ipv4Address: 10.0.0.20',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'member.staticAddress',
      path: 'spec.members[0].ipv4Address',
      at: '10.0.0.10',
      message: /needs exactly one container: select it with names and a single name/,
    },
    {
      code: 'ip.outsideSubnet',
      path: 'spec.members[1].ipv4Address',
      at: '10.0.1.10',
      message: /outside the subnets of network "net" \(10\.0\.0\.0\/24\)/,
    },
    { code: 'ip.conflict', path: 'spec.members[2].ipv4Address', message: /already the gateway of network "net"/ },
    { code: 'ip.invalid', path: 'spec.members[2].ipv6Address', at: '10.0.0.2', message: /is not an IPv6 address/ },
    {
      code: 'member.staticAddress',
      path: 'spec.members[3].ipv4Address',
      at: '10.0.0.20',
      message: /network "plain" declares no IPv4 subnet/,
    },
  ]);
});

test('each fault has exactly one action, and targets unless it is a partition with groups', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: none',
      '      targets: { names: [a] }',
      '    - name: two',
      '      targets: { names: [a] }',
      '      netem: { delay: 10ms }',
      '      blackhole: {}',
      '    - name: nobody',
      '      blackhole: {}',
      '    - name: split',
      '      partition: { groups: [[a], [b]] }',
      '    - name: split-targets',
      '      targets: { names: [a] }',
      '      partition: { groups: [[a], [b, a]] }',
      '    - name: split-nothing',
      '      targets: { names: [a] }',
      '      partition: { count: 2 }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'fault.action',
      path: 'spec.faults[0]',
      message:
        /fault "none" has no action; give exactly one of netem, bandwidth, partition, blackhole, reject, dns, disconnect, container/,
    },
    { code: 'fault.action', path: 'spec.faults[1].blackhole', message: /has 2 actions \(netem, blackhole\)/ },
    { code: 'fault.targets', path: 'spec.faults[2]', message: /fault "nobody" needs targets/ },
    { code: 'fault.targets', path: 'spec.faults[4].targets', message: /explicit groups takes no targets/ },
    {
      code: 'partition.groups',
      path: 'spec.faults[4].partition.groups[1][1]',
      message: /"a" is in group 0 and group 1/,
    },
    { code: 'partition.spec', path: 'spec.faults[5].partition', message: /needs groups .* or a generator/ },
    { code: 'partition.count', path: 'spec.faults[5].partition.count', message: /only to generator: isolate/ },
  ]);
});

test('ports are "N" or "N-M" within 1..65535 and need tcp or udp', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      blackhole: {}',
      '      ports: ["0", "65536", "90-80", "80-90", "http"]',
      '      protocol: icmp',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'port.invalid', path: 'spec.faults[0].ports[0]', at: '"0"', message: /ports run from 1 to 65535/ },
    { code: 'port.invalid', path: 'spec.faults[0].ports[1]', at: '"65536"' },
    { code: 'port.invalid', path: 'spec.faults[0].ports[2]', at: '"90-80"' },
    {
      code: 'schema.pattern',
      path: 'spec.faults[0].ports[4]',
      at: '"http"',
      message: /"http" is not a port; write e\.g\. "5432" or a range "8000-8100"/,
    },
    { code: 'port.protocol', path: 'spec.faults[0].protocol', message: /ports need protocol tcp or udp/ },
  ]);
});

test('netem: percents within 0..100, fields that need one another, at least one effect', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      netem: { jitter: 5ms, correlation: 101%, loss: { percent: 150% }, gemodel: { p: 1% }, reorder: { percent: 10% }, rate: 0mbit }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      netem: { distribution: normal }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'netem.dependency', path: 'spec.faults[0].netem.jitter', message: /give delay too/ },
    { code: 'netem.dependency', path: 'spec.faults[0].netem.reorder', message: /needs delay/ },
    { code: 'netem.conflict', path: 'spec.faults[0].netem.gemodel', message: /one loss model, not loss and gemodel/ },
    {
      code: 'percent.range',
      path: 'spec.faults[0].netem.correlation',
      at: '101%',
      message: /"101%" is more than 100%/,
    },
    { code: 'percent.range', path: 'spec.faults[0].netem.loss.percent', at: '150%' },
    { code: 'rate.zero', path: 'spec.faults[0].netem.rate', at: '0mbit', message: /must be more than 0/ },
    { code: 'netem.empty', path: 'spec.faults[1].netem', message: /at least one of delay, loss/ },
    { code: 'netem.dependency', path: 'spec.faults[1].netem.distribution', message: /give jitter too/ },
  ]);
});

test('tc quantities with wrong units are refused with examples', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      bandwidth: { rate: 1 Mbit/s, burst: 32 kb, limit: 10kb, latency: 50ms }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'schema.pattern',
      path: 'spec.faults[0].bandwidth.rate',
      at: '1 Mbit/s',
      message: /is not a tc rate; write "1mbit"/,
    },
    {
      code: 'schema.pattern',
      path: 'spec.faults[0].bandwidth.burst',
      at: '32 kb',
      message: /is not a tc size; write "32kb"/,
    },
    { code: 'bandwidth.conflict', path: 'spec.faults[0].bandwidth.latency', message: /limit or latency, not both/ },
  ]);
});

test('timing: durations, at ranges, repeat, cron schedules and time zones', () => {
  const text = spec(
    [
      '  duration: 0s',
      '  faults:',
      '    - name: a',
      '      targets: { names: [x] }',
      '      blackhole: {}',
      '      at: { min: 2m, max: 1m }',
      '      startAt: "2025-01-31 12:00"',
      '      duration: 2m',
      '      repeat: { every: 1m }',
      '    - name: b',
      '      targets: { names: [x] }',
      '      blackhole: {}',
      '      schedule: "61 * * * *"',
      '      timeZone: Europe/Berln',
      '    - name: c',
      '      targets: { names: [x] }',
      '      blackhole: {}',
      '      repeat: { every: 5 minutes }',
      '      timeZone: UTC',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'duration.zero', path: 'spec.duration', at: '0s', message: /must be longer than 0/ },
    {
      code: 'timing.conflict',
      path: 'spec.faults[0].startAt',
      message: /at \(an offset\) or startAt \(a time\), not both/,
    },
    {
      code: 'schema.format',
      path: 'spec.faults[0].startAt',
      at: '"2025-01-31 12:00"',
      message: /is not an RFC 3339 time; write e\.g\. "2025-01-31T12:00:00Z"/,
    },
    { code: 'at.range', path: 'spec.faults[0].at', message: /at\.min \(2m\) is after at\.max \(1m\)/ },
    {
      code: 'repeat.overlap',
      path: 'spec.faults[0].repeat.every',
      message: /repeat\.every \(1m\) is shorter than duration \(2m\).*every at least 2m or set concurrency: allow/,
    },
    {
      code: 'schedule.invalid',
      path: 'spec.faults[1].schedule',
      at: '"61 * * * *"',
      message: /not a valid cron schedule: Invalid value for minute: 61/,
    },
    { code: 'schedule.duration', path: 'spec.faults[1].schedule', message: /schedule needs duration/ },
    {
      code: 'timeZone.invalid',
      path: 'spec.faults[1].timeZone',
      at: 'Europe/Berln',
      message: /did you mean "Europe\/Berlin"\?/,
    },
    {
      code: 'schema.pattern',
      path: 'spec.faults[2].repeat.every',
      at: '5 minutes',
      message: /is not a duration; write "5m"/,
    },
    { code: 'repeat.duration', path: 'spec.faults[2].repeat', message: /repeat needs duration/ },
    { code: 'timing.conflict', path: 'spec.faults[2].timeZone', message: /timeZone applies only to schedule/ },
  ]);
});

test('cron schedules: 5 or 6 fields, nicknames allowed, 7 fields refused', () => {
  const one = (schedule: string): string[] =>
    issuesOf(
      spec(
        `  faults:\n    - name: a\n      targets: { names: [x] }\n      blackhole: {}\n      schedule: "${schedule}"\n      duration: 10s\n`,
      ),
    ).map((i) => i.code);
  assert.deepEqual(one('*/5 * * * *'), []);
  assert.deepEqual(one('0 */5 * * * *'), []);
  assert.deepEqual(one('@hourly'), []);
  assert.deepEqual(one('* * * * * * *'), ['schedule.invalid']);
  assert.deepEqual(one('every minute'), ['schedule.invalid']);
});

test('containers: capabilities, env keys, reserved labels, image references, publish specs', () => {
  const text = spec(
    [
      '  containers:',
      '    - name: a',
      '      image: Nginx:1.27',
      '      capAdd: [net_admin, NET_ADMN, CAP_NET_RAW]',
      '      env: { "MY VAR": x, GOOD_ONE: y }',
      '      labels: { faultline.dev/scenario: mine }',
      '      ports: ["8080:80", "70000:80", "1.2.3:80:80", "80/xtp"]',
      '    - name: b',
      '      image: "nginx latest"',
      '      stopSignal: term',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'image.invalid',
      path: 'spec.containers[0].image',
      at: 'Nginx:1.27',
      message: /repository names must be lowercase; write "nginx:1\.27"/,
    },
    {
      code: 'schema.pattern',
      path: 'spec.containers[0].capAdd[0]',
      at: 'net_admin',
      message: /capability name in capitals \(the CAP_ prefix is optional\); write "NET_ADMIN"/,
    },
    {
      code: 'cap.unknown',
      path: 'spec.containers[0].capAdd[1]',
      at: 'NET_ADMN',
      message: /did you mean "NET_ADMIN"\?/,
    },
    {
      code: 'env.key',
      path: 'spec.containers[0].env["MY VAR"]',
      at: '"MY VAR"',
      message: /not a valid environment variable name/,
    },
    {
      code: 'label.reserved',
      path: 'spec.containers[0].labels["faultline.dev/scenario"]',
      at: 'faultline.dev/scenario',
      message: /faultline reserves/,
    },
    { code: 'port.invalid', path: 'spec.containers[0].ports[1]', at: '"70000:80"', message: /host port "70000"/ },
    { code: 'port.invalid', path: 'spec.containers[0].ports[2]', message: /"1\.2\.3" is not an IP address/ },
    { code: 'port.invalid', path: 'spec.containers[0].ports[3]', message: /protocol "xtp"/ },
    { code: 'image.invalid', path: 'spec.containers[1].image', message: /contains spaces/ },
    { code: 'schema.pattern', path: 'spec.containers[1].stopSignal', at: 'term', message: /write "SIGTERM"/ },
  ]);
});

test('selectors: random only for targets, one of count/percent, and something to choose from', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: net',
      '  members:',
      '    - network: net',
      '      select: { names: [a], random: { count: 1 } }',
      '  faults:',
      '    - name: f',
      '      targets: { random: { count: 1, percent: 10% } }',
      '      blackhole: {}',
      '    - name: g',
      '      targets: {}',
      '      blackhole: {}',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'selector.random', path: 'spec.members[0].select.random', message: /random applies only to fault targets/ },
    { code: 'selector.random', path: 'spec.faults[0].targets.random', message: /count or percent, not both/ },
    { code: 'selector.empty', path: 'spec.faults[0].targets', message: /random chooses among the matches/ },
    {
      code: 'schema.minProperties',
      path: 'spec.faults[1].targets',
      message: /must not be empty: give at least one of names, labels, compose, random/,
    },
  ]);
});

test('fields that do not apply to an action are refused rather than ignored', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      container: { action: pause, signal: SIGKILL }',
      '      direction: egress',
      '    - name: g',
      '      targets: { names: [a] }',
      '      reject: { with: tcp-reset }',
      '      protocol: udp',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'container.signal',
      path: 'spec.faults[0].container.signal',
      message: /signal applies to kill and stop, not pause/,
    },
    {
      code: 'fault.notApplicable',
      path: 'spec.faults[0].direction',
      message: /direction does not apply to a container fault/,
    },
    {
      code: 'reject.protocol',
      path: 'spec.faults[1].reject.with',
      message: /tcp-reset answers TCP only, but protocol is udp/,
    },
  ]);
});

test('enums suggest the value meant, and apiVersion/kind are checked', () => {
  const text =
    HEAD.replace('faultline.dev/v1alpha1', 'faultline.dev/v1').replace('kind: Scenario', 'kind: scenario') +
    '  faults:\n    - name: f\n      targets: { names: [a] }\n      blackhole: {}\n      protocol: tpc\n';
  expectIssues(text, [
    {
      code: 'schema.enum',
      path: 'apiVersion',
      at: 'faultline.dev/v1',
      message: /is not one of: faultline\.dev\/v1alpha1/,
    },
    { code: 'schema.enum', path: 'kind', at: 'scenario', message: /did you mean "Scenario"\?/ },
    {
      code: 'schema.enum',
      path: 'spec.faults[0].protocol',
      at: 'tpc',
      message: /"tpc" is not one of: tcp, udp, icmp, all; did you mean "tcp"\?/,
    },
  ]);
});

test('ports: sourcePorts and destinationPorts, each checked, never with ports', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      ports: ["80"]',
      '      sourcePorts: ["0"]',
      '      netem: { delay: 1ms }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      destinationPorts: ["53"]',
      '      protocol: icmp',
      '      blackhole: {}',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'port.invalid', path: 'spec.faults[0].sourcePorts[0]', at: '"0"', message: /ports run from 1 to 65535/ },
    {
      code: 'port.conflict',
      path: 'spec.faults[0].sourcePorts',
      at: '["0"]',
      message: /give ports \(either end of a packet\) or sourcePorts\/destinationPorts/,
    },
    { code: 'port.protocol', path: 'spec.faults[1].protocol', message: /ports need protocol tcp or udp/ },
  ]);
});

test('netem extras: one loss model, ecn needs one, slots in order, cell overhead needs cells', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      netem: { loss: 1%, lossState: { p13: 101% }, slot: { minDelay: 5ms, maxDelay: 1ms, bytes: 0b } }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      netem: { ecn: true, rate: { rate: 1mbit, cellOverhead: 4 }, limit: 0 }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'netem.conflict',
      path: 'spec.faults[0].netem.lossState',
      message: /one loss model, not loss and lossState/,
    },
    { code: 'percent.range', path: 'spec.faults[0].netem.lossState.p13', at: '101%' },
    { code: 'netem.slot', path: 'spec.faults[0].netem.slot.maxDelay', message: /shorter than minDelay/ },
    { code: 'size.zero', path: 'spec.faults[0].netem.slot.bytes', at: '0b' },
    { code: 'netem.dependency', path: 'spec.faults[1].netem.ecn', message: /give loss, gemodel or lossState too/ },
    { code: 'netem.dependency', path: 'spec.faults[1].netem.rate.cellOverhead', message: /give cellSize too/ },
    { code: 'schema.minimum', path: 'spec.faults[1].netem.limit', at: '0 }' },
  ]);
});

test('bandwidth: ceil at least rate, peakrate above it, not both, no latency with ceil, mtu only with peakrate', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      bandwidth: { rate: 2mbit, ceil: 1mbit, latency: 50ms }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      bandwidth: { rate: 2mbit, peakrate: 2mbit, ceil: 4mbit }',
      '    - name: h',
      '      targets: { names: [a] }',
      '      bandwidth: { rate: 2mbit, mtu: 1514b }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'bandwidth.ceil', path: 'spec.faults[0].bandwidth.ceil', message: /below rate "2mbit"/ },
    { code: 'bandwidth.conflict', path: 'spec.faults[0].bandwidth.latency', message: /size it with limit/ },
    { code: 'bandwidth.peakrate', path: 'spec.faults[1].bandwidth.peakrate', message: /must be above rate/ },
    { code: 'bandwidth.conflict', path: 'spec.faults[1].bandwidth.peakrate', message: /give ceil .* or peakrate/ },
    { code: 'bandwidth.mtu', path: 'spec.faults[2].bandwidth.mtu', message: /only with peakrate/ },
  ]);
});

test('dns: delay needs a delay and only delay takes one; names are DNS names; no peers, ports or direction', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      dns: { action: delay }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      direction: ingress',
      '      peers: { names: [b] }',
      '      dns: { action: drop, delay: 1s, names: ["*.db", "db..x"] }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'dns.delay', path: 'spec.faults[0].dns', message: /needs delay/ },
    { code: 'dns.delay', path: 'spec.faults[1].dns.delay', message: /applies to action delay, not drop/ },
    { code: 'fault.notApplicable', path: 'spec.faults[1].peers', message: /does not apply to a dns fault/ },
    { code: 'fault.notApplicable', path: 'spec.faults[1].direction', message: /embedded resolver, 127\.0\.0\.11/ },
    {
      code: 'schema.pattern',
      path: 'spec.faults[1].dns.names[0]',
      message: /a DNS name .*write "db" \(a name also matches every name under it\)/,
    },
    { code: 'schema.pattern', path: 'spec.faults[1].dns.names[1]', message: /a DNS name/ },
  ]);
});

test('verify: probe only where packets can measure it', () => {
  const text = spec(
    [
      '  faults:',
      '    - name: f',
      '      targets: { names: [a] }',
      '      verify: probe',
      '      netem: { duplicate: 1% }',
      '    - name: g',
      '      targets: { names: [a] }',
      '      verify: probe',
      '      ports: ["5432"]',
      '      netem: { delay: 10ms }',
      '    - name: h',
      '      targets: { names: [a] }',
      '      verify: probe',
      '      dns: { action: drop }',
      '    - name: i',
      '      targets: { names: [a] }',
      '      verify: probe',
      '      destinationPorts: ["5432"]',
      '      reject: { with: tcp-reset }',
      '    - name: j',
      '      targets: { names: [a] }',
      '      verify: sometimes',
      '      blackhole: {}',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'verify.probe', path: 'spec.faults[0].verify', message: /neither, remove verify/ },
    { code: 'verify.probe', path: 'spec.faults[1].verify', message: /ICMP echo, which a fault limited to ports/ },
    { code: 'verify.probe', path: 'spec.faults[2].verify', message: /not available for a dns fault/ },
    { code: 'schema.enum', path: 'spec.faults[4].verify', at: 'sometimes' },
  ]);
});

test('external networks: nothing a create would use, name or compose, one entry per Docker network', () => {
  const text = spec(
    [
      '  networks:',
      '    - { name: bridge, external: true, driver: bridge }',
      '    - { name: again, external: { name: bridge } }',
      '    - { name: shop, external: { name: shop_default, compose: { project: shop, network: default } } }',
      '    - { name: lan, external: { compose: { project: shop } } }',
      '    - { name: ok, external: false, enableIPv6: true, ipam: { config: [{ subnet: "fd00:1::/64" }] } }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    {
      code: 'network.external',
      path: 'spec.networks[0].driver',
      message: /is external: faultline never creates or changes it, so driver does not apply; remove driver/,
    },
    {
      code: 'network.external',
      path: 'spec.networks[1].external',
      message: /Docker network "bridge" is already spec\.networks\[0\]; refer to that entry/,
    },
    { code: 'network.external', path: 'spec.networks[2].external.compose', message: /not both/ },
    { code: 'schema.required', path: 'spec.networks[3].external.compose.network', message: /"network"/ },
  ]);
});

test('drivers: plugins pass, Docker host/null networks cannot be declared, macvlan/ipvlan options are checked', () => {
  const text = spec(
    [
      '  networks:',
      '    - { name: weave, driver: weave }',
      '    - { name: plugin, driver: "weaveworks/net-plugin:latest_release" }',
      '    - { name: h, driver: host }',
      '    - { name: lan, driver: macvlan, options: { parent: "eth0/1", macvlan_mode: bridg } }',
      '    - { name: l3, driver: ipvlan, options: { parent: veth-flt0, ipvlan_mode: l3 } }',
      '    - { name: bad, driver: "we ave" }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'network.driver', path: 'spec.networks[2].driver', message: /give a container networkMode: host/ },
    { code: 'network.option', path: 'spec.networks[3].options.parent', message: /not a network interface name/ },
    { code: 'network.option', path: 'spec.networks[3].options.macvlan_mode', message: /did you mean "bridge"\?/ },
    { code: 'schema.pattern', path: 'spec.networks[5].driver', message: /driver name/ },
  ]);
});

test('network modes: declared owner, no chains, no hostname or ports beside them, not a member', () => {
  const text = spec(
    [
      '  networks:',
      '    - name: net',
      '  containers:',
      '    - { name: app, image: faultline/testbox }',
      '    - { name: side, image: faultline/testbox, networkMode: "container:app", hostname: side }',
      '    - { name: chain, image: faultline/testbox, networkMode: "container:side" }',
      '    - { name: lost, image: faultline/testbox, networkMode: "container:ap" }',
      '    - { name: solo, image: faultline/testbox, networkMode: none, ports: ["80"] }',
      '    - { name: self, image: faultline/testbox, networkMode: "container:self" }',
      '    - { name: br, image: faultline/testbox, networkMode: bridge }',
      '    - { name: loop, image: faultline/testbox, networkMode: "container:app2", dependsOn: [] }',
      '    - { name: app2, image: faultline/testbox, dependsOn: [loop] }',
      '  members:',
      '    - network: net',
      '      select: { names: [app, side] }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'container.networkMode', path: 'spec.containers[1].hostname', message: /has the host name of "app"/ },
    {
      code: 'container.networkMode',
      path: 'spec.containers[2].networkMode',
      message: /"side" has networkMode container:app and owns no network namespace to share: write "container:app"/,
    },
    { code: 'ref.container', path: 'spec.containers[3].networkMode', message: /did you mean "container:app"\?/ },
    { code: 'container.networkMode', path: 'spec.containers[4].ports', message: /with networkMode none it has none/ },
    { code: 'container.networkMode', path: 'spec.containers[5].networkMode', message: /its own network namespace/ },
    {
      code: 'schema.pattern',
      path: 'spec.containers[6].networkMode',
      message: /leave networkMode out and list the container in spec\.members/,
    },
    {
      code: 'dependsOn.cycle',
      path: 'spec.containers[8].dependsOn[0]',
      message: /a cycle: loop \(networkMode container:app2\) -> app2 -> loop;/,
    },
    {
      code: 'member.networkMode',
      path: 'spec.members[0].select.names[1]',
      message: /"side" has networkMode container:app, so it joins no network \(it uses the networks of app\)/,
    },
  ]);
});

test('mounts: declared volumes or absolute bind paths, one mount per target; volumes are named like networks', () => {
  const text = spec(
    [
      '  volumes:',
      '    - { name: data, keep: true }',
      '    - { name: data }',
      '    - { name: logs, labels: { faultline.dev/x: y }, options: { "a b": c } }',
      '  containers:',
      '    - name: db',
      '      image: faultline/testbox',
      '      volumes:',
      '        - { source: data, target: /data }',
      '        - { source: dta, target: /other }',
      '        - { source: ./seed, target: /seed }',
      '        - { source: /srv/../etc, target: /etc2 }',
      '        - { source: logs, target: /data/ }',
      '        - { source: /srv/x, target: x }',
      '      tmpfs:',
      '        - { target: /, size: 0m }',
      '        - { target: /run, mode: "999" }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'name.duplicate', path: 'spec.volumes[1].name' },
    { code: 'label.reserved', path: 'spec.volumes[2].labels["faultline.dev/x"]' },
    { code: 'volume.option', path: 'spec.volumes[2].options["a b"]' },
    { code: 'ref.volume', path: 'spec.containers[0].volumes[1].source', message: /did you mean "data"\?/ },
    { code: 'mount.source', path: 'spec.containers[0].volumes[2].source', message: /it is not absolute/ },
    { code: 'mount.source', path: 'spec.containers[0].volumes[3].source', message: /"\." or "\.\." components/ },
    {
      code: 'mount.target',
      path: 'spec.containers[0].volumes[4].target',
      message: /"\/data\/" is already mounted by spec\.containers\[0\]\.volumes\[0\]\.target/,
    },
    { code: 'schema.pattern', path: 'spec.containers[0].volumes[5].target' },
    { code: 'mount.target', path: 'spec.containers[0].tmpfs[0].target', message: /whole file system/ },
    { code: 'size.zero', path: 'spec.containers[0].tmpfs[0].size' },
    { code: 'schema.pattern', path: 'spec.containers[0].tmpfs[1].mode', message: /octal/ },
  ]);
});

test("members on Docker's default bridge: no aliases, no static addresses; external subnets are Docker's", () => {
  const text = spec(
    [
      '  networks:',
      '    - { name: bridge, external: true }',
      '    - { name: shop, external: { compose: { project: shop, network: default } } }',
      '  containers:',
      '    - { name: a, image: faultline/testbox }',
      '  members:',
      '    - { network: bridge, select: { names: [a] }, aliases: [x], ipv4Address: 172.17.0.9 }',
      '    - { network: shop, select: { names: [a] }, ipv4Address: 172.30.0.9 }',
      '',
    ].join('\n'),
  );
  expectIssues(text, [
    { code: 'member.defaultBridge', path: 'spec.members[0].aliases', message: /no DNS and takes no aliases/ },
    { code: 'member.defaultBridge', path: 'spec.members[0].ipv4Address', message: /no static addresses/ },
  ]);
});
