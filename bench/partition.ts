// Benchmark (issue 3): time from saving a partition of N running containers into two halves to
// every rule verified in the kernel (status: every target Injected + verified, which the
// controller writes only after reading tc/iptables back). Median of 5, for N = 30 and N = 100.
// Also: kernel commands run by a reconcile of the unchanged scenario (writes must be 0).
//   node dist/bench/partition.js [N...]      (default: 30 100)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, forceCleanup, readScenario, removeDir, startController, tempDir, TESTBOX } from '../test/integration/lib.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 1);
const RUNS = 5;

function scenario(name: string, n: number, partition: boolean): string {
  const names = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`);
  return [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  seed: 42',
    '  networks:',
    '    - name: net',
    '      ipam: { config: [{ subnet: 10.244.0.0/22 }] }',
    '  containers:',
    ...names.map((c) => `    - { name: ${c}, image: ${TESTBOX} }`),
    '  members:',
    `    - { network: net, select: { names: [${names.join(', ')}] } }`,
    ...(partition
      ? ['  faults:', '    - name: split', `      targets: { names: [${names.join(', ')}] }`, '      partition: { generator: halves }']
      : []),
    '',
  ].join('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(n: number): Promise<void> {
  const name = `bench-part-${n}`;
  const dir = await tempDir();
  const ctl = await startController(dir);
  const file = join(dir, `${name}.yaml`);
  try {
    const t0 = performance.now();
    await writeFile(file, scenario(name, n, false));
    await eventually(async () => (await readScenario(file)).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', `${n} containers up`, 600_000);
    console.log(`N=${n}: ${n} containers created and connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t1 = performance.now();
      await writeFile(file, scenario(name, n, true));
      await eventually(async () => {
        const t = (await readScenario(file)).status?.faults?.[0]?.targets ?? [];
        return t.length === n && t.every((x) => x.phase === 'Injected' && x.verified);
      }, 'partition verified', 300_000);
      times.push(performance.now() - t1);
      if (run === RUNS - 1) break;
      await writeFile(file, scenario(name, n, false));
      await eventually(async () => {
        const t = (await readScenario(file)).status?.faults?.[0]?.targets ?? [];
        return t.length === 0 || t.every((x) => x.phase !== 'Injected');
      }, 'partition removed', 300_000);
      await ctl.controller.idle();
    }
    console.log(`N=${n}: save → every partition rule verified: median ${median(times).toFixed(0)} ms over ${RUNS} runs (${times.map((t) => t.toFixed(0)).join(', ')})`);
    // An unchanged scenario reconciled again: read-back only, zero writes to any kernel.
    await ctl.controller.idle();
    const before = { ...ctl.controller.stats };
    ctl.controller.queue.add(name);
    await ctl.controller.idle();
    const reads = ctl.controller.stats.kernelCommands - before.kernelCommands;
    const writes = ctl.controller.stats.kernelWrites - before.kernelWrites;
    const dockerOps = ctl.controller.stats.operations - before.operations;
    console.log(`N=${n}: reconcile of the unchanged scenario: ${reads} namespace programs run (read-back), ${writes} kernel writes, ${dockerOps} Docker changes`);
  } finally {
    await ctl.stop();
    await forceCleanup(name);
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
