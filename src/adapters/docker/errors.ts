// Errors of the Docker adapters. Every failure of an Engine API call becomes a DockerError: what we
// tried, on what, Docker's own words, the HTTP statusCode, and, for the answers people actually
// hit, what to do next, e.g.
//   create network "demo_front": Docker says "Pool overlaps with other one on this address space"
//   (HTTP 403); choose a subnet that no other Docker network uses

export type DockerErrorCode =
  'NotFound' | 'Conflict' | 'AlreadyConnected' | 'Timeout' | 'Unreachable' | 'InvalidRequest' | 'DockerError';

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

  /** The same answer, with what faultline found out or did about it after its message. */
  explained(more: string): DockerError {
    return new DockerError({
      code: this.code,
      operation: this.operation,
      statusCode: this.statusCode,
      dockerMessage: this.dockerMessage,
      message: `${this.message}; ${more}`,
    });
  }
}

/** What docker-modem rejects with. */
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
  if (status === 409 && /already (exists|in use)/i.test(words))
    return 'remove the existing object or choose another name';
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
export async function callWithDeadline<T>(
  operation: string,
  fn: (signal: AbortSignal) => Promise<T>,
  budgetMs: number,
): Promise<T> {
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
      {
        code: 'Unreachable',
        operation,
        message: `${operation}: cannot reach the Docker engine (${sys}${e.message}); ${hint}`,
      },
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
