// Helpers for the netem tests (test/netem/): a capability probe, busybox ping statistics, a
// binomial acceptance interval and Docker helpers for throw-away test containers.
//
// These tests need a kernel with sch_netem. The development machines' kernel has none, so
// `make netem` runs dist/test/netem/ inside a QEMU guest (scripts/netem-vm/test-netem.sh) where
// NETEM_VM=1 and FAULTLINE_NETEM_REQUIRED=1 are set. Outside the guest every netem test SKIPS with
// the probe's reason; inside it a missing capability is a FAILURE (never a silent pass).
//
// Deliberately self-contained (node:child_process only, argument arrays, never a shell string): the
// harness must keep working while src/ is being rewritten, and it is what proves src/ right.
import { eventually } from '../eventually.js';
import { binomialInterval } from '../../src/netfaults/probe.js';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { platform, release } from 'node:os';

/** Every container and network these tests create is named with this prefix. */
export const CONTAINER_PREFIX = 'fltest-netem-';
/** Label put on everything the netem tests create (`docker ps --filter label=...`). */
export const TEST_LABEL = 'faultline.dev/test=netem';
export const TESTBOX_IMAGE = process.env.TESTBOX_IMAGE ?? 'faultline/testbox:latest';
/** Set by scripts/netem-vm/run-in-vm.sh inside the QEMU guest. */
export const IN_GUEST = process.env.NETEM_VM === '1';
/** Set by scripts/netem-vm/test-netem.sh: a test that cannot run must fail, not skip. */
export const NETEM_REQUIRED = process.env.FAULTLINE_NETEM_REQUIRED === '1';
/** Under TCG emulation every exec is slow (docker CLI ~1 s); scale timeouts with this. */
export const SLOW = IN_GUEST ? 20 : 1;

// ------------------------------------------------------------------------------------ processes

export interface RunResult {
  /** Exit code; 127 when the program could not be started (e.g. not installed). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args...` (no shell) and resolves with its exit code and output; never rejects. */
export function run(file: string, args: readonly string[], timeoutMs = 30_000 * SLOW): Promise<RunResult> {
  return new Promise((resolve) => {
    // SIGKILL: the docker CLI catches SIGTERM and may exit 0 with nothing printed (a hung exec
    // would read as a success).
    const opts = { timeout: timeoutMs, killSignal: 'SIGKILL' as const, maxBuffer: 16 << 20, encoding: 'utf8' as const };
    execFile(file, [...args], opts, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
      if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
      if (e.code === 'ENOENT') return resolve({ code: 127, stdout, stderr: `${file}: not found` });
      const why = e.killed ? `killed after ${timeoutMs} ms (${e.signal ?? 'timeout'})` : e.message;
      resolve({ code: 128, stdout, stderr: `${stderr}${stderr ? '\n' : ''}${file}: ${why}` });
    });
  });
}

