// A NetPlan as text: what each namespace would hold, as the exact programs that install it on a
// namespace where nothing of faultline's is yet — what `faultline plan` prints next to the Docker
// operations, before anything runs. The kernel engine writes only the difference from what it read
// back, so on a namespace that already holds some of it, it writes less.
import { compileLedger, formatDiff, type Capabilities } from '../netfaults/index.js';
import { compileHost, hostProgramFromScratch } from '../netfaults/host.js';
import { hostEntryOf, type HostPath, type NetPlan, type NetnsTarget } from './netplan.js';

export interface NetPlanTextOptions {
  scope: string;
  caps: Capabilities;
  hostPath: HostPath;
  /** A namespace's interfaces (Docker names them eth0, eth1… in attach order). */
  interfacesOf(target: NetnsTarget): string[];
  /** A container's bridge ports, when known; otherwise a placeholder naming the container. */
  portsOf?(target: NetnsTarget): string[] | undefined;
}

export function netPlanToText(plan: NetPlan, o: NetPlanTextOptions): string {
  const out: string[] = [];
  const faults = [...plan.placements.keys()];
  out.push(`Network faults of scenario "${plan.scenario}" active now: ${faults.length ? faults.join(', ') : 'none'}`);
  for (const [fault, places] of plan.placements) {
    for (const p of places) {
      const where = p.skip
        ? `not applied (${p.skip.reason}: ${p.skip.message})`
        : p.noneNeeded
          ? 'nothing needed'
          : [p.host ? 'host FORWARD path' : '', p.netns ? 'its namespace' : ''].filter(Boolean).join(' + ');
      out.push(`  ${fault} → ${p.display}: ${where}`);
    }
  }
  for (const d of plan.degraded) out.push(`  degraded ${d.fault}: ${d.reason}: ${d.message}`);
  for (const c of [...plan.namespaces.values()].sort((a, b) => (a.target.name < b.target.name ? -1 : 1))) {
    const compiled = compileLedger(
      { netns: c.target.key, interfaces: o.interfacesOf(c.target), entries: c.entries },
      o.caps,
    );
    out.push(
      `namespace of ${c.target.name} (${c.target.containerId.slice(0, 12)}):`,
      indent(formatDiff(compiled.apply)),
    );
  }
  if (plan.host.length) {
    const ports = (t: NetnsTarget) => o.portsOf?.(t) ?? [`<bridge port of ${t.name}>`];
    const entries = plan.host.map((h) => hostEntryOf(h, ports));
    for (const [fam, tool, hook] of [
      [4, 'iptables-restore', o.hostPath.v4 ? 'FORWARD' : null],
      [6, 'ip6tables-restore', o.hostPath.v6 ? 'FORWARD' : null],
    ] as const) {
      const program = hostProgramFromScratch(compileHost(o.scope, entries, fam, hook));
      if (program) out.push(`host namespace ($ ${tool} --noflush):`, indent(program));
    }
  }
  return out.join('\n') + '\n';
}

const indent = (t: string) =>
  t
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
