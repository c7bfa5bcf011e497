// Running a local program safely: an argument array (never a shell string), optional stdin, a hard
// timeout and a cap on captured output. nsenter.ts builds on this; nothing outside adapters/ spawns
// processes.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';

export interface RunOptions {
  /** Written to the child's stdin, which is then closed (e.g. a `tc -batch -` program). */
  stdin?: string;
  /** The child is killed (SIGKILL) and the call rejects after this long. */
  timeoutMs: number;
  /**
   * Cap on stdout and on stderr, each, in bytes. Exceeding it kills the child and rejects: a
   * truncated `iptables-save` must never be parsed as if it were the whole ruleset.
   */
  maxOutputBytes: number;
  /** Extra environment; merged over the parent's. */
  env?: Record<string, string>;
}

export interface RunResult {
  /** Exit code; 128 + signal number when the child died of a signal we did not send. */
  code: number;
  stdout: string;
  stderr: string;
}

export type ExecErrorCode = 'InvalidArgv' | 'SpawnFailed' | 'Timeout' | 'OutputTooLarge';

export class ExecError extends Error {
  readonly code: ExecErrorCode;
  /** Output captured before the failure, for diagnostics. */
  readonly stderr: string;
  constructor(code: ExecErrorCode, message: string, stderr = '', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExecError';
    this.code = code;
    this.stderr = stderr;
  }
}

/**
 * Rejects argv that a careless caller could have built from unchecked input. NUL cannot be passed
 * through execve and would silently truncate an argument, so it is refused rather than stripped.
 */
export function validateArgv(argv: unknown): asserts argv is string[] {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new ExecError('InvalidArgv', 'argv must be a non-empty array of strings');
  }
  argv.forEach((a, i) => {
    if (typeof a !== 'string') {
      throw new ExecError('InvalidArgv', `argv[${i}] must be a string, got ${typeof a}`);
    }
    if (a.includes('\0')) {
      throw new ExecError('InvalidArgv', `argv[${i}] contains a NUL byte`);
    }
  });
  if (argv[0] === '') throw new ExecError('InvalidArgv', 'argv[0] (the program) must not be empty');
}

/** Human-readable command for error messages only (never executed). */
export function describeArgv(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Spawns argv[0] with argv[1..] directly (shell: false), feeds stdin, and collects the result. */
export function runProcess(argv: string[], opts: RunOptions): Promise<RunResult> {
  return startProcess(argv, opts).finish(opts.stdin);
}

/** A process started ahead of need, waiting for its input (see startProcess). */
export interface StartedProcess {
  /** Write `stdin` (or nothing), close it, and collect the result; the timeout runs from here. */
  finish(stdin?: string): Promise<RunResult>;
  /** Not needed after all: kill it before it reads anything. */
  cancel(): void;
}

/**
 * Start argv now and let it wait on its input: a program that reads a script from stdin
 * (`iptables-restore`, `tc -batch -`) does nothing until `finish` hands it one, so the cost of
 * starting it (fork, exec, nsenter, loading the tool) is paid before the instant it must act.
 */
export function startProcess(argv: string[], opts: Omit<RunOptions, 'stdin'>): StartedProcess {
  validateArgv(argv);
  const [file, ...args] = argv;
  const what = describeArgv(argv);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  let settled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveResult!: (r: RunResult) => void;
  let rejectResult!: (e: unknown) => void;
  const result = new Promise<RunResult>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  result.catch(() => undefined); // a cancelled or failed start nobody finishes is not an unhandled rejection

  const child = spawn(file, args, {
    shell: false,
    stdio: ['pipe', 'pipe', 'pipe'],
    // LC_ALL=C keeps tool output (tc, iptables) in the one format our parsers understand.
    env: { ...process.env, LC_ALL: 'C', ...opts.env },
  });

  const stderrSoFar = () => Buffer.concat(err).toString('utf8');
  const fail = (e: ExecError) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rejectResult(e);
  };

  const collect = (chunks: Buffer[], stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    if (settled) return;
    const size = stream === 'stdout' ? (outBytes += chunk.length) : (errBytes += chunk.length);
    if (size > opts.maxOutputBytes) {
      fail(
        new ExecError(
          'OutputTooLarge',
          `${what}: ${stream} exceeded ${opts.maxOutputBytes} bytes; killed (output would be incomplete)`,
          stderrSoFar(),
        ),
      );
      return;
    }
    chunks.push(chunk);
  };
  child.stdout.on('data', collect(out, 'stdout'));
  child.stderr.on('data', collect(err, 'stderr'));

  child.on('error', (e: NodeJS.ErrnoException) => {
    const hint = e.code === 'ENOENT' ? ` (is ${file} installed and on PATH?)` : '';
    fail(new ExecError('SpawnFailed', `${what}: cannot start: ${e.message}${hint}`, '', { cause: e }));
  });

  // 'close' (not 'exit') so that all output has been read before we resolve.
  child.on('close', (code, signal) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    const sigNo = signal ? ((osConstants.signals as Record<string, number>)[signal] ?? 0) : 0;
    resolveResult({
      code: code ?? 128 + sigNo,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    });
  });

  // A child that exits without reading stdin makes our write fail with EPIPE; its exit code and
  // stderr say more than EPIPE does, so the write error itself is ignored.
  child.stdin.on('error', () => {});

  return {
    finish(stdin) {
      timer = setTimeout(
        () => fail(new ExecError('Timeout', `${what}: no exit after ${opts.timeoutMs} ms; killed`, stderrSoFar())),
        opts.timeoutMs,
      );
      if (stdin !== undefined) child.stdin.end(stdin);
      else child.stdin.end();
      return result;
    },
    cancel() {
      fail(new ExecError('SpawnFailed', `${what}: cancelled before it was needed`));
    },
  };
}