/** Like run() but rejects unless the exit code is 0; the error names the command and its stderr. */
export async function runOk(file: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await run(file, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${[file, ...args].join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

// ------------------------------------------------------------------------------------ probes

export interface Capability {
  ok: boolean;
  /** Why not, in words fit for a skip message. */
  reason?: string;
}

let netemProbe: Promise<Capability> | undefined;

/**
 * Probes (once per process) whether `tc qdisc add dev <veth> root netem` succeeds in a scratch
 * network namespace that is created and deleted here. Nothing outside that namespace is touched.
 */
export function netemAvailable(): Promise<Capability> {
  netemProbe ??= probeNetem();
  return netemProbe;
}

async function probeNetem(): Promise<Capability> {
  if (platform() !== 'linux') return { ok: false, reason: `netem needs Linux (this is ${platform()})` };
  if (process.getuid?.() !== 0) {
    return {
      ok: false,
      reason: 'not root: cannot create a scratch netns to probe for sch_netem (run `make netem` as root)',
    };
  }
  const ns = `${CONTAINER_PREFIX}probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = await run('ip', ['netns', 'add', ns]);
  if (add.code === 127) return { ok: false, reason: 'iproute2 (ip, tc) is not installed' };
  if (add.code !== 0) return { ok: false, reason: `cannot create a scratch netns: ${oneLine(add.stderr)}` };
  try {
    const veth = await run('ip', ['-n', ns, 'link', 'add', 'name', 'fltp0', 'type', 'veth', 'peer', 'name', 'fltp1']);
    if (veth.code !== 0) return { ok: false, reason: `cannot create a veth pair: ${oneLine(veth.stderr)}` };
    const tc = await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'fltp0', 'root', 'netem', 'delay', '1ms']);
    if (tc.code === 0) return { ok: true };
    if (/qdisc kind is unknown|Unknown qdisc|No such file or directory/i.test(tc.stderr)) {
      return {
        ok: false,
        reason: `kernel ${release()} has no sch_netem (run \`make netem\` for the QEMU guest)`,
      };
    }
    return { ok: false, reason: `tc qdisc add ... netem failed: ${oneLine(tc.stderr)}` };
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}

/** Whether a Docker engine answers and the test image exists. */
export async function dockerAvailable(image = TESTBOX_IMAGE): Promise<Capability> {
  const v = await run('docker', ['version', '--format', '{{.Server.Version}}'], 20_000 * SLOW);
  if (v.code === 127) return { ok: false, reason: 'the docker CLI is not installed' };
  if (v.code !== 0) return { ok: false, reason: `no Docker engine answers: ${oneLine(v.stderr)}` };
  const img = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
  if (img.code !== 0) return { ok: false, reason: `image ${image} is missing (scripts/build-testbox.sh builds it)` };
  return { ok: true };
}

function oneLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || '(no output)';
}

// ------------------------------------------------------------------------------------ ping

export interface PingStats {
  sent: number;
  /** Distinct replies (busybox does not count duplicates as received). */
  received: number;
  /** Average RTT in ms over the distinct replies; NaN when none arrived. */
  avgMs: number;
  /** Population standard deviation of the RTTs (what iputils calls mdev); NaN when none. */
  mdevMs: number;
  minMs: number;
  maxMs: number;
  dups: number;
  /** RTT of each distinct reply, in arrival order. */
  rtts: number[];
  /** icmp_seq of each distinct reply, in arrival order (out of order = reordered on the way). */
  seqs: number[];
}

/**
 * Parses the output of busybox `ping` (the testbox's ping), e.g.
 *   64 bytes from 172.18.0.2: seq=0 ttl=64 time=80.412 ms
 *   64 bytes from 172.18.0.2: seq=0 ttl=64 time=81.002 ms (DUP!)
 *   --- 172.18.0.2 ping statistics ---
 *   50 packets transmitted, 49 packets received, 1 duplicates, 2% packet loss
 *   round-trip min/avg/max = 70.1/80.3/90.2 ms
 * busybox prints no mdev, so it is computed here from the per-reply times.
 */
export function parseBusyboxPing(out: string): PingStats {
  const summary = /(\d+) packets transmitted, (\d+) packets received(?:, (\d+) duplicates)?/.exec(out);
  if (!summary) throw new Error(`not busybox ping output (no statistics line):\n${out.slice(-500)}`);
  const rtts: number[] = [];
  const seqs: number[] = [];
  let dupLines = 0;
  for (const line of out.split('\n')) {
    const m = /bytes from .*time=([\d.]+) ms/.exec(line);
    if (!m) continue;
    if (line.includes('(DUP!)')) dupLines++;
    else {
      rtts.push(Number(m[1]));
      seqs.push(Number(/seq=(\d+)/.exec(line)?.[1] ?? NaN));
    }
  }
  const n = rtts.length;
  const mean = n ? rtts.reduce((a, b) => a + b, 0) / n : NaN;
  const mdev = n ? Math.sqrt(Math.max(0, rtts.reduce((a, b) => a + b * b, 0) / n - mean * mean)) : NaN;
  return {
    sent: Number(summary[1]),
    received: Number(summary[2]),
    avgMs: mean,
    mdevMs: mdev,
    minMs: n ? Math.min(...rtts) : NaN,
    maxMs: n ? Math.max(...rtts) : NaN,
    dups: summary[3] !== undefined ? Number(summary[3]) : dupLines,
    rtts,
    seqs,
  };
}

/**
 * `docker exec <container> ping -c count -i intervalSec -W waitSec target` and its statistics.
 * Losing every packet is a result, not an error; only output that is not ping's is.
 */
export async function pingStats(
  container: string,
  target: string,
  count: number,
  intervalSec: number,
  waitSec = 2,
): Promise<PingStats> {
  const args = [
    'exec',
    container,
    'ping',
    '-c',
    String(count),
    '-i',
    String(intervalSec),
    '-W',
    String(waitSec),
    target,
  ];
  const budget = (count * intervalSec + waitSec + 10) * 1000 + 30_000 * SLOW;
  const r = await run('docker', args, budget);
  try {
    return parseBusyboxPing(r.stdout);
  } catch (err) {
    throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`, { cause: err });
  }
}

// ------------------------------------------------------------------------------------ statistics

/**
 * The count interval [lo, hi] in which a Binomial(n, p) count falls with probability >= 99% (exact
 * quantiles; the probe's own interval, src/netfaults/probe.ts, at 99 %).
 * E.g. 30% loss over 200 pings: binomialInterval99(200, 0.3) -> [44, 77] packets lost.
 */
export function binomialInterval99(n: number, p: number): [number, number] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be within [0, 1], got ${p}`);
  return binomialInterval(n, p, 0.99);
}

// ------------------------------------------------------------------------------------ docker

/** A name unique to this test process: fltest-netem-<pid>-<suffix>. */
export function testName(suffix: string): string {
  return `${CONTAINER_PREFIX}${process.pid}-${suffix}`;
}

function assertOurs(name: string): void {
  if (!name.startsWith(CONTAINER_PREFIX)) {
    throw new Error(`refusing to touch "${name}": netem test objects are named ${CONTAINER_PREFIX}*`);
  }
}

/** A user-defined bridge network for the test containers. */
export async function createTestNetwork(name: string): Promise<void> {
  assertOurs(name);
  await runOk('docker', ['network', 'create', '--driver', 'bridge', '--label', TEST_LABEL, name]);
}

export async function removeTestNetwork(name: string): Promise<void> {
  assertOurs(name);
  await run('docker', ['network', 'rm', name]);
}

export interface TestContainer {
  name: string;
  id: string;
  /** Host PID of its init: the netns is /proc/<pid>/ns/net. */
  pid: number;
  /** Its address on `network`. */
  ip: string;
}

/**
 * Starts a testbox container (default command: sleep) on `network`. Ask for specific capabilities
 * with capAdd; never --privileged (it fails on the development machines).
 */
export async function startTestContainer(
  name: string,
  network: string,
  opts: { image?: string; capAdd?: string[]; command?: string[] } = {},
): Promise<TestContainer> {
  assertOurs(name);
  const args = ['run', '-d', '--name', name, '--network', network, '--label', TEST_LABEL];
  for (const cap of opts.capAdd ?? []) args.push('--cap-add', cap);
  args.push(opts.image ?? TESTBOX_IMAGE, ...(opts.command ?? []));
  const id = (await runOk('docker', args)).trim();
  const fmt = `{{.State.Pid}} {{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}`;
  const [pid, ip] = (await runOk('docker', ['inspect', '--format', fmt, id])).trim().split(/\s+/);
  if (!pid || Number(pid) <= 0 || !ip)
    throw new Error(`container ${name} is not running on ${network} (pid=${pid} ip=${ip})`);
  return { name, id, pid: Number(pid), ip };
}

/** Force-removes every container whose name starts with `prefix` (itself fltest-netem-*). */
export async function removeTestContainers(prefix = CONTAINER_PREFIX): Promise<string[]> {
  assertOurs(prefix);
  const ls = await run('docker', ['ps', '-a', '--filter', `name=${prefix}`, '--format', '{{.Names}}']);
  const names = ls.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(prefix));
  if (names.length) await run('docker', ['rm', '-f', ...names]);
  return names;
}

