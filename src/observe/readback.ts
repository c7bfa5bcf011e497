// Reading a network namespace back, through a NetnsExec (nsenter or the helper container), parsed
// by netfaults/readback. Whole, when nothing is known of it (4 programs however many devices it
// has), or in part after a write: only the tables the write touched (1 program each).
//
//   full:   ip -j -d link show                       → devices, owned ifbs
//           tc -j -batch -   (one program for every device, lo included — DNS faults shape there:
//                             qdiscs, and per device its egress filters, classes and ingress filters)
//           tc qdisc show    (text; only when a tbf has a peak bucket: iproute2 6.1 prints its
//                             peak rate in text only)
//           iptables-save / ip6tables-save            (in parallel with tc)
//   part:   iptables-save after an iptables-restore; tc -j -batch - for the devices a tc program
//           touched; ip -j -d link show when ifbs were created or deleted.
import { isOwnedIfb, observeNetns, parseIpLinks, SAFE_IFNAME, type ObservedNetns } from '../netfaults/index.js';
import type { NetnsExec } from '../ports/index.js';

export interface NetnsReadTarget {
  pid: number;
  containerId: string;
}

/** Raw program output, kept so a part can be re-read and the whole parsed again. */
interface RawReadback {
  links: string;
  qdiscs: string;
  qdiscsText?: string;
  perDevice: Record<string, { classes?: string; filters?: string; ingressFilters?: string }>;
  iptables: string | null;
  ip6tables: string | null;
}

export interface NetnsReadback {
  observed: ObservedNetns;
  /** The namespace's own interfaces (eth0, eth1…): not lo, not our ifbs. */
  interfaces: string[];
  /** Programs this read ran. */
  commands: number;
  raw: RawReadback;
}

export type ReadPart = 'tc' | 'links' | 'iptables' | 'ip6tables';

async function must(exec: NetnsExec, target: NetnsReadTarget, argv: string[], stdin?: string): Promise<string> {
  const r = await exec.run(target, argv, stdin);
  if (r.code !== 0)
    throw new Error(
      `${argv.join(' ')} in container ${target.containerId.slice(0, 12)} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return r.stdout;
}

/** iptables-save may be missing or the table unreadable: that is "no owned chains", not a failure. */
async function maybe(exec: NetnsExec, target: NetnsReadTarget, argv: string[]): Promise<string | null> {
  const r = await exec.run(target, argv);
  return r.code === 0 ? r.stdout : null;
}

/**
 * One `tc -j -batch -` reading every device. Each JSON command prints exactly one line starting
 * with "["; `class show` prints text lines ("class htb 1fa1:2a3b root …", iproute2 6.1 ignores -j
 * there) or, in newer iproute2, one JSON line. Counting the "[" lines tells which: as many as the
 * JSON commands → classes are text; as many as all commands → classes are JSON too.
 */
async function readTc(
  exec: NetnsExec,
  target: NetnsReadTarget,
  devs: string[],
): Promise<Pick<RawReadback, 'qdiscs' | 'perDevice' | 'qdiscsText'>> {
  type Cmd = { dev?: string; what: 'qdiscs' | 'filters' | 'classes' | 'ingressFilters'; line: string };
  const cmds: Cmd[] = [{ what: 'qdiscs', line: 'qdisc show' }];
  for (const dev of devs) {
    cmds.push({ dev, what: 'filters', line: `filter show dev ${dev}` });
    cmds.push({ dev, what: 'classes', line: `class show dev ${dev}` });
    cmds.push({ dev, what: 'ingressFilters', line: `filter show dev ${dev} ingress` });
  }
  const out = await must(exec, target, ['tc', '-j', '-batch', '-'], cmds.map((c) => c.line).join('\n') + '\n');
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const jsonLines = lines.filter((l) => l.startsWith('[')).length;
  const classesAreJson = jsonLines === cmds.length;
  const perDevice: RawReadback['perDevice'] = {};
  let qdiscs = '[]';
  let i = 0;
  for (const c of cmds) {
    let text: string;
    if (c.what === 'classes' && !classesAreJson) {
      const own: string[] = [];
      while (i < lines.length && !lines[i].startsWith('[')) own.push(lines[i++]);
      text = own.join('\n');
    } else {
      if (i >= lines.length || !lines[i].startsWith('['))
        throw new Error(
          `tc -batch read-back in container ${target.containerId.slice(0, 12)}: no output for "${c.line}"`,
        );
      text = lines[i++];
    }
    if (c.what === 'qdiscs') qdiscs = text;
    else (perDevice[c.dev!] ??= {})[c.what] = text;
  }
  // a tbf with a peak bucket shows "minburst" in JSON; its peak rate only in text
  const qdiscsText = qdiscs.includes('"minburst"') ? await must(exec, target, ['tc', 'qdisc', 'show']) : undefined;
  return { qdiscs, perDevice, ...(qdiscsText !== undefined ? { qdiscsText } : {}) };
}

function parse(raw: RawReadback, commands: number): NetnsReadback {
  const links = parseIpLinks(raw.links);
  const interfaces = links
    .filter((l) => l.name !== 'lo' && !isOwnedIfb(l.name))
    .map((l) => l.name)
    .sort();
  return { observed: observeNetns(raw), interfaces, commands, raw };
}

/**
 * Every device, lo included (a DNS fault's tree lives there), but one whose name a tc program would
 * misread (SAFE_IFNAME: "e#0" reads as "e"): never named in a program, read back or written; the
 * compiler says which (UnsafeInterfaceName).
 */
const devicesOf = (links: string) =>
  parseIpLinks(links)
    .map((l) => l.name)
    .filter((n) => SAFE_IFNAME.test(n))
    .sort();

/** Read the whole namespace (what faultline may own there). */
export async function readNetns(exec: NetnsExec, target: NetnsReadTarget): Promise<NetnsReadback> {
  const links = await must(exec, target, ['ip', '-j', '-d', 'link', 'show']);
  const [tc, iptables, ip6tables] = await Promise.all([
    readTc(exec, target, devicesOf(links)),
    maybe(exec, target, ['iptables-save']),
    maybe(exec, target, ['ip6tables-save']),
  ]);
  return parse({ links, ...tc, iptables, ip6tables }, 4);
}

/** Re-read only `parts` of a namespace read before (after a write that touched only them). */
export async function rereadNetns(
  exec: NetnsExec,
  target: NetnsReadTarget,
  prev: NetnsReadback,
  parts: ReadonlySet<ReadPart>,
): Promise<NetnsReadback> {
  const raw: RawReadback = { ...prev.raw, perDevice: { ...prev.raw.perDevice } };
  let commands = 0;
  if (parts.has('links')) {
    raw.links = await must(exec, target, ['ip', '-j', '-d', 'link', 'show']);
    commands++;
  }
  const jobs: Promise<unknown>[] = [];
  if (parts.has('tc') || parts.has('links')) {
    jobs.push(
      readTc(exec, target, devicesOf(raw.links)).then((tc) => {
        raw.qdiscs = tc.qdiscs;
        raw.perDevice = tc.perDevice;
        raw.qdiscsText = tc.qdiscsText;
      }),
    );
  }
  if (parts.has('iptables')) jobs.push(maybe(exec, target, ['iptables-save']).then((t) => (raw.iptables = t)));
  if (parts.has('ip6tables')) jobs.push(maybe(exec, target, ['ip6tables-save']).then((t) => (raw.ip6tables = t)));
  commands += jobs.length;
  await Promise.all(jobs);
  return parse(raw, commands);
}
