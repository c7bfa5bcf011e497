// Which engine, and how every call to it is made: the dockerode client built from an address, and
// `call` / `tolerant`, which bound each API call by a deadline and turn failures into DockerErrors.
// The Docker port, the helper container and the scratch container all reach the engine this way.
import type Docker from 'dockerode';
import { callWithDeadline, DockerError } from './errors.js';
import { loadDockerode } from './load.js';

const DockerClient = loadDockerode();

export interface EngineOptions {
  /** Unix socket path. Wins over host. */
  socketPath?: string;
  /**
   * DOCKER_HOST-style address: unix:///var/run/docker.sock, tcp://host:2375, https://host:2376.
   * TLS client certificates are only picked up when neither socketPath nor host is given, from
   * DOCKER_HOST / DOCKER_CERT_PATH / DOCKER_TLS_VERIFY, which dockerode reads when the client is built.
   */
  host?: string;
  /** TLS client material (PEM text) for a tcp/https engine: the engine is then spoken to over https. */
  tls?: { ca?: string; cert?: string; key?: string; skipVerify?: boolean };
}

function modemOptions(opts: EngineOptions): Docker.DockerOptions {
  // Explicit undefineds matter: dockerode merges these over what it derived from DOCKER_HOST, and
  // a stale env `host` would otherwise win over an explicit socketPath.
  if (opts.socketPath) return { socketPath: opts.socketPath, host: undefined, port: undefined, protocol: 'http' };
  if (opts.host) {
    if (opts.host.startsWith('unix://')) {
      return { socketPath: opts.host.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' };
    }
    const u = new URL(opts.host.includes('://') ? opts.host : `tcp://${opts.host}`);
    const https = u.protocol === 'https:' || opts.tls !== undefined;
    const tls = opts.tls
      ? {
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          ...(opts.tls.cert ? { cert: opts.tls.cert } : {}),
          ...(opts.tls.key ? { key: opts.tls.key } : {}),
          ...(opts.tls.skipVerify ? { checkServerIdentity: () => undefined } : {}),
        }
      : {};
    return {
      socketPath: undefined,
      host: u.hostname,
      port: u.port || (https ? '2376' : '2375'),
      protocol: https ? 'https' : 'http',
      ...tls,
    } as Docker.DockerOptions;
  }
  return {};
}

/** A dockerode client for the engine at socketPath / host (else DOCKER_HOST, else the local socket). */
export function connectEngine(opts: EngineOptions = {}): Docker {
  return new DockerClient(modemOptions(opts));
}

/** @types/dockerode lacks the options argument (abortSignal, since) on these calls. */
export interface LooseDocker {
  ping(opts: { abortSignal: AbortSignal }): Promise<unknown>;
  getEvents(opts: { filters: object; since?: string; abortSignal: AbortSignal }): Promise<NodeJS.ReadableStream>;
}

export interface EngineCalls {
  readonly client: Docker;
  /** The same client, typed with the call options @types/dockerode lacks. */
  readonly loose: LooseDocker;
  /** The deadline of one API call, in ms. */
  readonly timeoutMs: number;
  /** One API call, bounded by timeoutMs (or budgetMs: stop and restart add their grace period). */
  call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, budgetMs?: number): Promise<T>;
  /** Like call, but a 404 (or an answer matched by `alsoFine`) resolves to undefined. */
  tolerant<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    alsoFine?: (e: DockerError) => boolean,
    budgetMs?: number,
  ): Promise<T | undefined>;
}

export function engineCalls(client: Docker, timeoutMs: number): EngineCalls {
  const call = <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, budgetMs = timeoutMs): Promise<T> =>
    callWithDeadline(operation, fn, budgetMs);
  return {
    client,
    loose: client as unknown as LooseDocker,
    timeoutMs,
    call,
    async tolerant(operation, fn, alsoFine = () => false, budgetMs = timeoutMs) {
      try {
        return await call(operation, fn, budgetMs);
      } catch (e) {
        if (e instanceof DockerError && (e.statusCode === 404 || alsoFine(e))) return undefined;
        throw e;
      }
    },
  };
}
