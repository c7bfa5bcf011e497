// Benchmark (issue 4): lateness of timeline transitions — from a window's scheduled instant to the
// moment its rules are verified in the kernel (the controller writes status only after reading
// tc/iptables back, so the write time of the status that first shows a window verified is that
// moment) — p50/p99 over 200 timed faults across 20 containers; and the controller's CPU between
// transitions. The controller runs as a child process (its CPU is read from /proc).
//   node dist/bench/lateness.js [faults] [containers]
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Scenario } from '../src/api/types.js';
import { eventually, forceCleanup, removeDir, tempDir, TESTBOX } from '../test/integration/lib.js';

const FAULTS = Number(process.argv[2] ?? 200);
const CONTAINERS = Number(process.argv[3] ?? 20);
const SPACING_MS = 150; // one window opens every 150 ms
const WINDOW_MS = 1000;
const QUIET_S = 20; // a stretch with no transition at the end, for the idle CPU figure

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main(): Promise<void> {
  const name = 'bench-late';
  const dir = await tempDir();
  const file = join(dir, `${name}.yaml`);
  const names = Array.from({ length: CONTAINERS }, (_, i) => `c${i}`);
  const firstAt = 8000; // leave time to create the containers
  const lastEnd = firstAt + (FAULTS - 1) * SPACING_MS + WINDOW_MS;
  const text = [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  duration: ${Math.ceil(lastEnd / 1000) + QUIET_S + 5}s`,
    '  networks: [{ name: net }]',
    '  containers:',
    ...names.map((c) => `    - { name: ${c}, image: ${TESTBOX} }`),
    `  members: [{ network: net, select: { names: [${names.join(', ')}] } }]`,
    '  faults:',
    ...Array.from({ length: FAULTS }, (_, i) =>
      `    - { name: f${i}, targets: { names: [${names[i % CONTAINERS]}] }, netem: { loss: 10% }, direction: ingress, at: ${firstAt + i * SPACING_MS}ms, duration: ${WINDOW_MS}ms }`,
    ),
    '',
  ].join('\n');
  const bin = new URL('../src/cli/bin.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'controller', '--dir', dir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const late = new Map<string, number>();
  const watcher = watch(dir, async () => {
    const now = Date.now();
    try {
      const s = parse(await readFile(file, 'utf8')) as Scenario;
      for (const f of s.status?.faults ?? []) {
        if (late.has(f.name) || !f.window) continue;
        if (f.targets?.length && f.targets.every((t) => (t.phase === 'Injected' || t.phase === 'Recovered') && t.verified)) late.set(f.name, now - Date.parse(f.window.from));
      }
    } catch {
      /* mid-write or not there yet */
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    await writeFile(file, text);
    const s0 = await eventually(async () => {
      const s = parse(await readFile(file, 'utf8')) as Scenario;
      return s.status?.startedAt ? s : undefined;
    }, 'started');
    const start = Date.parse(s0.status!.startedAt!);
    await eventually(async () => Date.now() > start + lastEnd + 2000, 'schedule played', lastEnd + 120_000);
    // Idle CPU: the quiet stretch after the last window.
    const ticks = async () => {
      const f = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    const c0 = await ticks();
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, (QUIET_S - 5) * 1000));
    const cpu = ((await ticks()) - c0) / 100 / ((Date.now() - w0) / 1000);
    const xs = [...late.values()];
    console.log(`${FAULTS} timed faults on ${CONTAINERS} containers (one window opens every ${SPACING_MS} ms): ${xs.length} windows seen verified`);
    console.log(`lateness scheduled → verified in the kernel: p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${Math.max(...xs)} ms`);
    console.log(`controller CPU between transitions (${QUIET_S - 5} s quiet window): ${(cpu * 100).toFixed(2)}% of one core`);
  } finally {
    watcher.close();
    await rm(file, { force: true });
    await eventually(async () => {
      const { ownedLeft } = await import('../test/integration/lib.js');
      const left = await ownedLeft(name);
      return left.containers.length + left.networks.length === 0;
    }, 'removed', 120_000).catch((e) => console.error(e.message));
    child.kill('SIGTERM');
    await forceCleanup(name);
    await removeDir(dir);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
