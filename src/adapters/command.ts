// The user's command under `faultline run -f s.yaml -- <command>`: started with the terminal's
// stdin, stdout and stderr (it is the user's program, its output is theirs), an argument array
// (no shell: `-- sh -c '...'` when one is wanted), stopped with SIGTERM and, after a grace period,
// SIGKILL. A command that cannot be started (not found, not executable) ends like a shell says it:
// 127 (or 126), with the reason.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';

export interface CommandExit {
  /** The exit code; 128 + the signal's number when a signal ended it (as a shell reports it). */
  code: number;
  /** The signal that ended it, if one did. */
  signal?: NodeJS.Signals;
  /** Why it could not be started (then code is 127 or 126). */
  error?: string;
}

export interface RunningCommand {
  readonly pid?: number;
  /** Resolves once, when the command has exited. */
  readonly exited: Promise<CommandExit>;
  /** Forward a signal (no-op once it has exited). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` if it is still running; resolves with its exit. */
  stop(graceMs?: number): Promise<CommandExit>;
}

export type StartCommand = (argv: string[], opts?: { env?: Record<string, string> }) => RunningCommand;

export const startCommand: StartCommand = (argv, opts = {}) => {
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0')))
    throw new Error('a command is a non-empty list of arguments without NUL characters');
  let done = false;
  const child = spawn(argv[0], argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, ...opts.env },
  });
  const exited = new Promise<CommandExit>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      const code = e.code === 'ENOENT' ? 127 : 126;
      resolve({ code, error: `${argv[0]}: ${e.code === 'ENOENT' ? 'command not found' : e.message}` });
    });
    child.once('exit', (code, signal) => {
      if (done) return;
      done = true;
      resolve(signal ? { code: 128 + (osConstants.signals[signal] ?? 0), signal } : { code: code ?? 1 });
    });
  });
  const send = (sig: NodeJS.Signals) => {
    if (!done) child.kill(sig);
  };
  return {
    pid: child.pid,
    exited,
    signal: send,
    async stop(graceMs = 10_000) {
      send('SIGTERM');
      const timer = setTimeout(() => send('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
};
