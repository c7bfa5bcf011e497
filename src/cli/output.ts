// How the CLI writes for machines (-o yaml|json).
import { stringify as toYaml } from 'yaml';

export function printStructured(obj: unknown, format: 'yaml' | 'json', out: NodeJS.WritableStream = process.stdout): void {
  out.write(format === 'json' ? JSON.stringify(obj, null, 2) + '\n' : toYaml(obj));
}
