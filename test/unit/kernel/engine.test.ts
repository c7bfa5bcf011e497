// The kernel engine over a fake kernel: a change writes only the namespaces whose entries changed,
// and does not wait for a namespace another converge is holding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { FaultSpec, Scenario } from '../../../src/api/types.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { planNetns } from '../../../src/netplan/index.js';
import type { ObservedContainer, Snapshot } from '../../../src/resolve/index.js';
import { FakeKernel } from '../fakes/kernel.js';
import { bridgeNetwork } from '../fakes/view.js';

const log = pino({ level: 'silent' });
const NET = bridgeNetwork({ id: 'n1', name: 'e_net' });
const box = (name: string, pid: number, ip: string): ObservedContainer => ({
  id: `id-${name}`,
  name,
  image: 'faultline/testbox',
  labels: {},
  state: 'running',
  pid,
  networkMode: NET.name,
  endpoints: [{ networkId: NET.id, networkName: NET.name, ipv4Address: ip, aliases: [] }],
});
const boxes = [box('a', 501, '10.9.0.2'), box('b', 502, '10.9.0.3'), box('c', 503, '10.9.0.4')];
const view: Snapshot = { networks: [NET], containers: boxes, takenAt: '2026-12-02T00:00:00Z' };
const hole = (target: string): FaultSpec => ({
  name: `hole-${target}`,
  targets: { names: [target] },
  blackhole: {},
  direction: 'ingress',
});

function plan(scenario: string, faults: FaultSpec[]) {
  const s: Scenario = {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: scenario },
    spec: { faults },
  };
  return planNetns({
    scope: 'dir-e',
    scenario: s,
    active: faults.map((fault, index) => ({
      fault,
      index,
      targets: (fault.targets?.names ?? []).map((n) => ({
        container: n,
        display: n,
        declared: false,
        observed: boxes.find((b) => b.name === n),
      })),
    })),
    view,
    caps: FULL_CAPS,
    seed: 1,
    hostPath: { v4: false, v6: false },
  });
}

describe('kernel engine: a change touches only its namespaces', () => {
  it('writes the namespace that changed while another converge holds a namespace of the same scenario', async () => {
    const kernel = new FakeKernel();
    for (const b of boxes) kernel.add(b.pid!);
    // Programs in b's namespace wait on a gate while it is closed.
    let open!: () => void;
    let gate: Promise<void> | undefined;
    const exec = {
      run: async (t: { pid: number; containerId: string }, argv: string[], stdin?: string) => {
        if (t.pid === 502 && gate) await gate;
        return kernel.run(t, argv, stdin);
      },
    };
    const engine = new KernelEngine({
      scope: 'dir-e',
      exec,
      scratch: async () => Promise.reject(new Error('no probe')),
      probe: async () => FULL_CAPS,
      log,
      hostRules: 'off',
      // One namespace at a time: only the order of the work lets a be written before b is free.
      concurrency: 1,
    });
    const first = await engine.apply(plan('s', [hole('b'), hole('c')]), 1);
    assert.deepEqual(first.errors, []);
    assert.ok(kernel.rules(502).some((l) => l.includes('dir-e.s/hole-b')));

    // Another scenario's change to b: its converge holds b's namespace until the gate opens.
    gate = new Promise((r) => (open = r));
    const other = engine.apply(plan('o', [hole('b')]), 2);
    await new Promise((r) => setImmediate(r));
    const before = kernel.calls.length;

    // s adds a fault on a; b and c keep theirs.
    const second = engine.apply(plan('s', [hole('a'), hole('b'), hole('c')]), 3);
    for (let i = 0; i < 200 && !kernel.rules(501).some((l) => l.includes('dir-e.s/hole-a')); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(
      kernel.rules(501).some((l) => l.includes('dir-e.s/hole-a')),
      "a's rule is written while b's namespace is still held",
    );
    const during = kernel.calls.slice(before);
    assert.ok(
      during.length > 0 && during.every(([pid]) => pid === 501),
      `programs only in a: ${JSON.stringify(during)}`,
    );
    open();
    gate = undefined;
    const [o, s] = await Promise.all([other, second]);
    assert.deepEqual([...o.errors, ...s.errors], []);
    assert.ok(s.outcomes.get('id-a')?.verified.has('dir-e.s/hole-a'), 'a read back and verified');
    assert.ok(s.outcomes.get('id-c')?.verified.has('dir-e.s/hole-c'), 'c answered from its last read-back');
    assert.ok(kernel.rules(502).some((l) => l.includes('dir-e.o/hole-b')));
  });
});
