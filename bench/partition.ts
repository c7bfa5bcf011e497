// Benchmark (issue 7): a partition of N running containers into halves, measured in the KERNEL.
//
// The controller runs as a user runs it (`faultline controller`, a child process). Every figure is
// "file saved (by rename, as git and editors save) → the last rule change the kernel reported",
// taken from `nft monitor` / `tc monitor` in the host's namespace and in every container's, after
// a read of the kernel (iptables-save through nsenter) confirmed the cut pairs are exactly the
// halves — or, for a removal, that none is left — before the next save.
//
//   cold     the first fault after the controller started
//   warm     the same partition saved again after a removal (median of RUNS)
//   removal  the partition taken out of the file (median of RUNS)
//   add      one more fault (a blackhole on one container, in its own namespace) added to the
//            running scenario, as a person saves it: the file with its status, one line more
//            (median of RUNS)
// and, in the same run, the kernel floor for N (../shared/tools/floor/partition-floor.sh N).
//   node dist/bench/partition.js [N...] [--runs R]      (default: 30 100, 5 runs)
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import type { Scenario } from '../src/api/types.js';
import { controllerIdFor } from '../src/controller/lease.js';
import { partitionGroups } from '../src/netfaults/partition.js';
import {
  bridgePortsOf,
  docker,
  eventually,
  expectedCuts,
  forceCleanup,
  hostDrops,
  kernelCuts,
  netnsIptablesSave,
  removeDir,
  removeHostChains,
  tempDir,
  TESTBOX,
} from '../test/integration/lib.js';
import { KernelWatch, partitionFloor, pct, result, saveByRename, wallMs } from './lib/kernel.js';
import { benchArgs, controllerArgs, startCliController, stopCliController } from './lib/controller.js';

const args = benchArgs();
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const sizes = args
  .filter((a, i) => runsAt < 0 || (i !== runsAt && i !== runsAt + 1))
  .map(Number)
  .filter((n) => n > 1);
const SEED = 42;

function scenario(name: string, n: number, faults: string[]): string {
  const names = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`);
  return [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  seed: ${SEED}`,
    '  networks:',
    '    - name: net',
    '      ipam: { config: [{ subnet: 10.244.0.0/22 }] }',
    '  containers:',
    ...names.map((c) => `    - { name: ${c}, image: ${TESTBOX} }`),
    '  members:',
    `    - { network: net, select: { names: [${names.join(', ')}] } }`,
    ...(faults.length ? ['  faults:', ...faults.map((f) => `    - ${f}`)] : []),
    '',
  ].join('\n');
}

const SPLIT = (names: string[]) =>
  `{ name: split, targets: { names: [${names.join(', ')}] }, partition: { generator: halves } }`;
const HOLE = '{ name: hole, targets: { names: [n000] }, blackhole: {}, direction: ingress }';

