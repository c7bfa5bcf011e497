// verify: probe — the measuring half, pure: what a fault should look like to packets, the programs
// that measure it (argument arrays, busybox applets so the host and the helper image both have
// them), how to read their output, and the verdict against the tolerance.
//
//   netem delay 100ms, egress          echo ×20 every 100 ms       RTT 100 ms ± (2 % + 0.5 ms)
//   netem loss 20%, both directions    echo ×200 every 10 ms       lost in the 99.99 % binomial
//                                                                  interval of p = 1 − 0.8²
//   bandwidth 4mbit (ceil 8mbit)       timed TCP transfer, timed   8 Mbit/s ± 5 % on the wire, the
//                                      by the receiver, up to 3    fastest transfer (one TCP flow can
//                                      while short                 fall short of a ceiling; never over)
//   partition / blackhole              echo ×3, or a TCP connect   no answer
//   reject                             TCP connect to a listener   refused at once
//
// The runner (kernel/probe.ts) enters the namespaces; nothing here does I/O.
import { directionOf, actionOf } from '../api/kinds.js';
import type { FaultSpec, ObservedEffect } from '../api/types.js';
import { parseDurationUs, parsePct, trimNumber } from '../api/quantity.js';
import { bandwidthParams, parsePorts } from './ledger.js';

/** What the requested fault should look like from the target, in round trips (or the wire). */
export interface ExpectedEffect {
  /** Round-trip time added (ms). */
  delayMs?: number;
  /** Probability that an echo round trip is lost (0..1). */
  loss?: number;
  /** Rate on the wire (bits/s) of one TCP flow alone in the shaped class. */
  rateBps?: number;
  reachable?: boolean;
  refused?: boolean;
}

export type ProbeMethod =
  | { kind: 'echo'; count: number; intervalS: number; waitS: number }
  | { kind: 'connect'; port: number; waitS: number }
  | {
      kind: 'transfer';
      port: number;
      bytes: number;
      /** Bytes a token bucket lets through before the rate holds, and how fast (peakrate). */
      burstBytes: number;
      peakBps?: number;
    };

export interface ProbeSpec {
  method: ProbeMethod;
  expected: ExpectedEffect;
  /** The connection starts at the peer (an ingress-only fault: what arrives at the target). */
  fromPeer: boolean;
}

/** Port a probe listens on when the fault names none (unprivileged, unlikely to be taken). */
export const PROBE_PORT = 47_999;
/** A probe of one target is repeated at most this often (and always after its fault changes). */
export const PROBE_INTERVAL_MS = 5 * 60_000;
/** Echo requests for a loss probe, and for a delay probe. */
export const LOSS_SAMPLES = 200;
export const DELAY_SAMPLES = 20;
/** A transfer lasts about this long at the expected rate. */
export const TRANSFER_SECONDS = 2;
/**
 * Transfers at most, while the fastest so far is short of the rate: a rate limit is a ceiling, and
 * one TCP flow through it can fall short of it (a retransmission timeout after the token bucket's
 * drops costs ~250 ms of a 2 s transfer: seen 2 times in 20 here), while nothing but a missing or
 * wrong limit makes it faster. So a short transfer is measured again and the fastest is judged.
 */
export const TRANSFER_TRIES = 3;
/** A listener gives up after this long (the executor stops any program after 10 s). */
export const LISTEN_SECONDS = 8;
/**
 * Wire bytes per payload byte of a full TCP segment on a 1500-byte MTU: 1448 bytes of payload
 * (20 IP + 32 TCP with timestamps) in 1514 bytes on the wire (+ 14 Ethernet), 1428 over IPv6.
 */
export const WIRE_FACTOR = { v4: 1514 / 1448, v6: 1514 / 1428 } as const;

