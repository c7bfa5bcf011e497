// Load, on the real engine: one controller, 40 scenarios and 120 containers here (40 networks: more
// than Docker's default pools hold), 100 scenarios and 300 containers with `make bench-load`
// (FAULTLINE_LOAD_SCENARIOS=100; 8.4 min alone on this 2-core machine, too long for the suite,
// where it once did not finish in 15 min behind the other tests). Each scenario declares
// one network without a subnet (the controller's address pool gives it one), three containers, and
// a blackhole from b to a. Proven where it happens: Docker runs every owned container on networks
// with distinct subnets from the pool, a kernel (the host's chain or a's namespace) holds every
// cut, packets confirm it in the first and the last scenario, and after the files are deleted
// nothing is left. The controller's memory is sampled from /proc throughout and must stay bounded.
// Runs alone (Makefile INTEGRATION_ALONE): its networks take a pool of their own.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerIdFor } from '../../src/controller/lease.js';
import {
  childController,
  docker,
  dockerStatus,
  eventually,
  forceCleanup,
  hostIptablesSave,
  hostOwnedLines,
  netnsIptablesSave,
  readScenario,
  removeDir,
  removeHostChains,
  restartDockerd,
  tempDir,
  TESTBOX,
  uniqueName,
} from './lib.js';
import { pings } from './netlib.js';

const SCENARIOS = Number(process.env.FAULTLINE_LOAD_SCENARIOS ?? 40);
const POOL = '10.218.192.0/18/25'; // 128 subnets, inside the tests' address-pool range
/** The bound on the controller's resident memory (high-water mark), for 100 scenarios / 300 containers. */
const RSS_BOUND_MIB = 300;
/** How long converging and removing may take: what 100 scenarios took alone here, with room. */
const CONVERGE_MS = Math.max(6 * 60_000, SCENARIOS * 8_400);
const REMOVE_MS = Math.max(4 * 60_000, SCENARIOS * 6_000);

const scenario = (name: string) => `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks:
    - name: net
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
    - { name: c, image: ${TESTBOX} }
  members:
    - { network: net, select: { names: [a, b, c] } }
  faults:
    - { name: cut, targets: { names: [a] }, peers: { names: [b] }, protocol: icmp, direction: ingress, blackhole: {} }
`;

async function vmKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

