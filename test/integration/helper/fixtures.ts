// Fixtures for the helper-executor tests. Every Docker object is named fltest-hlp-<run>-<what> and
// removed by name in cleanup(), failures included: other engineers share this engine.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const PREFIX = 'fltest-hlp-';
export const TESTBOX = 'faultline/testbox';

/** Runs scripts/build-helper-image.sh; resolves with the image it printed and how long it took. */
export async function buildHelperImage(): Promise<{ image: string; ms: number; log: string }> {
  const script = fileURLToPath(new URL('../../../../scripts/build-helper-image.sh', import.meta.url));
  const t0 = Date.now();
  const { stdout, stderr } = await run('bash', [script], { maxBuffer: 16 << 20, timeout: 300_000 });
  return { image: stdout.trim(), ms: Date.now() - t0, log: stderr };
}

/** Tracks what one test file created (by name) and removes exactly that. */
export class Lab {
  readonly run = randomBytes(3).toString('hex');
  readonly docker = new Docker();
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();

  name(what: string): string {
    return `${PREFIX}${this.run}-${what}`;
  }
  /** Registers a container name for removal (before it exists, so a half-made one goes too). */
  container(name: string): string {
    this.containers.add(name);
    return name;
  }

  /** A user-defined bridge on a random free /24 of 10.250.0.0/16 (others' tests hold some). */
  async network(what: string): Promise<{ name: string; prefix: string }> {
    const name = this.name(what);
    this.networks.add(name);
    for (let attempt = 0; ; attempt++) {
      const prefix = `10.250.${randomBytes(1)[0]}`;
      try {
        await this.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
          Labels: { 'fltest.example/run': this.run },
        });
        return { name, prefix };
      } catch (e) {
        if (attempt < 20 && /overlap/i.test((e as Error).message)) continue;
        throw e;
      }
    }
  }

  /** A running testbox on `network` with a static address; resolves with its id, pid and IP. */
  async testbox(what: string, network: string, ip: string, extra: Partial<Docker.ContainerCreateOptions> = {}) {
    const name = this.container(this.name(what));
    const c = await this.docker.createContainer({
      name,
      Image: TESTBOX,
      Labels: { 'fltest.example/run': this.run },
      StopTimeout: 1,
      HostConfig: { NetworkMode: network },
      NetworkingConfig: { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: ip } } } },
      ...extra,
    });
    await c.start();
    const info = await c.inspect();
    return { id: info.Id, pid: info.State.Pid, ip, name };
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const c of this.containers) {
      await this.docker
        .getContainer(c)
        .remove({ force: true, v: true })
        .catch((e: { statusCode?: number }) => e.statusCode === 404 || errors.push(e));
    }
    for (const n of this.networks) {
      await this.docker
        .getNetwork(n)
        .remove()
        .catch((e: { statusCode?: number }) => e.statusCode === 404 || errors.push(e));
    }
    if (errors.length) throw new AggregateError(errors, 'cleanup of fltest-hlp objects failed');
  }
}

/** iptables-save output without what legitimately differs between two runs (date, counters). */
export function normalizeSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}
