// The container adapter's answer to a start that a stale endpoint refuses (left in a network's store
// by an engine that stopped part-way: moby#20398, #33796). The engine's answer is the one this
// machine's dockerd 20.10 gave during a restart; the client is a recording fake of dockerode's.
import test from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { engineCalls } from '../../../src/adapters/docker/client.js';
import { modemError } from '../fakes/modem.js';
import { containerOps } from '../../../src/adapters/docker/containers.js';

function fakeClient(o: { starts: (Error | undefined)[]; name?: string; labels?: Record<string, string> }) {
  const calls: string[] = [];
  const endpoint = {
    IPAMConfig: { IPv4Address: '10.247.3.5' },
    Aliases: ['b', 'f00dcafe'],
    DriverOpts: { 'faultline.dev/owner': 's' },
  };
  const client = {
    getContainer: (id: string) => ({
      start: async () => {
        calls.push(`start ${id}`);
        const e = o.starts.shift();
        if (e) throw e;
      },
      inspect: async () => {
        calls.push(`inspect ${id}`);
        return {
          Name: `/${o.name ?? 's_b'}`,
          Config: { Labels: o.labels ?? {} },
          NetworkSettings: { Networks: { s_net: endpoint } },
        };
      },
      remove: async (opts: { force: boolean }) => {
        calls.push(`remove ${id} force=${opts.force}`);
      },
    }),
    getNetwork: (n: string) => ({
      disconnect: async (opts: { Container: string; Force: boolean }) => {
        calls.push(`disconnect ${n} ${opts.Container} force=${opts.Force}`);
      },
      connect: async (opts: { Container: string; EndpointConfig: object }) => {
        calls.push(`connect ${n} ${opts.Container} ${JSON.stringify(opts.EndpointConfig)}`);
      },
    }),
  };
  return { ops: containerOps(engineCalls(client as unknown as Docker, 5_000)), calls, endpoint };
}

const stale = () => modemError(403, 'endpoint with name s_b already exists in network s_net');

test("a start refused by the container's own stale endpoint: forced off the network, connected again as it was, started", async () => {
  const { ops, calls, endpoint } = fakeClient({ starts: [stale()] });
  await ops.startContainer('s_b');
  assert.deepEqual(calls, [
    'start s_b',
    'inspect s_b',
    'disconnect s_net s_b force=true',
    `connect s_net s_b ${JSON.stringify({ IPAMConfig: endpoint.IPAMConfig, Aliases: endpoint.Aliases, DriverOpts: endpoint.DriverOpts })}`,
    'start s_b',
  ]);
});

test('the repair is tried once: a second refusal is the error', async () => {
  const { ops, calls } = fakeClient({ starts: [stale(), stale()] });
  await assert.rejects(ops.startContainer('s_b'), /endpoint with name s_b already exists in network s_net/);
  assert.equal(calls.filter((c) => c.startsWith('disconnect')).length, 1);
});

test("another container's endpoint, or any other refusal, is never touched", async () => {
  const other = fakeClient({ starts: [stale()], name: 's_c' });
  await assert.rejects(other.ops.startContainer('s_c'), /already exists/);
  assert.deepEqual(other.calls, ['start s_c', 'inspect s_c'], 'the endpoint named is not this container: left alone');
  const refused = fakeClient({
    starts: [modemError(500, 'failed to update store for object type *libnetwork.endpoint')],
  });
  await assert.rejects(refused.ops.startContainer('s_b'), /HTTP 500/);
  assert.deepEqual(refused.calls, ['start s_b']);
});

const staleTask = () =>
  modemError(500, 'task e7f7d0e1b9f6182bdd709efc3e5d8964ca0d788de65e3edccb593f665f3cd2fb: already exists');

test("a start refused by a task Docker kept from before a restart: faultline's container is removed, to be made again", async () => {
  const ours = fakeClient({ starts: [staleTask()], labels: { 'faultline.dev/managed-by': 'faultline' } });
  await assert.rejects(ours.ops.startContainer('s_b'), /removed, to be made again from the spec/);
  assert.deepEqual(ours.calls, ['start s_b', 'inspect s_b', 'remove s_b force=true']);
  const theirs = fakeClient({ starts: [staleTask()] });
  await assert.rejects(theirs.ops.startContainer('s_b'), /remove the container and create it again/);
  assert.deepEqual(theirs.calls, ['start s_b', 'inspect s_b'], "anyone else's container is left alone");
});
