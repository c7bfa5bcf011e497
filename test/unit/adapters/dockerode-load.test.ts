// dockerode is loaded without its BuildKit session (gRPC) and docker-modem's ssh2, which faultline
// never calls; a deferred module is still there when called.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { loadDockerode } from '../../../src/adapters/docker/load.js';

const cache = () => Object.keys(createRequire(import.meta.url).cache);
const heavy = (k: string) => /[/\\](ssh2|@grpc|protobufjs)[/\\]/.test(k);

test('dockerode loads without gRPC, protobufjs and ssh2', () => {
  const Docker = loadDockerode();
  assert.equal(typeof Docker, 'function');
  assert.ok(
    cache().some((k) => k.includes('dockerode')),
    'dockerode itself is loaded',
  );
  assert.deepEqual(cache().filter(heavy), []);
  // The hook is gone once dockerode is loaded: a require of the same name elsewhere is real.
  assert.equal(typeof createRequire(import.meta.url)('ssh2').Client, 'function');
});

test('an ssh:// engine still works: the deferred ssh module is loaded at its first call', async () => {
  const Docker = loadDockerode();
  // Port 1 on the loopback: refused at once, by ssh2's client (nothing is sent anywhere else).
  const docker = new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'nobody' });
  await assert.rejects(docker.ping(), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
});
