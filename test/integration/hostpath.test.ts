// The host path: cuts between containers bridged on this host, as one chain per scenario under
// mangle FORWARD in the host's namespace, read back with nsenter and proven by packets. (The
// partition matrix on this path is in netfaults.test.ts; the daemon restart in daemon.test.ts.)
import test from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerIdFor } from '../../src/controller/lease.js';
import { hostRootChain } from '../../src/netfaults/host.js';
import {
  childController,
  docker,
  dockerStatus,
  eventually,
  expectedCuts,
  forceCleanup,
  hostIptablesSave,
  hostOwnedLines,
  hostRestore,
  kernelCuts,
  killSeed,
  prng,
  readScenario,
  removeDir,
  removeHostChains,
  startController,
  tempDir,
  uniqueName,
  TESTBOX,
} from './lib.js';

const run = (c: string, ...argv: string[]) => dockerStatus('exec', c, ...argv);

/** Three containers of our own on one bridge (not declared by any scenario, so they outlive it). */
async function boxes(t: test.TestContext, prefix: string, names: string[]): Promise<(n: string) => string> {
  const net = `${prefix}-net`;
  const dn = (n: string) => `${prefix}-${n}`;
  t.after(async () => {
    // Every container on the network first (a test may have added its own), then the network.
    const attached = (
      await dockerStatus('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', net)
    ).stdout
      .split(/\s+/)
      .filter(Boolean);
    await dockerStatus('rm', '-f', ...new Set([...names.map(dn), ...attached]));
    await dockerStatus('network', 'rm', net);
  });
  // A random /24 in 10.217/16; another one if that is taken (a network some earlier run left).
  for (let tries = 1; ; tries++) {
    const r = await dockerStatus(
      'network',
      'create',
      '--subnet',
      `10.217.${Math.floor(Math.random() * 256)}.0/24`,
      net,
    );
    if (r.code === 0) break;
    if (tries === 5 || !/overlaps/i.test(r.stderr)) throw new Error(`docker network create ${net}: ${r.stderr}`);
  }
  await Promise.all(names.map((n) => docker('run', '-d', '--name', dn(n), '--network', net, TESTBOX, 'sleep', '3600')));
  return dn;
}

/** A controller on a directory of its own; after the test it is stopped and everything it made removed. */
async function controlled(t: test.TestContext, opts?: Parameters<typeof startController>[1]) {
  const name = uniqueName();
  const dir = await tempDir();
  const env = { name, dir, scope: controllerIdFor(dir), ctl: await startController(dir, opts) };
  t.after(async () => {
    await env.ctl.stop();
    await forceCleanup(name);
    await removeHostChains(dir);
    await removeDir(dir);
  });
  return env;
}

const ipOf = async (container: string) =>
  (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container)).trim();

function partition(name: string, groups: string[][]): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  faults:
    - { name: split, partition: { groups: [${groups.map((g) => `[${g.join(', ')}]`).join(', ')}] } }
