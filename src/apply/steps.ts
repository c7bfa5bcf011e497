// Run a ledger diff's steps inside one namespace, in order, each one program with its stdin
// (`ip -batch -`, `tc -batch -`, `iptables-restore --noflush`). No decisions: the diff decided.
import type { ExecStep } from '../netfaults/index.js';
import type { NetnsExec } from '../ports/index.js';
import { failpoint } from '../api/failpoint.js';

export async function runSteps(
  exec: NetnsExec,
  target: { pid: number; containerId: string },
  steps: readonly ExecStep[],
): Promise<{ ran: number; error?: string }> {
  let ran = 0;
  for (const s of steps) {
    const r = await exec.run(target, s.argv, s.stdin);
    ran++;
    failpoint('netns-step');
    if (r.code !== 0) {
      return {
        ran,
        error: `${s.what} (${s.argv.join(' ')}) exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ')}`,
      };
    }
  }
  return { ran };
}
