// A network plugin driver, passed through to Docker: the test serves a tiny legacy network plugin
// ("p2p": its two endpoints are the two ends of one veth pair, no bridge, no host path) on a unix
// socket in /run/docker/plugins, the way Weave's legacy plugin is served. faultline knows nothing of
// it: it creates the network with the plugin's name as the driver, status notes that the driver is
// a plugin's, members join, and a partition between the two containers is placed inside their
// namespaces and proven by packets. (examples/weave.yaml, where no Weave runs, ends in Docker's own
// error: examples-net.test.ts.)
import assert from 'node:assert/strict';
import test from 'node:test';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { TESTBOX, uniqueName } from './lib.js';
import { addressOf, failing, fixture, freeSubnet, hostLinesOf, injected, pingMatrix, ready } from './netlib.js';

const run = promisify(execFile);
const PLUGINS = '/run/docker/plugins';

/**
 * The remote network driver protocol of libnetwork (docs/remote.md), for two endpoints: the first
 * Join gets one end of a fresh veth pair, the second the other end.
 */
async function p2pPlugin(t: test.TestContext): Promise<{ name: string; calls: string[] }> {
  const name = uniqueName('fltest-p2p');
  const socket = `${PLUGINS}/${name}.sock`;
  const calls: string[] = [];
  const tag = name.slice(-6);
  let pending: string | undefined; // the veth end the second Join gets
  const join = async (): Promise<unknown> => {
    if (pending) {
      const end = pending;
      pending = undefined;
      return { InterfaceName: { SrcName: end, DstPrefix: 'eth' } };
    }
    const a = `flp${tag}a`;
    const b = `flp${tag}b`;
    await run('ip', ['link', 'del', a]).catch(() => undefined);
    await run('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    pending = b;
    return { InterfaceName: { SrcName: a, DstPrefix: 'eth' } };
  };
  // Docker starts both members at once, so their Joins can overlap: answered one at a time, or the
  // second Join (seeing no pending end yet) would delete the first's pair and hand out its name
  // again, and one container's start would fail with "Link not found" (then started again: 3 Joins).
  let joins: Promise<unknown> = Promise.resolve();
  const answer = async (path: string): Promise<unknown> => {
    switch (path) {
      case '/Plugin.Activate':
        return { Implements: ['NetworkDriver'] };
      case '/NetworkDriver.GetCapabilities':
        return { Scope: 'local', ConnectivityScope: 'local' };
      case '/NetworkDriver.EndpointOperInfo':
        return { Value: {} };
      case '/NetworkDriver.Join': {
        const next = joins.then(join);
        joins = next.catch(() => undefined);
        return next;
      }
      default:
        return {}; // CreateNetwork, DeleteNetwork, CreateEndpoint, DeleteEndpoint, Leave, Discover*, ...
    }
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '';
      calls.push(path);
      answer(path).then(
        (body) => {
          res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
          res.end(JSON.stringify(body));
        },
        (e: Error) => {
          res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
          res.end(JSON.stringify({ Err: e.message }));
        },
      );
    });
  });
  await mkdir(PLUGINS, { recursive: true });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(socket, { force: true });
    // Either end still in the host's namespace (a member that never started) takes the pair with it.
    for (const end of ['a', 'b']) await run('ip', ['link', 'del', `flp${tag}${end}`]).catch(() => undefined);
  });
  return { name, calls };
}

test('a plugin driver: passed to Docker as is, noted in status, its members joined, a partition placed in their namespaces', async (t) => {
  // The fixture first: its teardown (containers, network) runs before the plugin's (node runs
  // after-hooks in the order they were added). The other way round, Docker found the plugin gone
  // when it removed the members, and retried Leave and DeleteEndpoint for about 15 s each while
  // holding its locks: calls of other tests on the same engine hung for 30 s (seen beside
  // run-command.test.ts).
  const fx = await fixture(t); // host path on: a plugin network must still not use it
  const plugin = await p2pPlugin(t);
  const sub = await freeSubnet();
  const spec = (faults: string) => `  networks:
    - name: link
      driver: ${plugin.name}
      ipam: { config: [{ subnet: ${sub.v4} }] }
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members:
    - network: link
      select: { names: [a, b] }
${faults}`;
  await fx.write(spec(''));
  const s = await ready(fx.file);
  const net = s.status!.networks![0];
  assert.equal(net.driver, plugin.name, "Docker's network has the plugin as its driver");
  assert.match(net.message ?? '', new RegExp(`driver "${plugin.name}" is a network plugin's, not built into Docker`));
  assert.ok(plugin.calls.includes('/NetworkDriver.CreateNetwork'), 'Docker asked the plugin to create it');
  assert.equal(plugin.calls.filter((c) => c === '/NetworkDriver.Join').length, 2, 'both members joined through it');
  const names = ['a', 'b'];
  const ips = new Map(
    await Promise.all(names.map(async (n) => [n, await addressOf(fx.dn(n), fx.dn('link'))] as const)),
  );
  assert.deepEqual(failing(await pingMatrix(names, fx.dn, ips)), [], "a and b talk over the plugin's link");

  await fx.write(
    spec(`  faults:
    - { name: split, partition: { groups: [[a], [b]] } }
`),
  );
  const f = await injected(fx.file, 'split', 2);
  assert.deepEqual(
    f.targets!.map((x) => x.mechanism),
    ['iptables', 'iptables'],
    'inside the namespaces',
  );
  assert.deepEqual(await hostLinesOf(fx, 'split'), [], "nothing in the host's FORWARD path");
  assert.deepEqual(failing(await pingMatrix(names, fx.dn, ips)), ['a>b', 'b>a']);
});
