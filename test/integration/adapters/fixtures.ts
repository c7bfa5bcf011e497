// Shared helpers for the adapter integration tests. Every Docker object created here is named
// fltest-adp-<run>-<what> and registered for cleanup, because other engineers share the engine.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DockerError } from '../../../src/adapters/docker/errors.js';
import type { DockerAdapter } from '../../../src/adapters/docker/port.js';
import type { NetworkCreateRequest } from '../../../src/ports/index.js';

export const PREFIX = 'fltest-adp-';

/** Tracks what one test file created and removes exactly that, containers before networks. */
export class Janitor {
  readonly run = randomBytes(3).toString('hex');
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();
  constructor(readonly port: DockerAdapter) {}

  name(what: string): string {
    return `${PREFIX}${this.run}-${what}`;
  }
  container(idOrName: string): string {
    this.containers.add(idOrName);
    return idOrName;
  }
  network(idOrName: string): string {
    this.networks.add(idOrName);
    return idOrName;
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const c of this.containers) await this.port.removeContainer(c).catch((e) => errors.push(e));
    for (const n of this.networks) await this.port.removeNetwork(n).catch((e) => errors.push(e));
    if (errors.length) throw new AggregateError(errors, 'cleanup of test objects failed');
  }
}

/**
 * Creates a network on a random /24 in 10.250.0.0/16 (the range set aside for these tests on a
 * shared engine), retrying on "Pool overlaps": other people's tests may hold some of those subnets.
 */
export async function createTestNetwork(
  j: Janitor,
  what: string,
  req: Omit<NetworkCreateRequest, 'name' | 'ipam'>,
): Promise<{ id: string; name: string; subnet: string; gateway: string; prefix: string }> {
  const name = j.name(what);
  for (let attempt = 0; ; attempt++) {
    const octet = randomBytes(1)[0];
    const prefix = `10.250.${octet}`;
    const subnet = `${prefix}.0/24`;
    const gateway = `${prefix}.1`;
    try {
      j.network(name);
      const id = await j.port.createNetwork({
        ...req,
        name,
        ipam: { driver: 'default', config: [{ subnet, gateway }], options: {} },
      });
      return { id, name, subnet, gateway, prefix };
    } catch (e) {
      if (attempt < 20 && e instanceof DockerError && /pool overlaps/i.test(e.dockerMessage ?? '')) continue;
      throw e;
    }
  }
}

/** `docker exec` via dockerode, for test-only probing (ping between containers). */
export async function execIn(docker: Docker, id: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const ex = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const info = await ex.inspect();
  // The output keeps Docker's 8-byte frame headers; it is only printed on failure.
  return { code: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
}
