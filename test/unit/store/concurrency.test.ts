// THE test of the store: a person saving a scenario file a thousand times, as fast as a machine
// can, half the saves by temp+rename (vim, sed -i) and half in place (VS Code), while the store
// writes status into the same file in a loop as fast as it can. The person checks before every
// edit that all of their earlier edits are still there. No edit may ever go missing, not even for
// an instant that the person could observe.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseDocument } from 'yaml';
import { specHash } from '../../../src/api/hash.js';
import type { ScenarioStatus } from '../../../src/api/types.js';
import { ScenarioStore } from '../../../src/store/index.js';
import { loadNative } from '../../../src/store/native.js';
import { scratch } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const EDITS = 1000;

interface WriterReport {
  edits: number;
  violationCount: number;
  violations: { edit: number; problem: string }[];
  elapsedMs: number;
}

function statusNo(i: number): ScenarioStatus {
  return {
    observedGeneration: 1,
    phase: 'Running',
    lastReconcile: { time: '2025-01-01T00:00:00Z', durationMs: i % 7, operations: i },
    events: [{ time: '2025-01-01T00:00:00Z', type: 'Normal', reason: 'Reconciled', message: `pass ${i}` }],
  };
}

it(
  `loses none of ${EDITS} concurrent edits (half temp+rename, half in place) to racing status writes`,
  { skip: loadNative() === null ? 'needs Linux renameat2 and leases (koffi)' : false, timeout: 60_000 },
  async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'race.yaml');
      writeFileSync(
        file,
        'apiVersion: faultline.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: race\nspec:\n  description: "edit 0"\n  networks:\n    - name: n1\n',
      );
      const store = new ScenarioStore({ durable: false });
      const child = spawn(process.execPath, [join(here, 'fixtures', 'edit-writer.js'), file, String(EDITS), 'mixed'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      let running = true;
      void exited.then(() => (running = false));

      let i = 0;
      let written = 0;
      let merged = 0;
      const landed = new Set<number>(); // statuses whose write completed
      while (running) {
        i++;
        const r = await store.writeStatus(file, statusNo(i));
        assert.ok(r.written || r.reason === 'unchanged', `status write ${i}: ${r.written ? '' : r.message}`);
        if (r.written) {
          written++;
          landed.add(i);
          if (r.merged) merged++;
        }
        await yieldToLoop(); // let the child's exit be noticed
      }
      assert.equal(await exited, 0);
      const report = JSON.parse(out) as WriterReport;

      assert.deepEqual(report.violations, [], `the person saw ${report.violationCount} of their edits missing`);
      const text = readFileSync(file, 'utf8');
      const lines = new Set(text.split('\n'));
      const missing = [];
      for (let k = 1; k <= EDITS; k++) if (!lines.has(`# edit ${k}`)) missing.push(k);
      assert.deepEqual(missing, [], 'edits missing from the final file');
      const final = parseDocument(text).toJS() as { spec: { description: string }; status?: ScenarioStatus };
      assert.equal(final.spec.description, `edit ${EDITS}`);

      // The file's status is one the loop wrote (an in-place save may carry an older one of ours
      // back: the person's save wins, the controller writes again on the next event) ...
      const seen = final.status?.lastReconcile?.operations;
      assert.ok(seen !== undefined && landed.has(seen), `status in the file: ${JSON.stringify(final.status)}`);
      // ... and once the person stops, the next write restores exactly the latest status.
      const last = await store.writeStatus(file, statusNo(i + 1));
      assert.ok(last.written);
      const after = parseDocument(readFileSync(file, 'utf8')).toJS() as { spec: unknown; status: ScenarioStatus };
      assert.deepEqual(after.status, { ...statusNo(i + 1), specHash: specHash(after.spec) });

      assert.deepEqual(readdirSync(s.dir), ['race.yaml'], 'no temp files left');
      assert.ok(written >= 20, `only ${written} status writes raced the edits`);
      assert.ok(merged > 0, 'no status write met a concurrent save: the test did not race');
      console.log(
        `# ${EDITS} edits in ${report.elapsedMs} ms raced ${i} status writes; ${written} landed, ${merged} merged a concurrent save`,
      );
    } finally {
      s.cleanup();
    }
  },
);
