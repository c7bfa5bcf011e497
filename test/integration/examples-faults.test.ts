// The fault examples (seed cases from Comcast, Blockade and the network_partition demo), applied
// as shipped and checked with real packets while their timelines play.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Scenario } from '../../src/api/types.js';
import { netemAvailable } from '../netem/lib.js';
import {
  docker,
  eventually,
  finishedBefore,
  ownedLeft,
  readScenario,
  startController,
  tempDir,
  teardown,
} from './lib.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;

/** Exit code and wall time of a command inside a container (argument array, no shell of ours). */
async function timed(
  container: string,
  argv: string[],
  timeoutMs = 15_000,
): Promise<{ code: number; ms: number; out: string }> {
  const t0 = performance.now();
  try {
    const { stdout } = await run('docker', ['exec', container, ...argv], { timeout: timeoutMs });
    return { code: 0, ms: performance.now() - t0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      ms: performance.now() - t0,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    };
  }
}

const phaseOf = (s: Scenario, fault: string) => s.status?.faults?.find((f) => f.name === fault);

async function start(t: test.TestContext, example: string, name: string) {
  const dir = await tempDir();
  const ctl = await startController(dir);
  t.after(() => teardown(ctl, dir, [name]));
  const file = join(dir, `${name}.yaml`);
  await copyFile(join(ROOT, 'examples', `${example}.yaml`), file);
  const when = (what: string, fn: (s: Scenario) => boolean, ms = 40_000) =>
    eventually(
      async () => {
        const s = await readScenario(file);
        return fn(s) ? s : undefined;
      },
      what,
      ms,
    );
  return { file, when };
}

/** The window of `fault` as recorded in status: [from, until] in ms. */
const windowOf = (s: Scenario, fault: string): [number, number] => {
  const w = phaseOf(s, fault)!.window!;
  return [Date.parse(w.from), Date.parse(w.until!)];
};