/**
 * A suite's teardown. On the host it is awaited whole: what it leaves would stay. In the netem
 * guest (thrown away after the run) a teardown that outlives `boundMs` is left as it stands, said on
 * stderr, so that a dockerd slow to remove a container under emulation does not fail tests that
 * all passed (it did once: `docker rm -f` hung past the 360 s of the suite's hook).
 */
export async function teardown(what: string, boundMs: number, fn: () => Promise<void>): Promise<void> {
  if (!IN_GUEST) return fn();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), boundMs)));
  const done = fn().then(() => 'done' as const);
  try {
    if ((await Promise.race([done, late])) === 'late') {
      process.stderr.write(
        `${what}: teardown not done after ${boundMs / 1000} s in the netem guest; left to the guest's end\n`,
      );
      done.catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------------ netns / tc

/** Runs `cmd args...` inside the network namespace of host PID `pid` (nsenter, no shell). */
export function inNetns(pid: number, cmd: string, args: readonly string[]): Promise<string> {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid ${pid}`);
  return runOk('nsenter', [`--net=/proc/${pid}/ns/net`, '--', cmd, ...args]);
}

/**
 * Sets the root qdisc of `dev` to netem with exactly `params` (e.g. ['delay', '80ms', '10ms']).
 * `replace`, not `change`: change keeps earlier netem parameters that `params` does not mention.
 */
export function setNetem(pid: number, dev: string, params: readonly string[]): Promise<string> {
  return inNetns(pid, 'tc', ['qdisc', 'replace', 'dev', dev, 'root', 'netem', ...params]);
}

/** Removes the root qdisc of `dev` (back to the default); a missing root qdisc is not an error. */
export async function clearRootQdisc(pid: number, dev: string): Promise<void> {
  const r = await run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
  if (r.code !== 0 && !/No such file|Cannot delete qdisc with handle of zero|Invalid handle/i.test(r.stderr)) {
    throw new Error(`tc qdisc del dev ${dev} root: ${r.stderr.trim()}`);
  }
}

export interface Qdisc {
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: Record<string, unknown>;
}

/** `tc -j qdisc show dev <dev>` inside the netns of `pid`, parsed. */
export async function showQdiscs(pid: number, dev: string): Promise<Qdisc[]> {
  return JSON.parse(await inNetns(pid, 'tc', ['-j', 'qdisc', 'show', 'dev', dev])) as Qdisc[];
}

// ------------------------------------------------------------------------------------ waiting / transfer

/** The one polling helper (test/eventually.ts), with the guest's slowness in its default timings. */
export function waitFor<T>(
  fn: () => Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 30_000 * SLOW,
  everyMs = 250 * Math.min(SLOW, 4),
): Promise<T> {
  return eventually(fn, what, timeoutMs, everyMs);
}

/**
 * Serves a file of `bytes` zero bytes from `container` with busybox httpd on `port` (in the
 * container's own /tmp, nothing on the host). Traffic from a download leaves through the
 * container's egress, so this is how a bandwidth fault on it is measured.
 */
export async function serveBlob(container: string, bytes: number, port = 8080): Promise<string> {
  const kib = Math.ceil(bytes / 1024);
  const script = `mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/blob bs=1024 count=${kib} 2>/dev/null && httpd -p ${port} -h /tmp/www`;
  await runOk('docker', ['exec', container, 'sh', '-c', script]);
  return `/blob`;
}

export interface Transfer {
  bytes: number;
  /** Wall time of the download measured inside the container (/proc/uptime, 10 ms resolution). */
  seconds: number;
  /** bytes * 8 / seconds. */
  bitsPerSecond: number;
}

/**
 * `wget` of http://host:port/path from inside `container`, timed inside the container (so the
 * slow `docker exec` of an emulated guest does not count). Rejects when the download fails.
 */
export async function timedDownload(
  container: string,
  host: string,
  path: string,
  bytes: number,
  port = 8080,
): Promise<Transfer> {
  const url = `http://${host}:${port}${path}`;
  const script =
    `s=$(cut -d' ' -f1 /proc/uptime); wget -q -O /tmp/dl ${url}; rc=$?; e=$(cut -d' ' -f1 /proc/uptime); ` +
    `n=$(wc -c < /tmp/dl); rm -f /tmp/dl; echo "$rc $s $e $n"`;
  const out = (await runOk('docker', ['exec', container, 'sh', '-c', script], 120_000 * SLOW)).trim();
  const [rc, s, e, n] = out.split(/\s+/).map(Number);
  if (rc !== 0 || n !== Math.ceil(bytes / 1024) * 1024)
    throw new Error(`wget ${url} in ${container}: rc=${rc}, ${n} bytes (${out})`);
  const seconds = Math.max(e - s, 0.01);
  return { bytes: n, seconds, bitsPerSecond: (n * 8) / seconds };
}

/** Replies that arrived after a reply with a higher icmp_seq (i.e. were overtaken). */
export function overtaken(seqs: readonly number[]): number {
  let max = -Infinity;
  let n = 0;
  for (const s of seqs) {
    if (s < max) n++;
    else max = s;
  }
  return n;
}

/** The root qdisc of `dev` in the netns of `pid` (undefined: the kernel's default, none shown as root). */
export async function rootQdisc(pid: number, dev: string): Promise<Qdisc | undefined> {
  return (await showQdiscs(pid, dev)).find((q) => q.root);
}
