// Docker's /events: a streaming JSON decoder, the event mapping, and a reconnect loop (capped
// backoff, `since` replay, a resync callback after every re-open).
import { StringDecoder } from 'node:string_decoder';
import type { DockerEvent } from '../../ports/index.js';
import type { EngineCalls } from './client.js';
import { wrapDockerError } from './errors.js';

/** Opens one /events stream; injectable so the reconnect loop can be tested without a daemon. */
export type EventStreamSource = (args: { signal: AbortSignal; since?: string }) => Promise<NodeJS.ReadableStream>;

export interface WatchOptions {
  /** First retry delay after the stream ends or fails. Default 200 ms. */
  initialBackoffMs?: number;
  /** Cap on the retry delay. Default 5000 ms. */
  maxBackoffMs?: number;
  /** Injected for tests; rejects (or resolves early) when signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Injected for tests; milliseconds since the epoch. */
  now?: () => number;
  /** Told about every stream failure and callback error; the loop itself never gives up. */
  onError?: (err: Error, retryInMs: number | undefined) => void;
}

/**
 * Incremental decoder for a stream of concatenated JSON objects (what /events sends: one object
 * per line, but HTTP chunking splits and merges them arbitrarily). It scans for the closing brace
 * of each top-level object (tracking strings and escapes) rather than trusting newlines, and
 * decodes UTF-8 across chunk boundaries. An object longer than maxObjectBytes characters, or one that is not
 * valid JSON, is reported and skipped; decoding resumes at the next line.
 */
export class JsonObjectStreamDecoder {
  private readonly utf8 = new StringDecoder('utf8');
  private buf = '';
  private pos = 0; // next char of buf to scan
  private start = -1; // index of the current object's '{', -1 outside an object
  private depth = 0;
  private inString = false;
  private escaped = false;
  private skipLine = false;

  constructor(
    private readonly onValue: (v: unknown) => void,
    private readonly onError: (e: Error) => void = () => {},
    private readonly maxObjectBytes = 1024 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : this.utf8.write(chunk);
    this.scan();
  }

  /** Call at end of stream: reports an unterminated object. */
  end(): void {
    this.buf += this.utf8.end();
    this.scan();
    if (this.start >= 0)
      this.onError(
        new Error(`event stream ended inside a JSON object: ${this.buf.slice(this.start, this.start + 80)}`),
      );
    this.reset('');
  }

  private reset(rest: string): void {
    this.buf = rest;
    this.pos = 0;
    this.start = -1;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }

  private scan(): void {
    // Completed objects are emitted only after the scan state is saved: onValue may re-enter
    // (e.g. abort the watch, which ends the decoder) and must not see half-updated state.
    const done: string[] = [];
    const b = this.buf;
    let i = this.pos;
    for (; i < b.length; i++) {
      const ch = b[i];
      if (this.skipLine) {
        if (ch === '\n') this.skipLine = false;
        continue;
      }
      if (this.start < 0) {
        if (ch === '{') {
          this.start = i;
          this.depth = 1;
        } else if (!/\s/.test(ch)) {
          this.onError(new Error(`unexpected ${JSON.stringify(ch)} between events; skipping the line`));
          this.skipLine = true;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 0) {
          if (i + 1 - this.start > this.maxObjectBytes) {
            this.onError(new Error(`event larger than ${this.maxObjectBytes} characters; skipping it`));
          } else {
            done.push(b.slice(this.start, i + 1));
          }
          this.start = -1;
        }
      }
    }
    if (this.start < 0) {
      this.reset('');
    } else if (i - this.start > this.maxObjectBytes) {
      this.onError(new Error(`event larger than ${this.maxObjectBytes} characters; skipping it`));
      this.reset('');
      this.skipLine = true;
    } else {
      // Keep only the unfinished object; scanning resumes where it stopped.
      this.buf = b.slice(this.start);
      this.pos = i - this.start;
      this.start = 0;
    }
    for (const text of done) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        this.onError(new Error(`undecodable event ${text.slice(0, 80)}: ${(e as Error).message}`));
        continue;
      }
      this.onValue(value);
    }
  }
}

/**
 * Engine event JSON -> DockerEvent; undefined for anything that is not an event. Action is kept
 * verbatim, so a few carry a detail after a colon ("exec_start: ip -j addr", "health_status:
 * healthy"); the ones faultline reacts to (start, die, destroy, connect, ...) never do.
 */
export function toDockerEvent(raw: unknown): DockerEvent | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as {
    Type?: string;
    Action?: string;
    status?: string;
    id?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> | null };
    time?: number;
    timeNano?: number;
  };
  // Pre-1.22 engines sent only {status, id, from}; those are container events.
  const type = r.Type ?? (r.status ? 'container' : undefined);
  const action = r.Action ?? r.status;
  if (!type || !action) return undefined;
  const time = typeof r.time === 'number' ? r.time : typeof r.timeNano === 'number' ? Math.floor(r.timeNano / 1e9) : 0;
  return { type, action, actorId: r.Actor?.ID ?? r.id ?? '', attributes: { ...(r.Actor?.Attributes ?? {}) }, time };
}

