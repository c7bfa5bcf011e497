// Benchmark (issue 7): lateness of timed transitions, measured in the KERNEL — from a window's
// scheduled instant (the scenario's recorded start + the window's offset) to the first rule change
// the kernel reports in the target's namespace (`nft monitor` from outside, stamped on arrival).
//
//   one fault      a blackhole (ingress) on 2 containers, a 300 ms window every second, 20 times:
//                  40 transitions; the lateness of each is the later of its 2 namespaces
//   200 faults     on 20 containers (ingress loss, iptables statistic here), one window opens every
//                  200 ms and lasts 1 s: 400 transitions; a window with no change seen inside it is
//                  missed
// The controller runs as a user runs it (`faultline controller`, a child process).
//   node dist/bench/lateness.js [faults] [containers]      (default: 200 20)
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Scenario } from '../src/api/types.js';
import {
  docker,
  eventually,
  forceCleanup,
  removeDir,
  removeHostChains,
  tempDir,
  TESTBOX,
} from '../test/integration/lib.js';
import { KernelWatch, pct, result, saveByRename, type KernelEvent } from './lib/kernel.js';
import { benchArgs, startCliController, stopCliController } from './lib/controller.js';

const FAULTS = Number(benchArgs()[0] ?? 200);
const CONTAINERS = Number(benchArgs()[1] ?? 20);

