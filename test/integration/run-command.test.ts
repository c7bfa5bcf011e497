// `faultline run -f s.yaml -- <command>` on the real engine: the command runs while the faults are
// in place (it sees the partition with its own packets), an endless timeline ends with it, and the
// exit status is the command's first, then the faults'.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, forceCleanup, ownedLeft, removeDir, tempDir, TESTBOX, uniqueName } from './lib.js';

const subnet = () => `10.248.${randomBytes(1)[0] % 100}.0/24`;

/** a and b on one network, cut apart from the start, with no end: only the command ends the run. */
function partitioned(name: string, extraFault = ''): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b] } }]
  faults:
    - { name: split, partition: { groups: [[a], [b]] } }
${extraFault}`;
}

async function setup(t: test.TestContext, extraFault = '') {
  const dir = await tempDir();
  const name = uniqueName('runcmd');
  t.after(async () => {
    await forceCleanup(name);
    await removeDir(dir);
  });
  const file = join(dir, 'chaos.yaml');
  await writeFile(file, partitioned(name, extraFault));
  return { name, file };
}

// The command's own check, by packets: a's pings to b go unanswered while the run holds the cut.
// It names the containers through FAULTLINE_SCENARIO, which the run sets.
const SEES_THE_CUT =
  'for i in $(seq 1 40); do docker exec "${FAULTLINE_SCENARIO}_a" ping -c 1 -W 1 b >/dev/null 2>&1 || exit 0; sleep 0.25; done; exit 1';

test('run -- command: the command sees the partition; an endless timeline ends with it; exit 0', async (t) => {
  const { name, file } = await setup(t);
  const r = await cli('run', '-f', file, '-o', 'json', '--', 'sh', '-c', SEES_THE_CUT);
  const why = r.stdout + r.stderr;
  assert.equal(r.code, 0, why);
  const s = JSON.parse(r.stdout) as {
    outcome: string;
    timelineEnds: boolean;
    exitCode: number;
    command: { started: boolean; exitCode: number; failed: boolean };
    faults: { fault: string; result: string }[];
  };
  assert.equal(s.timelineEnds, false, why);
  assert.equal(s.outcome, 'completed', why);
  assert.deepEqual([s.command.started, s.command.exitCode, s.command.failed], [true, 0, false], why);
  assert.deepEqual(
    s.faults.map((f) => [f.fault, f.result]),
    [['split', 'ok']],
    why,
  );
  assert.match(r.stderr, /command started \(pid \d+\): sh -c/);
  assert.deepEqual(await ownedLeft(name), { containers: [], networks: [] });
});

test('run -- command: a failing command exits 1 although the faults were verified; the summary says so first', async (t) => {
  const { name, file } = await setup(t);
  const r = await cli('run', '-f', file, '--', 'sh', '-c', 'exit 7');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '', 'stdout is the command’s');
  assert.match(r.stderr, /\ncommand FAILED: exited 7: sh -c exit 7\nscenario \S+: completed/);
  assert.match(r.stderr, /split\s+1\s+2\s+2\/2\s+ok/);
  assert.match(r.stderr, /\nexit 1\n$/);
  assert.deepEqual(await ownedLeft(name), { containers: [], networks: [] });
});

test('run -- command: a fault that is not applied exits 2 although the command succeeded', async (t) => {
  // A target that does not exist: the fault has its window and acts on nothing.
  const { name, file } = await setup(
    t,
    '    - { name: ghost, targets: { names: [no-such-container] }, blackhole: {}, direction: ingress }\n',
  );
  const r = await cli('run', '-f', file, '--', 'sleep', '3');
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /command ok: exited 0: sleep 3/);
  assert.match(r.stderr, /ghost\s+1\s+0\s+0\/0\s+failed\s+no target matched/);
  assert.deepEqual(await ownedLeft(name), { containers: [], networks: [] });
});
