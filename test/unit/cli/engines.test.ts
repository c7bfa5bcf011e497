// --engine and --context (cli/engines.ts): what each becomes, and located errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineConfigs, engineFromContext, engineFromFlag } from '../../../src/cli/engines.js';

test('--engine NAME=URL: unix socket, tcp, and TLS from DOCKER_CERT_PATH', () => {
  assert.deepEqual(engineFromFlag('b=unix:///run/other.sock').options, { socketPath: '/run/other.sock' });
  assert.deepEqual(engineFromFlag('b=tcp://10.0.0.2:2375').options, { host: 'tcp://10.0.0.2:2375' });
  const certs = mkdtempSync(join(tmpdir(), 'fl-certs-'));
  try {
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), `PEM ${f}`);
    const e = engineFromFlag('c=https://10.0.0.3:2376', { DOCKER_CERT_PATH: certs });
    assert.equal(e.options.host, 'https://10.0.0.3:2376');
    assert.deepEqual(e.options.tls, { ca: 'PEM ca.pem', cert: 'PEM cert.pem', key: 'PEM key.pem' });
  } finally {
    rmSync(certs, { recursive: true, force: true });
  }
});

test('--engine: bad input is refused with what to write', () => {
  assert.throws(() => engineFromFlag('b'), /expected NAME=URL/);
  assert.throws(() => engineFromFlag('B=tcp://x:1'), /engine name "B" must be lower-case/);
  assert.throws(() => engineFromFlag('b=ftp://x'), /unsupported scheme "ftp:"/);
  assert.throws(
    () => engineFromFlag('b=https://x:2376', { DOCKER_CERT_PATH: '/nonexistent' }),
    /cert\.pem and key\.pem/,
  );
  assert.throws(() => engineConfigs(['b=tcp://x:1', 'b=tcp://y:1'], []), /engine "b" is given twice/);
});

test('--context reads the Docker CLI store: endpoint from meta.json, TLS from contexts/tls', () => {
  const config = mkdtempSync(join(tmpdir(), 'fl-dockercfg-'));
  try {
    const id = createHash('sha256').update('fl-b').digest('hex');
    mkdirSync(join(config, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(
      join(config, 'contexts', 'meta', id, 'meta.json'),
      JSON.stringify({ Name: 'fl-b', Endpoints: { docker: { Host: 'tcp://127.0.0.1:4321', SkipTLSVerify: false } } }),
    );
    mkdirSync(join(config, 'contexts', 'tls', id, 'docker'), { recursive: true });
    for (const f of ['ca.pem', 'cert.pem', 'key.pem'])
      writeFileSync(join(config, 'contexts', 'tls', id, 'docker', f), `PEM ${f}`);
    const e = engineFromContext('b=fl-b', { DOCKER_CONFIG: config });
    assert.equal(e.name, 'b');
    assert.equal(e.options.host, 'tcp://127.0.0.1:4321');
    assert.deepEqual(e.options.tls, { ca: 'PEM ca.pem', cert: 'PEM cert.pem', key: 'PEM key.pem' });
    assert.equal(engineFromContext('fl-b', { DOCKER_CONFIG: config }).name, 'fl-b');
    assert.throws(
      () => engineFromContext('nope', { DOCKER_CONFIG: config }),
      /cannot read Docker context "nope".*docker context ls/,
    );
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
});

test('graph: several engines, one node each, running its containers (grouped)', async () => {
  const { buildGraph, renderGraphSvg } = await import('../../../src/cli/graph.js');
  const g = buildGraph(
    {
      apiVersion: 'faultline.dev/v1alpha1',
      kind: 'Scenario',
      metadata: { name: 'xs' },
      spec: {
        networks: [{ name: 'ov', driver: 'overlay' }],
        containers: [
          { name: 'b', image: 'i', engine: 'b' },
          { name: 'a', image: 'i' },
        ],
        members: [{ network: 'ov', select: { names: ['a', 'b'] } }],
      },
    },
    new Set(),
  );
  const engines = g.nodes.filter((n) => n.kind === 'engine').map((n) => n.label);
  assert.deepEqual(engines, ['Docker engine', 'engine b']);
  const runs = g.edges.filter((e) => e.kind === 'runs').map((e) => `${e.from}>${e.to}`);
  assert.deepEqual(runs.sort(), ['engine:b>c:b', 'engine>c:a']);
  assert.deepEqual(
    g.nodes.filter((n) => n.kind === 'container').map((n) => n.label),
    ['a', 'b'],
    'grouped by engine, default first',
  );
  assert.match(renderGraphSvg(g), /engine b/);
});
