// The spawner's child (see spawner.ts): a small Node process that starts programs for the
// controller. It only ever runs exec.ts's startProcess (argument arrays, no shell), on argv the
// parent validated; it holds no state beyond the processes it started, and it exits, killing
// them, when its parent goes away.
import { ExecError, startProcess, type StartedProcess } from './exec.js';
import type { SpawnReply, SpawnRequest } from './spawner.js';

const started = new Map<number, StartedProcess>();

function reply(m: SpawnReply): void {
  process.send?.(m);
}

function failed(id: number, e: unknown): SpawnReply {
  return e instanceof ExecError
    ? { t: 'error', id, code: e.code, message: e.message, stderr: e.stderr }
    : { t: 'error', id, code: 'SpawnFailed', message: (e as Error).message ?? String(e), stderr: '' };
}

process.on('message', (m: SpawnRequest) => {
  if (m.t === 'start') {
    try {
      started.set(m.id, startProcess(m.argv, { timeoutMs: m.timeoutMs, maxOutputBytes: m.maxOutputBytes, env: m.env }));
    } catch (e) {
      // Answered when the parent asks for the result (a cancelled start is never asked).
      started.set(m.id, { finish: () => Promise.reject(e), cancel: () => undefined });
    }
  } else if (m.t === 'finish') {
    const p = started.get(m.id);
    if (!p) return reply({ t: 'error', id: m.id, code: 'SpawnFailed', message: 'unknown process', stderr: '' });
    p.finish(m.stdin).then(
      (r) => reply({ t: 'done', id: m.id, ...r }),
      (e) => reply(failed(m.id, e)),
    );
    started.delete(m.id);
  } else if (m.t === 'cancel') {
    started.get(m.id)?.cancel();
    started.delete(m.id);
  }
});

// The parent is gone (or closed the channel): nothing will ask for these any more.
process.on('disconnect', () => {
  for (const p of started.values()) p.cancel();
  process.exit(0);
});
