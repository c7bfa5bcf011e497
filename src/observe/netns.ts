// Read a container's network namespace back: tc qdiscs/classes/filters, links and iptables-save,
// through a NetnsExec (nsenter or the helper container), parsed by netfaults/readback.
import { isOwnedIfb, observeNetns, parseIpLinks, readbackCommands, type ObservedNetns } from '../netfaults/index.js';
import type { NetnsExec } from '../ports/index.js';

export interface NetnsTarget {
  pid: number;
  containerId: string;
}

export interface NetnsReadback {
  observed: ObservedNetns;
  /** The container's own interfaces (eth0, eth1…): not lo, not our ifbs. */
  interfaces: string[];
  commands: number;
}

async function must(exec: NetnsExec, target: NetnsTarget, argv: string[]): Promise<string> {
  const r = await exec.run(target, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in container ${target.containerId.slice(0, 12)} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** iptables-save may be missing or the table unreadable: that is "no owned chains", not a failure. */
async function maybe(exec: NetnsExec, target: NetnsTarget, argv: string[]): Promise<string | null> {
  const r = await exec.run(target, argv);
  return r.code === 0 ? r.stdout : null;
}

export async function readNetns(exec: NetnsExec, target: NetnsTarget): Promise<NetnsReadback> {
  const [qdiscs, links, iptables, ip6tables] = await Promise.all([
    must(exec, target, ['tc', '-j', 'qdisc', 'show']),
    must(exec, target, ['ip', '-j', '-d', 'link', 'show']),
    maybe(exec, target, ['iptables-save']),
    maybe(exec, target, ['ip6tables-save']),
  ]);
  const all = parseIpLinks(links);
  const interfaces = all.filter((l) => l.name !== 'lo' && !isOwnedIfb(l.name)).map((l) => l.name).sort();
  const ifbs = all.filter((l) => isOwnedIfb(l.name)).map((l) => l.name);
  const perDevice: Record<string, { classes?: string; filters?: string; ingressFilters?: string }> = {};
  const perDev = readbackCommands(interfaces, ifbs).filter((c) => c.dev);
  const outs = await Promise.all(perDev.map((c) => must(exec, target, c.argv)));
  perDev.forEach((c, i) => {
    const d = (perDevice[c.dev!] ??= {});
    if (c.id === 'classes') d.classes = outs[i];
    else if (c.id === 'filters') d.filters = outs[i];
    else if (c.id === 'ingress-filters') d.ingressFilters = outs[i];
  });
  return { observed: observeNetns({ qdiscs, links, iptables, ip6tables, perDevice }), interfaces, commands: 4 + perDev.length };
}
