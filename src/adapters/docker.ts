// DockerPort over dockerode. The only file that talks to the Docker Engine API.
//
// Behaviours chosen here (the planner and executor rely on them):
// - Idempotent removals: removeNetwork / removeContainer / disconnect / stopContainer of something
//   already gone (404) succeed; so does disconnect of a container that is not connected (Docker
//   20.10 answers 500 "is not connected to the network") and remove of a container whose removal
//   is already in progress (409). The goal state already holds.
// - startContainer of a running container (304) succeeds. startContainer of a missing one fails.
// - connect of an already-connected container: if the existing endpoint already has every
//   requested alias and the requested static IPs, it is a no-op; otherwise it fails with code
//   AlreadyConnected (disconnect first to change an endpoint). This is checked by inspecting the
//   container first, because Docker 20.10 answers 200 to a second connect of a *created* container
//   and silently keeps the old endpoint; for a running one it answers 403 "endpoint with name X
//   already exists", which is mapped the same way.
// - Aliases: Docker 20.10 adds the container's 12-character short id to every user-defined
//   network endpoint's Aliases (also before start); that alias is stripped. 20.10 does NOT add the
//   container name (later engines list it under DNSNames instead); an alias equal to the name is
//   kept, because then the user asked for it.
// - Every error is a DockerError: what we tried, on what, Docker's own words, HTTP statusCode.
import Docker from 'dockerode';
import { StringDecoder } from 'node:string_decoder';
import type {
  ContainerCreateRequest,
  DockerEvent,
  DockerPort,
  EndpointRequest,
  NetworkCreateRequest,
} from '../ports/index.js';
import { LABEL_MANAGED_BY } from '../api/ownership.js';
import type { ObservedContainer, ObservedEndpoint, ObservedNetwork, Snapshot } from '../plan/observed.js';

// ---------------------------------------------------------------------------------------------
// Options and exported types

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

export interface DockerPortOptions extends WatchOptions {
  /** Unix socket path. Wins over host. */
  socketPath?: string;
  /**
   * DOCKER_HOST-style address: unix:///var/run/docker.sock, tcp://host:2375, https://host:2376.
   * TLS client certificates are only picked up when neither socketPath nor host is given, from
   * DOCKER_HOST / DOCKER_CERT_PATH / DOCKER_TLS_VERIFY, which dockerode reads when this factory runs.
   */
  host?: string;
  /** Limit per API call (stop adds its own grace period). Default 30 s. */
  timeoutMs?: number;
  /** Parallel container inspects during snapshot(). Default 8. */
  inspectConcurrency?: number;
  /** Replaces the real /events stream (tests). */
  eventSource?: EventStreamSource;
}

export interface SnapshotOptions {
  /**
   * Also inspect these containers (beyond the faultline-labelled ones and those on faultline
   * networks), e.g. fault targets selected by name: only inspected containers get a pid, aliases
   * and startedAt.
   */
  alsoInspect?: (c: { id: string; name: string; labels: Record<string, string> }) => boolean;
}

/** DockerPort plus what the port does not (yet) express; see SnapshotOptions. */
export interface DockerAdapter extends DockerPort {
  snapshot(opts?: SnapshotOptions): Promise<Snapshot>;
}

export type DockerErrorCode =
  | 'NotFound'
  | 'Conflict'
  | 'AlreadyConnected'
  | 'Timeout'
  | 'Unreachable'
  | 'InvalidRequest'
  | 'DockerError';

export class DockerError extends Error {
  readonly code: DockerErrorCode;
  /** HTTP status from the engine, when there was an answer. */
  readonly statusCode?: number;
  /** What we tried, e.g. `create network "demo_unstable"`. */
  readonly operation: string;
  /** The engine's own message, verbatim. */
  readonly dockerMessage?: string;
  constructor(
    init: { code: DockerErrorCode; operation: string; message: string; statusCode?: number; dockerMessage?: string },
    options?: { cause?: unknown },
  ) {
    super(init.message, options);
    this.name = 'DockerError';
    this.code = init.code;
    this.operation = init.operation;
    this.statusCode = init.statusCode;
    this.dockerMessage = init.dockerMessage;
  }
}

