// NetnsExec through nsenter(1): runs a program inside a container's network namespace, with the
// controller's own binaries (tc, iptables, ip) rather than whatever the container image ships.
//
// Requirements: the controller runs as root (CAP_SYS_ADMIN + CAP_SYS_PTRACE to open
// /proc/<pid>/ns/net, CAP_NET_ADMIN for tc/iptables) in the Docker host's PID namespace, because
// State.Pid from Docker is a host pid. When that does not hold (controller in a container, remote
// engine), the helper-container executor (helper/) is used instead: `docker exec` into one pid=host
// container with NET_ADMIN + SYS_ADMIN that the controller owns; netns.ts chooses between them.
//
// Only the network namespace is entered (--net): the mount namespace stays ours, so argv[0] is
// resolved on the host, and nsenter execs it directly (no fork), so killing nsenter kills the tool.
import type { NetnsExec } from '../ports/index.js';
import { ExecError, startProcess, validateArgv } from './exec.js';
import { spawner } from './spawner.js';

export interface NsenterOptions {
  /** Per-command limit; the child is killed after it. Default 10 s. */
  timeoutMs?: number;
  /** Default "nsenter" from PATH. */
  nsenterPath?: string;
  /** Cap on stdout/stderr each. Default 16 MiB (iptables-save on a busy host can be large). */
  maxOutputBytes?: number;
  /**
   * Where programs are started: 'helper' (default), a small helper process whose forks neither cost
   * what the controller's do nor block its event loop (spawner.ts); 'inline', this process.
   */
  spawn?: 'helper' | 'inline';
}

export function createNsenterExec(opts: NsenterOptions = {}): NetnsExec {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const nsenter = opts.nsenterPath ?? 'nsenter';
  const maxOutputBytes = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  const inline = (opts.spawn ?? process.env.FAULTLINE_SPAWN) === 'inline';
  const start = inline
    ? startProcess
    : (argv: string[], o: Parameters<typeof startProcess>[1]) => spawner().start(argv, o);

  const full = (target: { pid: number; containerId: string }, argv: string[]) => {
    validateArgv(argv);
    if (!Number.isSafeInteger(target.pid) || target.pid <= 0) {
      // pid 0 is what Docker reports for a container that is not running: no netns to enter.
      throw new ExecError(
        'InvalidArgv',
        `container ${target.containerId.slice(0, 12)}: no network namespace to enter (pid ${target.pid}); is the container running?`,
      );
    }
    return [nsenter, `--net=/proc/${target.pid}/ns/net`, '--', ...argv];
  };
  // Say which container, so a log line is useful without the caller re-wrapping it.
  const located =
    (target: { containerId: string }) =>
    (e: unknown): never => {
      if (e instanceof ExecError)
        throw new ExecError(e.code, `container ${target.containerId.slice(0, 12)}: ${e.message}`, e.stderr, {
          cause: e,
        });
      throw e;
    };

  return {
    async run(target, argv, stdin) {
      return start(full(target, argv), { timeoutMs, maxOutputBytes }).finish(stdin).catch(located(target));
    },
    prepare(target, argv) {
      const p = start(full(target, argv), { timeoutMs, maxOutputBytes });
      return { run: (stdin) => p.finish(stdin).catch(located(target)), cancel: () => p.cancel() };
    },
  };
}
