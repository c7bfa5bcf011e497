// Which process stands for the host's network namespace (where Docker's bridges and the FORWARD
// chain live): the Docker daemon's. Pid 1 is the usual answer, but not always an enterable one (a
// sandboxed init may refuse /proc/1/ns/net even to root), and a controller may itself run in
// another namespace; the daemon is, by definition, where its bridges are.
import { readdir, readFile } from 'node:fs/promises';

/**
 * The IPv4 routes of a process's network namespace (`/proc/<pid>/net/route`) as CIDRs, the default
 * route left out: what the host already reaches, which faultline's address pools must not cover.
 * Unreadable (another pid namespace): none.
 *
 *   Iface Destination Gateway  Flags ... Mask        →  0000FC0A / 00FFFFFF  →  10.252.0.0/24
 */
export async function hostRoutes(pid: number): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/route`, 'utf8');
  } catch {
    return [];
  }
  const le = (hex: string) => {
    const n = parseInt(hex, 16) >>> 0;
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  };
  const out = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]) || !/^[0-9A-Fa-f]{8}$/.test(f[7])) continue;
    const mask = le(f[7]);
    const prefix = mask.reduce((n, b) => n + (b.toString(2).match(/1/g)?.length ?? 0), 0);
    if (prefix === 0) continue;
    out.add(`${le(f[1]).join('.')}/${prefix}`);
  }
  return [...out].sort();
}

/** A process named `dockerd` in /proc: its pid, its parent's, and when it started (clock ticks since boot). */
export interface DockerdProc {
  pid: number;
  ppid: number;
  start: number;
}

/**
 * The daemon among the processes named `dockerd`. Every program dockerd runs (iptables at each
 * network and container it creates) is, between its fork and its exec, a child still named
 * `dockerd`; once pids wrap, such a child can come first in /proc, and be gone by the time its
 * namespace is opened (a CI run failed so: `nsenter: cannot open /proc/1060/ns/net`). So a process
 * whose parent is itself one of them is never the answer, and of the rest the oldest is.
 */
export function pickDaemon(procs: readonly DockerdProc[]): number | undefined {
  const pids = new Set(procs.map((p) => p.pid));
  return procs.filter((p) => !pids.has(p.ppid)).sort((a, b) => a.start - b.start || a.pid - b.pid)[0]?.pid;
}

/** The pid of the running `dockerd` visible in /proc (see pickDaemon), else `fallback`. */
export async function dockerdPid(fallback: number): Promise<number> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return fallback;
  }
  const found: DockerdProc[] = [];
  for (const p of pids) {
    const comm = await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'dockerd') continue;
    // /proc/<pid>/stat: "pid (comm) state ppid ... starttime(22nd) ..."; comm may hold spaces.
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f.length < 20) continue; // gone meanwhile
    found.push({ pid: Number(p), ppid: Number(f[1]), start: Number(f[19]) });
  }
  return pickDaemon(found) ?? fallback;
}
