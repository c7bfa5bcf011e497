import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** JSON lines for machines; human-readable when stderr is a terminal. Logs go to stderr. */
export function createLogger(level = 'info', stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Logger {
  if (stream.isTTY) {
    return pino({ level }, pretty({ colorize: true, destination: 2, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}
