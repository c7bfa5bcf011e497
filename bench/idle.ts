// Benchmark: the controller's resident memory and CPU while idle with 50 scenario files (each one
// network and one container), measured from /proc over a window that includes a full resync.
// Memory is the physical pages the controller and its helper hold, each counted once (pagemap);
// their VmRSS summed is printed beside it.
//   make bench   (or: node dist/bench/idle.js [scenarios] [seconds])
import { spawn } from 'node:child_process';
import { open, readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  eventually,
  forceCleanup,
  ownedLeft,
  readScenario,
  removeDir,
  tempDir,
  TESTBOX,
} from '../test/integration/lib.js';
import { result } from './lib/kernel.js';

const N = Number(process.argv[2] ?? 50);
const WINDOW_S = Number(process.argv[3] ?? 60);
const TICKS = 100; // USER_HZ on Linux

/** The controller and every process it started that is still running (the spawner's helper). */
async function family(pid: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    if (st) parent.set(Number(e), Number(st.split(') ')[1].split(' ')[1]));
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [c, p] of parent) if (p === out[i]) out.push(c);
  return out;
}
/**
 * CPU of the controller, its live helpers, and every program they ran and reaped (utime + stime +
 * cutime + cstime): the programs a resync runs in namespaces are the controller's cost too.
 */
async function cpuTicks(pid: number): Promise<number> {
  let sum = 0;
  for (const p of await family(pid)) {
    const st = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    if (!st) continue;
    const f = st.split(') ')[1].split(' ');
    sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // fields 14-17
  }
  return sum;
}
/** Resident memory of the controller and its live helpers (`pids`), each process's VmRSS summed. */
async function rssKiB(pids: number[]): Promise<number> {
  let sum = 0;
  for (const p of pids) {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${p}/status`, 'utf8').catch(() => ''));
    sum += Number(m?.[1] ?? 0);
  }
  return sum;
}

const PAGE_KIB = 4;
/**
 * Resident memory of the controller and its live helpers with every physical page counted once:
 * the union of the page frames their mappings hold (/proc/PID/pagemap, root only). Summed VmRSS
 * counts the node binary and its libraries (~40 MiB of file pages, shared) once per process.
 */
async function distinctKiB(pids: number[]): Promise<number> {
  const frames = new Set<number>();
  for (const p of pids) {
    const smaps = await readFile(`/proc/${p}/smaps`, 'utf8').catch(() => '');
    const ranges: [number, number][] = [];
    let range: [number, number] | undefined;
    for (const line of smaps.split('\n')) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
      if (head) range = [parseInt(head[1], 16), parseInt(head[2], 16)];
      else if (range && /^Rss:\s+[1-9]/.test(line)) ranges.push(range);
    }
    const fd = await open(`/proc/${p}/pagemap`, 'r').catch(() => undefined);
    if (!fd) continue;
    try {
      for (const [start, end] of ranges) {
        const pages = (end - start) / (PAGE_KIB * 1024);
        const buf = Buffer.alloc(pages * 8);
        const { bytesRead } = await fd.read(buf, 0, buf.length, (start / (PAGE_KIB * 1024)) * 8);
        for (let i = 0; i + 8 <= bytesRead; i += 8) {
          const e = buf.readBigUInt64LE(i);
          if (e >> 63n) frames.add(Number(e & ((1n << 55n) - 1n))); // present: bits 0-54 are the frame
        }
      }
    } finally {
      await fd.close();
    }
  }
  return frames.size * PAGE_KIB;
}

async function main(): Promise<void> {
  const dir = await tempDir();
  const names = Array.from({ length: N }, (_, i) => `bench-idle-${i}`);
  for (const [i, name] of names.entries()) {
    await writeFile(
      join(dir, `${name}.yaml`),
      `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n  networks:\n    - name: net\n      ipam: { config: [{ subnet: 10.243.${i}.0/24 }] }\n  containers:\n    - { name: c, image: ${TESTBOX} }\n  members:\n    - { network: net, select: { names: [c] } }\n`,
    );
  }
  const bin = new URL('../src/cli/bin.js', import.meta.url).pathname;
  // Run as a user runs it: the file itself, so that its shebang's node flags apply.
  const child = spawn(
    bin,
    ['controller', '--dir', dir, '--resync', `${Math.floor(WINDOW_S / 2)}s`, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  try {
    const t0 = performance.now();
    await eventually(
      async () => {
        for (const n of names) {
          const s = await readScenario(join(dir, `${n}.yaml`));
          if (s.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return false;
        }
        return true;
      },
      'all scenarios Ready',
      300_000,
    );
    console.log(`${N} scenarios converged from a cold start in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 3000));
    const c0 = await cpuTicks(child.pid!);
    const w0 = performance.now();
    const summed: number[] = [];
    const distinct: number[] = [];
    const own: number[] = []; // the controller process alone
    while (performance.now() - w0 < WINDOW_S * 1000) {
      const pids = await family(child.pid!);
      summed.push(await rssKiB(pids));
      own.push(await rssKiB([child.pid!]));
      distinct.push(await distinctKiB(pids));
      await new Promise((res) => setTimeout(res, 1000));
    }
    const cpu = (await cpuTicks(child.pid!)) - c0;
    const wall = (performance.now() - w0) / 1000;
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const avgRss = avg(distinct);
    console.log(
      `idle controller, ${N} scenario files, ${wall.toFixed(0)} s window incl. resyncs every ${Math.floor(WINDOW_S / 2)} s: ` +
        `CPU ${((cpu / TICKS / wall) * 100).toFixed(2)}% of one core; resident, each page once: avg ${mib(avgRss)}, max ${mib(Math.max(...distinct))}; ` +
        `VmRSS summed per process: avg ${mib(avg(summed))}, max ${mib(Math.max(...summed))}; ` +
        `the controller's own VmRSS: avg ${mib(avg(own))}, max ${mib(Math.max(...own))}`,
    );
    result({
      figure: `idle, ${N} scenarios: CPU (controller, helper and the programs they ran; resyncs included)`,
      value: (cpu / TICKS / wall) * 100,
      unit: '% of a core',
      goal: '≤ 1 %',
    });
    result({
      figure: `idle, ${N} scenarios: resident memory (average; controller + helper, each page once)`,
      value: avgRss / 1024,
      unit: 'MiB',
      goal: '≤ 100 MiB',
    });
    result({
      figure: `idle, ${N} scenarios: VmRSS summed per process (shared pages counted in each)`,
      value: avg(summed) / 1024,
      unit: 'MiB',
    });
    result({
      figure: `idle, ${N} scenarios: the controller process's own VmRSS (average)`,
      value: avg(own) / 1024,
      unit: 'MiB',
    });
  } finally {
    for (const n of names) await rm(join(dir, `${n}.yaml`), { force: true });
    await eventually(
      async () => {
        for (const n of names) {
          const left = await ownedLeft(n);
          if (left.containers.length + left.networks.length) return false;
        }
        return true;
      },
      'all removed',
      300_000,
    ).catch((e) => console.error(e.message));
    child.kill('SIGTERM');
    for (const n of names) await forceCleanup(n);
    await removeDir(dir);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
