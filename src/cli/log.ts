import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import { escapesAllowed } from './output.js';

/**
 * JSON lines for machines; human-readable when the stream is a terminal (coloured unless
 * NO_COLOR is set). Logs go to stderr unless another stream is given.
 */
export function createLogger(
  level = 'info',
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Logger {
  const toStderr = stream === process.stderr;
  if (stream.isTTY) {
    // Loaded only for a terminal: a controller logging JSON to a file or a pipe never needs it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      { level },
      pretty({
        colorize: escapesAllowed(stream, env),
        destination: toStderr ? 2 : stream,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    toStderr ? pino.destination({ fd: 2, sync: true }) : stream,
  );
}
