// Benchmark: time from saving a Scenario file to "networks + memberships converged", for a
// scenario of 20 containers on 2 networks (every container on both). Median of 5 runs.
// The figure is Docker's own: once `docker network inspect` shows every membership, the engine's
// event log for the span is read back (`docker events --since --until`) and the last network
// connect or container start of the scenario is the instant it converged. (The controller's status
// is used only to know when to look.)
//   make bench   (or: node dist/bench/converge.js [runs])
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  docker,
  eventually,
  forceCleanup,
  ownedLeft,
  readScenario,
  removeDir,
  startController,
  tempDir,
  TESTBOX,
} from '../test/integration/lib.js';
import { result } from './lib/kernel.js';

const CONTAINERS = 20;
const runs = Number(process.argv[2] ?? 5);

function scenario(name: string, k: number): string {
  const names = Array.from({ length: CONTAINERS }, (_, i) => `n${i}`);
  return [
    'apiVersion: faultline.dev/v1alpha1',
    'kind: Scenario',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  networks:',
    `    - name: front`,
    `      ipam: { config: [{ subnet: 10.242.${2 * k}.0/24 }] }`,
    `    - name: back`,
    `      ipam: { config: [{ subnet: 10.242.${2 * k + 1}.0/24 }] }`,
    '  containers:',
    ...names.map((n) => `    - { name: ${n}, image: ${TESTBOX} }`),
    '  members:',
    `    - { network: front, select: { names: [${names.join(', ')}] } }`,
    `    - { network: back, select: { names: [${names.join(', ')}] } }`,
    '',
  ].join('\n');
}

/** The instant (ms) of the last network connect or container start of scenario `name` Docker logged since `sinceMs`. */
async function lastDockerChange(name: string, sinceMs: number): Promise<number> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const out = await docker(
    'events',
    '--since',
    (sinceMs / 1000).toFixed(3),
    '--until',
    String(until),
    '--filter',
    'type=network',
    '--filter',
    'type=container',
    '--format',
    '{{.TimeNano}} {{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
  );
  const ours = out
    .split('\n')
    .map((l) => l.split(' '))
    .filter(
      ([, type, action, actor]) =>
        actor?.startsWith(`${name}_`) &&
        ((type === 'network' && action === 'connect') || (type === 'container' && action === 'start')),
    );
  if (!ours.length) throw new Error(`Docker logged no connect or start of ${name} since the save`);
  return Math.max(...ours.map(([nano]) => Number(BigInt(nano) / 1000n) / 1000));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = await tempDir();
  const ctl = await startController(dir);
  const times: number[] = [];
  try {
    for (let k = 0; k < runs; k++) {
      const name = `bench-conv-${k}`;
      const file = join(dir, `${name}.yaml`);
      const wall0 = performance.timeOrigin + performance.now();
      await writeFile(file, scenario(name, k));
      await eventually(
        async () => {
          const s = await readScenario(file);
          const ready = s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
          return ready && s.status?.observedGeneration === s.metadata.generation;
        },
        `${name} Ready`,
        120_000,
      );
      for (const net of ['front', 'back']) {
        const n = JSON.parse(await docker('network', 'inspect', `${name}_${net}`))[0];
        if (Object.keys(n.Containers).length !== CONTAINERS)
          throw new Error(`${name}_${net} has ${Object.keys(n.Containers).length} containers`);
      }
      const ms = (await lastDockerChange(name, wall0)) - wall0;
      times.push(ms);
      console.log(`run ${k + 1}: ${ms.toFixed(0)} ms`);
      await rm(file);
      await eventually(
        async () => {
          const left = await ownedLeft(name);
          return left.containers.length + left.networks.length === 0;
        },
        `${name} removed`,
        120_000,
      );
    }
  } finally {
    await ctl.stop();
    for (let k = 0; k < runs; k++) await forceCleanup(`bench-conv-${k}`);
    await removeDir(dir);
  }
  console.log(
    `save → converged in Docker's own event log, ${CONTAINERS} containers on 2 networks: median ${median(times).toFixed(0)} ms over ${times.length} runs (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`,
  );
  result({
    figure: `converge ${CONTAINERS} containers on 2 networks (median of ${times.length}, Docker's events)`,
    value: median(times),
    unit: 'ms',
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
