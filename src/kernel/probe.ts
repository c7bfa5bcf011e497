// verify: probe — the measuring runs: programs from netfaults/probe.ts run inside the target's and
// the peer's namespaces through the namespace executor (nsenter or the helper; argument arrays
// only). One measurement at a time per controller (the engine holds the lock), so probes never
// pile up on a loaded host; how often a target is probed is decided by the planner
// (netplan/probe.ts).
import type { NetnsExec, ProbeEnd, ProbeRequest } from '../ports/index.js';
import {
  LISTEN_SECONDS,
  WIRE_FACTOR,
  connectArgv,
  echoArgv,
  listenArgv,
  parseConnect,
  parseEcho,
  sendArgv,
  sentBytes,
  type Measurement,
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
        const listener = exec.run(to, listenArgv(m.port, LISTEN_SECONDS)).then(
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
        return {
          ...base,
          samples: 1,
          transfer: {
            bytes: sentBytes(m.bytes),
            seconds: (end - t0) / 1000,
            wire: to.address.includes(':') ? WIRE_FACTOR.v6 : WIRE_FACTOR.v4,
            complete,
          },
        };
      }
    }
  } catch (e) {
    return { ...base, samples: 0, error: (e as Error).message };
  }
}
