// The controller as a user runs it (`faultline controller`, a child process), for benchmarks.
// FAULTLINE_BENCH_LOG=debug keeps its log (per-phase timings) in <dir>/../controller.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Arguments after `--` on a bench's command line go to the controller: how a figure is checked
 * against a broken path, e.g. `node dist/bench/partition.js 30 -- --host-rules off`.
 */
export function controllerArgs(): string[] {
  const i = process.argv.indexOf('--');
  return i < 0 ? [] : process.argv.slice(i + 1);
}

/** The bench's own arguments (before any `--`). */
export function benchArgs(): string[] {
  const i = process.argv.indexOf('--');
  return (i < 0 ? process.argv : process.argv.slice(0, i)).slice(2);
}

/** Controllers started here and not yet stopped: a bench that is interrupted stops them too. */
const running = new Set<ChildProcess>();
let trapped = false;
function trapSignals(): void {
  if (trapped) return;
  trapped = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      // A controller left running keeps the bench's objects, and the next run finds them owned by
      // another controller (Conflict): stop it with us.
      for (const c of running) c.kill('SIGTERM');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
}

/** Start it on `dir`; resolves once it logged "controller started" (watching, swept, reconciling). */
export function startCliController(dir: string, args: string[] = controllerArgs()): Promise<ChildProcess> {
  trapSignals();
  const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
  const level = process.env.FAULTLINE_BENCH_LOG ?? 'info';
  // Run as a user runs it: the file itself, so that its shebang's node flags apply.
  const child = spawn(bin, ['controller', '--dir', dir, '--log-level', level, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (level === 'debug') void appendFile(join(dir, '..', 'controller.log'), d);
      if (log.length < 1 << 20) log += d.toString();
      if (log.includes('"msg":"controller started"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`controller exited ${code}: ${log.slice(-2000)}`)));
  });
}

export async function stopCliController(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
