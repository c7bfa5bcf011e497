// The executor: runs a Plan through the DockerPort, one Docker call per operation, phases in
// order, operations inside a phase concurrently (bounded). It carries no decision logic: a failed
// operation is recorded and the rest of the plan still runs; the next reconcile re-plans from
// what is then observed. With several engines, each operation goes to the engine it names
// (`op.engine`, absent: the default one) through `engines`.
import type { DockerPort } from '../ports/index.js';
import { assertNever } from '../api/kinds.js';
import { DEFAULT_ENGINE, memberKey } from '../api/ownership.js';
import { opName, type Op, type Plan } from '../plan/plan.js';
import { pool } from './pool.js';

export interface OpResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface ExecResult {
  results: OpResult[];
  /** Error messages keyed by the Docker name of the object (or "network\0container" for members). */
  errors: Map<string, string>;
  durationMs: number;
}

function errorKey(op: Op): string {
  switch (op.kind) {
    case 'member.connect':
    case 'member.disconnect':
      return memberKey(op.network, op.container);
    case 'network.create':
    case 'network.remove':
      return op.network;
    case 'volume.create':
    case 'volume.remove':
      return op.volume;
    default:
      return op.container;
  }
}

function run(docker: DockerPort, op: Op): Promise<unknown> {
  switch (op.kind) {
    case 'member.disconnect':
      return docker.disconnect(op.network, op.container);
    case 'container.remove':
      return docker.removeContainer(op.id);
    case 'network.remove':
      return docker.removeNetwork(op.id);
    case 'network.create':
      return docker.createNetwork(op.request);
    case 'volume.remove':
      return docker.removeVolume(op.volume);
    case 'volume.create':
      return docker.createVolume(op.request);
    case 'container.create':
      return docker.createContainer(op.request);
    case 'member.connect':
      return docker.connect(op.network, op.container, op.endpoint);
    case 'container.start':
      return docker.startContainer(op.container);
    case 'container.pause':
      return docker.pauseContainer(op.container);
    case 'container.unpause':
      return docker.unpauseContainer(op.container);
    case 'container.stop':
      return docker.stopContainer(op.container);
    case 'container.kill':
      return docker.killContainer(op.container, op.signal);
    case 'container.restart':
      return docker.restartContainer(op.container);
    default:
      return assertNever(op, 'plan operation');
  }
}

/** The engine an operation goes to: one port (a single engine), or a port per engine name. */
export type Engines = DockerPort | ((engine: string) => DockerPort);

export async function executePlan(
  plan: Plan,
  engines: Engines,
  opts: { concurrency?: number; now?: () => number; onOp?: (r: OpResult) => void } = {},
): Promise<ExecResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const results: OpResult[] = [];
  const errors = new Map<string, string>();
  for (const phase of plan.phases) {
    await pool(phase, opts.concurrency ?? 6, async (op) => {
      const t0 = now();
      const name = opName(op);
      try {
        await run(typeof engines === 'function' ? engines(op.engine ?? DEFAULT_ENGINE) : engines, op);
        const r = { name, ok: true, ms: Math.round(now() - t0) };
        results.push(r);
        opts.onOp?.(r);
      } catch (e) {
        const error = `${name}: ${(e as Error).message}`;
        // The first failure of an object is its cause (a failed create makes its start fail too).
        if (!errors.has(errorKey(op))) errors.set(errorKey(op), error);
        const r = { name, ok: false, error, ms: Math.round(now() - t0) };
        results.push(r);
        opts.onOp?.(r);
      }
    });
  }
  return { results, errors, durationMs: Math.round(now() - started) };
}
