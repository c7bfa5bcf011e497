// Two controller processes on one directory: exactly one acts; the other stands by, touching
// nothing; when the acting one is SIGKILLed the standby takes over as soon as the kernel drops the
// lock, before the lease could have gone stale (by the instants in the lease and the logs), applies
// nothing twice — the kernel's rule counters keep counting, Docker records no create or destroy —
// sweeps nothing of what the first applied, and acts on the next change.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LEASE_DIR, LEASE_FILE, LEASE_RENEW_MS, controllerIdFor } from '../../src/controller/lease.js';
import {
  docker,
  dockerStatus,
  engineEvents,
  eventually,
  forceCleanup,
  readScenario,
  removeDir,
  tempDir,
  TESTBOX,
  uniqueName,
} from './lib.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../../src/cli/bin.js', import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  log: string;
  /** The log's lines, `time` in ms (the CLI logs ISO times). */
  lines(): Promise<{ time: number; msg: string; level: number; scenario?: string }[]>;
}

/** SIGTERM a controller still running, and wait for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function controller(t: test.TestContext, dir: string, label: string): Promise<Proc> {
  const log = join(dir, '..', `${label}-${Date.now()}.log`);
  const fd = await open(log, 'a');
  // The namespace path: every rule is in the containers' own kernels, with counters to read.
  const child = spawn(
    process.execPath,
    [BIN, 'controller', '--dir', dir, '--log-level', 'debug', '--host-rules', 'off'],
    { stdio: ['ignore', 'ignore', fd.fd] },
  );
  t.after(async () => {
    await stop(child);
    await fd.close();
    await rm(log, { force: true });
  });
  return {
    child,
    log,
    lines: async () =>
      (await readFile(log, 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          const x = JSON.parse(l) as { time: string; msg: string; level: number; scenario?: string };
          return { ...x, time: Date.parse(x.time) };
        }),
  };
}

function scenario(name: string, subnet: string, extra = ''): string {
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
    - { name: split, partition: { groups: [[a], [b, c]] } }
${extra}`;
}

/** The owned rules of a container's namespace with their packet counters: "[pkts:bytes] -A …". */
async function countedRules(container: string): Promise<{ rule: string; packets: number }[]> {
  const pid = (await docker('inspect', '-f', '{{.State.Pid}}', container)).trim();
  const { stdout } = await run('nsenter', ['-t', pid, '-n', 'iptables-save', '-c']);
  return stdout
    .split('\n')
    .filter((l) => l.includes('faultline:'))
    .map((l) => {
      const m = /^\[(\d+):\d+\] (.*)$/.exec(l);
      return { rule: m ? m[2] : l, packets: m ? Number(m[1]) : -1 };
    });
}

/** `n` pings b → a, every one dropped at a's FAULTLINE-INPUT (the partition). */
const pings = (name: string, n: number, ip: string) =>
  dockerStatus('exec', `${name}_b`, 'ping', '-q', '-c', String(n), '-i', '0.2', '-W', '1', ip);