// ---------------------------------------------------------------------------------------------
// Error wrapping

interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

function dockerWords(e: ModemError): string | undefined {
  const j = e.json;
  if (j && typeof j === 'object' && typeof (j as { message?: unknown }).message === 'string') {
    return (j as { message: string }).message;
  }
  if (typeof j === 'string' && j.trim()) return j.trim();
  if (Buffer.isBuffer(j) && j.length) return j.toString('utf8').trim();
  return undefined;
}

// What to do next, for the answers people actually hit. Docker's words stay verbatim before it.
function hintFor(status: number | undefined, words: string): string {
  if (/pool overlaps/i.test(words)) return 'choose a subnet that no other Docker network uses';
  if (/has active endpoints/i.test(words)) return 'disconnect or remove its containers first';
  if (/address already in use/i.test(words)) return 'choose another static IP address';
  if (/no such image/i.test(words)) return 'build or load the image first (faultline never pulls implicitly)';
  if (status === 409 && /already (exists|in use)/i.test(words)) return 'remove the existing object or choose another name';
  if (status === 500) return 'see the Docker engine log for details';
  return '';
}

function codeFor(status: number | undefined): DockerErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 400) return 'InvalidRequest';
  return 'DockerError';
}

/**
 * One API call with a deadline. The AbortSignal is handed to dockerode (which cancels the HTTP
 * request); the race makes the deadline hold even for the few calls that ignore it. Every
 * failure becomes a DockerError.
 */
export async function callWithDeadline<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, budgetMs: number): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(
        new DockerError({
          code: 'Timeout',
          operation,
          message: `${operation}: no answer from the Docker engine within ${budgetMs} ms; is it overloaded or hung?`,
        }),
      );
    }, budgetMs);
  });
  try {
    return await Promise.race([fn(ac.signal), deadline]);
  } catch (e) {
    throw wrapDockerError(operation, e);
  } finally {
    clearTimeout(timer);
  }
}

export function wrapDockerError(operation: string, err: unknown): DockerError {
  if (err instanceof DockerError) return err;
  const e = (err instanceof Error ? err : new Error(String(err))) as ModemError;
  if (e.statusCode === undefined) {
    // No HTTP answer at all: socket missing, refused, permission, reset.
    const sys = e.code ? `${e.code}: ` : '';
    const hint =
      e.code === 'EACCES'
        ? 'the Docker socket is not readable by this user'
        : 'is the Docker engine running, and are DOCKER_HOST / the socket path right?';
    return new DockerError(
      { code: 'Unreachable', operation, message: `${operation}: cannot reach the Docker engine (${sys}${e.message}); ${hint}` },
      { cause: err },
    );
  }
  const words = dockerWords(e) ?? e.message;
  const hint = hintFor(e.statusCode, words);
  return new DockerError(
    {
      code: codeFor(e.statusCode),
      operation,
      statusCode: e.statusCode,
      dockerMessage: words,
      message: `${operation}: Docker says "${words}" (HTTP ${e.statusCode})${hint ? `; ${hint}` : ''}`,
    },
    { cause: err },
  );
}

function statusOf(err: unknown): number | undefined {
  return (err as ModemError | undefined)?.statusCode;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/** "10.0.0.2/24" -> "10.0.0.2"; "" -> undefined. */
function stripPrefix(addr: string | undefined | null): string | undefined {
  if (!addr) return undefined;
  const slash = addr.indexOf('/');
  return slash >= 0 ? addr.slice(0, slash) : addr;
}

const nonEmpty = (s: string | undefined | null): string | undefined => (s ? s : undefined);

export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount?: number } {
  const p = policy.trim();
  if (p === '' || p === 'no') return { Name: 'no' };
  if (p === 'always' || p === 'unless-stopped') return { Name: p };
  const m = /^on-failure(?::(\d+))?$/.exec(p);
  if (m) return m[1] === undefined ? { Name: 'on-failure' } : { Name: 'on-failure', MaximumRetryCount: Number(m[1]) };
  throw new DockerError({
    code: 'InvalidRequest',
    operation: 'parse restart policy',
    message: `restart policy "${policy}" is not one of no | always | unless-stopped | on-failure[:N]`,
  });
}

