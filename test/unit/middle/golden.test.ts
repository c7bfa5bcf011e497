// Golden status and namespace plans: what one reconcile writes into a file, and what `faultline
// plan` prints for its namespaces, for scenarios run against the fake engine and kernel (ids,
// pids and the clock are deterministic there).
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { pino } from 'pino';
import type { Scenario } from '../../../src/api/types.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { DockerView } from '../../../src/observe/docker-view.js';
import { Reconciler } from '../../../src/controller/reconcile.js';
import { netPlanToText, planNetns } from '../../../src/netplan/index.js';
import { resolveFaults } from '../../../src/resolve/index.js';
import { evaluateRecorded } from '../../../src/timeline/index.js';
import type { Clock, NetnsTarget } from '../../../src/ports/index.js';
import { golden } from '../../golden.js';
import { FakeDocker, MemoryFiles } from '../fakes/docker.js';
import { FakeKernel } from '../fakes/kernel.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-11-30T12:00:00Z');
const clock: Clock & { t: number } = {
  t: T0,
  now: () => new Date(clock.t),
  sleep: () => new Promise<void>(() => undefined),
};

const SCENARIOS: Record<string, string> = {
  shop: `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: shop
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: 10.77.0.0/24 }] } }]
  containers:
    - { name: api, image: faultline/testbox }
    - { name: db, image: faultline/testbox }
    - { name: cache, image: faultline/testbox }
  members: [{ network: net, select: { names: [api, db, cache] } }]
  faults:
    - { name: split, partition: { groups: [[api], [db, cache]] } }
    - { name: refuse, targets: { names: [db] }, ports: ["5432"], reject: { with: tcp-reset }, direction: ingress }
    - { name: deaf, targets: { names: [cache] }, peers: { names: [api] }, blackhole: {}, direction: ingress }
    - { name: later, targets: { names: [api] }, blackhole: {}, at: 1m, duration: 30s }
    - { name: nobody, targets: { labels: { role: none } }, blackhole: {} }
`,
};

describe('golden: a reconcile against the fake engine and kernel', () => {
  for (const [name, text] of Object.entries(SCENARIOS)) {
    it(`${name}: the status it writes, and the namespace plan faultline plan prints`, async () => {
      clock.t = T0;
      const docker = new FakeDocker();
      const kernel = new FakeKernel();
      kernel.add(1, ['docker0'], { host: true });
      docker.onStart = (c) => kernel.add(c.pid);
      const ports = {
        portsOf: async (ts: readonly NetnsTarget[]) => new Map(ts.map((t) => [t.key, [`veth-${t.name}`]])),
      };
      const engine = new KernelEngine({
        scope: 'dir-golden',
        exec: kernel,
        scratch: () => Promise.reject(new Error('no probe')),
        probe: async () => FULL_CAPS,
        log,
        hostPid: async () => 1,
        bridgePorts: ports,
        now: () => clock.t,
      });
      const abort = new AbortController();
      const view = new DockerView(docker, { log });
      await view.start(abort.signal);
      const files = new MemoryFiles();
      const file = `/scenarios/${name}.yaml`;
      files.texts.set(file, text);
      try {
        await new Reconciler({
          controller: 'dir-golden',
          docker,
          view,
          files,
          clock,
          log,
          kernel: engine,
        }).reconcileFile(name, file);
        const written = parse(files.texts.get(file)!) as Scenario;
        golden('unit/middle', `${name}.status.yaml`, stringify(written.status));
        const scn = parse(text) as Scenario;
        const time = evaluateRecorded(name, scn.spec, written.status ?? {}, clock.now());
        const resolved = resolveFaults(scn, time.result, view.current(), time.seed);
        const plan = planNetns({
          scope: 'dir-golden',
          scenario: scn,
          active: resolved.active,
          view: view.current(),
          caps: FULL_CAPS,
          seed: time.seed,
          hostPath: { v4: true, v6: false },
        });
        golden(
          'unit/middle',
          `${name}.netplan.txt`,
          netPlanToText(plan, {
            scope: 'dir-golden',
            caps: FULL_CAPS,
            hostPath: { v4: true, v6: false },
            interfacesOf: () => ['eth0'],
            portsOf: (t) => [`veth-${t.name}`],
          }),
        );
      } finally {
        abort.abort();
      }
    });
  }
});
