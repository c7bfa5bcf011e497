// The nsenter executor entering a real container's network namespace. Needs root on the engine's
// host (and the host's PID namespace); skipped with the reason otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createDockerPort } from '../../../src/adapters/docker/port.js';
import { ExecError } from '../../../src/adapters/exec.js';
import { createNsenterExec } from '../../../src/adapters/nsenter.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../../src/api/ownership.js';
import { createTestNetwork, Janitor } from './fixtures.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'nsenter needs root on the Docker host (not running as uid 0)';
  return undefined;
}

describe('nsenter executor', { skip: skipReason() }, () => {
  const port = createDockerPort({ timeoutMs: 20_000 });
  const j = new Janitor(port);
  const ns = createNsenterExec({ timeoutMs: 5_000 });
  let target = { pid: 0, containerId: '' };
  let ip = '';

  before(async () => {
    const net = await createTestNetwork(j, 'ns-net', {
      driver: 'bridge',
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
      internal: true,
      attachable: false,
      enableIPv6: false,
      options: {},
    });
    ip = `${net.prefix}.20`;
    const id = j.container(
      await port.createContainer({
        name: j.name('ns'),
        image: 'faultline/testbox',
        env: [],
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
        capAdd: [],
        capDrop: [],
        restartPolicy: 'no',
        ports: [],
        stopTimeout: 1,
        network: { name: net.name, endpoint: { aliases: [], ipv4Address: ip } },
      }),
    );
    await port.startContainer(id);
    const c = (await port.snapshot()).containers.find((x) => x.id === id);
    assert.ok(c && c.pid > 0);
    target = { pid: c.pid, containerId: id };
    if (!existsSync(`/proc/${c.pid}`)) {
      throw new Error(`pid ${c.pid} is not visible here: this process is not in the Docker host's PID namespace`);
    }
  });

  after(() => j.cleanup());

  it('runs `ip -j addr` in the container netns and sees the container IP', async () => {
    const r = await ns.run(target, ['ip', '-j', 'addr', 'show']);
    assert.equal(r.code, 0, r.stderr);
    const links = JSON.parse(r.stdout) as { ifname: string; addr_info: { family: string; local: string }[] }[];
    const locals = links.flatMap((l) => l.addr_info.map((a) => a.local));
    assert.ok(locals.includes(ip), `expected ${ip} among ${locals.join(', ')}`);
    assert.ok(!links.some((l) => l.ifname === 'docker0'), 'must not be the host netns');
  });

  it('feeds stdin to the program (as tc -batch - will need)', async () => {
    const r = await ns.run(target, ['cat'], 'line one\nline two\n');
    assert.deepEqual(r, { code: 0, stdout: 'line one\nline two\n', stderr: '' });
  });

  it('returns a failing exit code with stderr instead of throwing', async () => {
    const r = await ns.run(target, ['ip', 'link', 'show', 'no-such-dev0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-dev0|does not exist/i);
  });

  it('kills a program that outlives the timeout', async () => {
    const quick = createNsenterExec({ timeoutMs: 300 });
    await assert.rejects(quick.run(target, ['sleep', '10']), (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.equal(e.code, 'Timeout');
      assert.match(e.message, new RegExp(`^container ${target.containerId.slice(0, 12)}: `));
      return true;
    });
  });

  it('refuses a container without a process (pid 0)', async () => {
    await assert.rejects(ns.run({ pid: 0, containerId: target.containerId }, ['true']), /is the container running\?/);
  });
});