function modemOptions(opts: DockerPortOptions): Docker.DockerOptions {
  // Explicit undefineds matter: dockerode merges these over what it derived from DOCKER_HOST, and
  // a stale env `host` would otherwise win over an explicit socketPath.
  if (opts.socketPath) return { socketPath: opts.socketPath, host: undefined, port: undefined, protocol: 'http' };
  if (opts.host) {
    if (opts.host.startsWith('unix://')) {
      return { socketPath: opts.host.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' };
    }
    const u = new URL(opts.host.includes('://') ? opts.host : `tcp://${opts.host}`);
    const https = u.protocol === 'https:';
    return {
      socketPath: undefined,
      host: u.hostname,
      port: u.port || (https ? '2376' : '2375'),
      protocol: https ? 'https' : 'http',
    };
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Raw Engine API shapes (only the fields we read; the engine sends more)

interface RawEndpoint {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  NetworkID?: string;
  EndpointID?: string;
  IPAddress?: string;
  GlobalIPv6Address?: string;
  MacAddress?: string;
}

interface RawNetwork {
  Id: string;
  Name: string;
  Driver: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

interface RawContainerSummary {
  Id: string;
  Names?: string[];
  Image: string;
  Labels?: Record<string, string> | null;
  State: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, RawEndpoint> | null } | null;
}

interface RawContainerInspect {
  Id: string;
  Name: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: { Status?: string; Pid?: number; StartedAt?: string };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, RawEndpoint> | null };
}

interface LooseDocker {
  ping(opts: { abortSignal: AbortSignal }): Promise<unknown>;
  getEvents(opts: { filters: object; since?: string; abortSignal: AbortSignal }): Promise<NodeJS.ReadableStream>;
}
interface LooseInspectable {
  inspect(opts: { abortSignal: AbortSignal }): Promise<unknown>;
}

/** Endpoints as ObservedEndpoint, plus whether the endpoint is live (has an EndpointID). */
function toEndpoints(
  containerId: string,
  nets: Record<string, RawEndpoint> | null | undefined,
  networkIdByName: Map<string, string>,
): { endpoint: ObservedEndpoint; active: boolean }[] {
  const shortId = containerId.slice(0, 12);
  return Object.entries(nets ?? {}).map(([name, ep]) => ({
    active: !!ep.EndpointID,
    endpoint: {
      // A created (never started) container's endpoints have no NetworkID yet: resolve by name.
      networkId: nonEmpty(ep.NetworkID) ?? networkIdByName.get(name) ?? '',
      networkName: name,
      ipv4Address: stripPrefix(ep.IPAddress),
      ipv6Address: stripPrefix(ep.GlobalIPv6Address),
      aliases: (ep.Aliases ?? []).filter((a) => a !== shortId),
      macAddress: nonEmpty(ep.MacAddress),
    },
  }));
}

function toNetwork(n: RawNetwork): ObservedNetwork {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    labels: { ...(n.Labels ?? {}) },
    internal: !!n.Internal,
    attachable: !!n.Attachable,
    enableIPv6: !!n.EnableIPv6,
    subnets: (n.IPAM?.Config ?? [])
      .filter((c) => !!c.Subnet)
      .map((c) => ({ subnet: c.Subnet as string, gateway: nonEmpty(c.Gateway), ipRange: nonEmpty(c.IPRange) })),
    options: { ...(n.Options ?? {}) },
    containerIds: [],
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

// ---------------------------------------------------------------------------------------------
// Events: decoding and the reconnect loop

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
    if (this.start >= 0) this.onError(new Error(`event stream ended inside a JSON object: ${this.buf.slice(this.start, this.start + 80)}`));
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

// ---------------------------------------------------------------------------------------------
// The port

/** Creates the Docker adapter. Reads DOCKER_HOST etc. (through dockerode) only when called. */
export function createDockerPort(opts: DockerPortOptions = {}): DockerAdapter {
  const docker = new Docker(modemOptions(opts));
  // @types/dockerode lacks the options argument (abortSignal, since) on these calls.
  const loose = docker as unknown as LooseDocker;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const concurrency = opts.inspectConcurrency ?? 8;

  const call = <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, budgetMs = timeoutMs): Promise<T> =>
    callWithDeadline(operation, fn, budgetMs);

  /** Like call, but a 404 (or an answer matched by `alsoFine`) resolves to undefined. */
  async function tolerant<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    alsoFine: (e: DockerError) => boolean = () => false,
    budgetMs = timeoutMs,
  ): Promise<T | undefined> {
    try {
      return await call(operation, fn, budgetMs);
    } catch (e) {
      if (e instanceof DockerError && (e.statusCode === 404 || alsoFine(e))) return undefined;
      throw e;
    }
  }

  const inspectContainer = (id: string, operation = `inspect container ${id}`) =>
    tolerant(
      operation,
      (abortSignal) => docker.getContainer(id).inspect({ abortSignal } as object) as Promise<RawContainerInspect>,
    );

  /** One pass over the engine; `dangling` says whether it changed under us. */
  async function readOnce(so: SnapshotOptions): Promise<{ snapshot: Snapshot; dangling: boolean }> {
    const takenAt = new Date((opts.now ?? Date.now)()).toISOString();
    // The network list lacks attached containers (Containers is {} there); rather than one inspect
    // per network, attachment is derived from the containers' own endpoints below, which also
    // keeps the two halves of the snapshot referentially consistent.
    const [rawNets, rawCtrs] = await Promise.all([
      call('list networks', (abortSignal) => docker.listNetworks({ abortSignal } as object) as unknown as Promise<RawNetwork[]>),
      call(
        'list containers',
        (abortSignal) => docker.listContainers({ all: true, abortSignal } as object) as unknown as Promise<RawContainerSummary[]>,
      ),
    ]);

    const networks = rawNets.map(toNetwork);
    const netById = new Map(networks.map((n) => [n.id, n]));
    const networkIdByName = new Map(networks.map((n) => [n.name, n.id]));
    const ownedNets = new Set(networks.filter((n) => LABEL_MANAGED_BY in n.labels).flatMap((n) => [n.id, n.name]));

    const matters = (c: RawContainerSummary): boolean => {
      const labels = c.Labels ?? {};
      if (LABEL_MANAGED_BY in labels) return true;
      // A running container may be a fault target (selected by name or labels): its pid is needed
      // to enter its network namespace, and only inspect gives it.
      if (c.State === 'running') return true;
      const eps = c.NetworkSettings?.Networks ?? {};
      if (Object.entries(eps).some(([name, ep]) => ownedNets.has(name) || (!!ep.NetworkID && ownedNets.has(ep.NetworkID)))) {
        return true;
      }
      return !!so.alsoInspect?.({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), labels: { ...labels } });
    };

    const inspected = new Map<string, RawContainerInspect | undefined>();
    const toInspect = rawCtrs.filter(matters);
    await mapLimit(toInspect, concurrency, async (c) => {
      inspected.set(c.Id, await inspectContainer(c.Id));
    });

    const containers: ObservedContainer[] = [];
    for (const c of rawCtrs) {
      let obs: ObservedContainer;
      let eps: { endpoint: ObservedEndpoint; active: boolean }[];
      if (inspected.has(c.Id)) {
        const ins = inspected.get(c.Id);
        if (!ins) continue; // removed between list and inspect
        eps = toEndpoints(ins.Id, ins.NetworkSettings?.Networks, networkIdByName);
        const running = ins.State?.Status === 'running' || ins.State?.Status === 'paused' || ins.State?.Status === 'restarting';
        obs = {
          id: ins.Id,
          name: ins.Name.replace(/^\//, ''),
          image: ins.Config?.Image ?? c.Image,
          labels: { ...(ins.Config?.Labels ?? {}) },
          state: ins.State?.Status ?? c.State,
          pid: ins.State?.Pid ?? 0,
          networkMode: ins.HostConfig?.NetworkMode ?? c.HostConfig?.NetworkMode ?? '',
          endpoints: eps.map((e) => e.endpoint),
          startedAt: running && ins.State?.StartedAt && ins.State.StartedAt !== ZERO_TIME ? ins.State.StartedAt : undefined,
        };
      } else {
        // Not ours: the list call's data is enough (no aliases, no pid).
        eps = toEndpoints(c.Id, c.NetworkSettings?.Networks, networkIdByName);
        obs = {
          id: c.Id,
          name: (c.Names?.[0] ?? '').replace(/^\//, ''),
          image: c.Image,
          labels: { ...(c.Labels ?? {}) },
          state: c.State,
          pid: 0,
          networkMode: c.HostConfig?.NetworkMode ?? '',
          endpoints: eps.map((e) => e.endpoint),
        };
      }
      containers.push(obs);
      for (const e of eps) {
        if (e.active) netById.get(e.endpoint.networkId)?.containerIds.push(obs.id);
      }
    }

    const dangling = containers.some((c) => c.endpoints.some((e) => e.networkId !== '' && !netById.has(e.networkId)));
    for (const n of networks) n.containerIds.sort();
    return { snapshot: { networks, containers, takenAt }, dangling };
  }

  const port: DockerAdapter = {
    async ping() {
      await call('ping the Docker engine', (abortSignal) => loose.ping({ abortSignal }));
    },

    /**
     * Reads networks, containers and (bounded, in parallel) the inspects of the containers that
     * matter. If a container turns out attached to a network the network list did not have (it was
     * created mid-read), the read is repeated, up to 3 times in all; the last one is returned as is.
     */
    async snapshot(so: SnapshotOptions = {}) {
      let last: Snapshot | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        const { snapshot, dangling } = await readOnce(so);
        if (!dangling) return snapshot;
        last = snapshot;
      }
      return last as Snapshot;
    },

    async createNetwork(req: NetworkCreateRequest) {
      const body: Record<string, unknown> = {
        Name: req.name,
        // Without it, Docker 20.10 happily creates a second network with the same name.
        CheckDuplicate: true,
        Driver: req.driver,
        Labels: req.labels,
        Internal: req.internal,
        Attachable: req.attachable,
        EnableIPv6: req.enableIPv6,
        Options: req.options,
      };
      if (req.ipam) {
        body.IPAM = {
          Driver: req.ipam.driver || 'default',
          Config: req.ipam.config.map((c) => ({
            Subnet: c.subnet,
            ...(c.gateway ? { Gateway: c.gateway } : {}),
            ...(c.ipRange ? { IPRange: c.ipRange } : {}),
            ...(c.auxAddresses ? { AuxiliaryAddresses: c.auxAddresses } : {}),
          })),
          Options: req.ipam.options,
        };
      }
      const net = await call(`create network "${req.name}"`, (abortSignal) =>
        docker.createNetwork({ ...body, abortSignal } as unknown as Docker.NetworkCreateOptions),
      );
      return net.id;
    },

    async removeNetwork(idOrName) {
      await tolerant(`remove network "${idOrName}"`, (abortSignal) =>
        docker.getNetwork(idOrName).remove({ abortSignal } as object) as Promise<unknown>,
      );
    },

    async createContainer(req: ContainerCreateRequest) {
      const operation = `create container "${req.name}"`;
      const restart = parseRestartPolicy(req.restartPolicy);
      const portBindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
      const exposed: Record<string, object> = {};
      for (const p of req.ports) {
        const key = p.containerPort.includes('/') ? p.containerPort : `${p.containerPort}/tcp`;
        exposed[key] = {};
        (portBindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort ?? '' });
      }
      const body: Record<string, unknown> = {
        name: req.name,
        Image: req.image,
        Env: req.env,
        Labels: req.labels,
        ExposedPorts: exposed,
        HostConfig: {
          CapAdd: req.capAdd,
          CapDrop: req.capDrop,
          RestartPolicy: restart,
          PortBindings: portBindings,
          ...(req.pidMode ? { PidMode: req.pidMode } : {}),
          // Like `docker run --network X`: the first network is also the network mode.
          ...(req.networkMode || req.network ? { NetworkMode: req.networkMode ?? req.network?.name } : {}),
        },
      };
      if (req.command) body.Cmd = req.command;
      if (req.entrypoint) body.Entrypoint = req.entrypoint;
      if (req.hostname) body.Hostname = req.hostname;
      if (req.workingDir) body.WorkingDir = req.workingDir;
      if (req.user) body.User = req.user;
      if (req.stopSignal) body.StopSignal = req.stopSignal;
      if (req.stopTimeout !== undefined) body.StopTimeout = req.stopTimeout;
      if (req.network) {
        body.NetworkingConfig = { EndpointsConfig: { [req.network.name]: endpointConfig(req.network.endpoint) } };
      }
      const c = await call(operation, (abortSignal) =>
        docker.createContainer({ ...body, abortSignal } as unknown as Docker.ContainerCreateOptions),
      );
      return c.id;
    },

    async startContainer(id) {
      try {
        await call(`start container ${id}`, (abortSignal) => docker.getContainer(id).start({ abortSignal } as object) as Promise<unknown>);
      } catch (e) {
        if (e instanceof DockerError && e.statusCode === 304) return; // already running
        throw e;
      }
    },

    async stopContainer(id, timeoutSeconds) {
      const operation = `stop container ${id}`;
      // The engine holds the request open for the whole grace period, so the deadline grows with it.
      const budget = timeoutMs + (timeoutSeconds ?? 10) * 1000;
      await tolerant(
        operation,
        (abortSignal) =>
          docker.getContainer(id).stop({ ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}), abortSignal } as object) as Promise<unknown>,
        (e) => e.statusCode === 304, // already stopped
        budget,
      );
    },

    async pauseContainer(id) {
      await tolerant(
        `pause container ${id}`,
        (abortSignal) => docker.getContainer(id).pause({ abortSignal } as object) as Promise<unknown>,
        (e) => e.statusCode === 409 && /already paused/i.test(e.dockerMessage ?? ''),
      );
    },

    async unpauseContainer(id) {
      await tolerant(
        `unpause container ${id}`,
        (abortSignal) => docker.getContainer(id).unpause({ abortSignal } as object) as Promise<unknown>,
        (e) => e.statusCode === 409 && /not paused/i.test(e.dockerMessage ?? ''),
      );
    },

    async killContainer(id, signal) {
      await call(`kill container ${id} with ${signal ?? 'SIGKILL'}`, (abortSignal) =>
        docker.getContainer(id).kill({ signal: signal ?? 'SIGKILL', abortSignal } as object) as Promise<unknown>,
      );
    },

    async restartContainer(id, timeoutSeconds) {
      await call(
        `restart container ${id}`,
        (abortSignal) => docker.getContainer(id).restart({ ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}), abortSignal } as object) as Promise<unknown>,
        timeoutMs + (timeoutSeconds ?? 10) * 1000,
      );
    },

    async removeContainer(id) {
      await tolerant(
        `remove container ${id}`,
        (abortSignal) => docker.getContainer(id).remove({ force: true, v: true, abortSignal } as object) as Promise<unknown>,
        (e) => e.statusCode === 409 && /already in progress/i.test(e.dockerMessage ?? ''),
      );
    },

    async connect(network, containerId, endpoint) {
      const operation = `connect container ${containerId} to network "${network}"`;
      const existing = await findEndpoint(network, containerId, operation);
      if (existing) return checkSameEndpoint(operation, containerId, existing, endpoint);
      try {
        await call(operation, (abortSignal) =>
          docker.getNetwork(network).connect({ Container: containerId, EndpointConfig: endpointConfig(endpoint), abortSignal } as object) as Promise<unknown>,
        );
      } catch (e) {
        // Raced with someone else's connect between our inspect and our call.
        if (e instanceof DockerError && e.statusCode === 403 && /already exists/i.test(e.dockerMessage ?? '')) {
          const now = await findEndpoint(network, containerId, operation);
          if (now) return checkSameEndpoint(operation, containerId, now, endpoint);
        }
        throw e;
      }
    },

    async disconnect(network, containerId) {
      await tolerant(
        `disconnect container ${containerId} from network "${network}"`,
        (abortSignal) => docker.getNetwork(network).disconnect({ Container: containerId, Force: true, abortSignal } as object) as Promise<unknown>,
        // 20.10: 500 "container <id> is not connected to the network <name>" (also when the
        // network does not exist but the container does).
        (e) => /is not connected to (the )?network/i.test(e.dockerMessage ?? ''),
      );
    },

    async imageExists(ref) {
      const found = await tolerant(`inspect image "${ref}"`, (abortSignal) =>
        (docker.getImage(ref) as unknown as LooseInspectable).inspect({ abortSignal }),
      );
      return found !== undefined;
    },

    watchEvents(onEvent, signal, onReconnect) {
      const source: EventStreamSource =
        opts.eventSource ??
        (async ({ signal: watchSignal, since }) => {
          // The deadline covers only opening the stream (response headers); the stream itself is
          // long-lived and ends only with the engine or the watch.
          const ac = new AbortController();
          const relay = () => ac.abort();
          watchSignal.addEventListener('abort', relay, { once: true });
          const timer = setTimeout(() => ac.abort(), timeoutMs);
          try {
            const stream = await loose.getEvents({
              filters: { type: ['container', 'network', 'daemon'] },
              ...(since ? { since } : {}),
              abortSignal: ac.signal,
            });
            stream.on('close', () => watchSignal.removeEventListener('abort', relay));
            return stream;
          } catch (e) {
            watchSignal.removeEventListener('abort', relay);
            throw wrapDockerError('watch Docker events', e);
          } finally {
            clearTimeout(timer);
          }
        });
      return watchWithReconnect(source, onEvent, signal, onReconnect, opts);
    },
  };

  /** The container's current endpoint on `network` (by name or id), if any. */
  async function findEndpoint(network: string, containerId: string, operation: string): Promise<RawEndpoint | undefined> {
    const ins = await inspectContainer(containerId, operation);
    if (!ins) return undefined; // let the connect itself say "No such container"
    for (const [name, ep] of Object.entries(ins.NetworkSettings?.Networks ?? {})) {
      if (name === network || (ep.NetworkID && (ep.NetworkID === network || (network.length >= 12 && ep.NetworkID.startsWith(network))))) {
        return { ...ep, Aliases: (ep.Aliases ?? []).filter((a) => a !== ins.Id.slice(0, 12)) };
      }
    }
    return undefined;
  }

  return port;
}