/** How the fault's effect is measured, or why it cannot be. */
export function probeSpecOf(f: FaultSpec): ProbeSpec | { unmeasurable: string } {
  const a = actionOf(f);
  const dir = directionOf(f);
  const both = dir === 'both';
  const fromPeer = dir === 'ingress';
  const firstPort = (xs?: string[]) => (xs?.length ? parsePorts(xs)[0][0] : undefined);
  const port = firstPort(f.destinationPorts) ?? firstPort(f.ports);
  switch (a.kind) {
    case 'netem': {
      const n = a.spec;
      const delayMs = n.delay === undefined ? undefined : (parseDurationUs(n.delay) / 1000) * (both ? 2 : 1);
      const l = n.loss === undefined ? undefined : parsePct(typeof n.loss === 'object' ? n.loss.percent : n.loss) / 100;
      const loss = l === undefined ? undefined : both ? 1 - (1 - l) ** 2 : l;
      if (delayMs === undefined && loss === undefined)
        return { unmeasurable: 'a probe measures netem delay and loss (Bernoulli); this fault has neither' };
      // the last request's reply comes a round trip later: wait for it, twice over, within the
      // executor's 10 s for one program (sending takes 2 s)
      const waitS = Math.min(Math.ceil((2 * (delayMs ?? 0)) / 1000) + 2, 7);
      return {
        method:
          loss === undefined
            ? { kind: 'echo', count: DELAY_SAMPLES, intervalS: 0.1, waitS }
            : { kind: 'echo', count: LOSS_SAMPLES, intervalS: 0.01, waitS },
        expected: { ...(delayMs !== undefined && { delayMs }), ...(loss !== undefined && { loss }) },
        fromPeer: false,
      };
    }
    case 'bandwidth': {
      const b = a.spec;
      const p = bandwidthParams(b.rate, b.burst, b.limit, b.latency, b);
      const rateBps = p.ceilBps ?? p.rateBps;
      const burstBytes = p.ceilBps ? 0 : p.burstBytes;
      const bytes = Math.max(8 * burstBytes, Math.round((rateBps / 8) * TRANSFER_SECONDS));
      return {
        method: { kind: 'transfer', port: PROBE_PORT, bytes, burstBytes, ...(p.peakBps && { peakBps: p.peakBps }) },
        expected: { rateBps },
        fromPeer,
      };
    }
    case 'partition':
    case 'blackhole':
      return {
        method:
          port === undefined
            ? { kind: 'echo', count: 3, intervalS: 0.2, waitS: 1 }
            : { kind: 'connect', port, waitS: 2 },
        expected: { reachable: false },
        fromPeer,
      };
    case 'reject':
      return {
        method: { kind: 'connect', port: port ?? PROBE_PORT, waitS: 2 },
        expected: { reachable: false, refused: true },
        fromPeer,
      };
    case 'dns':
    case 'disconnect':
    case 'container':
      return { unmeasurable: `a probe does not measure a ${a.kind} fault` };
  }
}

// ---------------------------------------------------------------- programs (argument arrays)

/** Echo requests from the namespace it runs in. */
export function echoArgv(peer: string, m: Extract<ProbeMethod, { kind: 'echo' }>): string[] {
  const ping = peer.includes(':') ? 'ping6' : 'ping';
  return ['busybox', ping, '-q', '-c', String(m.count), '-i', String(m.intervalS), '-W', String(m.waitS), peer];
}

/**
 * A listener that accepts one connection and reads it to the end (closing on its own after `s`).
 * `timed`: the reading is timed where it happens (busybox time -p, on stderr: `real 2.18`), from
 * the accepted connection to its end, so a busy controller's own delays are not in the figure.
 */
export function listenArgv(port: number, s: number, timed = false): string[] {
  return [
    'busybox',
    'timeout',
    String(s),
    'busybox',
    'nc',
    '-l',
    '-p',
    String(port),
    '-e',
    ...(timed ? ['busybox', 'time', '-p'] : []),
    'busybox',
    'dd',
    'of=/dev/null',
    'bs=65536',
  ];
}

/** A connect that closes at once when it succeeds. */
export function connectArgv(peer: string, port: number, waitS: number): string[] {
  return ['busybox', 'nc', '-w', String(waitS), peer, String(port), '-e', 'busybox', 'true'];
}

/** Send `bytes` of zeros to the listener. */
export function sendArgv(peer: string, port: number, bytes: number): string[] {
  const bs = 65_536;
  return [
    'busybox',
    'nc',
    peer,
    String(port),
    '-e',
    'busybox',
    'dd',
    'if=/dev/zero',
    `bs=${bs}`,
    `count=${Math.ceil(bytes / bs)}`,
  ];
}

/** The bytes `sendArgv` really sends (whole blocks). */
export function sentBytes(bytes: number): number {
  return Math.ceil(bytes / 65_536) * 65_536;
}

// ---------------------------------------------------------------- reading outputs

export interface EchoResult {
  sent: number;
  received: number;
  /** Mean round-trip time of the answered requests (ms). */
  avgMs?: number;
}