async function bench(n: number): Promise<void> {
  const name = `bench-part-${n}`;
  const dir = await tempDir();
  const file = join(dir, `${name}.yaml`);
  const key = (fault: string) => `${controllerIdFor(dir)}.${name}/${fault}`;
  const names = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`);
  const dn = (x: string) => `${name}_${x}`;
  const groups = partitionGroups('halves', names, SEED).map((g) => g.map(dn));
  const want = JSON.stringify(expectedCuts(groups));
  const none = JSON.stringify(Object.fromEntries(names.map((x) => [dn(x), []])));
  // While measuring, read only the host (one iptables-save): reading 30 namespaces every few ms would
  // load the machine the controller runs on. The namespaces are read once at the end of each phase.
  let ports: Map<string, string>; // bridge port → container
  const hostCuts = async () => {
    const out: Record<string, string[]> = Object.fromEntries(names.map((x) => [dn(x), [] as string[]]));
    for (const d of await hostDrops(key('split')))
      (out[ports.get(d.to) ?? d.to] ??= []).push(ports.get(d.from) ?? d.from);
    for (const v of Object.values(out)) v.sort();
    return JSON.stringify(out);
  };
  // With `-- --host-rules off` (the namespace path, to see the figure change) the cut is read
  // from every namespace instead.
  const viaHost = !controllerArgs().join(' ').includes('--host-rules off');
  const cuts = viaHost ? hostCuts : async () => JSON.stringify(await kernelCuts(names.map(dn), key('split'), 'netns'));
  const noneInNamespaces = async () => {
    const all = await kernelCuts(names.map(dn), key('split'), 'netns');
    if (Object.values(all).some((v) => v.length))
      throw new Error(`rules of the partition in container namespaces: ${JSON.stringify(all)}`);
  };
  let child = await startCliController(dir);
  let watch: KernelWatch | undefined;
  try {
    const t0 = performance.now();
    await saveByRename(file, scenario(name, n, []));
    await eventually(
      async () =>
        (parse(await readFile(file, 'utf8')) as Scenario).status?.conditions?.find((c) => c.type === 'Ready')
          ?.status === 'True',
      `${n} containers up`,
      600_000,
    );
    console.log(`N=${n}: ${n} containers created and connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const inspect = JSON.parse(await docker('inspect', ...names.map(dn))) as { State: { Pid: number } }[];
    ports = new Map(
      (await Promise.all(names.map(async (x) => (await bridgePortsOf(dn(x))).map((p) => [p, dn(x)] as const)))).flat(),
    );
    watch = await KernelWatch.start({ host: true, pids: inspect.map((c) => c.State.Pid) });

    // cold: a fresh controller process; the first fault it applies.
    await stopCliController(child);
    child = await startCliController(dir);
    await new Promise((r) => setTimeout(r, 1000)); // let its start-up reconcile finish (no fault yet)
    const c0 = wallMs();
    await saveByRename(file, scenario(name, n, [SPLIT(names)]));
    await watch.until(async () => (await cuts()) === want, 'the halves cut', { since: c0 });
    const cold = (await watch.settled(c0)) - c0;
    if (viaHost) await noneInNamespaces();

    const warm: number[] = [];
    const removal: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const r0 = wallMs();
      await saveByRename(file, scenario(name, n, []));
      await watch.until(async () => (await cuts()) === none, 'no cut left', { since: r0 });
      removal.push((await watch.settled(r0)) - r0);
      const w0 = wallMs();
      await saveByRename(file, scenario(name, n, [SPLIT(names)]));
      await watch.until(async () => (await cuts()) === want, 'the halves cut', { since: w0 });
      warm.push((await watch.settled(w0)) - w0);
    }
    // One fault added to the running scenario (enforced in one container's own namespace), saved
    // as a person saves it: the file as it is, the controller's status included (670 lines at 30
    // containers), with one line more in the spec.
    const add: number[] = [];
    const holePid = inspect[0].State.Pid;
    const holeIn = async () => (await netnsIptablesSave(holePid)).some((l) => l.includes(`"faultline:${key('hole')}"`));
    const splitLine = `    - ${SPLIT(names)}\n`;
    const holeLine = `    - ${HOLE}\n`;
    /** The file once the controller wrote the status of its current spec. */
    const current = async (): Promise<string> => {
      let text = '';
      await eventually(async () => {
        text = await readFile(file, 'utf8');
        const s = parse(text) as Scenario;
        return s.status?.observedGeneration !== undefined && s.status.observedGeneration === s.metadata.generation;
      }, 'the status of the current spec in the file');
      return text;
    };
    for (let run = 0; run < RUNS; run++) {
      const before = await current();
      if (!before.includes(splitLine) || before.includes(holeLine))
        throw new Error('the file is not as the bench wrote it');
      const a0 = wallMs();
      await saveByRename(file, before.replace(splitLine, splitLine + holeLine));
      await watch.until(holeIn, 'the blackhole in n000', { since: a0, where: String(holePid) });
      add.push((await watch.settled(a0, 400, (e) => e.where === String(holePid))) - a0);
      const after = await current();
      const b0 = wallMs();
      await saveByRename(file, after.replace(holeLine, ''));
      await watch.until(async () => !(await holeIn()), 'the blackhole gone', { since: b0, where: String(holePid) });
      await watch.settled(b0);
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(
      `N=${n}: save → last kernel change: cold ${cold.toFixed(0)} ms; warm median ${pct(warm, 50).toFixed(0)} ms (${fmt(warm)}); removal median ${pct(removal, 50).toFixed(0)} ms (${fmt(removal)}); one fault added p50 ${pct(add, 50).toFixed(0)} ms (${fmt(add)})`,
    );
    await saveByRename(file, scenario(name, n, []));
    await watch.until(async () => (await cuts()) === none, 'no cut left');
    watch.stop();
    watch = undefined;
    await stopCliController(child);
    // The floor, now that the controller's containers are idle (the floor makes its own N).
    const floor = await partitionFloor(n);
    if (controllerArgs().length) console.log(`(controller run with: ${controllerArgs().join(' ')})`);
    if (!floor)
      console.log('(the floor script ../shared/tools/floor/partition-floor.sh is not available: no floor printed)');
    else
      console.log(
        `N=${n}: floor here and now: host ${floor.host} ms (host+read ${floor['host+read']} ms), per-namespace ${floor.apply} ms (apply+read ${floor['apply+read']} ms)`,
      );
    const goals: Record<number, { warm?: string; cold?: string; removal?: string }> = {
      30: { warm: '≤ 50 ms', cold: '≤ 300 ms', removal: '≤ 50 ms' },
      100: { warm: '≤ 150 ms' },
    };
    result({
      figure: `partition of ${n} into halves, cold`,
      value: cold,
      unit: 'ms',
      floor: floor?.host,
      goal: goals[n]?.cold,
    });
    result({
      figure: `partition of ${n} into halves, warm (median of ${RUNS})`,
      value: pct(warm, 50),
      unit: 'ms',
      floor: floor?.host,
      goal: goals[n]?.warm,
    });
    result({
      figure: `partition of ${n}, removal (median of ${RUNS})`,
      value: pct(removal, 50),
      unit: 'ms',
      floor: floor?.host,
      goal: goals[n]?.removal,
    });
    if (n === sizes[0])
      result({
        figure: `one fault added to a running scenario (p50 of ${RUNS})`,
        value: pct(add, 50),
        unit: 'ms',
        goal: '≤ 30 ms',
        note: 'blackhole in one container namespace',
      });
  } finally {
    watch?.stop();
    await stopCliController(child).catch(() => undefined);
    await forceCleanup(name);
    await removeHostChains(dir);
    await removeDir(dir);
  }
}

async function main(): Promise<void> {
  for (const n of sizes.length ? sizes : [30, 100]) await bench(n);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
