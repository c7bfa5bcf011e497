// Run a ledger diff's steps inside one namespace, in order, each one program with its stdin
// (`ip -batch -`, `tc -batch -`, `iptables-restore --noflush`). No decisions: the diff decided.
// The IPv4 and IPv6 restores that follow each other are independent (separate tables): they run
// at the same time, so a change to both families costs one program's time, not two.
import type { ExecStep } from '../netfaults/index.js';
import type { NetnsExec } from '../ports/index.js';
import { failpoint } from '../api/failpoint.js';

const FAMILY_RESTORES = new Set(['iptables-restore', 'ip6tables-restore']);

export async function runSteps(
  exec: NetnsExec,
  target: { pid: number; containerId: string },
  steps: readonly ExecStep[],
): Promise<{ ran: number; error?: string }> {
  let ran = 0;
  for (let i = 0; i < steps.length;) {
    // One step, or the run of restores starting here (at most one per family).
    let j = i + 1;
    if (FAMILY_RESTORES.has(steps[i].argv[0]))
      while (j < steps.length && FAMILY_RESTORES.has(steps[j].argv[0]) && steps[j].argv[0] !== steps[i].argv[0]) j++;
    const group = steps.slice(i, j);
    const results = await Promise.all(group.map((s) => exec.run(target, s.argv, s.stdin)));
    ran += group.length;
    failpoint('netns-step');
    const bad = group.findIndex((_, k) => results[k].code !== 0);
    if (bad >= 0) {
      const s = group[bad];
      const r = results[bad];
      return {
        ran,
        error: `${s.what} (${s.argv.join(' ')}) exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ')}`,
      };
    }
    i = j;
  }
  return { ran };
}
