// The event-fed view of Docker (observe/docker-view.ts) against the real engine: listed once, then
// kept current by events alone — a container restarted (new pid), renamed, connected to a second
// network, and removed are all in the view without any list. (An event stream that breaks and
// reconnects with a daemon restart is in daemon.test.ts.)
import test from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createDockerPort } from '../../src/adapters/docker/port.js';
import { DockerView } from '../../src/observe/docker-view.js';
import { docker, dockerStatus, eventually, TESTBOX, uniqueName } from './lib.js';

test(
  'the view follows a container through restart, rename, a second network and removal, from events alone',
  { timeout: 300_000 },
  async (t) => {
    const name = uniqueName('view');
    const net2 = `${name}-net2`;
    const abort = new AbortController();
    t.after(async () => {
      abort.abort();
      await dockerStatus('rm', '-f', name, `${name}-renamed`);
      await dockerStatus('network', 'rm', net2);
    });
    const view = new DockerView(createDockerPort(), { log: pino({ level: 'silent' }) });
    await view.start(abort.signal);
    const lists = view.stats.lists;
    const inView = (n: string) => view.current().containers.find((c) => c.name === n);
    const pidOf = async (n: string) => Number((await docker('inspect', '-f', '{{.State.Pid}}', n)).trim());

    await docker('run', '-d', '--name', name, TESTBOX, 'sleep', '3600');
    await eventually(
      async () => inView(name)?.state === 'running' && inView(name)!.pid === (await pidOf(name)),
      'a new container, running, with its pid',
    );

    const before = inView(name)!.pid;
    await docker('restart', '-t', '0', name);
    await eventually(
      async () =>
        inView(name)?.state === 'running' && inView(name)!.pid !== before && inView(name)!.pid === (await pidOf(name)),
      'the new pid after a restart',
    );

    await docker('rename', name, `${name}-renamed`);
    await eventually(
      async () =>
        !inView(name) &&
        inView(`${name}-renamed`)?.id === (await docker('inspect', '-f', '{{.Id}}', `${name}-renamed`)).trim(),
      'the new name, under the same id',
    );

    await docker('network', 'create', '--subnet', '10.247.9.0/24', net2);
    await docker('network', 'connect', net2, `${name}-renamed`);
    await eventually(
      async () =>
        inView(`${name}-renamed`)?.endpoints.some(
          (e) => e.networkName === net2 && e.ipv4Address?.startsWith('10.247.9.'),
        ) &&
        view
          .current()
          .networks.find((n) => n.name === net2)
          ?.containerIds.includes(inView(`${name}-renamed`)!.id),
      'the second network, on both sides',
    );

    await docker('rm', '-f', `${name}-renamed`);
    await eventually(async () => !inView(`${name}-renamed`), 'gone after its removal');
    assert.equal(view.stats.lists, lists, 'no list: events and inspects of what they named only');
    assert.ok(view.stats.inspects > 0);
  },
);
