// Which process stands for the host's network namespace (where Docker's bridges and the FORWARD
// chain live): the Docker daemon's. Pid 1 is the usual answer, but not always an enterable one (a
// sandboxed init may refuse /proc/1/ns/net even to root), and a controller may itself run in
// another namespace; the daemon is, by definition, where its bridges are.
import { readdir, readFile } from 'node:fs/promises';

/** The pid of a running `dockerd` visible in /proc, else `fallback`. */
export async function dockerdPid(fallback: number): Promise<number> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return fallback;
  }
  for (const p of pids) {
    const comm = await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'dockerd') return Number(p);
  }
  return fallback;
}
