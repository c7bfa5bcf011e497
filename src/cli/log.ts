import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
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
    return pino(
      { level },
      pretty({ colorize: escapesAllowed(stream, env), destination: toStderr ? 2 : stream, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }),
    );
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, toStderr ? pino.destination({ fd: 2, sync: true }) : stream);
}
