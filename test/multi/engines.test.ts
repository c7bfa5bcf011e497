// One scenario across two Docker engines joined by a Swarm: the two QEMU guests of
// scripts/multi-vm (guest a: Swarm manager, engine "default"; guest b: worker, engine "b"), reached
// over TLS through their Docker CLI contexts. The controller runs as a user runs it:
//
//   faultline controller --dir D --context default=fl-a --context b=fl-b
//
// and everything is proven by packets between the containers it made (docker exec ping / nc in
// them), and by what each engine lists:
//   1. an overlay network made once through the manager, a container on each engine: ping and nc
//      across hosts, both ways;
//   2. a partition {a} | {b} cuts both directions; a one-way blackhole (what b receives from a on
//      tcp 7000) cuts a → b:7000 and not b → a; removing the fault restores both;
//   3. netem delay on b's egress to a: a's pings take at least the delay, and not once removed;
//      a reset for a's connects to b:7000, and 1 mbit/s on what b sends to a (timed in a, against
//      the same transfer unshaped);
//   4. b's dockerd stopped: b's container shows EngineUnreachable, a stays Running; the windows of a
//      timed fault on b that open and close meanwhile are recorded as missed there (counted against
//      the instants the test recorded); started again: Ready, one container per engine, no leaks;
//   5. the scenario deleted: both containers removed, and the overlay (its last owner gone).
// Run by scripts/multi-vm/test-multi.sh (`make multi`), which boots the guests and sets
// MULTI_VM_STATE; without it every test here skips.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { Scenario } from '../../src/api/types.js';
import { eventually } from '../eventually.js';

const STATE = process.env.MULTI_VM_STATE;
const skip = STATE ? false : 'needs the two guests of scripts/multi-vm (make multi sets MULTI_VM_STATE)';
const env = { ...process.env, DOCKER_CONFIG: STATE ? join(STATE, 'docker-config') : '' };
const NAME = 'xs';
const SUBNET = '10.247.7.0/24';
const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
const repo = new URL('../../../', import.meta.url).pathname;

