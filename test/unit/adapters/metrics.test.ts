// The Prometheus adapter: what the MetricsSink port records is what /metrics shows; /healthz and
// /readyz answer as a probe expects; --metrics-addr values are checked.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createPrometheusMetrics, serveMetrics } from '../../../src/adapters/metrics.js';
import { listenAddress } from '../../../src/cli/options.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('what the controller reports through the sink is what a scrape shows', async () => {
  const m = createPrometheusMetrics({ processMetrics: false });
  const { sink } = m;
  sink.reconcilePhase('netns', 0.004);
  sink.reconcilePhase('netns', 0.2);
  sink.reconciled('ok');
  sink.transitionLateness(0.008);
  sink.activeFaults({ partition: 2, netem: 1 });
  sink.activeFaults({ netem: 1 }); // the whole table each time: partition is back to 0
  sink.kernelPrograms('write', 3);
  sink.kernelPrograms('read', 0);
  sink.dockerOperation('network.create', true);
  sink.dockerOperation('member.connect', false);
  sink.error('kernel');
  const t = await m.text();
  assert.equal(sample(t, 'faultline_reconcile_phase_duration_seconds_count{phase="netns"}'), 2);
  assert.equal(sample(t, 'faultline_reconcile_phase_duration_seconds_bucket{le="0.005",phase="netns"}'), 1);
  assert.equal(sample(t, 'faultline_reconciles_total{outcome="ok"}'), 1);
  assert.equal(sample(t, 'faultline_transition_lateness_seconds_bucket{le="0.01"}'), 1);
  assert.equal(sample(t, 'faultline_active_faults{kind="netem"}'), 1);
  assert.equal(sample(t, 'faultline_active_faults{kind="partition"}'), 0);
  assert.equal(sample(t, 'faultline_active_faults{kind="container"}'), 0, 'every kind is there from the start');
  assert.equal(sample(t, 'faultline_kernel_programs_total{kind="write"}'), 3);
  assert.equal(sample(t, 'faultline_kernel_programs_total{kind="read"}'), 0);
  assert.equal(sample(t, 'faultline_docker_operations_total{operation="network.create",outcome="ok"}'), 1);
  assert.equal(sample(t, 'faultline_docker_operations_total{operation="member.connect",outcome="error"}'), 1);
  assert.equal(sample(t, 'faultline_errors_total{reason="kernel"}'), 1);
  assert.equal(sample(t, 'faultline_errors_total{reason="crash"}'), 0, 'reasons are there at 0 before they happen');
});

test('/healthz answers at once; /readyz only while the controller says it is ready; /metrics serves the text', async (t) => {
  const m = createPrometheusMetrics();
  const server = await serveMetrics(m, { host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const url = (p: string) => `http://127.0.0.1:${server.address.port}${p}`;
  assert.equal((await fetch(url('/healthz'))).status, 200);
  assert.equal((await fetch(url('/readyz'))).status, 503);
  m.sink.ready(true);
  assert.equal((await fetch(url('/readyz'))).status, 200);
  const res = await fetch(url('/metrics'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.equal(sample(text, 'faultline_ready'), 1);
  assert.match(text, /^faultline_process_cpu_seconds_total /m, "Node's process metrics, prefixed");
  m.sink.ready(false);
  assert.equal((await fetch(url('/readyz'))).status, 503);
  assert.equal((await fetch(url('/nothing'))).status, 404);
});

test('two sinks in one process do not share or clash (no default registry)', async () => {
  const a = createPrometheusMetrics();
  const b = createPrometheusMetrics();
  a.sink.error('docker');
  assert.equal(sample(await b.text(), 'faultline_errors_total{reason="docker"}'), 0);
});

test('a port already in use is an error, not a silent controller without metrics', async (t) => {
  const m = createPrometheusMetrics({ processMetrics: false });
  const first = await serveMetrics(m, { host: '127.0.0.1', port: 0 });
  t.after(() => first.close());
  await assert.rejects(serveMetrics(m, { host: '127.0.0.1', port: first.address.port }), /EADDRINUSE/);
});

test('--metrics-addr takes [host]:port and says what it accepts otherwise', () => {
  assert.deepEqual(listenAddress(':9464'), { port: 9464, text: ':9464' });
  assert.deepEqual(listenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464, text: '127.0.0.1:9464' });
  assert.deepEqual(listenAddress('[::1]:0'), { host: '::1', port: 0, text: '[::1]:0' });
  for (const bad of ['9464', 'localhost', ':99999', 'a b:1', '::1:80'])
    assert.throws(() => listenAddress(bad), /Use \[host\]:port, like :9464/, bad);
});