test('two controllers on one directory: one acts, the other stands by; killed, the other takes over within 10 s, applying nothing twice and sweeping nothing', async (t) => {
  const dir = await tempDir();
  const name = uniqueName('lease');
  const file = join(dir, `${name}.yaml`);
  const subnet = `10.214.${Math.floor(Math.random() * 256)}.0/24`;
  const procs: ChildProcess[] = [];
  t.after(async () => {
    // The controllers first: one still running would make again what the cleanup removes.
    for (const child of procs) await stop(child);
    await forceCleanup(name);
    await removeDir(dir);
  });
  const scope = controllerIdFor(dir);
  await writeFile(file, scenario(name, subnet));
  const A = await controller(t, dir, 'a');
  procs.push(A.child);
  await eventually(
    async () => (await readScenario(file)).status?.faults?.[0]?.targets?.every((x) => x.verified),
    'the partition verified',
    60_000,
  );
  const B = await controller(t, dir, 'b');
  procs.push(B.child);
  await eventually(async () => (await B.lines()).some((l) => /standing by/.test(l.msg)), 'B stands by', 30_000);

  // While both run, a change: only A acts on it.
  await writeFile(
    file,
    scenario(
      name,
      subnet,
      '    - { name: hole, targets: { names: [c] }, protocol: icmp, direction: ingress, blackhole: {} }\n',
    ),
  );
  await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.find((f) => f.name === 'hole')?.targets?.every((x) => x.verified);
  }, 'the new fault verified');
  const acted = (lines: { msg: string; scenario?: string }[]) =>
    lines.filter((l) => l.scenario === name || /sweep|converging|reconciled/.test(l.msg));
  assert.deepEqual(acted(await B.lines()), [], 'the standby did nothing');
  assert.ok(acted(await A.lines()).length > 0, 'the acting controller did the work');
  const exact = async () => ({
    a: (await countedRules(`${name}_a`)).map((r) => r.rule).sort(),
    c: (await countedRules(`${name}_c`)).map((r) => r.rule).sort(),
  });
  const rulesBefore = await exact();
  assert.equal(rulesBefore.a.filter((r) => r.includes(`${scope}.${name}/split`)).length, 2, 'one drop each way in a');

  // Counters: 5 pings b → a, dropped by the partition at a.
  const aIp = (
    await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', `${name}_a`)
  ).trim();
  assert.notEqual((await pings(name, 5, aIp)).code, 0);
  const dropped = async () =>
    (await countedRules(`${name}_a`)).filter((r) => r.rule.includes('-j DROP')).reduce((n, r) => n + r.packets, 0);
  const before = await dropped();
  assert.ok(before >= 5, `a's drops counted ${before} packets`);
  const ids = (await docker('ps', '-aq', '--no-trunc', '--filter', `label=faultline.dev/scenario=${name}`))
    .split('\n')
    .sort();

  // A is killed: B takes over. A's last renewal is this one or later: a takeover that waited for
  // the lease to go stale (3 periods unrenewed) would come at least 3 periods after it.
  const renewed = Date.parse(
    (JSON.parse(await readFile(join(dir, LEASE_DIR, LEASE_FILE), 'utf8')) as { renewedAt: string }).renewedAt,
  );
  const killedAt = Date.now();
  A.child.kill('SIGKILL');
  const took = await eventually(
    async () => (await B.lines()).find((l) => l.msg === 'the other controller is gone: taking over'),
    'B takes over',
    60_000,
  );
  t.diagnostic(`B took over ${took.time - killedAt} ms after A was killed (by B's own log)`);
  assert.ok(
    took.time < renewed + 3 * LEASE_RENEW_MS,
    `B took over when the kernel dropped A's lock, not when A's lease went stale (renewed ${new Date(renewed).toISOString()}, taken ${new Date(took.time).toISOString()})`,
  );
  await eventually(async () => (await B.lines()).some((l) => l.msg === 'controller started'), 'B started');
  // B reconciles everything once it acts: it reads the kernel back and writes nothing.
  const reconciled = await eventually(async () => {
    const r = (await B.lines()).filter((l) => l.scenario === name && l.msg === 'reconciled');
    return r.length ? r : undefined;
  }, 'B reconciled the scenario');
  assert.deepEqual(
    reconciled.map((l) => (l as { writes?: number }).writes),
    reconciled.map(() => 0),
    'B wrote no program into any kernel: everything A applied was found in place',
  );
  const s = await readScenario(file);
  assert.ok(s.status?.faults?.every((f) => f.targets?.every((x) => x.phase === 'Injected' && x.verified)));
  assert.deepEqual(await exact(), rulesBefore, 'the same rules, none twice, none swept');
  assert.notEqual((await pings(name, 5, aIp)).code, 0);
  const after = await dropped();
  assert.ok(after >= before + 5, `the counters went on (${before} → ${after}): no rule was rewritten`);
  assert.deepEqual(
    (await docker('ps', '-aq', '--no-trunc', '--filter', `label=faultline.dev/scenario=${name}`)).split('\n').sort(),
    ids,
    'the same containers',
  );
  const churn = (await engineEvents(killedAt, Date.now(), `label=faultline.dev/scenario=${name}`)).filter((e) =>
    ['create', 'destroy', 'start', 'stop', 'die'].includes(e.action),
  );
  assert.deepEqual(churn, [], 'Docker recorded no create, destroy, start or stop after the takeover');

  // And B acts on the next change.
  await writeFile(file, scenario(name, subnet));
  await eventually(
    async () => (await countedRules(`${name}_c`)).every((r) => !r.rule.includes('/hole"')),
    'B removed hole',
  );
});