/** busybox ping -q: "N packets transmitted, M packets received" and "min/avg/max = a/b/c ms". */
export function parseEcho(stdout: string): EchoResult | undefined {
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(stdout);
  if (!m) return undefined;
  const rtt = /min\/avg\/max = [\d.]+\/([\d.]+)\/[\d.]+ ms/.exec(stdout);
  return { sent: Number(m[1]), received: Number(m[2]), ...(rtt && { avgMs: Number(rtt[1]) }) };
}

/** Seconds of a timed listener's reading (`real 2.18` from busybox time -p), if it printed them. */
export function parseReal(stderr: string): number | undefined {
  const m = /^real\s+(\d+(?:\.\d+)?)\s*$/m.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

export type ConnectResult = 'connected' | 'refused' | 'timeout';

/** busybox nc: exit 0 connected; "Connection refused"; anything else (timeout, unreachable) silent. */
export function parseConnect(r: { code: number; stderr: string }): ConnectResult {
  if (r.code === 0) return 'connected';
  return /refused/i.test(r.stderr) ? 'refused' : 'timeout';
}

// ---------------------------------------------------------------- judging

/** Central interval [lo, hi] of a Binomial(n, p) count holding `conf` of its mass (exact cdf). */
export function binomialInterval(n: number, p: number, conf = 0.99): [number, number] {
  if (p <= 0) return [0, 0];
  if (p >= 1) return [n, n];
  const alpha = (1 - conf) / 2;
  let logPmf = n * Math.log(1 - p);
  let cdf = 0;
  let lo = -1;
  for (let k = 0; k <= n; k++) {
    cdf += Math.exp(logPmf);
    if (lo < 0 && cdf >= alpha) lo = k;
    if (cdf >= 1 - alpha) return [lo, k];
    logPmf += Math.log((n - k) / (k + 1)) + Math.log(p / (1 - p));
  }
  return [Math.max(lo, 0), n];
}

/** Delay tolerance: ±(2 % + 0.5 ms) of the requested round-trip delay. */
export function delayWithin(expectedMs: number, observedMs: number): boolean {
  return Math.abs(observedMs - expectedMs) <= 0.02 * expectedMs + 0.5;
}

/**
 * Loss tolerance: the lost count inside the 99.99 % binomial interval of the requested probability.
 * A probe repeats; at 99 % a correct fault would be called a mismatch once in a hundred probes.
 */
export const LOSS_CONF = 0.9999;

export function lossWithin(p: number, sent: number, lost: number): boolean {
  const [lo, hi] = binomialInterval(sent, p, LOSS_CONF);
  return lost >= lo && lost <= hi;
}

/** Rate tolerance: ±5 %. */
export function rateWithin(expectedBps: number, observedBps: number): boolean {
  return Math.abs(observedBps - expectedBps) <= 0.05 * expectedBps;
}

/**
 * Is this transfer short of the requested rate (and worth measuring again)? A transfer that did
 * not finish is not tried again: the receiver waited LISTEN_SECONDS, four times the expected time.
 */
export function transferShort(spec: ProbeSpec, t: NonNullable<Measurement['transfer']>): boolean {
  const e = spec.expected.rateBps;
  if (e === undefined || spec.method.kind !== 'transfer' || !t.complete) return false;
  return transferRateBps(t.bytes, t.seconds, spec.method, t.wire) < 0.95 * e;
}

/**
 * The rate on the wire of a transfer of `bytes` of payload that took `seconds` from the sender's
 * start to the receiver's end: the token bucket's burst left at peakrate (or at once), the rest at
 * the rate; every payload byte costs `wire` bytes on the wire.
 */
export function transferRateBps(
  bytes: number,
  seconds: number,
  m: { burstBytes: number; peakBps?: number },
  wire: number,
): number {
  const wireBytes = bytes * wire;
  const burst = Math.min(m.burstBytes, wireBytes / 2);
  const burstS = m.peakBps ? (burst * 8) / m.peakBps : 0;
  return ((wireBytes - burst) * 8) / Math.max(seconds - burstS, 1e-6);
}

export interface Measurement {
  peer: string;
  samples: number;
  echo?: EchoResult;
  connect?: ConnectResult;
  /**
   * The fastest transfer (of `samples`). `complete: false`: the receiver gave up (LISTEN_SECONDS)
   * before the end of the data. `timedBy`: who timed it, the receiver in its namespace or (when
   * its time could not be read) the controller, from the sender's start to the receiver's end.
   */
  transfer?: { bytes: number; seconds: number; wire: number; complete: boolean; timedBy?: 'receiver' | 'controller' };
  /** The measurement could not be made (a program failed): the message. */
  error?: string;
}

const fmtMs = (ms: number) => `${trimNumber(ms, ms < 10 ? 3 : 1)}ms`;
const fmtPct = (x: number) => `${trimNumber(x * 100, 1)}%`;
function fmtRate(bps: number): string {
  if (bps >= 1e9) return `${trimNumber(bps / 1e9, 3)}gbit`;
  if (bps >= 1e6) return `${trimNumber(bps / 1e6, 3)}mbit`;
  if (bps >= 1e3) return `${trimNumber(bps / 1e3, 2)}kbit`;
  return `${Math.round(bps)}bit`;
}

/** The requested effect in the words of status (what `judge` writes as `expected`). */
export function expectedText(e: ExpectedEffect): NonNullable<ObservedEffect['expected']> {
  return {
    ...(e.delayMs !== undefined && { delay: fmtMs(e.delayMs) }),
    ...(e.loss !== undefined && { loss: fmtPct(e.loss) }),
    ...(e.rateBps !== undefined && { rate: fmtRate(e.rateBps) }),
    ...(e.reachable !== undefined && { reachable: e.reachable }),
    ...(e.refused !== undefined && { refused: e.refused }),
  };
}

/** The status record of one probe: what packets showed, beside what was requested, and the verdict. */
export function judge(spec: ProbeSpec, m: Measurement, at: Date): ObservedEffect {
  const e = spec.expected;
  const expected = expectedText(e);
  const base = { at: at.toISOString(), peer: m.peer, samples: m.samples, expected };
  if (m.error) return { ...base, verdict: 'Inconclusive', message: m.error };
  const out: ObservedEffect = { ...base, verdict: 'AsRequested' };
  const misses: string[] = [];
  if (m.echo) {
    const { sent, received, avgMs } = m.echo;
    const lost = sent - received;
    if (e.delayMs !== undefined || e.loss !== undefined) {
      if (avgMs !== undefined) out.delay = fmtMs(avgMs);
      out.loss = fmtPct(sent ? lost / sent : 0);
      if (e.delayMs !== undefined) {
        if (avgMs === undefined) misses.push('no echo request was answered, so no round-trip time');
        else if (!delayWithin(e.delayMs, avgMs))
          misses.push(`round trip ${fmtMs(avgMs)}, requested ${fmtMs(e.delayMs)} ± ${fmtMs(0.02 * e.delayMs + 0.5)}`);
      }
      if (e.loss !== undefined && !lossWithin(e.loss, sent, lost)) {
        const [lo, hi] = binomialInterval(sent, e.loss, LOSS_CONF);
        misses.push(`${lost} of ${sent} lost, requested ${fmtPct(e.loss)}: the 99.99 % interval is ${lo}..${hi}`);
      }
    }
    if (e.reachable !== undefined) {
      out.reachable = received > 0;
      if (out.reachable !== e.reachable) misses.push(`${received} of ${sent} echo requests answered`);
    }
  }
  if (m.connect) {
    out.reachable = m.connect === 'connected';
    out.refused = m.connect === 'refused';
    if (e.refused !== undefined && out.refused !== e.refused)
      misses.push(`the connect ${m.connect === 'connected' ? 'succeeded' : 'timed out'} instead of being refused`);
    else if (e.reachable !== undefined && out.reachable !== e.reachable)
      misses.push(`the connect ${m.connect === 'connected' ? 'succeeded' : m.connect}`);
  }
  if (m.transfer && e.rateBps !== undefined && spec.method.kind === 'transfer') {
    const bps = transferRateBps(m.transfer.bytes, m.transfer.seconds, spec.method, m.transfer.wire);
    out.rate = fmtRate(bps);
    if (!m.transfer.complete)
      misses.push(
        `${m.transfer.bytes} bytes did not arrive within ${trimNumber(m.transfer.seconds, 1)} s: slower than ${out.rate}, requested ${fmtRate(e.rateBps)}`,
      );
    else if (!rateWithin(e.rateBps, bps))
      misses.push(
        `${out.rate} on the wire${m.samples > 1 ? ` (the fastest of ${m.samples} transfers)` : ''}, requested ${fmtRate(e.rateBps)} ± 5 %`,
      );
  }
  if (misses.length) {
    out.verdict = 'EffectMismatch';
    out.message = misses.join('; ');
  }
  return out;
}
