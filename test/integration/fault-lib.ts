// Shared by the issue-10 integration tests (dns-ports, probe): scenario text with an explicit
// subnet, edits as a person makes them, waiting for the status of the spec in the file now, and
// reading containers and namespaces from outside the controller.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type test from 'node:test';
import { controllerIdFor } from '../../src/controller/lease.js';
import { docker, eventually, startController, teardown, tempDir, uniqueName, TESTBOX, type Running } from './lib.js';

const run = promisify(execFile);

export interface Box {
  name: string;
  command?: string[];
}
export const flow = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/** Busybox echo servers on tcp/7 and tcp/9. */
export const ECHO = ['sh', '-c', 'nc -ll -p 7 -e /bin/cat & nc -ll -p 9 -e /bin/cat & wait'];

export function scenarioYaml(name: string, subnet: string, boxes: Box[], faults: string[], v6?: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks:
    - name: net${v6 ? '\n      enableIPv6: true' : ''}
      ipam: { config: [{ subnet: ${subnet} }${v6 ? `, { subnet: "${v6}" }` : ''}] }
  containers:
${boxes.map((b) => `    - { name: ${b.name}, image: ${TESTBOX}${b.command ? `, command: ${flow(b.command)}` : ''} }`).join('\n')}
  members:
    - network: net
      select: { names: [${boxes.map((b) => b.name).join(', ')}] }
${faults.length ? `  faults:\n${faults.map((f) => `    - ${f}`).join('\n')}\n` : ''}`;
}

export async function editFile(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const next = text.replace(from, to);
  assert.notEqual(next, text, `edit ${String(from)} → ${to} changed nothing`);
  await writeFile(file, next);
}

import { current, injected } from './netlib.js';

export { current, injected };

/** The scenario's status says no fault is active: every target recovered (or none left). */
export async function noneActive(file: string): Promise<void> {
  await eventually(async () => {
    const s = await current(file);
    return !!s && (s.status?.faults ?? []).every((f) => (f.targets ?? []).every((t) => t.phase !== 'Injected'));
  }, 'no fault injected');
}

export const inspect = async (c: string) => JSON.parse(await docker('inspect', c))[0];
export const pidOf = async (c: string): Promise<number> => (await inspect(c)).State.Pid as number;
export async function addrOf(c: string, v6 = false): Promise<string> {
  const nets = (await inspect(c)).NetworkSettings.Networks as Record<
    string,
    { IPAddress: string; GlobalIPv6Address: string }
  >;
  const n = Object.values(nets)[0];
  const ip = v6 ? n?.GlobalIPv6Address : n?.IPAddress;
  assert.ok(ip, `${c} has an ${v6 ? 'IPv6' : 'IPv4'} address`);
  return ip;
}
export async function nsenter(pid: number, ...argv: string[]): Promise<string> {
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', ...argv], { maxBuffer: 16 << 20 });
  return stdout;
}

export interface Fixture {
  name: string;
  file: string;
  dn(short: string): string;
  key(fault: string): string;
}
export async function fixture(t: test.TestContext, opts: { hostRules?: 'auto' | 'off' } = {}): Promise<Fixture> {
  const name = uniqueName();
  const dir = await tempDir();
  const ctl: Running = await startController(dir, opts);
  t.after(() => teardown(ctl, dir, [name]));
  const scope = controllerIdFor(dir);
  return {
    name,
    file: join(dir, `${name}.yaml`),
    dn: (s) => `${name}_${s}`,
    key: (f) => `${scope}.${name}/${f}`,
  };
}
