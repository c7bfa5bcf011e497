// The Docker adapter against the real engine. A shared before() (not a test) makes one labelled
// network and two running testbox containers, one attached at create with an alias and a static IP,
// one connected later; the tests only read those. A test that creates, changes or removes something
// makes its own containers or networks, so no test depends on another having run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DockerError } from '../../../src/adapters/docker/errors.js';
import { createDockerPort, type DockerAdapter } from '../../../src/adapters/docker/port.js';
import { LABEL_MANAGED_BY, LABEL_SCENARIO, MANAGED_BY } from '../../../src/api/ownership.js';
import type { ContainerCreateRequest, DockerEvent } from '../../../src/ports/index.js';
import { eventually } from '../../eventually.js';
import { createTestNetwork, execIn, Janitor } from './fixtures.js';

const IMAGE = 'faultline/testbox';

function containerReq(
  name: string,
  labels: Record<string, string>,
  extra: Partial<ContainerCreateRequest> = {},
): ContainerCreateRequest {
  return {
    name,
    image: IMAGE,
    env: [],
    labels,
    capAdd: [],
    capDrop: [],
    restartPolicy: 'no',
    ports: [],
    stopTimeout: 1,
    ...extra,
  };
}

describe('docker adapter on the real engine', () => {
  const port: DockerAdapter = createDockerPort({ timeoutMs: 20_000 });
  const raw = new Docker();
  const j = new Janitor(port);
  const events: DockerEvent[] = [];
  const watch = new AbortController();
  let watching: Promise<void> | undefined;

  const owned = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SCENARIO]: 'fltest-adp' };
  let net: Awaited<ReturnType<typeof createTestNetwork>>;
  let a = ''; // attached at create: alias alpha, static .10
  let b = ''; // default bridge at create, connected to net afterwards with alias beta
  let ipA = '';

  /** A running testbox on the default bridge, connected to net with `alias`. */
  async function connectedToNet(what: string, alias: string): Promise<string> {
    const id = j.container(await port.createContainer(containerReq(j.name(what), owned)));
    await port.startContainer(id);
    await port.connect(net.name, id, { aliases: [alias] });
    return id;
  }

  before(async () => {
    await port.ping();
    assert.equal(await port.imageExists(IMAGE), true, `image ${IMAGE} must exist locally (make testbox)`);
    watching = port.watchEvents((e) => events.push(e), watch.signal);
    net = await createTestNetwork(j, 'net', {
      driver: 'bridge',
      labels: { ...owned, 'fltest.example/purpose': 'adapter-test' },
      internal: false,
      attachable: true,
      enableIPv6: false,
      options: {},
    });
    ipA = `${net.prefix}.10`;
    a = j.container(
      await port.createContainer(
        containerReq(j.name('a'), owned, {
          network: { name: net.name, endpoint: { aliases: ['alpha'], ipv4Address: ipA } },
        }),
      ),
    );
    await port.startContainer(a);
    b = await connectedToNet('b', 'beta');
  });

  after(async () => {
    watch.abort();
    await watching;
    await j.cleanup();
  });

  it('createContainer makes a created container; startContainer runs it; a second start is a no-op', async () => {
    const c = j.container(
      await port.createContainer(containerReq(j.name('start'), { ...owned, 'fltest.example/purpose': 'start' })),
    );
    const created = await raw.getContainer(c).inspect();
    assert.equal(created.Name, `/${j.name('start')}`);
    assert.equal(created.Config.Image, IMAGE);
    assert.equal(created.Config.Labels['fltest.example/purpose'], 'start');
    assert.equal(created.State.Status, 'created');

    await port.startContainer(c);
    const started = await raw.getContainer(c).inspect();
    assert.equal(started.State.Status, 'running');
    assert.ok(started.State.Pid > 0);

    await port.startContainer(c); // 304 already started: fine, and nothing restarts
    const again = await raw.getContainer(c).inspect();
    assert.equal(again.State.Pid, started.State.Pid);
    assert.equal(again.State.StartedAt, started.State.StartedAt);
    await port.removeContainer(c);
  });

  it('snapshot shows the network exactly: labels, subnet, attached containers', async () => {
    const snap = await port.snapshot();
    const n = snap.networks.find((x) => x.name === net.name);
    assert.ok(n, 'network in snapshot');
    assert.deepEqual(n, {
      id: net.id,
      name: net.name,
      driver: 'bridge',
      scope: 'local',
      labels: { ...owned, 'fltest.example/purpose': 'adapter-test' },
      internal: false,
      attachable: true,
      enableIPv6: false,
      subnets: [{ subnet: net.subnet, gateway: net.gateway, ipRange: undefined }],
      options: {},
      containerIds: [a, b].sort(),
    });
  });

  it('snapshot shows endpoints with user aliases only (no short id), IPs without prefix, pids', async () => {
    const snap = await port.snapshot();
    const ca = snap.containers.find((c) => c.id === a);
    const cb = snap.containers.find((c) => c.id === b);
    assert.ok(ca && cb);
    const insA = await raw.getContainer(a).inspect();
    const insB = await raw.getContainer(b).inspect();

    assert.equal(ca.name, j.name('a'));
    assert.equal(ca.state, 'running');
    assert.equal(ca.image, IMAGE);
    assert.equal(ca.networkMode, net.name);
    assert.equal(ca.pid, insA.State.Pid);
    assert.ok(ca.pid > 0);
    assert.ok(ca.startedAt);
    assert.equal(ca.labels[LABEL_MANAGED_BY], MANAGED_BY);
    assert.deepEqual(ca.endpoints, [
      {
        networkId: net.id,
        networkName: net.name,
        ipv4Address: ipA,
        ipv6Address: undefined,
        aliases: ['alpha'],
        macAddress: insA.NetworkSettings.Networks[net.name].MacAddress,
      },
    ]);

    assert.equal(cb.pid, insB.State.Pid);
    assert.equal(cb.networkMode, 'default');
    const onNet = cb.endpoints.find((e) => e.networkName === net.name);
    assert.ok(onNet);
    assert.deepEqual(onNet.aliases, ['beta']);
    assert.equal(onNet.networkId, net.id);
    assert.match(onNet.ipv4Address ?? '', new RegExp(`^${net.prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.ok(
      cb.endpoints.some((e) => e.networkName === 'bridge'),
      'still on the default bridge',
    );
  });

  it('inspectContainer shows a container as snapshot() does, by id or name; undefined when absent', async () => {
    const snap = await port.snapshot();
    const ca = snap.containers.find((c) => c.id === a);
    assert.ok(ca && ca.pid > 0 && ca.endpoints.length === 1);
    assert.deepEqual(await port.inspectContainer(a), ca);
    assert.deepEqual(await port.inspectContainer(j.name('a')), ca);
    assert.deepEqual(
      await port.inspectContainer(b),
      snap.containers.find((c) => c.id === b),
    );
    assert.equal(await port.inspectContainer(j.name('no-such-container')), undefined);
  });

  it('inspectNetwork shows a network as snapshot() does, containers from the inspect; undefined when absent', async () => {
    const n = (await port.snapshot()).networks.find((x) => x.id === net.id);
    assert.ok(n);
    const byId = await port.inspectNetwork(net.id);
    assert.deepEqual(byId, n);
    assert.deepEqual(byId?.containerIds, [a, b].sort());
    assert.deepEqual(await port.inspectNetwork(net.name), n);
    assert.equal(await port.inspectNetwork(j.name('no-such-net')), undefined);
  });

  it('a container on two networks: inspectContainer has both endpoints, inspectNetwork of each lists it, until removed', async () => {
    const second = await createTestNetwork(j, 'second', {
      driver: 'bridge',
      labels: owned,
      internal: false,
      attachable: false,
      enableIPv6: false,
      options: {},
    });
    const c = j.container(
      await port.createContainer(
        containerReq(j.name('two'), owned, { network: { name: net.name, endpoint: { aliases: ['two-a'] } } }),
      ),
    );
    await port.startContainer(c);
    await port.connect(second.name, c, { aliases: ['two-b'], ipv4Address: `${second.prefix}.20` });

    const ins = await port.inspectContainer(c);
    assert.ok(ins);
    assert.deepEqual(
      ins.endpoints.map((e) => [e.networkId, e.networkName, e.aliases]).sort(),
      [
        [net.id, net.name, ['two-a']],
        [second.id, second.name, ['two-b']],
      ].sort(),
    );
    assert.equal(ins.endpoints.find((e) => e.networkId === second.id)?.ipv4Address, `${second.prefix}.20`);
    assert.deepEqual(
      ins,
      (await port.snapshot()).containers.find((x) => x.id === c),
    );
    assert.deepEqual((await port.inspectNetwork(net.id))?.containerIds, [a, b, c].sort());
    assert.deepEqual((await port.inspectNetwork(second.id))?.containerIds, [c]);

    await port.removeContainer(c);
    assert.equal(await port.inspectContainer(c), undefined);
    assert.deepEqual((await port.inspectNetwork(second.id))?.containerIds, []);
    await port.removeNetwork(second.id);
    assert.equal(await port.inspectNetwork(second.id), undefined);
  });

  it('inspectNetwork by a name two networks share is an InvalidRequest; by id each one reads', async () => {
    const first = await createTestNetwork(j, 'twin', {
      driver: 'bridge',
      labels: owned,
      internal: false,
      attachable: false,
      enableIPv6: false,
      options: {},
    });
    // What a create race leaves behind: Docker 20.10 makes a same-named network without CheckDuplicate.
    let twin = '';
    for (let attempt = 0; !twin; attempt++) {
      const subnet = `10.250.${randomBytes(1)[0]}.0/24`;
      try {
        twin = j.network(
          (await raw.createNetwork({ Name: first.name, CheckDuplicate: false, IPAM: { Config: [{ Subnet: subnet }] } }))
            .id,
        );
      } catch (e) {
        if (attempt > 20 || !/overlap/i.test((e as Error).message)) throw e;
      }
    }
    try {
      await assert.rejects(port.inspectNetwork(first.name), (e: unknown) => {
        assert.ok(e instanceof DockerError);
        assert.equal(e.code, 'InvalidRequest');
        assert.match(e.message, /ambiguous/);
        return true;
      });
      assert.equal((await port.inspectNetwork(first.id))?.id, first.id);
      assert.equal((await port.inspectNetwork(twin))?.id, twin);
    } finally {
      await port.removeNetwork(twin);
    }
  });

  it('aliases resolve: ping works both ways between the containers', async () => {
    const ab = await execIn(raw, a, ['ping', '-c', '1', '-W', '3', 'beta']);
    assert.equal(ab.code, 0, ab.output);
    const ba = await execIn(raw, b, ['ping', '-c', '1', '-W', '3', 'alpha']);
    assert.equal(ba.code, 0, ba.output);
  });

  it('connect of an already-connected container: no-op if the endpoint matches, AlreadyConnected if not', async () => {
    await port.connect(net.name, b, { aliases: ['beta'] });
    await port.connect(net.id, a, { aliases: ['alpha'], ipv4Address: ipA });
    await assert.rejects(port.connect(net.name, b, { aliases: ['gamma'] }), (e: unknown) => {
      assert.ok(e instanceof DockerError);
      assert.equal(e.code, 'AlreadyConnected');
      assert.match(e.message, /gamma/);
      assert.match(e.message, /disconnect it first/);
      return true;
    });
    await assert.rejects(
      port.connect(net.name, a, { aliases: [], ipv4Address: `${net.prefix}.99` }),
      /already connected/,
    );
  });

  it("errors carry what failed, Docker's words and the status code", async () => {
    await assert.rejects(
      port.createNetwork({
        name: j.network(j.name('overlap')),
        driver: 'bridge',
        labels: owned,
        internal: false,
        attachable: false,
        enableIPv6: false,
        options: {},
        ipam: { driver: 'default', config: [{ subnet: net.subnet }], options: {} },
      }),
      (e: unknown) => {
        assert.ok(e instanceof DockerError);
        assert.equal(e.statusCode, 403);
        assert.match(e.message, new RegExp(`^create network "${j.name('overlap')}": Docker says "Pool overlaps`));
        assert.match(e.message, /choose a subnet/);
        return true;
      },
    );
    await assert.rejects(port.createContainer(containerReq(j.name('a'), owned)), (e: unknown) => {
      assert.ok(e instanceof DockerError);
      assert.equal(e.statusCode, 409);
      assert.equal(e.code, 'Conflict');
      return true;
    });
    await assert.rejects(
      port.removeNetwork(net.name),
      /has active endpoints.*disconnect or remove its containers first/,
    );
  });

  it('every running container is inspected, labelled or not: a fault may target it and needs its pid', async () => {
    const plain = j.container(await port.createContainer(containerReq(j.name('plain'), {})));
    await port.startContainer(plain);
    const running = (await port.snapshot()).containers.find((c) => c.id === plain);
    assert.ok(running && running.state === 'running', 'listed');
    assert.ok(running.pid > 0 && running.startedAt, 'inspected: pid and start time known');
    await port.removeContainer(plain);
  });

  it('a created, never started container shows its configured endpoint without IP and is not attached', async () => {
    const c = j.container(
      await port.createContainer(
        containerReq(j.name('idle'), owned, { network: { name: net.name, endpoint: { aliases: ['idle'] } } }),
      ),
    );
    const snap = await port.snapshot();
    const ci = snap.containers.find((x) => x.id === c);
    assert.ok(ci);
    assert.equal(ci.state, 'created');
    assert.equal(ci.pid, 0);
    assert.deepEqual(
      ci.endpoints.map((e) => ({ ...e, macAddress: undefined })),
      [
        {
          networkId: net.id,
          networkName: net.name,
          ipv4Address: undefined,
          ipv6Address: undefined,
          aliases: ['idle'],
          macAddress: undefined,
        },
      ],
    );
    assert.ok(!snap.networks.find((n) => n.id === net.id)?.containerIds.includes(c));
    // Its endpoint has no NetworkID yet: inspectContainer resolves the network by name, as snapshot() does.
    assert.deepEqual(await port.inspectContainer(c), ci);
    // The lists alone (what a view's audit compares with) say the same of it, and of a and b.
    const sum = await port.summary();
    const listed = (id: string) => sum.containers.find((x) => x.id === id);
    assert.deepEqual(listed(c), { id: c, state: 'created', networkIds: [net.id] });
    for (const id of [a, b]) {
      const inSnap = snap.containers.find((x) => x.id === id)!;
      assert.deepEqual(listed(id), {
        id,
        state: inSnap.state,
        networkIds: [...new Set(inSnap.endpoints.map((e) => e.networkId))].sort(),
      });
    }
    assert.ok(sum.networks.includes(net.id));
    await port.removeContainer(c);
    assert.equal(
      (await port.summary()).containers.find((x) => x.id === c),
      undefined,
    );
  });

  it('disconnect removes the endpoint; disconnecting again or from a missing network is a no-op', async () => {
    const d = await connectedToNet('disc', 'delta');
    await port.disconnect(net.name, d);
    const snap = await port.snapshot();
    assert.ok(!snap.containers.find((c) => c.id === d)?.endpoints.some((e) => e.networkName === net.name));
    assert.deepEqual(snap.networks.find((n) => n.id === net.id)?.containerIds, [a, b].sort());
    await port.disconnect(net.name, d);
    await port.disconnect(j.name('no-such-net'), d);
    await port.disconnect(net.name, j.name('no-such-container'));
    await port.removeContainer(d);
  });

  it('events arrive for start, connect, disconnect, die and destroy', async () => {
    const ev = await connectedToNet('events', 'epsilon');
    await port.disconnect(net.name, ev);
    await port.stopContainer(ev, 1);
    await port.stopContainer(ev, 1); // already stopped: fine
    await port.removeContainer(ev);
    const has = (type: string, action: string, pred: (e: DockerEvent) => boolean) =>
      assert.ok(
        events.some((e) => e.type === type && e.action === action && pred(e)),
        `${type} ${action} event`,
      );
    await eventually(
      () => {
        has('container', 'start', (e) => e.actorId === ev);
        has('network', 'connect', (e) => e.actorId === net.id && e.attributes.container === ev);
        has('network', 'disconnect', (e) => e.actorId === net.id && e.attributes.container === ev);
        has('container', 'die', (e) => e.actorId === ev && e.attributes.name === j.name('events'));
        has('container', 'destroy', (e) => e.actorId === ev);
        return true;
      },
      'every event of the container',
      10_000,
    );
    const start = events.find((e) => e.action === 'start' && e.actorId === ev);
    assert.equal(start?.attributes[LABEL_MANAGED_BY], MANAGED_BY, 'container events carry labels');
    assert.ok((start?.time ?? 0) > 1_600_000_000);
  });

  it('removals are idempotent and the snapshot no longer shows removed objects', async () => {
    const gone = await createTestNetwork(j, 'gone', {
      driver: 'bridge',
      labels: owned,
      internal: false,
      attachable: false,
      enableIPv6: false,
      options: {},
    });
    const c = j.container(
      await port.createContainer(
        containerReq(j.name('gone'), owned, { network: { name: gone.name, endpoint: { aliases: [] } } }),
      ),
    );
    await port.startContainer(c);
    await port.removeContainer(c); // force: a running container goes too
    await port.removeContainer(c);
    await port.stopContainer(c);
    await port.removeNetwork(gone.name);
    await port.removeNetwork(gone.name);
    const snap = await port.snapshot();
    assert.ok(!snap.networks.some((n) => n.id === gone.id));
    assert.ok(!snap.containers.some((x) => x.id === c));
    await assert.rejects(port.startContainer(c), (e: unknown) => e instanceof DockerError && e.code === 'NotFound');
  });
});

describe('docker adapter connection options', () => {
  it('reaches the engine through a DOCKER_HOST-style unix:// address', async () => {
    await createDockerPort({ host: 'unix:///var/run/docker.sock' }).ping();
  });

  it('an unreachable engine is an Unreachable error that says what to check', async () => {
    await assert.rejects(createDockerPort({ socketPath: '/nonexistent/fltest-adp.sock' }).ping(), (e: unknown) => {
      assert.ok(e instanceof DockerError);
      assert.equal(e.code, 'Unreachable');
      assert.equal(e.statusCode, undefined);
      assert.match(
        e.message,
        /^ping the Docker engine: cannot reach the Docker engine \(ENOENT: .*is the Docker engine running/,
      );
      return true;
    });
  });
});