test(`load: ${SCENARIOS} scenarios with ${3 * SCENARIOS} containers converge on one engine; memory stays bounded; all gone after`, async (t) => {
  const dir = await tempDir();
  const run = uniqueName('load');
  const names = Array.from({ length: SCENARIOS }, (_, i) => `${run}-${i}`);
  const files = names.map((n) => join(dir, `${n}.yaml`));
  const logFile = join(dir, '..', `${run}-controller.log`);
  const ctl = await childController(dir, logFile, ['--address-pool', POOL]);
  let pid = 0;
  const rss: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (pid) rss.push(await vmKiB(pid, 'VmRSS').catch(() => 0));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  t.after(async () => {
    sampling = false;
    await sampler;
    await ctl.close();
    await Promise.all(names.map((n) => forceCleanup(n)));
    await removeHostChains(dir);
    await removeDir(dir);
    await rm(logFile, { force: true });
  });

  await ctl.start();
  await ctl.started();
  pid = ctl.pid()!;
  for (const [i, f] of files.entries()) await writeFile(f, scenario(names[i]));

  // Converged, as the scenarios say (the loop's end condition), ...
  const notYet = async () => {
    const out: string[] = [];
    for (const [i, f] of files.entries()) {
      const s = await readScenario(f);
      const ready = s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const cut = s.status?.faults?.find((x) => x.name === 'cut')?.targets?.[0];
      if (!ready || cut?.phase !== 'Injected' || !cut.verified) out.push(names[i]);
    }
    return out;
  };
  let pending: string[] = [];
  await eventually(
    async () => (pending = await notYet()).length === 0,
    'every scenario Ready with its cut verified',
    CONVERGE_MS,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}: ${pending.length} not yet, e.g. ${pending.slice(0, 5).join(', ')}`);
  });

  // ... and as Docker and the kernel show it.
  const label = `label=faultline.dev/controller=${controllerIdFor(dir)}`;
  const running = (await docker('ps', '--filter', label, '--filter', 'status=running', '--format', '{{.Names}}'))
    .split('\n')
    .filter(Boolean);
  assert.equal(running.length, 3 * SCENARIOS, 'Docker runs every declared container');
  const nets = (await docker('network', 'ls', '-q', '--no-trunc', '--filter', label)).split('\n').filter(Boolean);
  assert.equal(nets.length, SCENARIOS, 'one network per scenario');
  const subnets = (await docker('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', ...nets))
    .split('\n')
    .filter(Boolean);
  assert.equal(new Set(subnets).size, SCENARIOS, `distinct subnets: ${subnets.slice(0, 3).join(', ')}…`);
  assert.ok(
    subnets.every((s) => /^10\.218\.(19[2-9]|2[0-4]\d|25[0-5])\.(0|128)\/25$/.test(s)),
    'every subnet from the pool',
  );
  // Each cut is in a kernel: the host's FORWARD path, or a's own namespace (netplan decides).
  const scope = controllerIdFor(dir);
  const host = await hostIptablesSave();
  let inHost = 0;
  for (const n of names) {
    const key = `faultline:${scope}.${n}/cut`;
    if (host.some((l) => l.includes(key))) {
      inHost++;
      continue;
    }
    const pidA = Number((await docker('inspect', '-f', '{{.State.Pid}}', `${n}_a`)).trim());
    assert.ok(
      (await netnsIptablesSave(pidA)).some((l) => l.includes(key)),
      `${n}: its cut is in no kernel`,
    );
  }
  for (const n of [names[0], names[SCENARIOS - 1]]) {
    const ip = (
      await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', `${n}_a`)
    ).trim();
    assert.equal(await pings(`${n}_b`, ip, { count: 3 }), 0, `${n}: b → a is cut`);
    assert.ok((await pings(`${n}_c`, ip, { count: 3 })) >= 2, `${n}: c → a passes`);
  }
  const hwm = await vmKiB(pid, 'VmHWM');
  const avg = rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : 0;
  t.diagnostic(
    `controller memory while ${SCENARIOS} scenarios / ${3 * SCENARIOS} containers converged: RSS avg ${(avg / 1024).toFixed(1)} MiB, high-water ${(hwm / 1024).toFixed(1)} MiB (bound ${RSS_BOUND_MIB}); cuts in the host path ${inHost}, in a's namespace ${SCENARIOS - inHost}`,
  );
  assert.ok(hwm / 1024 <= RSS_BOUND_MIB, `controller high-water RSS ${(hwm / 1024).toFixed(1)} MiB`);

  // Deleted: everything goes, in Docker and in the kernel — but for one fault of Docker's own:
  // dockerd 20.10 can keep a count of endpoints on a network whose endpoints are all gone (seen
  // here once, after 300 containers were removed at once: the network refused removal for 10 min
  // while inspect listed no endpoint; moby#42119). Only an engine restart clears it. Such a
  // network is not faultline's to remove, but faultline must say so: it counts as done only when
  // Docker lists no endpoint on it and the controller's log says exactly that of its scenario.
  for (const f of files) await rm(f);
  const deletedAt = Date.now();
  let left = '';
  const staleCount = new Set<string>();
  /** Scenarios whose networks the controller said Docker refuses for a stale count (one read of its log). */
  const saidStaleCount = async () =>
    new Set(
      (await ctl.lines())
        .filter((l) => Number(l.level) >= 40 && /does not list \(a stale count/.test(String(l.msg)))
        .map((l) => l.scenario),
    );
  const refusedForStaleCount = async (net: string, said: Set<unknown>): Promise<boolean> => {
    const info = await dockerStatus(
      'network',
      'inspect',
      '-f',
      '{{len .Containers}} {{index .Labels "faultline.dev/scenario"}}',
      net,
    );
    const [count, owner] = info.stdout.trim().split(' ');
    return info.code === 0 && count === '0' && !!owner && said.has(owner);
  };
  await eventually(
    async () => {
      const cs = await dockerStatus('ps', '-a', '--filter', label, '--format', '{{.Names}} {{.Status}}');
      const ns = await dockerStatus('network', 'ls', '--filter', label, '--format', '{{.Name}}');
      staleCount.clear();
      const listed = ns.stdout.split('\n').filter(Boolean);
      // Only once every container is gone can a network left be Docker's stale count.
      const said = cs.stdout.trim() || !listed.length ? new Set() : await saidStaleCount();
      const nets: string[] = [];
      for (const n of listed)
        if (said.size && (await refusedForStaleCount(n, said))) staleCount.add(n);
        else nets.push(n);
      left = `${cs.stdout.trim()}\n${nets.join('\n')}`.trim();
      return left === '';
    },
    'no owned container or network left',
    REMOVE_MS,
  ).catch(async (e) => {
    const lines = left.split('\n');
    const all = await ctl.lines();
    const errors = all.filter((l) => Number(l.level) >= 40).slice(-10);
    const exited = await ctl.died(0);
    throw new Error(
      `${(e as Error).message}: ${lines.length} left, e.g. ${lines.slice(0, 8).join('; ')}\n` +
        `controller ${exited === undefined ? 'still running' : `exited (${exited ?? 'by itself'})`}; ` +
        `its last warnings/errors:\n${errors.map((l) => JSON.stringify(l)).join('\n')}\n` +
        `its last lines:\n${all
          .slice(-5)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
    );
  });
  if (staleCount.size) {
    // What the controller said is what a person should do: restart the engine; then it is removed.
    t.diagnostic(
      `Docker kept a stale endpoint count on ${[...staleCount].join(', ')}: the controller said so; restarting the engine`,
    );
    await ctl.kill('SIGTERM');
    await restartDockerd();
    for (const n of staleCount) await docker('network', 'rm', n);
  }
  t.diagnostic(`deleted → no owned container or network: ${((Date.now() - deletedAt) / 1000).toFixed(1)} s`);
  assert.deepEqual(
    (await hostOwnedLines(controllerIdFor(dir))).filter((l) => l.includes(run)),
    [],
    'no host rule of the scenarios',
  );
});
