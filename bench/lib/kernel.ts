// Benchmarks measure the kernel, never faultline's status: this module watches rule changes from
// the outside (`nft monitor` and `tc monitor` in the host's namespace and in each container's,
// every line stamped with the wall clock when it arrives) and reads the kernel back
// (`iptables-save`, through nsenter) to confirm a change is complete before a figure is taken.
//
//   const w = await KernelWatch.start({ host: true, pids: [4242, 4243] });
//   const t0 = wallMs(); await saveByRename(file, text);
//   await w.until(() => partitionInKernel(...), 'partition in the kernel');   // read back
//   const ms = (await w.settled(t0)) - t0;   // the last change the monitors saw after t0
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dockerdPid } from '../../src/adapters/hostns.js';

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes). */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export interface KernelEvent {
  at: number;
  where: string; // "host" or a pid
  tool: 'nft' | 'tc';
  line: string;
}

/** Save like an editor or git: a temp file renamed over the target (never a half-written file). */
export async function saveByRename(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

export class KernelWatch {
  readonly events: KernelEvent[] = [];
  private readonly children: ChildProcess[] = [];

  private constructor() {}

  /** Monitors in the host's namespace (the Docker daemon's) and in the namespaces of `pids`. */
  static async start(o: { host: boolean; pids: number[]; tc?: boolean }): Promise<KernelWatch> {
    const w = new KernelWatch();
    const where: [string, number][] = [
      ...(o.host ? [['host', await dockerdPid(process.pid)] as [string, number]] : []),
      ...o.pids.map((p) => [String(p), p] as [string, number]),
    ];
    const ready: Promise<void>[] = [];
    const exits: (() => string | undefined)[] = [];
    for (const [label, pid] of where) {
      for (const tool of o.tc === false ? (['nft'] as const) : (['nft', 'tc'] as const)) {
        const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, tool, 'monitor'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        w.children.push(child);
        let stderr = '';
        child.stderr!.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-500)));
        exits.push(() =>
          child.exitCode === null && child.signalCode === null
            ? undefined
            : `${tool} monitor in ${label} exited (${child.exitCode ?? child.signalCode}): ${stderr.trim() || 'no message'}`,
        );
        createInterface({ input: child.stdout! }).on('line', (line) =>
          w.events.push({ at: wallMs(), where: label, tool, line }),
        );
        ready.push(
          new Promise((resolve, reject) => {
            child.once('spawn', () => resolve());
            child.once('error', (e) =>
              reject(
                new Error(
                  `cannot start ${tool} monitor (${e.message}): install nftables and iproute2 (make bench does)`,
                ),
              ),
            );
          }),
        );
      }
    }
    await Promise.all(ready);
    // A monitor subscribes to netlink after it starts: give it a moment before anything changes.
    await new Promise((r) => setTimeout(r, 300));
    // nsenter starts even when the tool is missing, and a monitor that ended sees nothing: a watch
    // without its monitors would take "no change seen" for a fact.
    const gone = exits.map((f) => f()).filter((x) => x !== undefined);
    if (gone.length) {
      w.stop();
      throw new Error(`${gone.join('; ')} — install nftables and iproute2 (make bench does)`);
    }
    return w;
  }

  /**
   * Poll `check` (a read of the kernel) until it holds. With `since` (the save), the reads start
   * only once the monitors saw a change after it (in `where`, if given) and then nothing for 50 ms:
   * a read is a program started by this process (nsenter, iptables-save), and started while the
   * controller works it would take one of this machine's two cores from it, and hold this
   * process's event loop while the stamps of the changes wait in the pipe. Nothing seen for 5 s:
   * the reads start anyway (and decide, as without `since`).
   */
  async until(
    check: () => Promise<boolean>,
    what: string,
    o: { since?: number; where?: string; timeoutMs?: number } = {},
  ): Promise<void> {
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    if (o.since !== undefined) {
      const mine = (e: KernelEvent) => o.where === undefined || e.where === o.where;
      const giveUp = wallMs() + 5_000;
      for (;;) {
        const last = this.lastAfter(o.since, mine);
        if ((last !== undefined && wallMs() - last >= 50) || wallMs() > giveUp) break;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`the kernel never showed: ${what} (${o.timeoutMs ?? 120_000} ms)`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * The instant of the last change seen after `since`, once the monitors have been quiet for
   * `quietMs` (so a change still on its way is not missed). Throws when nothing changed at all:
   * a figure with no kernel change behind it is not a figure.
   */
  async settled(
    since: number,
    quietMs = 400,
    filter: (e: KernelEvent) => boolean = () => true,
    giveUpMs = 60_000,
  ): Promise<number> {
    for (;;) {
      const last = this.lastAfter(since, filter);
      if (last !== undefined && wallMs() - last >= quietMs) return last;
      if (last === undefined && wallMs() - since > giveUpMs)
        throw new Error('no kernel change was seen after the save');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  lastAfter(since: number, filter: (e: KernelEvent) => boolean = () => true): number | undefined {
    let last: number | undefined;
    for (const e of this.events) if (e.at > since && filter(e) && (last === undefined || e.at > last)) last = e.at;
    return last;
  }

  firstAfter(since: number, filter: (e: KernelEvent) => boolean = () => true): number | undefined {
    let first: number | undefined;
    for (const e of this.events) if (e.at > since && filter(e) && (first === undefined || e.at < first)) first = e.at;
    return first;
  }

  stop(): void {
    for (const c of this.children) c.kill('SIGTERM');
  }
}

/** Median and percentiles of a sample. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** One line of the table `make bench` prints (bench/run-all.sh collects them from stdout). */
export function result(r: {
  figure: string;
  value: number;
  unit: string;
  floor?: number;
  goal?: string;
  note?: string;
}): void {
  console.log(`RESULT ${JSON.stringify(r)}`);
}

/** The kernel floor for a partition of n measured here and now (../shared/tools/floor/partition-floor.sh). */
export async function partitionFloor(n: number, reps = 5): Promise<Record<string, number> | undefined> {
  const script = new URL('../../../../shared/tools/floor/partition-floor.sh', import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = spawn('bash', [script, String(n), String(reps)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      const figures: Record<string, number> = {};
      for (const m of out.matchAll(/^\s+(apply|apply\+read|remove|host|host\+read)\s+(\d+) ms/gm))
        figures[m[1]] = Number(m[2]);
      resolve(figures);
    });
  });
}
