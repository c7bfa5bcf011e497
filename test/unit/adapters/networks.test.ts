// The network adapter's answer to a removal refused with 403 "has active endpoints" (the words are
// dockerd 20.10's). Endpoints whose containers are gone are dropped by a forced disconnect and the
// network removed again; a live container's endpoint, or a count Docker does not list, is left and
// named in the error. The client is a recording fake of dockerode's.
import test from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { engineCalls } from '../../../src/adapters/docker/client.js';
import { modemError } from '../fakes/modem.js';
import { networkOps } from '../../../src/adapters/docker/networks.js';

const active = () => modemError(403, 'error while removing network: network s_net id 0123abcd has active endpoints');

function fakeClient(o: {
  removes: (Error | undefined)[];
  endpoints: Record<string, { Name: string }>;
  containers: string[]; // ids that still exist
}) {
  const calls: string[] = [];
  const client = {
    getContainer: (id: string) => ({
      inspect: async () => {
        calls.push(`inspect container ${id}`);
        if (!o.containers.includes(id)) throw modemError(404, `No such container: ${id}`);
        return { Id: id, Name: `/${id}` };
      },
    }),
    getNetwork: (n: string) => ({
      remove: async () => {
        calls.push(`remove ${n}`);
        const e = o.removes.shift();
        if (e) throw e;
      },
      inspect: async () => {
        calls.push(`inspect network ${n}`);
        return { Id: '0123abcd', Name: n, Containers: o.endpoints };
      },
      disconnect: async (opts: { Container: string; Force: boolean }) => {
        calls.push(`disconnect ${n} ${opts.Container} force=${opts.Force}`);
      },
    }),
  };
  return { ops: networkOps(engineCalls(client as unknown as Docker, 5_000)), calls };
}

test('endpoints whose containers are gone are forced off by name, and the network is removed', async () => {
  const { ops, calls } = fakeClient({
    removes: [active()],
    endpoints: { c0ffee: { Name: 's_a' }, 'ep-beef': { Name: 's_b' } },
    containers: [],
  });
  await ops.removeNetwork('s_net');
  assert.deepEqual(calls, [
    'remove s_net',
    'inspect network s_net',
    'inspect container c0ffee',
    'disconnect s_net s_a force=true',
    'disconnect s_net s_b force=true',
    'remove s_net',
  ]);
});

test('a container that still exists is never disconnected: the refusal names it', async () => {
  const { ops, calls } = fakeClient({
    removes: [active()],
    endpoints: { c0ffee: { Name: 's_a' }, 'ep-beef': { Name: 's_b' } },
    containers: ['c0ffee'],
  });
  await assert.rejects(ops.removeNetwork('s_net'), /has active endpoints.*containers still attached: s_a/);
  assert.ok(!calls.some((c) => c.startsWith('disconnect')), calls.join('\n'));
  assert.equal(calls.filter((c) => c.startsWith('remove')).length, 1);
});

test('a count of endpoints Docker does not list: the refusal says to restart the engine', async () => {
  const { ops } = fakeClient({ removes: [active()], endpoints: {}, containers: [] });
  await assert.rejects(ops.removeNetwork('s_net'), /does not list.*restart the Docker engine/);
});

test('any other refusal is the error, untouched', async () => {
  const { ops, calls } = fakeClient({ removes: [modemError(500, 'something else')], endpoints: {}, containers: [] });
  await assert.rejects(ops.removeNetwork('s_net'), /something else/);
  assert.deepEqual(calls, ['remove s_net']);
});
