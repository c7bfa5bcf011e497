// faultline graph: the model (what is drawn where) and its text formats, pure and deterministic.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Scenario } from '../../../src/api/types.js';
import { buildGraph, faultText, renderDot, renderGraphSvg, renderMermaid } from '../../../src/cli/graph.js';
import { FAULT_COLOURS } from '../../../src/timeline/colours.js';

const scenario: Scenario = {
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Scenario',
  metadata: { name: 'g' },
  spec: {
    networks: [{ name: 'lan', ipam: { config: [{ subnet: '10.249.9.0/24' }] } }],
    containers: [
      { name: 'a', image: 'x' },
      { name: 'b', image: 'x' },
      { name: 'c', image: 'x' },
    ],
    members: [{ network: 'lan', select: { names: ['a', 'b', 'c'] } }],
    faults: [
      { name: 'cut', partition: { groups: [['a'], ['b', 'c']] } },
      { name: 'slow', targets: { names: ['b'] }, netem: { delay: '100ms', jitter: '10ms', loss: '20%' } },
      { name: 'to-c', targets: { names: ['a'] }, peers: { names: ['c'] }, reject: { with: 'tcp-reset' } },
      { name: 'nap', targets: { names: ['c'] }, container: { action: 'pause' } },
      { name: 'idle', targets: { names: ['a'] }, bandwidth: { rate: '1mbit' } },
    ],
  },
};

test('faults are drawn on the edges they act on; inactive ones are listed, not drawn', () => {
  const g = buildGraph(scenario, new Set(['cut', 'slow', 'to-c', 'nap']));
  const faults = g.edges.filter((e) => e.kind === 'fault').map((e) => `${e.fault} ${e.from} ${e.to}`);
  assert.deepEqual(faults, [
    'cut c:a c:b', // every pair across the groups
    'cut c:a c:c',
    'slow c:b n:lan', // no peers: on its line to its network
    'to-c c:a c:c', // peers: to each peer
    'nap c:c engine', // a container action: on the engine's line
  ]);
  assert.deepEqual(
    g.faults.map((f) => [f.name, f.drawn]),
    [
      ['cut', true],
      ['slow', true],
      ['to-c', true],
      ['nap', true],
      ['idle', false],
    ],
  );
  assert.equal(g.edges.filter((e) => e.kind === 'runs').length, 3);
  assert.equal(g.nodes.find((n) => n.id === 'n:lan')?.detail, '10.249.9.0/24');
});

test('the status says which containers a fault resolved to (labels, random choices)', () => {
  const resolved: Scenario = {
    ...scenario,
    spec: { ...scenario.spec, faults: [{ name: 'pick', targets: { labels: { tier: 'db' } }, blackhole: {} }] },
    status: {
      members: [{ network: 'lan', container: 'other_db', phase: 'Connected', ipv4Address: '10.249.9.7' }],
      faults: [{ name: 'pick', phase: 'Active', targets: [{ container: 'other_db', phase: 'Injected' }] }],
    },
  };
  const g = buildGraph(resolved, new Set(['pick']));
  assert.ok(g.nodes.some((n) => n.id === 'c:other_db'));
  assert.deepEqual(
    g.edges.filter((e) => e.kind !== 'runs').map((e) => [e.from, e.to, e.label]),
    [
      ['c:other_db', 'n:lan', '10.249.9.7'],
      ['c:other_db', 'n:lan', 'pick: blackhole'],
    ],
  );
});

test('what a fault does, in a few words', () => {
  const f = scenario.spec.faults!;
  assert.deepEqual(
    f.map((x) => faultText(x)),
    ['cut', 'delay 100ms ±10ms, loss 20%', 'reject tcp-reset', 'pause', 'rate 1mbit'],
  );
});

test('svg, mermaid and dot: deterministic, coloured per kind, cuts dashed, nothing active said so', () => {
  const g = buildGraph(scenario, new Set(['cut', 'slow']));
  for (const render of [renderGraphSvg, renderMermaid, renderDot])
    assert.equal(render(g), render(buildGraph(scenario, new Set(['cut', 'slow']))));
  const svg = renderGraphSvg(g);
  assert.match(
    svg,
    new RegExp(
      `data-fault="cut" data-fault-kind="partition">\\n<path [^>]*stroke="${FAULT_COLOURS.partition}"[^>]*stroke-dasharray`,
    ),
  );
  assert.doesNotMatch(svg, /<script|href=/);
  const mmd = renderMermaid(g);
  assert.match(mmd, /^flowchart TB\n/);
  assert.match(mmd, /c_a -\.-\|"cut: cut"\| c_b/);
  assert.match(mmd, new RegExp(`linkStyle \\d+ stroke:${FAULT_COLOURS.netem},stroke-width:2px`));
  const dot = renderDot(g);
  assert.match(
    dot,
    /"c:b" -- "n:lan" \[label="slow: delay 100ms ±10ms, loss 20%", color="#e07b00", fontcolor="#e07b00", penwidth=2, constraint=false\];/,
  );
  assert.match(renderGraphSvg(buildGraph(scenario, new Set())), /no active faults/);
});
