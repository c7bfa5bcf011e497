// Bridge ports of containers, read from sysfs without entering any namespace: a container's
// `/sys` (through /proc/<pid>/root) shows its own namespace's interfaces, and `iflink` of its veth
// is the ifindex of the peer in the host; the host's `/sys/class/net/*/ifindex` names that peer.
//
//   /proc/4242/root/sys/class/net/eth0/iflink   941
//   /proc/<dockerd>/root/sys/class/net/veth0ed4916/ifindex   941     → eth0's bridge port: veth0ed4916
//
// Plain file reads (no process per container): needs the controller to be root in the host's PID
// namespace, which is what the nsenter executor needs too.
import { readdir, readFile } from 'node:fs/promises';
import type { BridgePortsReader, NetnsTarget } from '../ports/index.js';

async function ifindexes(root: string): Promise<Map<string, { ifindex: string; iflink: string }>> {
  const out = new Map<string, { ifindex: string; iflink: string }>();
  for (const name of await readdir(`${root}/sys/class/net`)) {
    if (name === 'lo') continue;
    const [ifindex, iflink] = await Promise.all(
      ['ifindex', 'iflink'].map((f) =>
        readFile(`${root}/sys/class/net/${name}/${f}`, 'utf8').then(
          (t) => t.trim(),
          () => '',
        ),
      ),
    );
    out.set(name, { ifindex, iflink });
  }
  return out;
}

export function createSysfsBridgePorts(hostPid: () => Promise<number>): BridgePortsReader {
  return {
    async portsOf(targets: readonly NetnsTarget[]) {
      const host = await ifindexes(`/proc/${await hostPid()}/root`);
      const byIndex = new Map([...host].map(([name, x]) => [x.ifindex, name]));
      const out = new Map<string, string[]>();
      await Promise.all(
        targets.map(async (t) => {
          const ifs = await ifindexes(`/proc/${t.pid}/root`).catch(
            () => new Map<string, { ifindex: string; iflink: string }>(),
          );
          // A veth's iflink differs from its own ifindex; the peer in the host is a bridge port.
          const ports = [...ifs.values()]
            .filter((x) => x.iflink && x.iflink !== x.ifindex)
            .flatMap((x) => byIndex.get(x.iflink) ?? []);
          out.set(t.key, [...new Set(ports)].sort());
        }),
      );
      return out;
    },
  };
}
