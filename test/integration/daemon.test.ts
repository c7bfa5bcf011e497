// The Docker daemon restarts under a running controller (the engine `.ci/run` started): the event
// stream reconnects, the view is listed again, the scenario's containers (stopped with the daemon)
// are started again, and every rule is applied again in the new namespaces and, with the new bridge
// ports, on the host — with nothing of the old ones left behind. Checked in the kernel and with
// packets, never only in status.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { controllerIdFor } from '../../src/controller/lease.js';
import { capturedLog } from '../unit/fakes/log.js';
import {
  docker,
  dockerStatus,
  eventually,
  expectedCuts,
  hostOwnedLines,
  kernelCuts,
  netnsIptablesSave,
  readScenario,
  restartDockerd,
  scenarioEnv,
  TESTBOX,
} from './lib.js';

function scenario(name: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: 10.247.3.0/24 }] } }]
  containers:
    - { name: a, image: ${TESTBOX}, command: [sleep, "3600"] }
    - { name: b, image: ${TESTBOX}, command: [sleep, "3600"] }
    - { name: c, image: ${TESTBOX}, command: [sleep, "3600"] }
  members: [{ network: net, select: { names: [a, b, c] } }]
  faults:
    - { name: split, partition: { groups: [[a], [b, c]] } }
    - { name: hole, targets: { names: [c] }, ports: ["7"], direction: ingress, blackhole: {} }
`;
}

const inspect = async (c: string) =>
  JSON.parse(await docker('inspect', c))[0] as {
    State: { Pid: number; Running: boolean; Status: string; Error: string };
    NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  };
const ipOf = async (c: string) => Object.values((await inspect(c)).NetworkSettings.Networks)[0].IPAddress;

test(
  'a Docker daemon restart: reconnected, containers started again, every rule re-applied in the new namespaces and on the host, nothing stale, status true',
  { timeout: 360_000 },
  async (t) => {
    // The controller's warnings, for the message of a wait that times out.
    const { log, lines } = capturedLog('warn');
    const warnings = () =>
      lines
        .slice(-8)
        .map((l) => `  ${l.msg}`)
        .join('\n');
    const env = await scenarioEnv(t, [], { log });
    const { name, file } = env;
    const scope = controllerIdFor(env.dir);
    const dn = (n: string) => `${name}_${n}`;
    const groups = [[dn('a')], [dn('b'), dn('c')]];
    await writeFile(file, scenario(name));
    const verified = async () => {
      const s = await readScenario(file);
      const ok = (f: string) =>
        s.status?.faults?.find((x) => x.name === f)?.targets?.every((y) => y.phase === 'Injected' && y.verified);
      return ok('split') && ok('hole') ? s : undefined;
    };
    await eventually(verified, 'both faults verified', 60_000);
    const before = new Map(
      await Promise.all(['a', 'b', 'c'].map(async (n) => [n, (await inspect(dn(n))).State.Pid] as const)),
    );
    const holeIn = async () =>
      (await netnsIptablesSave((await inspect(dn('c'))).State.Pid)).some((l) =>
        l.includes(`faultline:${scope}.${name}/hole`),
      );
    assert.deepEqual(await kernelCuts(['a', 'b', 'c'].map(dn), `${scope}.${name}/split`, 'host'), expectedCuts(groups));
    assert.ok(await holeIn());

    await restartDockerd();
    t.diagnostic('dockerd restarted');

    // The controller starts the scenario's containers again (their restart policy is "no").
    // Within two of the controller's own correction periods (the 60 s resync and view audit), should
    // the reconnect's relist not be the one that sees them. At the deadline the message says what
    // each container is, and what the controller last warned.
    await eventually(
      async () => {
        const states = await Promise.all(['a', 'b', 'c'].map(async (n) => [n, (await inspect(dn(n))).State] as const));
        if (states.every(([n, s]) => s.Running && s.Pid !== before.get(n))) return true;
        throw new Error(
          `${states.map(([n, s]) => `${n}: ${s.Status}, pid ${s.Pid} (before ${before.get(n)})${s.Error ? `, error "${s.Error}"` : ''}`).join('; ')}\n` +
            `the controller's last warnings:\n${warnings()}`,
        );
      },
      'containers running again with new namespaces',
      150_000,
    );
    // The kernel: the cut on the host names the new bridge ports; the blackhole is in c's new namespace.
    await eventually(
      async () =>
        JSON.stringify(await kernelCuts(['a', 'b', 'c'].map(dn), `${scope}.${name}/split`, 'host')) ===
        JSON.stringify(expectedCuts(groups)),
      'partition re-applied on the host',
      60_000,
    );
    await eventually(holeIn, 'blackhole re-applied in the new namespace', 60_000);
    // Nothing stale: every bridge port the host chains name exists.
    const ports = new Set(await readdir('/sys/class/net'));
    const named = (await hostOwnedLines(scope)).flatMap((l) =>
      [...l.matchAll(/--physdev-(?:in|out) (\S+)/g)].map((m) => m[1]),
    );
    assert.ok(named.length > 0);
    assert.deepEqual(
      named.filter((p) => !ports.has(p)),
      [],
      'no rule names a bridge port that is gone',
    );
    // Packets.
    assert.notEqual(
      (await dockerStatus('exec', dn('a'), 'ping', '-c', '1', '-W', '1', await ipOf(dn('b')))).code,
      0,
      'a → b is cut',
    );
    assert.equal(
      (await dockerStatus('exec', dn('b'), 'ping', '-c', '1', '-W', '2', await ipOf(dn('c')))).code,
      0,
      'b → c passes',
    );
    // The status tells the truth: verified on the new namespaces.
    await eventually(verified, 'status says verified again', 30_000);
    // The view followed: it holds the new pids.
    const view = env.ctl.controller.view.current();
    for (const n of ['a', 'b', 'c'])
      assert.equal(
        view.containers.find((c) => c.name === dn(n))?.pid,
        (await inspect(dn(n))).State.Pid,
        `${n}'s pid in the view`,
      );
  },
);