/** Docker's `since` accepts "<seconds>.<nanoseconds>". */
function sinceFromNanos(nanos: bigint): string {
  const s = nanos / 1_000_000_000n;
  const ns = nanos % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Reads one stream to its end (or error, or abort); resolves with the error, if any. */
function consume(
  stream: NodeJS.ReadableStream,
  signal: AbortSignal,
  onValue: (v: unknown) => void,
  onDecodeError: (e: Error) => void,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let done = false;
    // Nothing is delivered after the stream is finished (aborted mid-chunk, for instance).
    const decoder = new JsonObjectStreamDecoder((v) => done || onValue(v), onDecodeError);
    const finish = (err?: Error, aborted = false) => {
      if (done) return;
      if (!err && !aborted) decoder.end(); // may still deliver a final object
      done = true;
      signal.removeEventListener('abort', onAbort);
      resolve(err);
    };
    const onAbort = () => {
      const d = stream as unknown as { destroy?: () => void };
      d.destroy?.();
      finish(undefined, true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (c: Buffer | string) => {
      if (!done) decoder.push(c);
    });
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (e: Error) => finish(e));
    if (signal.aborted) onAbort();
  });
}

/**
 * Streams events from `source` until signal aborts, reopening the stream with capped exponential
 * backoff whenever it ends or fails (a daemon restart ends it). onReconnect runs after every
 * successful re-open (not the first open): events may have been lost, so callers resync.
 *
 * `since` makes the engine replay what we would otherwise miss: on the first open, everything from
 * the moment watch was called (client clock); on a re-open, everything from the last event seen
 * (engine clock). Replays can repeat an event; consumers are level-triggered, so that is harmless.
 * A daemon restart empties the engine's event buffer, which is why onReconnect still matters.
 *
 * The backoff resets only after a stream stayed open for maxBackoffMs, so an engine that accepts
 * and immediately drops the stream is not hammered (nor are callers made to resync 5 times/s).
 */
export async function watchWithReconnect(
  source: EventStreamSource,
  onEvent: (e: DockerEvent) => void,
  signal: AbortSignal,
  onReconnect: (() => void) | undefined,
  opts: WatchOptions = {},
): Promise<void> {
  const initial = opts.initialBackoffMs ?? 200;
  const max = opts.maxBackoffMs ?? 5000;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const report = opts.onError ?? (() => {});

  let since = sinceFromNanos(BigInt(now()) * 1_000_000n);
  let delay = initial;
  let opened = false;

  const onValue = (v: unknown) => {
    const ev = toDockerEvent(v);
    if (!ev) return;
    const nano = (v as { timeNano?: number }).timeNano;
    if (typeof nano === 'number') since = sinceFromNanos(BigInt(Math.trunc(nano)));
    else if (ev.time) since = String(ev.time);
    try {
      onEvent(ev);
    } catch (e) {
      // A throwing consumer must not take the stream down with it.
      report(e instanceof Error ? e : new Error(String(e)), undefined);
    }
  };

  while (!signal.aborted) {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await source({ signal, since });
    } catch (e) {
      if (signal.aborted) break;
      report(e instanceof Error ? e : new Error(String(e)), delay);
      await sleep(delay, signal).catch(() => {});
      delay = Math.min(delay * 2, max);
      continue;
    }
    if (signal.aborted) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      break;
    }
    if (opened && onReconnect) {
      try {
        onReconnect();
      } catch (e) {
        report(e instanceof Error ? e : new Error(String(e)), undefined);
      }
    }
    opened = true;
    const openedAt = now();
    const err = await consume(stream, signal, onValue, (e) => report(e, undefined));
    if (signal.aborted) break;
    if (now() - openedAt >= max) delay = initial;
    report(err ?? new Error('Docker event stream ended (engine restarting?)'), delay);
    await sleep(delay, signal).catch(() => {});
    delay = Math.min(delay * 2, max);
  }
}

/**
 * The engine's /events stream (container, network and daemon events). The deadline covers only
 * opening the stream (response headers); the stream itself is long-lived and ends only with the
 * engine or the watch.
 */
export function engineEventSource(e: EngineCalls): EventStreamSource {
  return async ({ signal: watchSignal, since }) => {
    const ac = new AbortController();
    const relay = () => ac.abort();
    watchSignal.addEventListener('abort', relay, { once: true });
    const timer = setTimeout(() => ac.abort(), e.timeoutMs);
    try {
      const stream = await e.loose.getEvents({
        filters: { type: ['container', 'network', 'volume', 'daemon'] },
        ...(since ? { since } : {}),
        abortSignal: ac.signal,
      });
      stream.on('close', () => watchSignal.removeEventListener('abort', relay));
      return stream;
    } catch (err) {
      watchSignal.removeEventListener('abort', relay);
      throw wrapDockerError('watch Docker events', err);
    } finally {
      clearTimeout(timer);
    }
  };
}