function scenario(name: string, boxes: string[], faults: string[], startAt: string): string {
  return [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  startAt: "${startAt}"`,
    '  networks: [{ name: net, ipam: { config: [{ subnet: 10.245.0.0/24 }] } }]',
    '  containers:',
    ...boxes.map((c) => `    - { name: ${c}, image: ${TESTBOX} }`),
    `  members: [{ network: net, select: { names: [${boxes.join(', ')}] } }]`,
    '  faults:',
    ...faults.map((f) => `    - ${f}`),
    '',
  ].join('\n');
}

/** The first kernel change in `where` at or after `at` (and before `before`), if any. */
function firstChange(events: KernelEvent[], where: string, at: number, before = Infinity): number | undefined {
  let first: number | undefined;
  for (const e of events)
    if (
      e.where === where &&
      e.at >= at &&
      e.at < before &&
      !e.line.startsWith('#') &&
      (first === undefined || e.at < first)
    )
      first = e.at;
  return first;
}

interface Run {
  name: string;
  dir: string;
  child: ChildProcess;
  watch: KernelWatch;
  pids: Map<string, string>;
}

/** Containers up first (no faults), then the faults with a start far enough ahead to be armed. */
async function setUp(
  name: string,
  boxes: string[],
  faults: (startAt: string) => string,
  startIn: number,
): Promise<Run & { start: number }> {
  const dir = await tempDir();
  const file = join(dir, `${name}.yaml`);
  const child = await startCliController(dir);
  const far = new Date(Date.now() + 3_600_000).toISOString();
  await saveByRename(
    file,
    scenario(name, boxes, [`{ name: idle, targets: { names: [${boxes[0]}] }, blackhole: {}, at: 1h }`], far),
  );
  await eventually(
    async () =>
      (parse(await readFile(file, 'utf8')) as Scenario).status?.conditions?.find((c) => c.type === 'Ready')?.status ===
      'True',
    'containers up',
    300_000,
  );
  const inspect = JSON.parse(await docker('inspect', ...boxes.map((b) => `${name}_${b}`))) as {
    State: { Pid: number };
  }[];
  const pids = new Map(boxes.map((b, i) => [b, String(inspect[i].State.Pid)]));
  const watch = await KernelWatch.start({ host: false, pids: inspect.map((c) => c.State.Pid), tc: false });
  const start = Math.ceil((Date.now() + startIn) / 1000) * 1000;
  const startAt = new Date(start).toISOString();
  await saveByRename(file, faults(startAt));
  return { name, dir, child, watch, pids, start };
}

async function tearDown(r: Run): Promise<void> {
  r.watch.stop();
  await stopCliController(r.child);
  await forceCleanup(r.name);
  await removeHostChains(r.dir);
  await removeDir(r.dir);
}

async function oneFault(): Promise<number[]> {
  const boxes = ['a', 'b'];
  const REPEAT = 20;
  const r = await setUp(
    'bench-late-one',
    boxes,
    (startAt) =>
      scenario(
        'bench-late-one',
        boxes,
        [
          `{ name: cut, targets: { names: [a, b] }, blackhole: {}, direction: ingress, at: 0s, duration: 300ms, repeat: { every: 1s, times: ${REPEAT} } }`,
        ],
        startAt,
      ),
    5_000,
  );
  try {
    await new Promise((res) => setTimeout(res, r.start - Date.now() + REPEAT * 1000 + 1500));
    const late: number[] = [];
    for (let k = 0; k < REPEAT; k++) {
      for (const t of [r.start + k * 1000, r.start + k * 1000 + 300]) {
        const seen = boxes.map((b) => firstChange(r.watch.events, r.pids.get(b)!, t, t + 300));
        if (seen.some((x) => x === undefined))
          throw new Error(`transition at +${t - r.start} ms: no kernel change seen in every target`);
        late.push(Math.max(...(seen as number[])) - t);
      }
    }
    return late;
  } finally {
    await tearDown(r);
  }
}

async function manyFaults(): Promise<{ late: number[]; missed: number; windows: number }> {
  const boxes = Array.from({ length: CONTAINERS }, (_, i) => `c${i}`);
  const SPACING = 200;
  const WINDOW = 1000;
  const faults = Array.from(
    { length: FAULTS },
    (_, i) =>
      `{ name: f${i}, targets: { names: [${boxes[i % CONTAINERS]}] }, netem: { loss: 10% }, direction: ingress, at: ${i * SPACING}ms, duration: ${WINDOW}ms }`,
  );
  const r = await setUp(
    'bench-late-many',
    boxes,
    (startAt) => scenario('bench-late-many', boxes, faults, startAt),
    8_000,
  );
  try {
    await new Promise((res) => setTimeout(res, r.start - Date.now() + (FAULTS - 1) * SPACING + WINDOW + 2000));
    const late: number[] = [];
    let missed = 0;
    for (let i = 0; i < FAULTS; i++) {
      const where = r.pids.get(boxes[i % CONTAINERS])!;
      const open = r.start + i * SPACING;
      const close = open + WINDOW;
      const o = firstChange(r.watch.events, where, open, close);
      const c = firstChange(r.watch.events, where, close, close + WINDOW);
      if (o === undefined) missed++;
      else late.push(o - open);
      if (c !== undefined) late.push(c - close);
    }
    return { late, missed, windows: FAULTS };
  } finally {
    await tearDown(r);
  }
}

async function main(): Promise<void> {
  const one = await oneFault();
  console.log(
    `one fault, 2 targets, ${one.length} transitions: scheduled instant → kernel change p50 ${pct(one, 50).toFixed(1)} ms, p99 ${pct(one, 99).toFixed(1)} ms, max ${Math.max(...one).toFixed(1)} ms`,
  );
  console.log(`  each transition, in order (ms): ${one.map((x) => x.toFixed(0)).join(' ')}`);
  result({ figure: 'timed transition, one fault (p50)', value: pct(one, 50), unit: 'ms', goal: '≤ 10 ms' });
  result({ figure: 'timed transition, one fault (p99)', value: pct(one, 99), unit: 'ms', goal: '≤ 25 ms' });
  const many = await manyFaults();
  console.log(
    `${FAULTS} faults on ${CONTAINERS} containers, ${many.late.length} transitions seen: p50 ${pct(many.late, 50).toFixed(1)} ms, p99 ${pct(many.late, 99).toFixed(1)} ms; windows never seen in the kernel: ${many.missed} of ${many.windows}`,
  );
  result({
    figure: `timed transitions, ${FAULTS} faults on ${CONTAINERS} containers (p99)`,
    value: pct(many.late, 99),
    unit: 'ms',
    goal: '≤ 50 ms',
  });
  result({ figure: `windows missed (of ${many.windows}, 200 ms apart)`, value: many.missed, unit: '', goal: '0' });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
