// Running one program in a container through `docker exec`: stdin in, stdout and stderr
// demultiplexed and capped, a time limit, the exit code read back from the exec.
//
// A program that outlives timeoutMs: the attach stream is dropped and the process (the exec's pid,
// a host pid the pid=host helper can signal) is killed with `kill -KILL` through a second exec.
import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { EngineCalls } from '../docker/client.js';
import { DockerError } from '../docker/errors.js';
import { ExecError, type RunResult } from '../exec.js';

export interface DockerExecOptions {
  /** Names the container in operation names, e.g. `helper "faultline-netns-helper"`. */
  where: string;
  /** Prefixes error messages, e.g. `container 3f2a9c1d0e4b: nsenter --net=... -- tc -batch -`. */
  what: string;
  /** From exec start to exit; the process is killed after it. */
  timeoutMs: number;
  /** Cap on stdout and on stderr, each. Exceeding it rejects (never truncates). */
  maxOutputBytes: number;
}

/** Best effort: SIGKILL the exec's process (a host pid; the helper shares the host PID namespace). */
async function killExec(e: EngineCalls, containerId: string, exec: Docker.Exec): Promise<void> {
  try {
    const info = (await e.call('inspect exec', (abortSignal) =>
      exec.inspect({ abortSignal }),
    )) as Docker.ExecInspectInfo;
    // Only while Docker still reports it running: after exit the pid may be reused.
    if (!info.Running || !(info.Pid > 0)) return;
    const killer = await e.call('create kill exec', (abortSignal) =>
      e.client
        .getContainer(containerId)
        .exec({ Cmd: ['kill', '-KILL', String(info.Pid)], abortSignal } as Docker.ExecCreateOptions),
    );
    const res = await e.call(
      'start kill exec',
      (abortSignal) => killer.start({ Detach: true, abortSignal } as object) as Promise<unknown>,
    );
    // The (empty) answer is a stream: drop it, or its socket keeps the process alive.
    (res as { destroy?: () => void } | undefined)?.destroy?.();
  } catch {
    // The caller already reports the timeout; a failed kill must not mask it.
  }
}

/** One docker exec of argv in the container; resolves with the exit code, or rejects. */
export async function dockerExec(
  e: EngineCalls,
  containerId: string,
  argv: string[],
  stdin: string | undefined,
  opts: DockerExecOptions,
): Promise<RunResult> {
  const { call, client: docker } = e;
  const { what, timeoutMs, maxOutputBytes } = opts;
  const exec = await call(`create exec in ${opts.where}`, (abortSignal) =>
    docker.getContainer(containerId).exec({
      Cmd: argv,
      AttachStdin: stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      // Like runProcess: tool output in the one format our parsers understand.
      Env: ['LC_ALL=C'],
      abortSignal,
    } as Docker.ExecCreateOptions),
  );
  const stream = (await call(`start exec in ${opts.where}`, (abortSignal) =>
    exec.start({ hijack: true, stdin: stdin !== undefined, Detach: false, Tty: false, abortSignal } as object),
  )) as unknown as Duplex;

  const output = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    let settled = false;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    const stderrSoFar = () => Buffer.concat(err).toString('utf8');
    const finish = (failure?: ExecError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure) {
        stream.destroy();
        void killExec(e, containerId, exec);
        reject(failure);
      } else {
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: stderrSoFar() });
      }
    };
    const timer = setTimeout(() => {
      finish(new ExecError('Timeout', `${what}: no exit after ${timeoutMs} ms; killed`, stderrSoFar()));
    }, timeoutMs);
    const sink = (chunks: Buffer[], which: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!settled) {
            const size = which === 'stdout' ? (outBytes += chunk.length) : (errBytes += chunk.length);
            if (size > maxOutputBytes) {
              finish(
                new ExecError(
                  'OutputTooLarge',
                  `${what}: ${which} exceeded ${maxOutputBytes} bytes; killed (output would be incomplete)`,
                  stderrSoFar(),
                ),
              );
            } else {
              chunks.push(chunk);
            }
          }
          cb();
        },
      });
    docker.modem.demuxStream(stream, sink(out, 'stdout'), sink(err, 'stderr'));
    // The frames are written synchronously by demuxStream's 'data' handler, so at 'end' all
    // output has been collected.
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (ex: NodeJS.ErrnoException) => {
      // A program that exits without reading all its stdin: as in runProcess, its exit code and
      // stderr say more than EPIPE does; the read side still delivers them.
      if (ex.code === 'EPIPE') return;
      finish(
        new ExecError('SpawnFailed', `${what}: the exec stream failed: ${ex.message}`, stderrSoFar(), { cause: ex }),
      );
    });
    // Half-close after the input: Docker then closes the program's stdin (EOF for tc -batch -).
    if (stdin !== undefined) stream.end(stdin);
  });

  // The stream ends when the process's output does; its exit code can lag a few ms behind.
  const deadline = Date.now() + e.timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    const info = (await call('inspect exec', (abortSignal) => exec.inspect({ abortSignal }))) as Docker.ExecInspectInfo;
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) {
      return { code: info.ExitCode, ...output };
    }
    if (Date.now() > deadline) {
      throw new DockerError({
        code: 'Timeout',
        operation: 'inspect exec',
        message: `${what}: output ended but Docker reports no exit code after ${e.timeoutMs} ms`,
      });
    }
    await delay(wait);
  }
}