test('network-partition.yaml: blackhole makes connect time out, reject makes it fail at once, then it echoes again', async (t) => {
  const { when } = await start(t, 'network-partition', 'network-partition');
  const ready = await when('Ready', (s) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  const echo = ['sh', '-c', 'echo ping | nc -w 3 server 7'];
  // "Before the faults" means before the recorded instant the first window opens (start + 2 s).
  const before = await finishedBefore(t, Date.parse(ready.status!.startedAt!) + 2000, 'echo before the faults', () =>
    timed('network-partition_client', echo),
  );
  if (before) assert.match(before.out, /ping/, 'echo works before the faults');

  const drop = await when(
    'drop verified',
    (s) => !!phaseOf(s, 'drop')?.targets?.every((x) => x.phase === 'Injected' && x.verified),
  );
  // Each check counts only if it finished while its window was still open.
  const dropped = await finishedBefore(t, windowOf(drop, 'drop')[1], 'echo inside the drop window', () =>
    timed('network-partition_client', echo),
  );
  if (dropped) {
    assert.doesNotMatch(dropped.out, /ping/);
    assert.doesNotMatch(dropped.out, /refused/i, 'a blackhole answers nothing');
    assert.ok(dropped.ms >= 2500, `blackhole: the connect timed out (${dropped.ms.toFixed(0)} ms), it did not fail`);
  }

  const reset = await when(
    'reset verified',
    (s) => !!phaseOf(s, 'reset')?.targets?.every((x) => x.phase === 'Injected' && x.verified),
  );
  const refused = await finishedBefore(t, windowOf(reset, 'reset')[1], 'echo inside the reset window', () =>
    timed('network-partition_client', echo),
  );
  if (refused) {
    assert.doesNotMatch(refused.out, /ping/);
    // A reset, not a timeout: nc says the connection was refused (whatever the exec's own cost).
    assert.match(refused.out, /refused/i, `reject: the connect was refused by a reset: ${refused.out}`);
  }

  await when('reset over', (s) => phaseOf(s, 'reset')?.phase === 'Completed');
  await eventually(async () => /ping/.test((await timed('network-partition_client', echo)).out), 'echo works again');
});

test('blockade.yaml: flaky, slow, partition server | clients, then join', async (t) => {
  const { when } = await start(t, 'blockade', 'blockade');
  // Three echo requests, two seconds for each reply: one lost packet on a busy machine is not a cut.
  const ping = (from: string, to: string) => timed(`blockade_${from}`, ['ping', '-c', '3', '-W', '2', to]);
  const ready = await when('Ready', (s) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  // Before the first fault (flaky, at start + 5 s): everyone reaches everyone.
  const first = Date.parse(ready.status!.startedAt!) + 5000;
  for (const [a, b] of [
    ['server', 'c1'],
    ['c1', 'c2'],
    ['c2', 'server'],
  ]) {
    const r = await finishedBefore(t, first, `${a} -> ${b} before`, () => ping(a, b));
    if (r) assert.equal(r.code, 0, `${a} -> ${b} before: ${r.out}`);
  }

  const flaky = await when(
    'flaky verified',
    (s) => !!phaseOf(s, 'flaky')?.targets?.every((x) => x.phase === 'Injected' && x.verified),
  );
  assert.equal(
    phaseOf(flaky, 'flaky')!.targets![0].mechanism,
    (await netemAvailable()).ok ? 'netem' : 'iptables-statistic',
  );

  const slow = await when(
    'slow active',
    (s) => phaseOf(s, 'slow')?.phase === 'Active' && !!phaseOf(s, 'slow')?.targets?.length,
  );
  if (!(await netemAvailable()).ok) {
    assert.equal(phaseOf(slow, 'slow')!.targets![0].phase, 'Failed');
    const d = slow.status!.conditions!.find((c) => c.type === 'Degraded');
    assert.equal(d?.reason, 'KernelLacksNetem');
    assert.match(d!.message, /fault "slow": kernel has no sch_netem/);
  }

  const split = await when(
    'split verified',
    (s) => !!phaseOf(s, 'split')?.targets?.every((x) => x.phase === 'Injected' && x.verified),
    40_000,
  );
  const [, joins] = windowOf(split, 'split');
  const cut1 = await finishedBefore(t, joins, 'server -> c1 during the split', () => ping('server', 'c1'));
  if (cut1) assert.notEqual(cut1.code, 0, 'server -> c1 cut');
  const cut2 = await finishedBefore(t, joins, 'c2 -> server during the split', () => ping('c2', 'server'));
  if (cut2) assert.notEqual(cut2.code, 0, 'c2 -> server cut');
  // flaky closed when the split opened: the clients see each other whether or not the split is over.
  assert.equal((await ping('c1', 'c2')).code, 0, 'the clients still see each other');

  await when('joined', (s) => phaseOf(s, 'split')?.phase === 'Completed', 40_000);
  await eventually(
    async () => (await ping('server', 'c1')).code === 0 && (await ping('c2', 'server')).code === 0,
    'join: everyone reachable again',
  );
});

test('comcast.yaml: 50 kbit/s and 20% loss on one container, its neighbour unaffected; status says how', async (t) => {
  const { when } = await start(t, 'comcast', 'comcast');
  await when('Ready', (s) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  // 24 KiB served by home's httpd; office fetches it. (busybox-static's wget crashes with -T.)
  await docker('exec', 'comcast_home', 'sh', '-c', 'head -c 24576 /dev/zero > /tmp/blob');
  const fetch = () => timed('comcast_office', ['wget', '-q', '-O', '/tmp/blob', 'http://home:8080/blob'], 60_000);
  const before = await fetch();
  assert.equal(before.code, 0, before.out);

  const s = await when(
    'thin-pipe verified',
    (x) => !!phaseOf(x, 'thin-pipe')?.targets?.every((y) => y.phase === 'Injected' && y.verified),
  );
  assert.match(phaseOf(s, 'thin-pipe')!.targets![0].mechanism ?? '', /tbf|htb/);
  const after = await fetch();
  assert.equal(after.code, 0, after.out);
  // 24 KiB at 50 kbit/s takes ≥ 3.9 s on the wire (more with 20% loss); unshaped it takes well under a second.
  assert.ok(after.ms >= 3500, `shaped transfer took ${after.ms.toFixed(0)} ms (unshaped: ${before.ms.toFixed(0)} ms)`);
  if (!(await netemAvailable()).ok) {
    assert.equal(s.status!.conditions!.find((c) => c.type === 'Degraded')?.reason, 'KernelLacksNetem');
  }
  // The neighbour's own traffic is untouched: office reaches itself over the network normally.
  assert.equal((await timed('comcast_office', ['ping', '-c', '3', '-i', '0.2', '-W', '1', 'office'])).code, 0);
  assert.deepEqual((await ownedLeft('comcast')).containers.sort(), ['comcast_home', 'comcast_office']);
});
