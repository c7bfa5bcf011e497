// Starting programs from a small helper process instead of from the controller itself.
//
// Node starts a child by forking the whole process and waiting, on the event loop's thread, until
// the child has exec'd. The cost grows with the parent's memory: measured here (2 cores, Node 20)
// about 7 ms per spawn from a 50 MB process and 13.5 ms from a 160 MB one, and 26 ms a spawn when
// the cores are busy. A controller firing timed transitions every 200 ms spends most of its time
// there, and every timer waits behind it. So programs are started by a child Node process with a
// small heap (forked once, talking over the IPC channel): its forks are cheaper, and they never
// block the controller's event loop. The child runs exec.ts's startProcess on the argv the parent
// validated; results, timeouts and output caps are exec.ts's own.
//
// The child is started on first use and again after it dies (requests in flight then fail as
// SpawnFailed). It exits when the controller does. Where it cannot be started, programs are started
// from this process, as before.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ExecError,
  startProcess,
  validateArgv,
  type ExecErrorCode,
  type RunOptions,
  type RunResult,
  type StartedProcess,
} from './exec.js';

export type SpawnRequest =
  | {
      t: 'start';
      id: number;
      argv: string[];
      timeoutMs: number;
      maxOutputBytes: number;
      env?: Record<string, string>;
    }
  | { t: 'finish'; id: number; stdin?: string }
  | { t: 'cancel'; id: number };

export type SpawnReply =
  | ({ t: 'done'; id: number } & RunResult)
  | { t: 'error'; id: number; code: ExecErrorCode; message: string; stderr: string };

const CHILD = fileURLToPath(new URL('./spawner-child.js', import.meta.url));

export class Spawner {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: unknown) => void }>();
  /** Started and not settled or cancelled yet, with the helper that runs each (they keep it referenced). */
  private readonly open = new Map<number, ChildProcess>();
  private broken = false;

  /** Like exec.ts's startProcess, the program started by the helper process. */
  start(argv: string[], opts: Omit<RunOptions, 'stdin'>): StartedProcess {
    validateArgv(argv);
    const child = this.ensure();
    if (!child) return startProcess(argv, opts);
    const id = this.nextId++;
    this.open.set(id, child);
    this.idle();
    this.send(child, {
      t: 'start',
      id,
      argv,
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxOutputBytes,
      env: opts.env,
    });
    let done = false;
    return {
      finish: (stdin) => {
        if (done) return Promise.reject(new ExecError('SpawnFailed', 'finished or cancelled already'));
        done = true;
        const result = new Promise<RunResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
        if (this.child !== child)
          this.settle(id, undefined, new ExecError('SpawnFailed', 'the spawner process exited'));
        else this.send(child, { t: 'finish', id, ...(stdin !== undefined ? { stdin } : {}) });
        return result;
      },
      cancel: () => {
        if (done) return;
        done = true;
        this.open.delete(id);
        if (this.child === child) this.send(child, { t: 'cancel', id });
        this.idle();
      },
    };
  }

  run(argv: string[], opts: RunOptions): Promise<RunResult> {
    return this.start(argv, opts).finish(opts.stdin);
  }

  /** Stop the helper process (programs it is running are its to finish). */
  close(): void {
    const c = this.child;
    this.child = undefined;
    c?.disconnect();
  }

  private ensure(): ChildProcess | undefined {
    if (this.child) return this.child;
    if (this.broken) return undefined;
    let child: ChildProcess;
    try {
      child = fork(CHILD, [], {
        // A small young generation and heap: its forks copy little. No optimizing or baseline
        // compiler, and V8 set to save memory: its work is a few lines per program, and after 600
        // programs it held 11.3 MiB of its own pages instead of 17.9, at the same 1.5 ms a spawn
        // (measured here, Node 20, two programs at a time). (`--lite-mode` saves as much, but
        // makes V8 print a warning about --expose-wasm when an ES module loads.)
        execArgv: [
          '--max-semi-space-size=1',
          '--max-old-space-size=64',
          '--no-opt',
          '--no-sparkplug',
          '--optimize-for-size',
        ],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
    } catch {
      this.broken = true;
      return undefined;
    }
    this.child = child;
    child.on('message', (m: SpawnReply) => {
      if (m.t === 'done') this.settle(m.id, { code: m.code, stdout: m.stdout, stderr: m.stderr });
      else this.settle(m.id, undefined, new ExecError(m.code, m.message, m.stderr));
    });
    child.on('error', () => undefined); // 'exit' follows
    const gone = () => {
      if (this.child === child) this.child = undefined;
      for (const [id, c] of [...this.open])
        if (c === child) this.settle(id, undefined, new ExecError('SpawnFailed', 'the spawner process exited'));
    };
    child.once('disconnect', gone);
    child.once('exit', gone);
    this.idle();
    return child;
  }

  private send(child: ChildProcess, m: SpawnRequest): void {
    child.channel?.ref();
    child.send(m, (e) => {
      if (e && this.pending.has(m.id)) this.settle(m.id, undefined, new ExecError('SpawnFailed', e.message));
    });
  }

  private settle(id: number, r: RunResult | undefined, e?: unknown): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.open.delete(id);
    if (p) {
      if (r) p.resolve(r);
      else p.reject(e);
    }
    this.idle();
  }

  /** Nothing in flight: the helper must not keep the controller (or a CLI command) alive. */
  private idle(): void {
    const c = this.child;
    if (!c) return;
    if (this.pending.size === 0 && this.open.size === 0) {
      c.channel?.unref();
      c.unref();
    } else c.ref();
  }
}

let shared: Spawner | undefined;

/** The process-wide spawner. */
export function spawner(): Spawner {
  return (shared ??= new Spawner());
}
