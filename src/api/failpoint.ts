// Failpoints for crash tests: FAULTLINE_FAILPOINTS="status-write=3,netns-step=2" makes the process
// SIGKILL itself the 3rd time it passes the point named status-write (or the 2nd time through
// netns-step): a crash exactly there, which a test then restarts from. Unset (always, outside such
// tests), a point costs one lookup in an empty map. The points:
//
//   status-write  a status is in its temp file, fsynced, not yet exchanged with the scenario's file
//   netns-step    one program of a namespace's batch ran (ip/tc/iptables-restore), the next not yet
//   transition    an armed transition's programs are in the kernel; its status not yet written
//
// Before dying it writes one line to stderr: {"failpoint":"<name>","pass":<n>}.
import { writeSync } from 'node:fs';

let armed: Map<string, number> | undefined;
const passes = new Map<string, number>();

function parse(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^\s*([a-z-]+)=(\d+)\s*$/.exec(part);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export function failpoint(name: string): void {
  armed ??= parse(process.env.FAULTLINE_FAILPOINTS);
  const at = armed.get(name);
  if (at === undefined) return;
  const n = (passes.get(name) ?? 0) + 1;
  passes.set(name, n);
  if (n !== at) return;
  try {
    writeSync(2, JSON.stringify({ failpoint: name, pass: n }) + '\n');
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}