function endpointConfig(ep: EndpointRequest): Record<string, unknown> {
  const ipam: Record<string, string> = {};
  if (ep.ipv4Address) ipam.IPv4Address = ep.ipv4Address;
  if (ep.ipv6Address) ipam.IPv6Address = ep.ipv6Address;
  return { Aliases: ep.aliases, ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}) };
}

/** No-op when the existing endpoint already satisfies the request; otherwise AlreadyConnected. */
function checkSameEndpoint(operation: string, containerId: string, have: RawEndpoint, want: EndpointRequest): void {
  const aliases = have.Aliases ?? [];
  const missing = want.aliases.filter((a) => !aliases.includes(a));
  const v4 = have.IPAMConfig?.IPv4Address || have.IPAddress || undefined;
  const v6 = have.IPAMConfig?.IPv6Address || have.GlobalIPv6Address || undefined;
  const problems: string[] = [];
  if (missing.length) problems.push(`lacks aliases [${missing.join(', ')}] (has [${aliases.join(', ')}])`);
  if (want.ipv4Address && stripPrefix(v4) !== want.ipv4Address) problems.push(`has IPv4 ${v4 ?? 'none'}, not ${want.ipv4Address}`);
  if (want.ipv6Address && stripPrefix(v6) !== want.ipv6Address) problems.push(`has IPv6 ${v6 ?? 'none'}, not ${want.ipv6Address}`);
  if (problems.length === 0) return;
  throw new DockerError({
    code: 'AlreadyConnected',
    operation,
    message:
      `${operation}: container ${containerId} is already connected, but its endpoint ${problems.join('; ')}; ` +
      'Docker cannot change an endpoint in place: disconnect it first, then connect again',
  });
}
