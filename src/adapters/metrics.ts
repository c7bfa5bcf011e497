// Prometheus metrics and health over HTTP (`faultline controller --metrics-addr :9464`).
//
// The controller reports through the MetricsSink port; this is the only code that knows
// prom-client. One Registry per sink (no module-level default registry), so two controllers in one
// process (tests) never share or clash.
//
//   GET /metrics  the text exposition format (also faultline_ready and Node's process metrics)
//   GET /healthz  200 "ok" while the process serves HTTP at all (a liveness probe)
//   GET /readyz   200 "ready" once the controller watches its directory, has listed Docker and
//                 runs its workers; 503 "not ready" before that and while it stops
//
// What a scrape shows while a scenario with a delay runs (abridged):
//
//   faultline_reconcile_phase_duration_seconds_bucket{phase="netns",le="0.05"} 12
//   faultline_transition_lateness_seconds_count 3
//   faultline_active_faults{kind="netem"} 1
//   faultline_kernel_programs_total{kind="write"} 4
//   faultline_docker_operations_total{operation="network.create",outcome="ok"} 1
//   faultline_errors_total{reason="kernel"} 0
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FAULT_ACTIONS } from '../api/kinds.js';
import type { MetricsSink } from '../ports/index.js';

/** Errors counted from the start at 0, so that a rate() over them exists before the first one. */
const ERROR_REASONS = [
  'docker',
  'kernel',
  'status_write',
  'invalid_spec',
  'name_conflict',
  'armed_transition',
  'crash',
] as const;

export interface PrometheusMetrics {
  sink: MetricsSink;
  registry: Registry;
  /** The exposition text (what GET /metrics answers). */
  text(): Promise<string>;
  isReady(): boolean;
}

export function createPrometheusMetrics(opts: { processMetrics?: boolean } = {}): PrometheusMetrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'faultline_' });
  const registers = [registry];
  const phase = new Histogram({
    name: 'faultline_reconcile_phase_duration_seconds',
    help: 'Time one phase of a reconcile took (read, parse, plan, docker, netns, status, write).',
    labelNames: ['phase'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const reconciles = new Counter({
    name: 'faultline_reconciles_total',
    help: 'Reconciles by outcome (ok, error, invalid, requeued, deleted).',
    labelNames: ['outcome'],
    registers,
  });
  const lateness = new Histogram({
    name: 'faultline_transition_lateness_seconds',
    help: 'Armed timeline transitions: from the instant to the end of the kernel write it needed.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const active = new Gauge({
    name: 'faultline_active_faults',
    help: 'Faults whose window is open now, by kind, over every scenario.',
    labelNames: ['kind'],
    registers,
  });
  const programs = new Counter({
    name: 'faultline_kernel_programs_total',
    help: 'Programs run in network namespaces: read (read-back) or write (changes the kernel).',
    labelNames: ['kind'],
    registers,
  });
  const dockerOps = new Counter({
    name: 'faultline_docker_operations_total',
    help: 'Docker operations run by the executor, by operation kind and outcome.',
    labelNames: ['operation', 'outcome'],
    registers,
  });
  const errors = new Counter({
    name: 'faultline_errors_total',
    help: 'Failures by reason (docker, kernel, status_write, invalid_spec, name_conflict, armed_transition, crash).',
    labelNames: ['reason'],
    registers,
  });
  const ready = new Gauge({
    name: 'faultline_ready',
    help: '1 while the controller serves (watching, Docker listed, workers running).',
    registers,
  });
  for (const kind of FAULT_ACTIONS) active.set({ kind }, 0);
  for (const kind of ['read', 'write']) programs.inc({ kind }, 0);
  for (const reason of ERROR_REASONS) errors.inc({ reason }, 0);
  ready.set(0);

  let isReady = false;
  const sink: MetricsSink = {
    reconcilePhase: (p, seconds) => phase.observe({ phase: p }, seconds),
    reconciled: (outcome) => reconciles.inc({ outcome }),
    transitionLateness: (seconds) => lateness.observe(seconds),
    activeFaults: (byKind) => {
      for (const kind of new Set([...FAULT_ACTIONS, ...Object.keys(byKind)])) active.set({ kind }, byKind[kind] ?? 0);
    },
    kernelPrograms: (kind, n) => {
      if (n > 0) programs.inc({ kind }, n);
    },
    dockerOperation: (operation, ok) => dockerOps.inc({ operation, outcome: ok ? 'ok' : 'error' }),
    error: (reason) => errors.inc({ reason }),
    ready: (r) => {
      isReady = r;
      ready.set(r ? 1 : 0);
    },
  };
  return { sink, registry, text: () => registry.metrics(), isReady: () => isReady };
}

export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked for). */
  address: { host: string; port: number };
  close(): Promise<void>;
}

/** Serve /metrics, /healthz and /readyz at `addr` until close(). Rejects when it cannot listen. */
export async function serveMetrics(
  metrics: PrometheusMetrics,
  addr: { host?: string; port: number },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'GET only\n');
    switch (path) {
      case '/metrics':
        metrics.text().then(
          (t) => reply(200, t, metrics.registry.contentType),
          (e: Error) => reply(500, `${e.message}\n`),
        );
        return;
      case '/healthz':
        return reply(200, 'ok\n');
      case '/readyz':
        return metrics.isReady() ? reply(200, 'ready\n') : reply(503, 'not ready\n');
      default:
        return reply(404, 'not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