`;
}

test(
  'host path, controller SIGKILLed at 10 random points while partitions are applied, changed and deleted: exact chains after, none left of the deleted scenario',
  { timeout: 180_000 },
  async (t) => {
    const a = uniqueName();
    const b = uniqueName();
    const dir = await tempDir();
    const scope = controllerIdFor(dir);
    const fileA = join(dir, `${a}.yaml`);
    const fileB = join(dir, `${b}.yaml`);
    const logFile = join(dir, '..', `${b}-controller.log`);
    const ctl = await childController(dir, logFile);
    t.after(async () => {
      await ctl.close();
      await forceCleanup(a);
      await forceCleanup(b);
      await removeHostChains(dir);
      await removeDir(dir);
      await rm(logFile, { force: true });
    });
    const dn = await boxes(t, b, ['x', 'y', 'z']);
    const A = [partition(a, [[dn('x')], [dn('y'), dn('z')]]), partition(a, [[dn('x'), dn('y')], [dn('z')]])];
    const B = [partition(b, [[dn('y')], [dn('z')]]), partition(b, [[dn('x')], [dn('z')]])];
    const rnd = prng(killSeed(t));
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    const linesOf = async (scn: string) =>
      (await hostOwnedLines(scope)).filter((l) => l.includes(`${scope}.${scn}`)).length;

    await writeFile(fileB, B[0]);
    let lastB = 0;
    let aLeftBehind = 0;
    await ctl.start();
    for (let i = 0; i < 10; i++) {
      const phase = rnd() < 0.75 ? 'running' : 'starting';
      if (phase === 'running') await ctl.started();
      const action =
        i === 9
          ? 'delete A'
          : i === 8
            ? 'write A0'
            : pick(['write A0', 'write A1', 'delete A', 'write B0', 'write B1', 'write A0']);
      if (action === 'delete A') await rm(fileA, { force: true });
      else if (action.startsWith('write A')) await writeFile(fileA, A[Number(action.at(-1))]);
      else {
        lastB = Number(action.at(-1));
        await writeFile(fileB, B[lastB]);
      }
      if (i === 8) await eventually(async () => (await linesOf(a)) > 0, "A's chain in the host", 20_000);
      const after = Math.floor(rnd() * (i === 9 ? 400 : 2500));
      await new Promise((r) => setTimeout(r, after));
      await ctl.kill('SIGKILL');
      const [la, lb] = [await linesOf(a), await linesOf(b)];
      if (la > 0 && action === 'delete A') aLeftBehind++;
      t.diagnostic(
        `step ${i + 1}: ${action} (controller ${phase}), SIGKILL after ${after} ms; host lines then: A ${la}, B ${lb}`,
      );
      await ctl.start();
    }
    assert.ok(aLeftBehind >= 1, 'the sweep of a scenario deleted under a dead controller was exercised');

    const groupsB = (lastB === 0 ? [['y'], ['z']] : [['x'], ['z']]).map((g) => g.map(dn));
    const want = {
      ...Object.fromEntries(['x', 'y', 'z'].map((n) => [dn(n), [] as string[]])),
      ...expectedCuts(groupsB),
    };
    const state = async () => ({
      cuts: await kernelCuts(['x', 'y', 'z'].map(dn), `${scope}.${b}/split`),
      aLines: await linesOf(a),
    });
    try {
      await eventually(
        async () => JSON.stringify(await state()) === JSON.stringify({ cuts: want, aLines: 0 }),
        'A swept, B exact',
        30_000,
      );
    } catch (e) {
      assert.deepEqual(await state(), { cuts: want, aLines: 0 }, (e as Error).message);
    }
    const s = await eventually(async () => {
      const x = await readScenario(fileB);
      return x.status?.faults?.[0]?.targets?.every(
        (y) => y.phase === 'Injected' && y.verified && y.mechanism === 'iptables-forward',
      )
        ? x
        : undefined;
    }, 'B verified on the host path');
    assert.ok(s);
    // Packets: B's cut holds, A's is gone.
    const ip = (n: string) => ipOf(dn(n));
    const [cut, open_] =
      lastB === 0
        ? [
            ['y', 'z'],
            ['x', 'y'],
          ]
        : [
            ['x', 'z'],
            ['x', 'y'],
          ];
    assert.notEqual(
      (await run(dn(cut[0]), 'ping', '-c', '1', '-W', '1', await ip(cut[1]))).code,
      0,
      `${cut[0]} → ${cut[1]} is cut`,
    );
    assert.equal(
      (await run(dn(open_[0]), 'ping', '-c', '1', '-W', '2', await ip(open_[1]))).code,
      0,
      `${open_[0]} → ${open_[1]} passes`,
    );
  },
);

test(
  'host rules name bridge ports: after the containers are gone the chain matches nothing, and a new container that takes the same address is not cut',
  { timeout: 300_000 },
  async (t) => {
    const { name, dir, scope, ctl } = await controlled(t);
    const dn = await boxes(t, name, ['p', 'q']);
    await writeFile(join(dir, `${name}.yaml`), partition(name, [[dn('p')], [dn('q')]]));
    await eventually(
      async () => (await kernelCuts([dn('p'), dn('q')], `${scope}.${name}/split`, 'host'))[dn('p')].length === 1,
      'p and q cut on the host path',
    );
    const qIp = await ipOf(dn('q'));
    // The controller is stopped (its rules stay, as a stopped controller's do); q is replaced by a
    // stranger with q's address.
    await ctl.stop();
    assert.ok(
      (await hostOwnedLines(scope)).some((l) => l.startsWith(`-A ${hostRootChain(scope)}`)),
      'the chain stays while the controller is down',
    );
    await docker('rm', '-f', dn('q'));
    const stranger = `${name}-stranger`;
    t.after(() => dockerStatus('rm', '-f', stranger).then(() => undefined));
    await docker('run', '-d', '--name', stranger, '--network', `${name}-net`, '--ip', qIp, TESTBOX, 'sleep', '3600');
    assert.equal(
      (await run(dn('p'), 'ping', '-c', '1', '-W', '2', qIp)).code,
      0,
      'the stranger at the old address is reachable: the stale rule names a bridge port that is gone',
    );
  },
);

test(
  'a host-path partition holds while networks are created and removed (Docker re-inserts its FORWARD jumps each time): not one packet passes',
  { timeout: 300_000 },
  async (t) => {
    const { name, dir, scope } = await controlled(t);
    const churn = Array.from({ length: 12 }, (_, i) => `${name}-churn${i}`);
    t.after(async () => {
      for (const n of churn) await dockerStatus('network', 'rm', n);
    });
    const dn = await boxes(t, name, ['p', 'q']);
    const qIp = await ipOf(dn('q'));
    assert.equal((await run(dn('p'), 'ping', '-c', '1', '-W', '2', qIp)).code, 0, 'p reaches q before the fault');
    await writeFile(join(dir, `${name}.yaml`), partition(name, [[dn('p')], [dn('q')]]));
    await eventually(
      async () => (await kernelCuts([dn('p'), dn('q')], `${scope}.${name}/split`, 'host'))[dn('p')].length === 1,
      'p and q cut on the host path',
    );
    // p sends a ping every 5 ms for 10 s while networks come and go (each create makes Docker
    // delete and re-insert FORWARD's jump to DOCKER-USER: chains hung there let pings through).
    const flood = run(dn('p'), 'ping', '-q', '-i', '0.005', '-w', '10', qIp);
    const third = Math.floor(Math.random() * 200);
    let made = 0;
    for (const [i, n] of churn.entries()) {
      const r = await dockerStatus('network', 'create', '--subnet', `10.218.${third + i}.0/24`, n);
      if (r.code === 0) made++;
      await dockerStatus('network', 'rm', n);
    }
    const out = (await flood).stdout;
    const m = /(\d+) packets transmitted, (\d+) packets received/.exec(out);
    assert.ok(m, out);
    t.diagnostic(`${made} networks created and removed during the flood: ${m[1]} pings sent, ${m[2]} answered`);
    assert.ok(made >= 6, `networks were created during the flood (${made})`);
    assert.ok(Number(m[1]) >= 200, `the flood ran: ${m[1]} sent`);
    assert.equal(Number(m[2]), 0, 'no ping crossed the partition while networks were created');
  },
);

test(
  'our jump in mangle FORWARD, removed by someone, is put back: at start, and by a running controller at its next look',
  { timeout: 300_000 },
  async (t) => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { dockerdPid } = await import('../../src/adapters/hostns.js');
    // A short resync and read-back period, so that drift is looked for within seconds.
    const fast = { resyncMs: 2_000, reverifyMs: 1_000 };
    const env = await controlled(t, fast);
    const { name, dir, scope } = env;
    const dn = await boxes(t, name, ['p', 'q']);
    await writeFile(join(dir, `${name}.yaml`), partition(name, [[dn('p')], [dn('q')]]));
    const root = hostRootChain(scope);
    const jumped = async () => (await hostOwnedLines(scope)).includes(`-A FORWARD -j ${root}`);
    await eventually(jumped, 'our jump in mangle FORWARD');
    const qIp = await ipOf(dn('q'));
    assert.notEqual((await run(dn('p'), 'ping', '-c', '1', '-W', '1', qIp)).code, 0, 'cut');
    const dropJump = async () =>
      promisify(execFile)('nsenter', [
        `--net=/proc/${await dockerdPid(process.pid)}/ns/net`,
        'iptables',
        '-t',
        'mangle',
        '-D',
        'FORWARD',
        '-j',
        root,
      ]);

    // While the controller is away: the jump goes, the cut with it; the controller puts it back at start.
    await env.ctl.stop();
    await dropJump();
    assert.equal((await run(dn('p'), 'ping', '-c', '1', '-W', '2', qIp)).code, 0, 'without the jump, the cut is gone');
    env.ctl = await startController(dir, fast);
    await eventually(jumped, 'our jump back in mangle FORWARD after the start', 30_000);
    assert.notEqual((await run(dn('p'), 'ping', '-c', '1', '-W', '1', qIp)).code, 0, 'cut again');

    // While the controller runs: its next look (a resync finds the read-back stale) puts it back.
    await dropJump();
    await eventually(jumped, 'our jump back in mangle FORWARD while running', 30_000);
    assert.notEqual((await run(dn('p'), 'ping', '-c', '1', '-W', '1', qIp)).code, 0, 'cut again');
  },
);

test(
  'chains an earlier version left in the filter table (under DOCKER-USER) are removed when the controller starts',
  { timeout: 120_000 },
  async (t) => {
    const dir = await tempDir();
    const scope = controllerIdFor(dir);
    const root = hostRootChain(scope);
    t.after(async () => {
      await removeHostChains(dir);
      await removeDir(dir);
    });
    // What the previous version wrote: a root chain under DOCKER-USER, a scenario chain with a cut
    // between two bridge ports that do not exist (it matches nothing).
    await hostRestore(
      [
        '*filter',
        `:${root} - [0:0]`,
        `:${root}-0badc0de - [0:0]`,
        `-I DOCKER-USER 1 -j ${root}`,
        `-A ${root} -m comment --comment "faultline:${scope}.old" -j ${root}-0badc0de`,
        `-A ${root}-0badc0de -m physdev --physdev-in vethgone0 --physdev-out vethgone1 -j DROP`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    const legacy = async () => (await hostIptablesSave(4, 'filter')).filter((l) => l.includes(root));
    assert.equal((await legacy()).length, 5, 'the legacy chains are there');
    const ctl = await startController(dir);
    t.after(() => ctl.stop());
    await eventually(async () => (await legacy()).length === 0, 'the legacy chains removed', 30_000);
  },
);
