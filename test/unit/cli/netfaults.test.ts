// The network-fault wiring reaches Docker only through the port it is given: pointed at an engine
// that does not exist, it must fail there, not quietly use whatever DOCKER_HOST names. No daemon is
// contacted (the socket path does not exist).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createDockerPort } from '../../../src/adapters/docker/port.js';
import { DockerError } from '../../../src/adapters/docker/errors.js';
import { createKernel } from '../../../src/cli/netfaults.js';

describe('createKernel', () => {
  it('in helper mode, ensures the helper on the Docker port’s engine', async () => {
    const port = createDockerPort({ socketPath: '/nonexistent/fltest-netfaults.sock' });
    await assert.rejects(createKernel(port, { mode: 'helper' }, pino({ level: 'silent' }), 'fltest'), (e: unknown) => {
      assert.ok(e instanceof DockerError, String(e));
      assert.equal(e.code, 'Unreachable');
      assert.match(e.message, /ENOENT.*\/nonexistent\/fltest-netfaults\.sock/);
      return true;
    });
  });
});
