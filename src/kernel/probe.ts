// verify: probe — the measuring runs: programs from netfaults/probe.ts run inside the target's and
// the peer's namespaces through the namespace executor (nsenter or the helper; argument arrays
// only). One measurement at a time per controller (the engine holds the lock), so probes never
// pile up on a loaded host; how often a target is probed is decided by the planner
// (netplan/probe.ts).
import type { NetnsExec, ProbeEnd, ProbeRequest } from '../ports/index.js';
import {
  LISTEN_SECONDS,
  TRANSFER_TRIES,
  WIRE_FACTOR,
  connectArgv,
  echoArgv,
  listenArgv,
  parseConnect,
  parseEcho,
  parseReal,
  sendArgv,
  sentBytes,
  transferShort,
  type Measurement,
  type ProbeMethod,
} from '../netfaults/probe.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until something listens on tcp `port` in the namespace (busybox netstat), up to ~3 s. */
async function listening(exec: NetnsExec, end: ProbeEnd, port: number): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    const r = await exec.run(end, ['busybox', 'netstat', '-ltn']).catch(() => undefined);
    if (r && new RegExp(`[:.]${port}\\s`).test(r.stdout)) return true;
    await sleep(100);
  }
  return false;
}

/** One timed transfer of `m.bytes` from `from` to `to`. */
async function transferOnce(
  exec: NetnsExec,
  from: ProbeEnd,
  to: ProbeEnd,
  m: Extract<ProbeMethod, { kind: 'transfer' }>,
  base: { peer: string },
  now: () => number,
): Promise<Measurement> {
  const listener = exec.run(to, listenArgv(m.port, LISTEN_SECONDS, true)).then(
    (r) => ({ r, end: now() }),
    () => ({ r: undefined, end: now() }),
  );
  if (!(await listening(exec, to, m.port)))
    return { ...base, samples: 0, error: `nothing listens on tcp/${m.port} at ${to.address}` };
  const t0 = now();
  const sent = await exec.run(from, sendArgv(to.address, m.port, m.bytes)).catch((e: Error) => e);
  const { r, end } = await listener;
  if (sent instanceof Error || sent.code !== 0)
    return {
      ...base,
      samples: 0,
      error: `the transfer failed: ${sent instanceof Error ? sent.message : sent.stderr.trim()}`,
    };
  // busybox timeout ends the listener with a non-zero status when the data did not all come
  const complete = r !== undefined && r.code === 0;
  const real = complete ? parseReal(r.stderr) : undefined;
  return {
    ...base,
    samples: 1,
    transfer: {
      bytes: sentBytes(m.bytes),
      seconds: real ?? (end - t0) / 1000,
      wire: to.address.includes(':') ? WIRE_FACTOR.v6 : WIRE_FACTOR.v4,
      complete,
      timedBy: real === undefined ? 'controller' : 'receiver',
    },
  };
}

/** Measure one fault on one target against one peer, as the spec says. */
export async function measure(exec: NetnsExec, req: ProbeRequest, now = () => performance.now()): Promise<Measurement> {
  const { spec } = req;
  const from = spec.fromPeer ? req.peer : req.target;
  const to = spec.fromPeer ? req.target : req.peer;
  const m = spec.method;
  const base = { peer: req.peer.address };
  try {
    switch (m.kind) {
      case 'echo': {
        const r = await exec.run(req.target, echoArgv(req.peer.address, m));
        const echo = parseEcho(r.stdout);
        if (!echo) return { ...base, samples: 0, error: `ping gave no summary: ${(r.stderr || r.stdout).trim()}` };
        return { ...base, samples: echo.sent, echo };
      }
      case 'connect': {
        // A listener of our own on the port (unless the container's own program has it), so that a
        // refusal can only come from the fault.
        const listener = exec.run(to, listenArgv(m.port, m.waitS + 3)).catch(() => undefined);
        if (!(await listening(exec, to, m.port)))
          return { ...base, samples: 0, error: `nothing listens on tcp/${m.port} at ${to.address}` };
        const r = await exec.run(from, connectArgv(to.address, m.port, m.waitS));
        await listener;
        return { ...base, samples: 1, connect: parseConnect(r) };
      }
      case 'transfer': {
        // the fastest of up to TRANSFER_TRIES, the next only while the fastest is short of the rate
        let fastest: Measurement | undefined;
        for (let n = 1; n <= TRANSFER_TRIES; n++) {
          const one = await transferOnce(exec, from, to, m, base, now);
          if (!one.transfer) return fastest ? { ...fastest, samples: n - 1 } : one;
          if (!fastest?.transfer || one.transfer.seconds < fastest.transfer.seconds) fastest = one;
          fastest = { ...fastest, samples: n };
          if (!transferShort(spec, fastest.transfer!)) break;
        }
        return fastest!;
      }
    }
  } catch (e) {
    return { ...base, samples: 0, error: (e as Error).message };
  }
}
