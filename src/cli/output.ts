// How the CLI writes for machines (-o yaml|json) and whether it may write terminal escapes.
import { stringify as toYaml } from 'yaml';

export function printStructured(
  obj: unknown,
  format: 'yaml' | 'json',
  out: NodeJS.WritableStream = process.stdout,
): void {
  out.write(format === 'json' ? JSON.stringify(obj, null, 2) + '\n' : toYaml(obj));
}

/**
 * Colours and in-place redraws only on a terminal, and never when NO_COLOR is set to anything
 * but the empty string (https://no-color.org).
 */
export function escapesAllowed(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}
