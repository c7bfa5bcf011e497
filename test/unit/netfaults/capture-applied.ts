// Records fixtures/applied-linux-6.18.json: applies the ledger of applied.ts in a scratch network
// namespace of THIS machine (an `eth0` veth and lo, nothing else) with the programs faultline
// compiles, and stores the kernel's read-back exactly as observe/netns.ts reads it. Root only:
//   node dist/test/unit/netfaults/capture-applied.js      (re-runs itself under `unshare --net`)
// The probe runs in the same namespace first, so the programs are the ones this kernel gets.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PROBE_PROGRAM,
  buildEntries,
  compileLedger,
  parseProbe,
  type LedgerEntry,
  type ProbeResult,
} from '../../../src/netfaults/index.js';
import { readNetns } from '../../../src/observe/readback.js';
import type { NetnsExec } from '../../../src/ports/index.js';
import { APPLIED } from './applied.js';
import { TEST_DIR } from './helpers.js';

function sh(argv: string[], stdin?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

if (process.argv[2] !== '--inside') {
  execFileSync('unshare', ['--net', process.execPath, process.argv[1], '--inside'], { stdio: 'inherit' });
} else {
  sh(['ip', 'link', 'set', 'lo', 'up']);
  sh(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  sh(['ip', 'link', 'set', 'eth0', 'up']);
  const results: ProbeResult[] = PROBE_PROGRAM.map((s) => ({ id: s.id, ...sh(s.argv) }));
  const caps = parseProbe(results);
  const entries: LedgerEntry[] = APPLIED.flatMap(([s, f, r]) => buildEntries(s, f, r, caps).entries);
  const c = compileLedger({ netns: 'api', interfaces: ['eth0'], entries }, caps);
  for (const step of c.apply.steps) {
    const r = sh(step.argv, step.stdin);
    if (r.code !== 0) throw new Error(`${step.what}: ${r.stderr}\n${step.stdin}`);
  }
  const exec: NetnsExec = { run: async (_t, argv, stdin) => sh(argv, stdin) };
  const back = await readNetns(exec, { pid: process.pid, containerId: 'scratch' });
  const file = join(TEST_DIR, 'fixtures', 'applied-linux-6.18.json');
  writeFileSync(file, JSON.stringify(back.raw, null, 1) + '\n');
  console.log(`wrote ${file} (${c.apply.steps.length} programs applied; caps ${JSON.stringify(caps)})`);
}
