// Run the compiled CLI as a user would: a child process, an argument array (no shell), a clean
// environment (no FAULTLINE_* or NO_COLOR from the caller) plus what the test sets.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = new URL('../../../src/cli/bin.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function faultline(
  args: string[],
  o: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAULTLINE_') && k !== 'NO_COLOR') env[k] = v;
  Object.assign(env, o.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? tmpdir(),
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** A fresh empty directory, removed after the test. */
export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A valid scenario with two timed faults; nothing in it needs Docker to be validated or drawn. */
export function twoFaults(name: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: 10.251.7.0/24 }] } }]
  containers:
    - { name: a, image: faultline/testbox }
    - { name: b, image: faultline/testbox }
  members: [{ network: net, select: { names: [a, b] } }]
  faults:
    - { name: cut, targets: { names: [a] }, blackhole: {}, at: 30s, duration: 2m }
    - { name: flaky, targets: { names: [b] }, reject: { with: tcp-reset }, at: 1m, duration: 10s, repeat: { every: 5m, times: 3 } }
`;
}

export async function writeScenario(dir: string, name: string, text = twoFaults(name)): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}
