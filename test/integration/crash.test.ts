// The controller SIGKILLed at 20 points of a seeded schedule, on the real engine: at random instants
// and exactly at the failpoints (src/api/failpoint.ts) — mid-status-write (the status in its temp
// file, not yet in the scenario's), mid-namespace-batch (one program of a namespace's batch run,
// the next not), mid-transition (an armed transition in the kernel, its status not written) — while
// a live scenario changes and a second one, whose faults flap every second on the first one's
// containers, is created and deleted. After the last restart: nothing left of the deleted scenario
// (containers, networks, rules in any namespace or the host), and the live scenario's rules exactly
// what a clean apply of its spec wrote (iptables and tc in each namespace, the host's chains).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { controllerIdFor } from '../../src/controller/lease.js';
import {
  childController,
  docker,
  eventually,
  forceCleanup,
  hostOwnedLines,
  killSeed,
  netnsIptablesSave,
  ownedLeft,
  prng,
  readScenario,
  removeDir,
  removeHostChains,
  tempDir,
  TESTBOX,
  uniqueName,
} from './lib.js';

const run = promisify(execFile);

/** The live scenario: three containers, a blackhole both ways (tc and iptables: a batch of several programs), a reset, a partition on the host path. */
function live(name: string, subnet: string, variant: number): string {
  const faults = [
    `    - { name: hole, targets: { names: [a] }, blackhole: {}, direction: both, protocol: udp }
    - { name: split, partition: { groups: [[b], [c]] } }
`,
    `    - { name: hole, targets: { names: [b] }, blackhole: {}, direction: both, protocol: udp }
    - { name: rst, targets: { names: [c] }, reject: { with: tcp-reset }, protocol: tcp, ports: ["7000"], direction: ingress }
    - { name: split, partition: { groups: [[a], [b, c]] } }
`,
  ][variant];
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
    - { name: c, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b, c] } }]
  faults:
${faults}`;
}

/**
 * The scenario that comes and goes: a container of its own on a network without a subnet (one
 * from the address pool), a blackhole in it, and a blackhole flapping on the live scenario's a and b
 * every second (a transition each second: armed, applied at the instant).
 */
function doomed(name: string, liveName: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net }]
  containers: [{ name: d, image: ${TESTBOX} }]
  members: [{ network: net, select: { names: [d] } }]
  faults:
    - { name: dhole, targets: { names: [d] }, blackhole: {}, direction: both, protocol: udp }
    - { name: flap, targets: { names: [${liveName}_a, ${liveName}_b] }, blackhole: {}, direction: ingress, protocol: icmp, repeat: { every: 2s }, duration: 1s }
`;
}

type Mode = 'timed' | 'status-write' | 'netns-step' | 'transition';
type Action = 'live 0' | 'live 1' | 'doomed on' | 'doomed off';

