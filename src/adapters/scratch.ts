// A scratch network namespace for the capability probe: `unshare --net -- sleep` as a child
// process; the probe enters it by pid like any container. Nothing else lives there, so probing
// (adding an htb root to its `lo`, creating chains) can disturb nothing.
import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { HELPER_LABELS } from '../api/ownership.js';

export async function createScratchNetns(
  timeoutMs = 5_000,
): Promise<{ pid: number; containerId: string; release(): Promise<void> }> {
  const child = spawn('unshare', ['--net', '--', 'sleep', '600'], { stdio: 'ignore' });
  const pid = child.pid;
  if (!pid) throw new Error('cannot start `unshare --net` for the capability probe (is util-linux installed?)');
  const release = async () => {
    child.kill('SIGKILL');
  };
  // unshare switches namespaces right after exec: until then /proc/<pid>/ns/net is OURS, and the
  // probe must never run in the controller's own namespace. Wait until it differs.
  const mine = await readlink('/proc/self/ns/net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const theirs = await readlink(`/proc/${pid}/ns/net`).catch(() => undefined);
    if (theirs && theirs !== mine) return { pid, containerId: `scratch-${pid}`, release };
    if (child.exitCode !== null || Date.now() > deadline) {
      await release();
      throw new Error(
        `\`unshare --net\` did not create a namespace (exit ${child.exitCode}); faultline needs root (CAP_SYS_ADMIN) to probe the kernel`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * In helper mode (no root on the engine's host), the scratch namespace is a throwaway container
 * of the helper image with `--network none`: an empty namespace the helper can enter by pid.
 */
export async function createScratchContainer(
  docker: import('dockerode'),
  image: string,
): Promise<{ pid: number; containerId: string; release(): Promise<void> }> {
  const c = await docker.createContainer({
    Image: image,
    Cmd: ['sleep', '600'],
    Labels: { ...HELPER_LABELS },
    HostConfig: { NetworkMode: 'none', AutoRemove: true, CapDrop: ['ALL'] },
  });
  const release = async () => {
    await c.remove({ force: true }).catch(() => undefined);
  };
  try {
    await c.start();
    const pid = (await c.inspect()).State.Pid;
    if (!pid) throw new Error('scratch container has no pid');
    return { pid, containerId: c.id, release };
  } catch (e) {
    await release();
    throw new Error(
      `cannot start a scratch container from ${image} for the capability probe: ${(e as Error).message}; build it with scripts/build-helper-image.sh`,
      { cause: e },
    );
  }
}
