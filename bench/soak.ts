// Soak (issue 9): repeating faults on 30 containers for 20 minutes, one controller run as a user
// runs it. Every 20 s cycle opens and closes four faults:
//
//   0 s ─ split: a partition into halves ─────────── 10 s
//      2 s ─ slow: bandwidth 1mbit on c5..c9 ──────────── 12 s
//         5 s ─ lossy: loss 10% into c0..c4 ──────────────── 15 s
//                                              12 s ─ hole: blackhole into c10 ─ 17 s
//   sampled at +8 s (split, slow, lossy in place) and at +18 s (everything closed)
//
// Measured from outside, once a minute at both instants: the controller's open file descriptors
// (/proc/PID/fd) and resident memory (/proc/PID/status), and the rules in the kernel — the
// controller's lines in the host's iptables, faultline's lines in every container's iptables, and
// every container's tc qdiscs, filters and classes. Flat means: the closed-instant counts are the
// counts before the first window, the open-instant counts do not change from minute to minute,
// and fds and memory end where they started (within noise). Not a test: `make bench` does not run
// it either (20 minutes); run it alone:
//   node dist/bench/soak.js [containers] [minutes]      (default: 30 20)
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { Scenario } from '../src/api/types.js';
import { controllerIdFor } from '../src/controller/lease.js';
import {
  docker,
  eventually,
  forceCleanup,
  hostOwnedLines,
  removeDir,
  removeHostChains,
  tempDir,
  TESTBOX,
} from '../test/integration/lib.js';
import { result, saveByRename } from './lib/kernel.js';
import { benchArgs, startCliController, stopCliController } from './lib/controller.js';

const run = promisify(execFile);
const N = Number(benchArgs()[0] ?? 30);
const MINUTES = Number(benchArgs()[1] ?? 20);
const CYCLE_MS = 20_000;
const NAME = 'bench-soak';

function scenario(boxes: string[], startAt: string, faults: boolean): string {
  const half = Math.floor(boxes.length / 2);
  const times = Math.ceil((MINUTES * 60_000) / CYCLE_MS) + 2;
  const rep = `repeat: { every: 20s, times: ${times} }`;
  const names = (from: number, to: number) => boxes.slice(from, to).join(', ');
  return [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${NAME}`,
    'spec:',
    `  startAt: "${startAt}"`,
    '  networks: [{ name: net, ipam: { config: [{ subnet: 10.246.0.0/24 }] } }]',
    '  containers:',
    ...boxes.map((c) => `    - { name: ${c}, image: ${TESTBOX} }`),
    `  members: [{ network: net, select: { names: [${boxes.join(', ')}] } }]`,
    '  faults:',
    ...(faults
      ? [
          `    - { name: split, partition: { groups: [[${names(0, half)}], [${names(half, boxes.length)}]] }, at: 0s, duration: 10s, ${rep} }`,
          `    - { name: slow, targets: { names: [${names(5, 10)}] }, bandwidth: { rate: 1mbit }, at: 2s, duration: 10s, ${rep} }`,
          `    - { name: lossy, targets: { names: [${names(0, 5)}] }, direction: ingress, netem: { loss: 10% }, at: 5s, duration: 10s, ${rep} }`,
          `    - { name: hole, targets: { names: [${boxes[10]}] }, direction: ingress, blackhole: {}, at: 12s, duration: 5s, ${rep} }`,
        ]
      : [`    - { name: idle, targets: { names: [${boxes[0]}] }, blackhole: {}, at: 1h }`]),
    '',
  ].join('\n');
}

interface Sample {
  minute: number;
  at: 'open' | 'closed';
  fds: number;
  rssMiB: number;
  host: number;
  iptables: number;
  tc: number;
}

async function tcLines(pid: number): Promise<number> {
  let n = 0;
  for (const what of ['qdisc', 'class', 'filter']) {
    const { stdout } = await run('nsenter', ['-t', String(pid), '-n', 'tc', what, 'show', 'dev', 'eth0']);
    n += stdout.split('\n').filter((l) => l.trim() && !/^qdisc noqueue 0: root/.test(l)).length;
  }
  return n;
}

async function sample(minute: number, at: Sample['at'], ctl: number, pids: number[], scope: string): Promise<Sample> {
  const fds = (await readdir(`/proc/${ctl}/fd`)).length;
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${ctl}/status`, 'utf8'))?.[1] ?? 0);
  const host = (await hostOwnedLines(scope)).length;
  let iptables = 0;
  let tc = 0;
  await Promise.all(
    pids.map(async (pid) => {
      const { stdout } = await run('nsenter', ['-t', String(pid), '-n', 'iptables-save']);
      const lines = await tcLines(pid); // (not `tc += await …`: that would read tc before the await)
      iptables += stdout.split('\n').filter((l) => l.includes('faultline')).length;
      tc += lines;
    }),
  );
  return { minute, at, fds, rssMiB: rss / 1024, host, iptables, tc };
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