test(
  'SIGKILL at 20 seeded points (random instants, mid-status-write, mid-namespace-batch, mid-transition): nothing left of a deleted scenario, exact rules for the live one',
  { timeout: 600_000 },
  async (t) => {
    const dir = await tempDir();
    const scope = controllerIdFor(dir);
    const L = uniqueName('crash');
    const D = uniqueName('crash');
    const fileL = join(dir, `${L}.yaml`);
    const fileD = join(dir, `${D}.yaml`);
    const subnet = `10.216.${Math.floor(Math.random() * 256)}.0/24`;
    const logFile = join(dir, '..', `${L}-controller.log`);
    const ctl = await childController(dir, logFile);
    t.after(async () => {
      await ctl.close();
      await forceCleanup(D);
      await forceCleanup(L);
      await removeHostChains(dir);
      await removeDir(dir);
      await rm(logFile, { force: true });
    });
    const boxes = ['a', 'b', 'c'].map((n) => `${L}_${n}`);
    const pid = async (c: string) => Number((await docker('inspect', '-f', '{{.State.Pid}}', c)).trim());
    const nsenter = async (p: number, ...argv: string[]) =>
      (await run('nsenter', ['-t', String(p), '-n', ...argv], { maxBuffer: 16 << 20 })).stdout;
    /** What faultline holds in the kernel for these containers and in the host, as text. */
    const kernelState = async () => {
      const out: Record<string, string[]> = {};
      for (const c of boxes) {
        const p = await pid(c);
        out[c] = [
          ...(await netnsIptablesSave(p)).filter((l) => l.includes('FAULTLINE') || l.includes('faultline:')),
          ...(await nsenter(p, 'tc', 'qdisc', 'show')).split('\n').filter(Boolean),
          ...(await nsenter(p, 'tc', 'class', 'show')).split('\n').filter(Boolean),
        ].sort();
      }
      out.host = (await hostOwnedLines(scope)).sort();
      return out;
    };
    const verified = async (file: string) => {
      const s = await readScenario(file).catch(() => undefined);
      const targets = s?.status?.faults?.flatMap((f) => f.targets ?? []);
      return (
        s?.status?.observedGeneration === s?.metadata.generation &&
        !!targets?.length &&
        targets.every((x) => x.phase === 'Injected' && x.verified)
      );
    };
    /** Wait for `verified(fileL)`; on timeout, say where it stood: the status and the controller's log. */
    const untilVerified = async (what: string, timeoutMs: number) => {
      try {
        await eventually(() => verified(fileL), what, timeoutMs);
      } catch (e) {
        const s = await readScenario(fileL).catch((err: Error) => err.message);
        const status = typeof s === 'string' ? s : JSON.stringify({ generation: s.metadata.generation, ...s.status });
        const log = (await ctl.lines()).slice(-40).map((l) => JSON.stringify(l));
        throw new Error(
          `${(e as Error).message}\nstatus: ${status}\ncontroller log (last 40 lines):\n${log.join('\n')}`,
          { cause: e },
        );
      }
    };
    /** The kernel state once it holds still (two reads 1 s apart agree). */
    const settled = async () => {
      let last = '';
      return eventually(async () => {
        const now = JSON.stringify(await kernelState());
        const same = now === last;
        last = now;
        if (same) return JSON.parse(now) as Record<string, string[]>;
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      }, 'the kernel holds still');
    };

    // What a clean apply of each variant writes (no kill, the doomed scenario absent).
    const reference: Record<string, string[]>[] = [];
    await ctl.start();
    for (const v of [0, 1]) {
      await writeFile(fileL, live(L, subnet, v));
      await untilVerified(`variant ${v} verified`, 90_000);
      reference.push(await settled());
    }
    assert.ok(reference[0].host.length > 0 && reference[0][boxes[0]].length > 0, 'the reference holds rules');
    await ctl.kill('SIGKILL');

    const seed = killSeed(t);
    const rnd = prng(seed);
    const modes: Mode[] = [
      ...Array<Mode>(4).fill('status-write'),
      ...Array<Mode>(4).fill('netns-step'),
      ...Array<Mode>(4).fill('transition'),
      ...Array<Mode>(8).fill('timed'),
    ];
    for (let i = modes.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [modes[i], modes[j]] = [modes[j], modes[i]];
    }
    let lastLive = 1;
    let doomedOn = false;
    const hit: Record<string, number> = {};
    let leftBehind = 0;
    /** One point: start a controller (with the mode's failpoint at `pass`), make the change, kill it. */
    const point = async (label: string, mode: Mode, action: Action, pass: number) => {
      const act = async () => {
        if (action === 'doomed off') await rm(fileD, { force: true });
        else if (action === 'doomed on') await writeFile(fileD, doomed(D, L));
        else {
          lastLive = Number(action.at(-1));
          await writeFile(fileL, live(L, subnet, lastLive));
        }
        doomedOn = action === 'doomed on' ? true : action === 'doomed off' ? false : doomedOn;
      };
      let how: string;
      if (mode === 'timed') {
        await ctl.start();
        if (rnd() < 0.75) await ctl.started();
        await act();
        const after = Math.floor(rnd() * 2500);
        await new Promise((r) => setTimeout(r, after));
        await ctl.kill('SIGKILL');
        how = `SIGKILL ${after} ms after the change`;
      } else {
        await ctl.start({ FAULTLINE_FAILPOINTS: `${mode}=${pass}` });
        await act();
        const died = await ctl.died(30_000);
        const fired = (await ctl.lines()).some((l) => l.failpoint === mode);
        if (fired) hit[mode] = (hit[mode] ?? 0) + 1;
        else await ctl.kill('SIGKILL');
        how = fired
          ? `killed itself at ${mode} #${pass}`
          : `${mode} #${pass} not reached in 30 s (died: ${died}); SIGKILL`;
      }
      const left = await ownedLeft(D);
      if (!doomedOn && left.containers.length + left.networks.length > 0) leftBehind++;
      t.diagnostic(`point ${label}: ${action}; ${how}`);
    };
    /** The change a failpoint needs: a transition the flapping scenario; a status write and namespace programs the live scenario's other variant. */
    const needs = (mode: Mode, action: Action): Action => {
      if (mode === 'transition' && (action === 'doomed off' || !doomedOn)) return 'doomed on';
      if (mode === 'status-write' || mode === 'netns-step') return lastLive === 0 ? 'live 1' : 'live 0';
      return action;
    };
    for (let i = 0; i < 20; i++) {
      const mode = modes[i];
      const drawn = (['live 0', 'live 1', 'doomed on', 'doomed off', 'doomed on'] as const)[Math.floor(rnd() * 5)];
      const action: Action = i === 19 ? 'doomed off' : needs(mode, drawn);
      // Pass 2 or 3 of a point is reached only if the change makes that many (status writes are
      // coalesced and skipped when unchanged, so how many depends on the state the points left).
      const pass = mode === 'timed' ? 0 : 1 + Math.floor(rnd() * 3);
      await point(String(i + 1), mode, action, pass);
    }
    // A failpoint none of the drawn passes reached gets one more point at its first pass, which
    // the change it needs always reaches: each is then hit at least once, whatever the seed drew.
    for (const m of ['status-write', 'netns-step', 'transition'] as const)
      if (!hit[m]) await point(`extra (${m})`, m, needs(m, 'doomed on'), 1);
    t.diagnostic(`failpoints that fired: ${JSON.stringify(hit)}; deleted-while-dead cases: ${leftBehind}`);
    for (const m of ['status-write', 'netns-step', 'transition'] as const)
      assert.ok((hit[m] ?? 0) >= 1, `${m} was hit`);

    // The last restart: D is gone for good (its file deleted while no controller runs, if the last
    // point left it), L converges to exactly its clean rules.
    await rm(fileD, { force: true });
    await ctl.start();
    await ctl.started();
    await eventually(
      async () => {
        const left = await ownedLeft(D);
        return left.containers.length + left.networks.length === 0;
      },
      'no container or network of the deleted scenario',
      60_000,
    );
    await untilVerified('the live scenario verified', 60_000);
    const want = reference[lastLive];
    let got: Record<string, string[]> = {};
    await eventually(
      async () => {
        got = await kernelState();
        return JSON.stringify(got) === JSON.stringify(want);
      },
      'exactly the clean rules',
      30_000,
    ).catch(() => assert.deepEqual(got, want, 'the kernel after the last restart, against a clean apply'));
    for (const lines of Object.values(got))
      assert.ok(!lines.some((l) => l.includes(`${scope}.${D}/`)), 'no rule of the deleted scenario');
    // What status writes cut short left: tidied by each start (store/tidy.ts), removed when it held
    // nothing the file lacks, otherwise kept as .faultline-recovered-* and named in the log.
    const livePid = ctl.pid();
    const names = await readdir(dir);
    const temps = names.filter((f) => f.startsWith('.faultline-tmp-') && !f.includes(`-${livePid}-`));
    assert.deepEqual(temps, [], 'no leftover of a killed writer survives a start');
    const all = (await readFile(logFile, 'utf8')).split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const removed = all.flatMap((l) => (Array.isArray(l.removed) ? l.removed : []));
    const recovered = names.filter((f) => f.startsWith('.faultline-recovered-'));
    for (const f of recovered)
      assert.ok(
        all.some((l) => l.level === 40 && l.file === join(dir, f)),
        `${f} is named in the log, for a person to compare`,
      );
    t.diagnostic(
      `live variant ${lastLive}: ${Object.values(want).reduce((n, l) => n + l.length, 0)} kernel lines, exact; leftovers of status writes cut short: ${removed.length} removed at a start, ${recovered.length} kept as recovered (another spec since), 0 left`,
    );
  },
);
