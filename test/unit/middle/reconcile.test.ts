// Fast tests of the middle: the reconcile story and the kernel engine against a fake Docker engine
// and a fake kernel (test/unit/fakes/). What the real engine and kernel do is tested in
// test/integration/; here the branchy logic runs in milliseconds: placement, stacking, forget,
// deferral after a restart, counters, the orphan sweep, deletion while a namespace is unreadable.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Scenario, ScenarioStatus } from '../../../src/api/types.js';
import { FULL_CAPS } from '../../../src/netfaults/index.js';
import { hostRootChain } from '../../../src/netfaults/host.js';
import { KernelEngine } from '../../../src/kernel/engine.js';
import { DockerView } from '../../../src/observe/docker-view.js';
import { Reconciler } from '../../../src/controller/reconcile.js';
import { splitTrailingStatus } from '../../../src/store/yamlEdit.js';
import type { Clock, NetnsTarget } from '../../../src/ports/index.js';
import { parse } from 'yaml';
import { FakeDocker, MemoryFiles } from '../fakes/docker.js';
import { FakeKernel } from '../fakes/kernel.js';
import { capturedLog } from '../fakes/log.js';

const SCOPE = 'dir-test';
const HOST_PID = 1;
const log = pino({ level: 'silent' });

class ManualClock implements Clock {
  t = Date.parse('2026-11-30T12:00:00Z');
  now = () => new Date(this.t);
  sleep = () => new Promise<void>(() => undefined);
}

interface World {
  docker: FakeDocker;
  kernel: FakeKernel;
  files: MemoryFiles;
  clock: ManualClock;
  engine: KernelEngine;
  reconciler: Reconciler;
  view: DockerView;
  stop(): void;
}

const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((s) => s()));

async function world(
  opts: { hostRules?: 'auto' | 'off'; isLive?: (s: string) => boolean; unported?: Set<string> } = {},
): Promise<World> {
  const docker = new FakeDocker();
  const kernel = new FakeKernel();
  kernel.add(HOST_PID, ['br-x', 'docker0'], { host: true });
  docker.onStart = (c) => kernel.add(c.pid);
  const clock = new ManualClock();
  const engine = new KernelEngine({
    scope: SCOPE,
    exec: kernel,
    scratch: async () => {
      throw new Error('no probe in unit tests');
    },
    probe: async () => FULL_CAPS,
    log,
    hostRules: opts.hostRules ?? 'auto',
    hostPid: async () => HOST_PID,
    bridgePorts: {
      // A container named in `unported` shows no bridge port (its veth not in the host yet).
      portsOf: async (ts: readonly NetnsTarget[]) =>
        new Map(ts.map((t) => [t.key, opts.unported?.has(t.name) ? [] : [`veth-${t.name}`]])),
    },
    isLive: opts.isLive,
    now: () => clock.t,
  });
  const abort = new AbortController();
  const view = new DockerView(docker, { log });
  await view.start(abort.signal);
  const files = new MemoryFiles();
  const reconciler = new Reconciler({ controller: SCOPE, docker, view, files, clock, log, kernel: engine });
  const stop = () => abort.abort();
  stops.push(stop);
  return { docker, kernel, files, clock, engine, reconciler, view, stop };
}

function yaml(name: string, body: string): string {
  return `apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n${body}`;
}

const boxes = (names: string[]) => `  networks: [{ name: net, ipam: { config: [{ subnet: 10.77.0.0/24 }] } }]
  containers:
${names.map((n) => `    - { name: ${n}, image: faultline/testbox }`).join('\n')}
  members: [{ network: net, select: { names: [${names.join(', ')}] } }]
`;

async function reconcile(w: World, name: string, body?: string) {
  const file = `/scenarios/${name}.yaml`;
  if (body !== undefined) w.files.texts.set(file, yaml(name, body));
  const r = await w.reconciler.reconcileFile(name, file);
  return { r, status: (parse(w.files.texts.get(file)!) as Scenario).status as ScenarioStatus };
}

