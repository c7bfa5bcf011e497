// The helper-container executor on the real engine: the image is built by the real script, two
// testbox containers sit on a user-defined bridge, and every command goes through
// `docker exec <helper> nsenter --net=/proc/<pid>/ns/net -- ...`. The helper has a test-specific
// name, so a helper that someone else's run uses is never touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DockerError } from '../../../src/adapters/docker/errors.js';
import { ExecError } from '../../../src/adapters/exec.js';
import { HELPER_CAPABILITIES } from '../../../src/adapters/helper/container.js';
import { createHelperExec, type HelperExec } from '../../../src/adapters/helper/helper.js';
import { createNetnsExec } from '../../../src/adapters/executor.js';
import { createNsenterExec } from '../../../src/adapters/nsenter.js';
import { LABEL_HASH, LABEL_MANAGED_BY, LABEL_ROLE, MANAGED_BY } from '../../../src/api/ownership.js';
import { eventually } from '../../eventually.js';
import { buildHelperImage, Lab, normalizeSave } from './fixtures.js';

type Target = { pid: number; containerId: string };

describe('netns helper container', () => {
  const lab = new Lab();
  const helperName = lab.container(lab.name('helper'));
  let image = '';
  let helper: HelperExec;
  let a: Awaited<ReturnType<Lab['testbox']>>;
  let b: Awaited<ReturnType<Lab['testbox']>>;
  let ta: Target;
  const chain = `FLTEST-HLP-${lab.run.toUpperCase()}`;

  const helperInfo = () => lab.docker.getContainer(helperName).inspect();

  before(async () => {
    const built = await buildHelperImage();
    image = built.image;
    assert.match(image, /^faultline\/netns-helper:[0-9a-f]{16}$/, built.log);
    const net = await lab.network('net');
    a = await lab.testbox('a', net.name, `${net.prefix}.10`);
    b = await lab.testbox('b', net.name, `${net.prefix}.11`);
    ta = { pid: a.pid, containerId: a.id };
    helper = createHelperExec(lab.docker, {
      name: helperName,
      image,
      timeoutMs: 10_000,
      labels: { 'fltest.example/run': lab.run },
    });
  });

  after(async () => {
    await lab.cleanup();
  });

  it('the build script is idempotent: a second run rebuilds nothing and prints the same image', async () => {
    const again = await buildHelperImage();
    assert.equal(again.image, image);
    assert.match(again.log, /up to date/);
  });

  it('ensure() creates the helper: pid=host, no network, only the needed capabilities, owned labels', async () => {
    await helper.ensure();
    const c = await helperInfo();
    assert.equal(c.State.Running, true);
    assert.equal(c.HostConfig.PidMode, 'host');
    assert.equal(c.HostConfig.NetworkMode, 'none');
    assert.equal(c.HostConfig.Privileged, false);
    assert.deepEqual(c.HostConfig.CapDrop, ['ALL']);
    assert.deepEqual([...(c.HostConfig.CapAdd ?? [])].sort(), [...HELPER_CAPABILITIES].sort());
    assert.equal(c.HostConfig.ReadonlyRootfs, true);
    assert.equal(c.Config.Labels[LABEL_MANAGED_BY], MANAGED_BY);
    assert.equal(c.Config.Labels[LABEL_ROLE], 'helper');
    assert.match(c.Config.Labels[LABEL_HASH], /^[0-9a-f]{16}$/);
  });

  it('ensure() is idempotent, also when called concurrently: one container, same id', async () => {
    const before = (await helperInfo()).Id;
    const fresh = createHelperExec(lab.docker, { name: helperName, image, labels: { 'fltest.example/run': lab.run } });
    await Promise.all([fresh.ensure(), fresh.ensure(), helper.ensure()]);
    assert.equal((await helperInfo()).Id, before);
  });

  it('`ip -j addr` in the target shows the target’s address and not the peer’s', async () => {
    const r = await helper.run(ta, ['ip', '-j', 'addr', 'show']);
    assert.equal(r.code, 0, r.stderr);
    const links = JSON.parse(r.stdout) as { ifname: string; addr_info: { local: string }[] }[];
    const locals = links.flatMap((l) => l.addr_info.map((x) => x.local));
    assert.ok(locals.includes(a.ip), `expected ${a.ip} among ${locals.join(', ')}`);
    assert.ok(!locals.includes(b.ip));
  });

  it('`tc -batch -` reads its program from stdin; `tc -j qdisc show` reads the tbf back', async () => {
    const program = 'qdisc replace dev eth0 root handle 1fa0: tbf rate 1mbit burst 32kb latency 50ms\n';
    const w = await helper.run(ta, ['tc', '-batch', '-'], program);
    assert.deepEqual(w, { code: 0, stdout: '', stderr: '' });
    const r = await helper.run(ta, ['tc', '-j', 'qdisc', 'show', 'dev', 'eth0']);
    assert.equal(r.code, 0, r.stderr);
    const qdiscs = JSON.parse(r.stdout) as {
      kind: string;
      handle: string;
      root?: boolean;
      options?: { rate?: number };
    }[];
    const tbf = qdiscs.find((q) => q.kind === 'tbf');
    assert.ok(tbf, r.stdout);
    assert.equal(tbf.handle, '1fa0:');
    assert.equal(tbf.root, true);
    assert.equal(tbf.options?.rate, 125000); // 1 mbit/s in bytes/s
    // Only the target's netns changed.
    const peer = await helper.run({ pid: b.pid, containerId: b.id }, ['tc', '-j', 'qdisc', 'show', 'dev', 'eth0']);
    assert.ok(!(JSON.parse(peer.stdout) as { kind: string }[]).some((q) => q.kind === 'tbf'), peer.stdout);
  });

  it('`iptables-restore --noflush` installs an owned chain; the container’s other rules survive', async () => {
    const other = await helper.run(ta, [
      'iptables',
      '-w',
      '-A',
      'INPUT',
      '-s',
      '192.0.2.7/32',
      '-m',
      'comment',
      '--comment',
      'not-ours',
      '-j',
      'DROP',
    ]);
    assert.equal(other.code, 0, other.stderr);
    const beforeSave = await helper.run(ta, ['iptables-save']);
    // Docker's embedded-DNS rules of a user-defined network (nat DOCKER_OUTPUT): not ours either.
    const dockerDns = beforeSave.stdout.split('\n').filter((l) => l.includes('DOCKER_OUTPUT'));
    assert.ok(dockerDns.length > 0, `expected Docker's embedded-DNS nat rules in the netns:\n${beforeSave.stdout}`);

    const program = [
      '*filter',
      `:${chain} - [0:0]`,
      `-A ${chain} -p tcp -m multiport --dports 5432,8000:8100 -m comment --comment "faultline:fltest/hlp" -j DROP`,
      'COMMIT',
      '',
    ].join('\n');
    for (let i = 0; i < 2; i++) {
      // Twice: a re-declared chain is flushed and refilled, so re-applying is a no-op.
      const w = await helper.run(ta, ['iptables-restore', '-w', '--noflush'], program);
      assert.deepEqual(w, { code: 0, stdout: '', stderr: '' });
    }
    const save = await helper.run(ta, ['iptables-save']);
    assert.equal(save.code, 0, save.stderr);
    const lines = save.stdout.split('\n');
    assert.ok(lines.includes(`:${chain} - [0:0]`), save.stdout);
    assert.equal(lines.filter((l) => l.startsWith(`-A ${chain} `)).length, 1, save.stdout);
    assert.ok(
      lines.some((l) => l.includes('192.0.2.7/32') && l.includes('not-ours')),
      'the unowned rule survived',
    );
    for (const l of dockerDns) assert.ok(lines.includes(l), `Docker's rule survived: ${l}`);
  });

  it(
    'gives the same answers as the nsenter executor for the same commands',
    { skip: process.getuid?.() !== 0 ? 'nsenter needs root' : false },
    async () => {
      const ns = createNsenterExec({ timeoutMs: 10_000 });
      const commands: [string[], (s: string) => unknown][] = [
        [['ip', '-j', 'addr', 'show'], (s) => JSON.parse(s)],
        [['tc', '-j', 'qdisc', 'show', 'dev', 'eth0'], (s) => JSON.parse(s)],
        [['iptables-save'], normalizeSave],
        [['ip6tables-save'], normalizeSave],
        [['ip', 'link', 'show', 'no-such-dev0'], (s) => s],
      ];
      for (const [argv, norm] of commands) {
        const viaHelper = await helper.run(ta, argv);
        const viaNsenter = await ns.run(ta, argv);
        assert.equal(viaHelper.code, viaNsenter.code, argv.join(' '));
        assert.deepEqual(norm(viaHelper.stdout), norm(viaNsenter.stdout), argv.join(' '));
        assert.equal(viaHelper.stderr, viaNsenter.stderr, argv.join(' '));
      }
    },
  );

  it('returns a failing exit code with stderr instead of throwing', async () => {
    const r = await helper.run(ta, ['ip', 'link', 'show', 'no-such-dev0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-dev0.*does not exist/);
  });

  it('refuses the helper itself as a target, by pid and by container id, and pid 1', async () => {
    const h = await helperInfo();
    const refused = (e: unknown) => e instanceof ExecError && e.code === 'InvalidArgv';
    await assert.rejects(helper.run({ pid: h.State.Pid, containerId: a.id }, ['ip', 'addr']), (e: unknown) => {
      assert.ok(refused(e));
      assert.match((e as Error).message, /netns helper itself/);
      return true;
    });
    await assert.rejects(helper.run({ pid: a.pid, containerId: h.Id }, ['ip', 'addr']), refused);
    await assert.rejects(helper.run({ pid: 1, containerId: a.id }, ['ip', 'addr']), refused);
    await assert.rejects(helper.run({ pid: 0, containerId: a.id }, ['ip', 'addr']), /is the container running\?/);
    await assert.rejects(helper.run(ta, ['ip', 'a\0b']), refused);
  });

  it('kills a program that outlives the timeout (the process is gone from the helper)', async () => {
    const quick = createHelperExec(lab.docker, {
      name: helperName,
      image,
      timeoutMs: 500,
      labels: { 'fltest.example/run': lab.run },
    });
    await assert.rejects(quick.run(ta, ['sleep', '977']), (e: unknown) => {
      assert.ok(e instanceof ExecError && e.code === 'Timeout', String(e));
      assert.match(e.message, new RegExp(`^container ${a.id.slice(0, 12)}: `));
      return true;
    });
    await eventually(
      async () => {
        const top = (await lab.docker.getContainer(helperName).top()) as { Processes?: string[][] };
        const cmds = (top.Processes ?? []).map((p) => p.join(' '));
        assert.ok(!cmds.some((c) => c.includes('sleep 977')), cmds.join('\n'));
        return true;
      },
      'the timed-out program gone from the helper',
      10_000,
    );
  });

  it('rejects output beyond the cap instead of truncating it', async () => {
    const small = createHelperExec(lab.docker, {
      name: helperName,
      image,
      maxOutputBytes: 1000,
      labels: { 'fltest.example/run': lab.run },
    });
    await assert.rejects(
      small.run(ta, ['cat'], 'x'.repeat(5000)),
      (e: unknown) => e instanceof ExecError && e.code === 'OutputTooLarge',
    );
  });

  it('starts a stopped helper again on the next command (same container)', async () => {
    const id = (await helperInfo()).Id;
    await lab.docker.getContainer(helperName).stop({ t: 1 });
    const r = await helper.run(ta, ['ip', '-j', 'addr', 'show']);
    assert.equal(r.code, 0, r.stderr);
    const c = await helperInfo();
    assert.equal(c.Id, id);
    assert.equal(c.State.Running, true);
  });

  it('recreates a helper whose config-hash label differs', async () => {
    await lab.docker.getContainer(helperName).remove({ force: true });
    // A helper as an older faultline would have left it: owned, but another configuration.
    const stale = await lab.docker.createContainer({
      name: helperName,
      Image: image,
      Labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_ROLE]: 'helper',
        [LABEL_HASH]: 'stale',
        'fltest.example/run': lab.run,
      },
      HostConfig: { PidMode: 'host', NetworkMode: 'none', CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] },
    });
    await stale.start();
    // `helper` still remembers the removed container: its next command finds it gone and re-ensures.
    const r = await helper.run(ta, ['tc', '-j', 'qdisc', 'show', 'dev', 'eth0']);
    assert.equal(r.code, 0, r.stderr);
    const c = await helperInfo();
    assert.notEqual(c.Id, stale.id);
    assert.match(c.Config.Labels[LABEL_HASH], /^[0-9a-f]{16}$/);
    assert.deepEqual([...(c.HostConfig.CapAdd ?? [])].sort(), [...HELPER_CAPABILITIES].sort());
  });

  it('never removes a same-named container that is not faultline’s', async () => {
    const foreignName = lab.container(lab.name('foreign'));
    const foreign = await lab.docker.createContainer({
      name: foreignName,
      Image: 'faultline/testbox',
      Labels: { 'fltest.example/run': lab.run },
    });
    const h = createHelperExec(lab.docker, { name: foreignName, image });
    await assert.rejects(
      h.ensure(),
      (e: unknown) =>
        e instanceof DockerError && e.code === 'Conflict' && /not faultline's netns helper/.test(e.message),
    );
    await assert.rejects(h.remove(), (e: unknown) => e instanceof DockerError && e.code === 'Conflict');
    assert.equal((await lab.docker.getContainer(foreignName).inspect()).Id, foreign.id);
  });

  it('a helper missing one of its capabilities (SYS_ADMIN) fails clearly: the kernel’s refusal, then which capabilities it needs', async () => {
    const name = lab.container(lab.name('nocap'));
    const weak = createHelperExec(lab.docker, {
      name,
      image,
      timeoutMs: 10_000,
      labels: { 'fltest.example/run': lab.run },
      capabilities: HELPER_CAPABILITIES.filter((c) => c !== 'SYS_ADMIN'),
    });
    try {
      const r = await weak.run(ta, ['ip', '-j', 'addr', 'show']);
      assert.notEqual(r.code, 0, 'nothing runs in the target without SYS_ADMIN');
      assert.match(r.stderr, /Operation not permitted/, 'the kernel’s own words');
      assert.match(
        r.stderr,
        new RegExp(
          `faultline: the netns helper "${name}" was refused by the kernel: it needs the capabilities NET_ADMIN, NET_RAW, SYS_ADMIN, SYS_PTRACE`,
        ),
      );
      // The full set works on the same target.
      assert.equal((await helper.run(ta, ['ip', '-j', 'addr', 'show'])).code, 0);
    } finally {
      await weak.remove();
    }
  });

  it('says how to build a missing image', async () => {
    const h = createHelperExec(lab.docker, {
      name: lab.container(lab.name('noimage')),
      image: 'faultline/netns-helper:fltest-absent',
    });
    await assert.rejects(
      h.ensure(),
      (e: unknown) => e instanceof DockerError && e.code === 'NotFound' && /build-helper-image\.sh/.test(e.message),
    );
  });

  it(
    'createNetnsExec: auto picks nsenter here (root, local socket, probe enters the target) and says why',
    { skip: process.getuid?.() !== 0 ? 'needs root' : false },
    async () => {
      const choice = await createNetnsExec({ probeTarget: ta });
      assert.equal(choice.mode, 'nsenter', choice.reason);
      assert.match(
        choice.reason,
        new RegExp(`/proc/${a.pid}/ns/net of container ${a.id.slice(0, 12)} opened and entered`),
      );
      const r = await choice.exec.run(ta, ['ip', '-j', 'addr', 'show']);
      assert.ok(r.stdout.includes(a.ip));
    },
  );

  it('createNetnsExec: auto picks the helper when not root, when the engine is remote, when the pid is not the container', async () => {
    const notRoot = await createNetnsExec({ uid: 1000, helper: { name: helperName, image } });
    assert.equal(notRoot.mode, 'helper');
    assert.match(notRoot.reason, /not root \(uid 1000\)/);
    const remote = await createNetnsExec({ host: 'tcp://127.0.0.1:9' });
    assert.equal(remote.mode, 'helper');
    assert.match(remote.reason, /not on a local unix socket \(tcp:\/\/127\.0\.0\.1:9\)/);
    const wrong = await createNetnsExec({ probeTarget: { pid: b.pid, containerId: a.id } });
    assert.equal(wrong.mode, 'helper');
    // The helper it returns works (same helper name as this file's).
    const r = await notRoot.exec.run(ta, ['ip', '-j', 'addr', 'show']);
    assert.ok(r.stdout.includes(a.ip));
  });

  it('createNetnsExec: the option forces a mode', async () => {
    const forced = await createNetnsExec({ mode: 'helper', helper: { name: helperName, image } });
    assert.equal(forced.mode, 'helper');
    assert.match(forced.reason, /chosen by option/);
    assert.ok(forced.helper);
    const ns = await createNetnsExec({ mode: 'nsenter', uid: 1000 });
    assert.equal(ns.mode, 'nsenter');
    assert.match(ns.reason, /WARNING.*not root/);
  });

  it('remove() removes the helper, and is idempotent', async () => {
    await helper.remove();
    await assert.rejects(helperInfo(), (e: { statusCode?: number }) => e.statusCode === 404);
    await helper.remove();
  });
});