function sh(file: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** docker --context fl-<g> ARGS (argument array, no shell). */
const dk = (g: 'a' | 'b', ...args: string[]) => sh('docker', ['--context', `fl-${g}`, ...args]);

/** Can container `from` (on guest g) reach `ip` by ping? */
async function pings(g: 'a' | 'b', from: string, ip: string): Promise<boolean> {
  return (await dk(g, 'exec', from, 'ping', '-c', '2', '-W', '2', ip)).code === 0;
}

/** Does `nc` from `from` to ip:7000 get the listener's greeting? */
async function talks(g: 'a' | 'b', from: string, ip: string, greeting: string): Promise<boolean> {
  const r = await dk(g, 'exec', from, 'sh', '-c', `echo | nc -w 3 ${ip} 7000`);
  return r.out.includes(greeting);
}

function scenario(faults: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${NAME}
spec:
  networks:
    - name: ov
      driver: overlay
      ipam: { config: [{ subnet: ${SUBNET} }] }
  containers:
    - name: a
      image: faultline/testbox
      command: [nc, -ll, -p, "7000", -e, echo, hello-from-a]
    - name: b
      engine: b
      image: faultline/testbox
      command: [nc, -ll, -p, "7000", -e, echo, hello-from-b]
  members:
    - network: ov
      select: { names: [a, b] }
${faults}`;
}

describe('one scenario across two engines joined by a Swarm overlay', { skip }, () => {
  let dir = '';
  let file = '';
  let ctl: ChildProcess | undefined;
  let log = '';
  const status = async () => (parse(await readFile(file, 'utf8')) as Scenario).status ?? {};
  const ready = async () => (await status()).conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const ipOf = async (name: string) => {
    const s = await status();
    return s.members?.find((m) => m.container === name && m.phase === 'Connected')?.ipv4Address;
  };
  /**
   * The container's overlay address as its own engine shows it. Not from status: a test writes the
   * scenario file whole, status and all, so right after the previous test's last write the file
   * has no status until the controller writes it again (reading it there gave "ping undefined").
   */
  const addrOf = async (g: 'a' | 'b') =>
    eventually(
      async () =>
        (
          await dk(g, 'inspect', '-f', `{{(index .NetworkSettings.Networks "${NAME}_ov").IPAddress}}`, `${NAME}_${g}`)
        ).out.trim(),
      `${NAME}_${g}'s address on the overlay, from engine ${g}`,
      60_000,
      500,
    );
  const target = async (fault: string, container: string) =>
    (await status()).faults?.find((f) => f.name === fault)?.targets?.find((t) => t.container === container);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-multi-'));
    file = join(dir, `${NAME}.yaml`);
    await writeFile(file, scenario(''));
    ctl = spawn(
      process.execPath,
      [bin, 'controller', '--dir', dir, '--context', 'default=fl-a', '--context', 'b=fl-b', '--log-level', 'info'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    ctl.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    ctl.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  });

  after(async () => {
    if (ctl && ctl.exitCode === null) {
      ctl.kill('SIGTERM');
      await new Promise((r) => ctl!.once('exit', r));
    }
    if (process.env.MULTI_TEST_LOG) await writeFile(process.env.MULTI_TEST_LOG, log);
    for (const g of ['a', 'b'] as const) {
      const ids = (await dk(g, 'ps', '-aq', '--filter', `label=faultline.dev/scenario=${NAME}`)).out.split('\n');
      if (ids.filter(Boolean).length) await dk(g, 'rm', '-f', ...ids.filter(Boolean));
    }
    await dk('a', 'network', 'rm', `${NAME}_ov`);
    await rm(dir, { recursive: true, force: true });
  });

  test('an overlay made once through the manager joins a container on each engine: ping and nc across hosts', async () => {
    await eventually(ready, `scenario Ready (controller log:\n${log.slice(-3000)})`, 6 * 60_000, 1000).catch((e) => {
      throw new Error(`${(e as Error).message}\nlog:\n${log.slice(-4000)}`);
    });
    const s = await status();
    assert.equal(s.containers?.find((c) => c.name === 'b')?.engine, 'b');
    assert.equal(s.containers?.find((c) => c.name === 'a')?.engine, undefined);
    // One overlay, one id on both engines (the worker lists it once a container of its uses it).
    const idA = (await dk('a', 'network', 'inspect', '-f', '{{.Id}} {{.Scope}}', `${NAME}_ov`)).out.trim();
    const idB = (await dk('b', 'network', 'inspect', '-f', '{{.Id}} {{.Scope}}', `${NAME}_ov`)).out.trim();
    assert.match(idA, / swarm$/);
    assert.equal(idA, idB);
    const ipA = await addrOf('a');
    const ipB = await addrOf('b');
    assert.deepEqual([await ipOf('a'), await ipOf('b')], [ipA, ipB], 'status shows the addresses the engines gave');
    assert.ok(await pings('a', `${NAME}_a`, ipB), `ping a → b (${ipB})`);
    assert.ok(await pings('b', `${NAME}_b`, ipA), `ping b → a (${ipA})`);
    assert.ok(await talks('a', `${NAME}_a`, ipB, 'hello-from-b'), 'nc a → b');
    assert.ok(await talks('b', `${NAME}_b`, 'a', 'hello-from-a'), 'nc b → a by its alias');
  });

  test('a partition between the hosts cuts both directions; removing it restores traffic', async () => {
    const ipA = await addrOf('a');
    const ipB = await addrOf('b');
    await writeFile(
      file,
      scenario(`  faults:
    - name: split
      partition: { groups: [[a], [b]] }
`),
    );
    await eventually(
      async () => (await target('split', 'a'))?.verified && (await target('split', 'b'))?.verified,
      'partition verified on both engines',
      120_000,
      500,
    );
    assert.equal((await target('split', 'b'))?.engine, 'b');
    assert.equal(await pings('a', `${NAME}_a`, ipB), false, 'a → b is cut');
    assert.equal(await pings('b', `${NAME}_b`, ipA), false, 'b → a is cut');
    assert.equal(await talks('a', `${NAME}_a`, ipB, 'hello-from-b'), false, 'nc a → b is cut');
    await writeFile(file, scenario(''));
    await eventually(
      async () => (await status()).faults === undefined || (await status()).faults?.length === 0,
      'fault gone from status',
      60_000,
      500,
    );
    await eventually(() => pings('a', `${NAME}_a`, ipB), 'a → b restored', 60_000, 500);
    assert.ok(await pings('b', `${NAME}_b`, ipA), 'b → a restored');
  });

  test('a one-way cut (b drops what a sends to tcp/7000) cuts a → b only; b → a still works', async () => {
    const ipA = await addrOf('a');
    const ipB = await addrOf('b');
    // A second listener on a, on a port the cut does not name: b's connection to it needs a's
    // answers to reach b, which only a cut of everything from a would stop.
    await dk('a', 'exec', '-d', `${NAME}_a`, 'nc', '-ll', '-p', '7001', '-e', 'echo', 'hello-from-a-7001');
    await eventually(
      async () => (await dk('b', 'exec', `${NAME}_b`, 'sh', '-c', `echo | nc -w 3 ${ipA} 7001`)).out.includes('7001'),
      'b → a:7001 before the cut',
      60_000,
      500,
    );
    await writeFile(
      file,
      scenario(`  faults:
    - name: oneway
      targets: { names: [b] }
      peers: { names: [a] }
      direction: ingress
      ports: ["7000"]
      blackhole: {}
`),
    );
    await eventually(
      async () => (await target('oneway', 'b'))?.verified,
      'one-way cut verified on engine b',
      120_000,
      500,
    );
    assert.equal((await target('oneway', 'b'))?.engine, 'b');
    assert.equal(await talks('a', `${NAME}_a`, ipB, 'hello-from-b'), false, 'a → b:7000 is cut');
    const back = await dk('b', 'exec', `${NAME}_b`, 'sh', '-c', `echo | nc -w 3 ${ipA} 7001`);
    assert.ok(back.out.includes('hello-from-a-7001'), `b → a:7001 still works (got ${back.out})`);
    assert.ok(await pings('b', `${NAME}_b`, ipA), 'b → a ping still works');
    await writeFile(file, scenario(''));
    await eventually(() => talks('a', `${NAME}_a`, ipB, 'hello-from-b'), 'a → b:7000 restored', 60_000, 500);
  });

  test('netem across hosts: 300ms on what b sends to a shows in the round trips a measures, and goes away', async () => {
    const ipB = await addrOf('b');
    /** The smallest of a few echo round trips a → b, in ms (NaN when none came back). */
    let last = '';
    const rtt = async () => {
      const r = await dk('a', 'exec', `${NAME}_a`, 'ping', '-c', '4', '-W', '3', ipB);
      last = r.out;
      const times = [...r.out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
      return times.length ? Math.min(...times) : NaN;
    };
    await writeFile(
      file,
      scenario(`  faults:
    - name: slow
      targets: { names: [b] }
      peers: { names: [a] }
      netem: { delay: 300ms }
`),
    );
    await eventually(async () => (await target('slow', 'b'))?.verified, 'delay verified on engine b', 120_000, 500);
    // A docker exec that fails under load says nothing about packets: measure until echoes come back.
    const slow = await eventually(
      async () => {
        const v = await rtt();
        return Number.isFinite(v) ? v : undefined;
      },
      'echo replies a → b under the delay',
      60_000,
      1000,
    ).catch((e: Error) => {
      e.message += ` (the last ping said: ${last.slice(-300)})`;
      throw e;
    });
    assert.ok(slow >= 300, `every reply from b waits 300 ms in b's namespace on its own host (min RTT ${slow} ms)`);
    await writeFile(file, scenario(''));
    await eventually(async () => (await rtt()) < 300, 'round trips back under 300 ms once removed', 60_000, 500);
  });

  test('reject and bandwidth across hosts: a connect to b:7000 is refused at once; what b sends to a is held to 1 mbit/s', async (t) => {
    const ipB = await addrOf('b');
    const SIZE = 524_288;
    await dk(
      'b',
      'exec',
      '-d',
      `${NAME}_b`,
      'sh',
      '-c',
      `head -c ${SIZE} /dev/zero > /tmp/blob && exec nc -ll -p 7002 -e cat /tmp/blob`,
    );
    /** What a receives from b:7002, and how long it took, timed inside a's container. */
    const fetch = async () => {
      const r = await dk('a', 'exec', `${NAME}_a`, 'sh', '-c', `time sh -c "nc -w 20 ${ipB} 7002 </dev/null | wc -c"`);
      const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.out);
      return {
        bytes: Number(/^\s*(\d+)\s*$/m.exec(r.out)?.[1] ?? NaN),
        s: m ? Number(m[1]) * 60 + Number(m[2]) : NaN,
        out: r.out.slice(-300),
      };
    };
    const whole = async () => {
      const f = await fetch();
      return f.bytes === SIZE ? f : undefined;
    };
    const before = await eventually(whole, 'b → a: the whole blob before the faults', 60_000, 1000);
    await writeFile(
      file,
      scenario(`  faults:
    - name: refuse
      targets: { names: [b] }
      peers: { names: [a] }
      direction: ingress
      protocol: tcp
      ports: ["7000"]
      reject: { with: tcp-reset }
    - name: thin
      targets: { names: [b] }
      peers: { names: [a] }
      bandwidth: { rate: 1mbit }
`),
    );
    await eventually(
      async () => (await target('refuse', 'b'))?.verified && (await target('thin', 'b'))?.verified,
      'reject and bandwidth verified on engine b',
      120_000,
      500,
    );
    const refused = await dk('a', 'exec', `${NAME}_a`, 'sh', '-c', `echo | nc -w 5 ${ipB} 7000`);
    assert.match(refused.out, /refused/i, `a → b:7000 is refused by a reset, not timed out: ${refused.out}`);
    const shaped = await eventually(whole, 'b → a: the whole blob under the limit', 60_000, 1000);
    // Its payload alone takes SIZE·8 / 1 Mbit/s; unshaped it came at least twice as fast, same run.
    const floor = (SIZE * 8) / 1e6;
    t.diagnostic(
      `512 KiB b → a: ${shaped.s.toFixed(2)} s at 1 mbit/s (payload floor ${floor.toFixed(2)} s), ${before.s.toFixed(2)} s unshaped`,
    );
    assert.ok(shaped.s >= floor * 0.95, `held to 1 mbit/s: ${shaped.s} s for ${SIZE} B (${shaped.out})`);
    assert.ok(before.s * 2 <= shaped.s, `unshaped ${before.s} s, shaped ${shaped.s} s`);
    await writeFile(file, scenario(''));
    await eventually(() => talks('a', `${NAME}_a`, ipB, 'hello-from-b'), 'a → b:7000 answered again', 60_000, 500);
    await eventually(async () => ((await whole())?.s ?? Infinity) * 2 <= shaped.s, 'b → a fast again', 60_000, 1000);
  });

  test('an engine that goes away: its part shows EngineUnreachable, the rest converges, its timed windows are missed there; back: converged, no duplicates', async (t) => {
    const mv = join(repo, 'scripts/multi-vm/multi-vm.sh');
    // A timed fault on b: 4 s of every 10 s. Its windows that open and close while b is away are
    // recorded as missed there, and counted against the instants this test recorded.
    const PERIOD = 10_000;
    const LENGTH = 4_000;
    await writeFile(
      file,
      scenario(`  faults:
    - name: flap
      targets: { names: [b] }
      peers: { names: [a] }
      direction: ingress
      protocol: icmp
      blackhole: {}
      duration: 4s
      repeat: { every: 10s }
`),
    );
    const first = await eventually(
      async () => {
        const f = (await status()).faults?.find((x) => x.name === 'flap');
        const b = f?.targets?.find((t) => t.container === 'b');
        return f?.window?.from && b?.verified && (b.injected ?? 0) >= 1 ? Date.parse(f.window.from) : undefined;
      },
      'a window of the timed fault applied on engine b',
      120_000,
      500,
    );
    /** The windows that lie wholly inside [from, until] (ms). */
    const windowsWithin = (from: number, until: number) => {
      let n = 0;
      for (let k = Math.ceil((from - first) / PERIOD); first + k * PERIOD + LENGTH <= until; k++) n++;
      return n;
    };
    const killedAt = Date.now();
    assert.equal((await sh(mv, ['exec', STATE!, 'b', 'dockerd-kill'])).code, 0);
    await eventually(
      async () => {
        const s = await status();
        const b = s.containers?.find((c) => c.name === 'b');
        const a = s.containers?.find((c) => c.name === 'a');
        return b?.reason === 'EngineUnreachable' && a?.phase === 'Running';
      },
      'b EngineUnreachable, a Running',
      120_000,
      500,
    );
    const seenAwayAt = Date.now();
    // The rest keeps converging: a's container removed by hand is made again on engine default.
    await dk('a', 'rm', '-f', `${NAME}_a`);
    await eventually(
      async () => (await dk('a', 'inspect', '-f', '{{.State.Running}}', `${NAME}_a`)).out.trim() === 'true',
      'a re-created while b is away',
      180_000,
      1000,
    );
    // b stays away until at least one whole window passed after the controller showed it away.
    await eventually(() => windowsWithin(seenAwayAt, Date.now()) >= 1, 'a whole window while b is away', 30_000, 250);
    const startedAt = Date.now();
    assert.equal((await sh(mv, ['exec', STATE!, 'b', 'dockerd-start'])).code, 0);
    await eventually(ready, 'Ready again once b is back', 6 * 60_000, 1000);
    const backAt = Date.now();
    const missed = await eventually(
      async () => {
        const b = (await status()).faults?.find((x) => x.name === 'flap')?.targets?.find((t) => t.container === 'b');
        return b && !b.unreachable && b.reason !== 'EngineUnreachable' ? (b.missed ?? 0) + 1 : undefined;
      },
      "b's target of the timed fault back from EngineUnreachable",
      60_000,
      500,
    ).then((n) => n - 1);
    // At least the windows wholly between "shown away" and "started again"; at most those wholly
    // between "killed" and "Ready again".
    const least = windowsWithin(seenAwayAt, startedAt);
    const most = windowsWithin(killedAt, backAt);
    t.diagnostic(`windows missed on b while away: ${missed} (bounds from the recorded instants: ${least}..${most})`);
    assert.ok(
      missed >= least && missed <= most,
      `missed ${missed} windows on b: expected ${least}..${most} (killed ${new Date(killedAt).toISOString()}, shown away ${new Date(seenAwayAt).toISOString()}, started ${new Date(startedAt).toISOString()}, Ready ${new Date(backAt).toISOString()}, windows every 10 s from ${new Date(first).toISOString()})`,
    );
    for (const g of ['a', 'b'] as const) {
      const names = (
        await dk(g, 'ps', '-a', '--filter', `label=faultline.dev/scenario=${NAME}`, '--format', '{{.Names}}')
      ).out
        .split('\n')
        .filter(Boolean);
      assert.deepEqual(names, [`${NAME}_${g}`], `one container of the scenario on engine ${g}`);
    }
    const ipB = await addrOf('b');
    await eventually(() => pings('a', `${NAME}_a`, ipB), 'a → b across hosts after b came back', 120_000, 1000);
  });

  test('the scenario deleted: its container on each engine is removed, and the overlay with its last owner', async () => {
    await rm(file);
    const left = async () => {
      const out: string[] = [];
      for (const g of ['a', 'b'] as const) {
        const ps = await dk(
          g,
          'ps',
          '-a',
          '--filter',
          `label=faultline.dev/scenario=${NAME}`,
          '--format',
          '{{.Names}}',
        );
        out.push(
          ...ps.out
            .split('\n')
            .filter(Boolean)
            .map((n) => `container ${n} on ${g}`),
        );
      }
      // The manager lists every overlay of the Swarm, used or not.
      const nets = await dk('a', 'network', 'ls', '--filter', `name=${NAME}_ov`, '--format', '{{.Name}}');
      out.push(
        ...nets.out
          .split('\n')
          .filter(Boolean)
          .map((n) => `network ${n}`),
      );
      return out;
    };
    let last: string[] = [];
    await eventually(
      async () => (last = await left()).length === 0,
      'nothing of the scenario left on either engine',
      180_000,
      1000,
    ).catch((e: Error) => {
      e.message += ` (left: ${last.join(', ')})`;
      throw e;
    });
  });
});