async function main(): Promise<void> {
  const boxes = Array.from({ length: N }, (_, i) => `c${i}`);
  const dir = await tempDir();
  const file = join(dir, `${NAME}.yaml`);
  const scope = controllerIdFor(dir);
  const child = await startCliController(dir);
  try {
    await saveByRename(file, scenario(boxes, new Date(Date.now() + 3_600_000).toISOString(), false));
    await eventually(
      async () =>
        (parse(await readFile(file, 'utf8')) as Scenario).status?.conditions?.find((c) => c.type === 'Ready')
          ?.status === 'True',
      'containers up',
      300_000,
    );
    const inspect = JSON.parse(await docker('inspect', ...boxes.map((b) => `${NAME}_${b}`))) as {
      State: { Pid: number };
    }[];
    const pids = inspect.map((c) => c.State.Pid);
    const before = await sample(0, 'closed', child.pid!, pids, scope);
    const start = Math.ceil((Date.now() + 10_000) / CYCLE_MS) * CYCLE_MS;
    await saveByRename(file, scenario(boxes, new Date(start).toISOString(), true));
    console.log(
      `${N} containers, ${MINUTES} min, 4 faults opening and closing every 20 s; before any window: ` +
        `fds ${before.fds}, RSS ${before.rssMiB.toFixed(1)} MiB, host ${before.host}, iptables ${before.iptables}, tc ${before.tc}`,
    );
    console.log('minute  at      fds  RSS MiB  host  iptables  tc');
    const samples: Sample[] = [];
    for (let m = 0; m < MINUTES; m++) {
      const cycle = start + m * 60_000; // a cycle starts every minute (60 s = 3 × 20 s)
      for (const [off, at] of [
        [8_000, 'open'],
        [18_000, 'closed'],
      ] as const) {
        await sleepUntil(cycle + off);
        const s = await sample(m + 1, at, child.pid!, pids, scope);
        samples.push(s);
        console.log(
          `${String(s.minute).padStart(6)}  ${s.at.padEnd(6)}  ${String(s.fds).padStart(3)}  ${s.rssMiB.toFixed(1).padStart(7)}  ${String(s.host).padStart(4)}  ${String(s.iptables).padStart(8)}  ${String(s.tc).padStart(3)}`,
        );
      }
    }
    const open = samples.filter((s) => s.at === 'open');
    const closed = samples.filter((s) => s.at === 'closed');
    const first = (xs: Sample[]) => xs[0];
    const last = (xs: Sample[]) => xs[xs.length - 1];
    const same = (xs: Sample[], k: 'host' | 'iptables' | 'tc') => xs.every((s) => s[k] === xs[0][k]);
    const rulesFlat =
      closed.every((s) => s.host === before.host && s.iptables === before.iptables && s.tc === before.tc) &&
      same(open, 'host') &&
      same(open, 'iptables') &&
      same(open, 'tc');
    console.log(
      `start → end: fds ${first(closed).fds} → ${last(closed).fds}; RSS ${first(closed).rssMiB.toFixed(1)} → ${last(closed).rssMiB.toFixed(1)} MiB (max ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)}); ` +
        `rules open: host ${first(open).host} → ${last(open).host}, iptables ${first(open).iptables} → ${last(open).iptables}, tc ${first(open).tc} → ${last(open).tc}; ` +
        `closed: host ${first(closed).host} → ${last(closed).host}, iptables ${first(closed).iptables} → ${last(closed).iptables}, tc ${first(closed).tc} → ${last(closed).tc} (before: ${before.host}/${before.iptables}/${before.tc}); ` +
        `rule counts flat: ${rulesFlat ? 'yes' : 'NO'}`,
    );
    result({
      figure: `soak ${MINUTES} min: controller fds, start → end`,
      value: last(closed).fds - first(closed).fds,
      unit: 'fds',
    });
    result({
      figure: `soak ${MINUTES} min: controller RSS, start → end`,
      value: last(closed).rssMiB - first(closed).rssMiB,
      unit: 'MiB',
    });
    if (!rulesFlat) process.exitCode = 1;
  } finally {
    await stopCliController(child);
    await forceCleanup(NAME);
    await removeHostChains(dir);
    await removeDir(dir);
  }
}

await main();