/** A kernel engine over the world's kernel as a controller (re)started with `scope` has it: nothing registered yet. */
const restarted = (w: World, scope = SCOPE) =>
  new KernelEngine({
    scope,
    exec: w.kernel,
    scratch: async () => Promise.reject(new Error('no probe in unit tests')),
    probe: async () => FULL_CAPS,
    log,
    hostPid: async () => HOST_PID,
    bridgePorts: { portsOf: async () => new Map() },
  });

const pidOf = (w: World, name: string) => [...w.docker.containers.values()].find((c) => c.name === name)!.pid;
const ours = (lines: string[], key: string) => lines.filter((l) => l.includes(`faultline:${key}`));

describe('reconcile, with a fake engine and kernel', () => {
  it('a partition of bridged containers is one program in the host; verified; an unchanged reconcile runs nothing', async () => {
    const w = await world();
    const { r, status } = await reconcile(
      w,
      'shop',
      boxes(['a', 'b', 'c']) + '  faults: [{ name: split, partition: { groups: [[a, b], [c]] } }]\n',
    );
    assert.equal(r.error, undefined, r.error?.message);
    const f = status.faults!.find((x) => x.name === 'split')!;
    assert.deepEqual(
      f.targets!.map((t) => [t.container, t.phase, t.verified, t.mechanism]),
      [
        ['a', 'Injected', true, 'iptables-forward'],
        ['b', 'Injected', true, 'iptables-forward'],
        ['c', 'Injected', true, 'iptables-forward'],
      ],
    );
    const host = w.kernel.rules(HOST_PID);
    assert.ok(host.includes(`-A FORWARD -j ${hostRootChain(SCOPE)}`), host.join('\n'));
    assert.ok(!host.includes(`-A DOCKER-USER -j ${hostRootChain(SCOPE)}`), 'mangle FORWARD, not DOCKER-USER');
    // a and b jump to the set {c}; c drops a and b inline: 4 rules of the fault, one program
    assert.equal(ours(host, `${SCOPE}.shop/split`).length, 4, host.join('\n'));
    for (const n of ['a', 'b', 'c'])
      assert.deepEqual(ours(w.kernel.rules(pidOf(w, `shop_${n}`)), SCOPE), [], 'nothing in the containers');
    const calls = w.kernel.calls.length;
    const writes = w.files.writes;
    const again = await reconcile(w, 'shop');
    assert.equal(again.r.kernelCommands, 0);
    assert.equal(w.kernel.calls.length, calls, 'no program run for an unchanged scenario');
    assert.equal(w.files.writes, writes, 'no status write for an unchanged status');
  });

  it('a cut whose end has no bridge port (yet) is Pending, not verified, says why, is tried again soon, and is made once the port is there', async () => {
    const unported = new Set(['shop_c']);
    const w = await world({ unported });
    const spec = boxes(['a', 'b', 'c']) + '  faults: [{ name: split, partition: { groups: [[a, b], [c]] } }]\n';
    const first = await reconcile(w, 'shop', spec);
    const f = first.status.faults!.find((x) => x.name === 'split')!;
    assert.ok(
      f.targets!.every((t) => !t.verified),
      `never a silent success: ${JSON.stringify(f.targets)}`,
    );
    // Pending with why (a container starting or stopping), not Failed; looked for again soon
    assert.deepEqual(
      f.targets!.map((t) => [t.container, t.phase, t.reason]),
      [
        ['a', 'Pending', 'BridgePortNotFound'],
        ['b', 'Pending', 'BridgePortNotFound'],
        ['c', 'Pending', 'BridgePortNotFound'],
      ],
    );
    assert.match(f.targets![0].lastError ?? '', /bridge port of shop_c was not found/);
    assert.equal(first.r.error, undefined, 'not an error of the reconcile');
    assert.ok(
      first.r.requeueAfterMs !== undefined && first.r.requeueAfterMs <= 1000,
      `tried again soon (${first.r.requeueAfterMs})`,
    );
    unported.clear();
    const second = await reconcile(w, 'shop');
    assert.equal(second.r.error, undefined, second.r.error?.message);
    const g = second.status.faults!.find((x) => x.name === 'split')!;
    assert.deepEqual(
      g.targets!.map((t) => [t.container, t.verified]),
      [
        ['a', true],
        ['b', true],
        ['c', true],
      ],
    );
    assert.equal(ours(w.kernel.rules(HOST_PID), `${SCOPE}.shop/split`).length, 4);
  });

  it('with --host-rules off, each receiver drops its senders in its own namespace', async () => {
    const w = await world({ hostRules: 'off' });
    const { status } = await reconcile(
      w,
      'shop',
      boxes(['a', 'b']) + '  faults: [{ name: split, partition: { groups: [[a], [b]] } }]\n',
    );
    assert.ok(status.faults![0].targets!.every((t) => t.verified && t.mechanism === 'iptables'));
    const ipOf = (n: string) => [...w.docker.containers.values()].find((c) => c.name === n)!.endpoints[0].ipv4Address;
    assert.deepEqual(ours(w.kernel.rules(pidOf(w, 'shop_a')), SCOPE), [
      `-A FAULTLINE-INPUT -s ${ipOf('shop_b')}/32 -m comment --comment "faultline:${SCOPE}.shop/split" -j DROP`,
    ]);
    assert.deepEqual(ours(w.kernel.rules(HOST_PID), SCOPE), []);
  });

  it('a window that closes: Recovered once the key is gone from every namespace; counters count windows', async () => {
    const w = await world();
    const body =
      boxes(['a']) +
      '  faults: [{ name: hole, targets: { names: [a] }, blackhole: {}, direction: ingress, at: 0s, duration: 10s, repeat: { every: 20s } }]\n';
    let { status } = await reconcile(w, 'tl', body);
    assert.deepEqual(
      status.faults![0].targets!.map((t) => [t.phase, t.injected]),
      [['Injected', 1]],
    );
    w.clock.t += 11_000;
    ({ status } = await reconcile(w, 'tl'));
    assert.deepEqual(
      status.faults![0].targets!.map((t) => [t.phase, t.verified, t.injected, t.recovered]),
      [['Recovered', true, 1, 1]],
    );
    assert.deepEqual(ours(w.kernel.rules(pidOf(w, 'tl_a')), SCOPE), []);
    w.clock.t += 10_000; // the second window
    ({ status } = await reconcile(w, 'tl'));
    assert.deepEqual(
      status.faults![0].targets!.map((t) => [t.phase, t.injected, t.recovered, t.window]),
      [['Injected', 2, 1, 1]],
    );
  });

  it("a person's save that keeps the status block reads on from it; a save that edits the block is read whole", async () => {
    const w = await world();
    const file = '/scenarios/tl.yaml';
    const body =
      boxes(['a']) +
      '  faults: [{ name: hole, targets: { names: [a] }, blackhole: {}, direction: ingress, at: 0s, duration: 10s, repeat: { every: 20s } }]\n';
    await reconcile(w, 'tl', body);
    w.clock.t += 11_000;
    let { status } = await reconcile(w, 'tl');
    const generation = status.observedGeneration!;
    assert.ok(splitTrailingStatus(w.files.texts.get(file)!), 'the controller wrote the status as the last block');
    // A fault added in the spec; the status lines stay as the controller wrote them.
    const added = w.files.texts
      .get(file)!
      .replace(
        'faults: [{ name: hole',
        'faults: [{ name: cut, targets: { names: [a] }, blackhole: {}, direction: ingress }, { name: hole',
      );
    w.files.texts.set(file, added);
    ({ status } = await reconcile(w, 'tl'));
    assert.equal(status.observedGeneration, generation + 1);
    assert.deepEqual(
      status.faults!.map((f) => [f.name, f.targets!.map((t) => [t.phase, t.injected, t.recovered])]),
      [
        ['cut', [['Injected', 1, undefined]]],
        ['hole', [['Recovered', 1, 1]]],
      ],
    );
    // A person edits the status block itself: what the file now says is what is read.
    const text = w.files.texts.get(file)!;
    const edited = text.replace(/(- name: hole\n(?:.*\n)*?\s+recovered:) 1\n/, '$1 7\n');
    assert.notEqual(edited, text);
    w.files.texts.set(file, edited);
    ({ status } = await reconcile(w, 'tl'));
    assert.deepEqual(
      status.faults!.find((f) => f.name === 'hole')!.targets!.map((t) => [t.phase, t.recovered]),
      [['Recovered', 7]],
    );
  });

  it('two scenarios on one container stack in one ledger; forgetting one leaves exactly the other', async () => {
    const w = await world();
    w.docker.addRunning('shared');
    await w.view.refresh({ all: true });
    const pid = pidOf(w, 'shared');
    await reconcile(
      w,
      'one',
      '  faults: [{ name: hole, targets: { names: [shared] }, blackhole: {}, direction: ingress }]\n',
    );
    await reconcile(
      w,
      'two',
      '  faults: [{ name: refuse, targets: { names: [shared] }, reject: { with: tcp-reset }, direction: ingress }]\n',
    );
    assert.ok(ours(w.kernel.rules(pid), `${SCOPE}.one/hole`).length > 0);
    assert.ok(ours(w.kernel.rules(pid), `${SCOPE}.two/refuse`).length > 0);
    w.files.texts.delete('/scenarios/one.yaml');
    const r = await w.reconciler.reconcileDeleted('one');
    assert.equal(r.error, undefined);
    assert.deepEqual(ours(w.kernel.rules(pid), `${SCOPE}.one/`), []);
    assert.ok(ours(w.kernel.rules(pid), `${SCOPE}.two/refuse`).length > 0, 'the other scenario keeps its rules');
  });

  it('after a restart, a namespace holding a live scenario that has not registered yet is not rewritten (deferred)', async () => {
    const first = await world({ isLive: () => true });
    first.docker.addRunning('shared');
    await first.view.refresh({ all: true });
    const pid = pidOf(first, 'shared');
    await reconcile(
      first,
      'one',
      '  faults: [{ name: hole, targets: { names: [shared] }, blackhole: {}, direction: ingress }]\n',
    );
    // A new engine (the controller restarted) over the same kernel: scenario "one" is live but has
    // not been reconciled yet when "two" touches the same namespace.
    const engine = new KernelEngine({
      scope: SCOPE,
      exec: first.kernel,
      scratch: async () => Promise.reject(new Error('x')),
      probe: async () => FULL_CAPS,
      log,
      hostRules: 'off',
      isLive: () => true,
    });
    const reconciler = new Reconciler({
      controller: SCOPE,
      docker: first.docker,
      view: first.view,
      files: first.files,
      clock: first.clock,
      log,
      kernel: engine,
    });
    first.files.texts.set(
      '/scenarios/two.yaml',
      yaml(
        'two',
        '  faults: [{ name: refuse, targets: { names: [shared] }, reject: { with: tcp-reset }, direction: ingress }]\n',
      ),
    );
    const r = await reconciler.reconcileFile('two', '/scenarios/two.yaml');
    assert.ok(r.requeueAfterMs !== undefined && r.requeueAfterMs <= 500, `comes back soon (${r.requeueAfterMs})`);
    assert.deepEqual(ours(first.kernel.rules(pid), `${SCOPE}.two/`), [], 'nothing written yet');
    assert.ok(ours(first.kernel.rules(pid), `${SCOPE}.one/hole`).length > 0, "one's rules untouched");
    const status = (parse(first.files.texts.get('/scenarios/two.yaml')!) as Scenario).status!;
    assert.equal(status.faults![0].targets![0].phase, 'Pending');
  });

  it('the start-up sweep names scenarios whose rules are in a kernel but whose file is gone', async () => {
    const w = await world();
    w.docker.addRunning('shared');
    await w.view.refresh({ all: true });
    await reconcile(
      w,
      'gone',
      '  faults: [{ name: hole, targets: { names: [shared] }, blackhole: {}, direction: ingress }]\n',
    );
    await reconcile(w, 'kept', boxes(['a', 'b']) + '  faults: [{ name: split, partition: { groups: [[a], [b]] } }]\n');
    const fresh = restarted(w);
    assert.deepEqual(await fresh.sweep(w.view.current(), (s) => s === 'kept'), ['gone']);
    assert.deepEqual(await fresh.sweep(w.view.current(), () => false), ['gone', 'kept'], 'host chains are swept too');
  });

  it("the start-up sweep cleans what no key names, but never in a namespace holding another controller's keys", async () => {
    const w = await world();
    // A container another controller (scope dir-other) is writing into: its keyed rule is in,
    // and an object no key names (what a removal in progress shows between its two steps).
    const theirs = w.docker.addRunning('theirs');
    // A container with only an object no key names (a SIGKILL mid-removal): cleaned.
    await reconcile(w, 'mine', boxes(['a']));
    await w.view.refresh({ all: true });
    const other = restarted(w, 'dir-other');
    const otherView = new DockerView(w.docker, { log, auditMs: 0 });
    const abort = new AbortController();
    await otherView.start(abort.signal);
    const files = new MemoryFiles();
    files.texts.set(
      '/o/hole.yaml',
      yaml('hole', '  faults: [{ name: f, targets: { names: [theirs] }, blackhole: {}, direction: ingress }]\n'),
    );
    const r = await new Reconciler({
      controller: 'dir-other',
      docker: w.docker,
      view: otherView,
      files,
      clock: w.clock,
      log,
      kernel: other,
    }).reconcileFile('hole', '/o/hole.yaml');
    abort.abort();
    assert.equal(r.error, undefined, r.error?.message);
    const untagged = '*filter\n-A FAULTLINE-INPUT -s 10.9.9.9/32 -j DROP\nCOMMIT\n';
    const mineA = pidOf(w, 'mine_a');
    await w.kernel.run(
      { pid: mineA, containerId: 'x' },
      ['iptables-restore', '--noflush'],
      '*filter\n:FAULTLINE-INPUT - [0:0]\nCOMMIT\n',
    );
    for (const pid of [theirs.pid, mineA])
      assert.equal(
        (await w.kernel.run({ pid, containerId: 'x' }, ['iptables-restore', '--noflush'], untagged)).code,
        0,
      );
    const before = w.kernel.rules(theirs.pid);
    assert.ok(ours(before, 'dir-other.hole/f').length > 0 && before.some((l) => l.includes('10.9.9.9')));

    const fresh = restarted(w);
    assert.deepEqual(await fresh.sweep(w.view.current(), (s) => s === 'mine'), []);
    assert.deepEqual(w.kernel.rules(theirs.pid), before, "the other controller's namespace is untouched");
    assert.ok(!w.kernel.rules(mineA).some((l) => l.includes('10.9.9.9')), 'its own container is cleaned');
  });

  it('an invalid file is reported once: looked at again unchanged (a resync), it says nothing more; changed, it is reported again', async () => {
    const w = await world();
    const { log: captured, lines } = capturedLog('warn');
    const reconciler = new Reconciler({
      controller: SCOPE,
      docker: w.docker,
      view: w.view,
      files: w.files,
      clock: w.clock,
      log: captured,
      kernel: w.engine,
    });
    const file = '/scenarios/bad.yaml';
    w.files.texts.set(file, yaml('bad', '  containers: [{ name: a, image: 5 }]\n'));
    const first = await reconciler.reconcileFile('bad', file);
    assert.ok(first.issues?.length);
    const said = lines.length;
    assert.ok(said > 0 && lines.every((l) => l.file === file));
    assert.match(w.files.texts.get(file)!, /type: Valid/, 'the status says why');
    const written = w.files.texts.get(file);
    for (let i = 0; i < 3; i++) assert.ok((await reconciler.reconcileFile('bad', file)).issues?.length);
    assert.equal(lines.length, said, 'nothing more said while the file does not change');
    assert.equal(w.files.texts.get(file), written, 'nor written');
    const settled = lines.length;
    w.files.texts.set(file, yaml('bad', '  containers: [{ name: a, image: 6 }]\n'));
    await reconciler.reconcileFile('bad', file);
    assert.ok(lines.length > settled, 'a changed file is reported again');
  });

  it('a deleted scenario whose namespace cannot be read still has its containers removed', async () => {
    const w = await world();
    await reconcile(
      w,
      'del',
      boxes(['a']) + '  faults: [{ name: hole, targets: { names: [a] }, blackhole: {}, direction: ingress }]\n',
    );
    w.kernel.unreadable.add(pidOf(w, 'del_a'));
    w.files.texts.delete('/scenarios/del.yaml');
    const r = await w.reconciler.reconcileDeleted('del');
    assert.ok(
      w.docker.calls.some((c) => c.startsWith('removeContainer')),
      w.docker.calls.join('\n'),
    );
    assert.equal(
      [...w.docker.containers.values()].filter((c) => c.name.startsWith('del_')).length,
      0,
      'containers removed',
    );
    assert.ok(r.error, 'the unreadable namespace is reported (and retried)');
  });

  it('a peers selector that matches nothing is Pending (NoPeers) and Degraded, never a silent success', async () => {
    const w = await world();
    const { status } = await reconcile(
      w,
      'np',
      boxes(['a']) +
        '  faults: [{ name: hole, targets: { names: [a] }, peers: { labels: { role: nothing-has-this } }, blackhole: {} }]\n',
    );
    const t = status.faults![0].targets![0];
    assert.deepEqual([t.phase, t.verified, t.reason], ['Pending', false, 'NoPeers']);
    assert.deepEqual(
      [status.faults![0].phase, status.faults![0].reason],
      ['Pending', 'NoPeers'],
      'the fault itself is Pending',
    );
    const d = status.conditions!.find((c) => c.type === 'Degraded')!;
    assert.deepEqual([d.status, d.reason], ['True', 'NoPeers']);
    assert.deepEqual(ours(w.kernel.rules(pidOf(w, 'np_a')), SCOPE), []);
  });

  it("a selector naming or matching faultline's own containers (controller, helper) is refused, with why; nothing is applied to them", async () => {
    const w = await world();
    w.docker.addRunning('faultline-controller', { 'faultline.dev/role': 'controller', tier: 'ops' });
    w.docker.addRunning('faultline-netns-helper', { 'faultline.dev/role': 'helper', tier: 'ops' });
    const { status } = await reconcile(
      w,
      'own',
      boxes(['a']) +
        '  faults:\n' +
        '    - { name: byname, targets: { names: [faultline-controller] }, blackhole: {} }\n' +
        '    - { name: bylabel, targets: { labels: { tier: ops } }, blackhole: {} }\n',
    );
    const byname = status.faults!.find((f) => f.name === 'byname')!;
    assert.equal(byname.reason, 'OwnContainer');
    assert.match(
      byname.message!,
      /container "faultline-controller" is faultline's controller: faultline never acts on its own containers/,
    );
    assert.doesNotMatch(byname.message!, /no container named/);
    const bylabel = status.faults!.find((f) => f.name === 'bylabel')!;
    assert.equal(bylabel.reason, 'OwnContainer');
    assert.match(bylabel.message!, /"faultline-controller" is faultline's controller/);
    assert.match(bylabel.message!, /"faultline-netns-helper" is faultline's netns helper/);
    assert.ok(!status.faults!.some((f) => f.targets?.length), 'no target at all');
    const d = status.conditions!.find((c) => c.type === 'Degraded')!;
    assert.equal(d.status, 'True');
    assert.match(d.message ?? '', /never acts on its own containers/);
    for (const n of ['faultline-controller', 'faultline-netns-helper'])
      assert.deepEqual(
        w.kernel.rules(pidOf(w, n)).filter((l) => l.includes('FAULTLINE') || l.includes('faultline:')),
        [],
        `nothing in ${n}`,
      );
  });

  it('a fault whose targets match nothing says NoTargets', async () => {
    const w = await world();
    const { status } = await reconcile(
      w,
      'nt',
      boxes(['a']) + '  faults: [{ name: hole, targets: { labels: { role: nobody } }, blackhole: {} }]\n',
    );
    assert.deepEqual([status.faults![0].phase, status.faults![0].reason], ['Pending', 'NoTargets']);
    assert.equal(status.conditions!.find((c) => c.type === 'Degraded')!.status, 'True');
  });
});
