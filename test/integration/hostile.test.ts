// Generated hostile specs through ONE live controller (issue 9, item 4). The generator is the unit
// tests' (test/unit/api/hostile.ts: the examples mutated at the text and value level); the unit
// tests put 1,000 of them through validate and the store. Here a few hundred invalid ones land in
// the watched directory at once, beside a healthy scenario with a fault in the kernel:
//   - no reconcile crashes, nothing is logged at error level, no unhandled rejection;
//   - each file gets a located error (file:line:col where the text has one) in the log, and in its
//     status when it can take one; and only once: it is not retried while it does not change;
//   - no Docker object and no rule for any of them; the healthy scenario stays Ready on the same
//     objects, with its fault verified and its rules unchanged.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseScenario } from '../../src/api/parse.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { hostileSpec } from '../unit/api/hostile.js';
import {
  capturedLog,
  docker,
  eventually,
  hostOwnedLines,
  netnsIptablesSave,
  readScenario,
  startController,
  tempDir,
  teardown,
  TESTBOX,
  uniqueName,
} from './lib.js';

const COUNT = Number(process.env.FAULTLINE_HOSTILE_COUNT ?? 1000);

function healthyYaml(name: string, subnet: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet} }] } }]
  containers:
    - { name: server, image: ${TESTBOX} }
    - { name: client, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [server, client] } }]
  faults:
    - { name: hole, targets: { names: [server] }, protocol: icmp, direction: ingress, blackhole: {} }
`;
}

test(
  `${COUNT} generated hostile specs through a live controller beside a healthy scenario: no crash, each a located error once, nothing created, the healthy one untouched`,
  { timeout: 600_000 },
  async (t) => {
    const dir = await tempDir();
    const scope = controllerIdFor(dir);
    const run = uniqueName('hostile');
    const healthy = `${run}-healthy`;
    const hfile = join(dir, `${healthy}.yaml`);
    const { log, lines } = capturedLog('info');
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => void rejections.push(e);
    process.on('unhandledRejection', onRejection);
    const ctl = await startController(dir, { log });
    t.after(async () => {
      process.off('unhandledRejection', onRejection);
      await teardown(ctl, dir, [healthy]);
    });

    await writeFile(hfile, healthyYaml(healthy, `10.219.${Math.floor(Math.random() * 256)}.0/24`));
    const verified = async () => {
      const s = await readScenario(hfile);
      const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && s.status?.faults?.[0]?.targets?.every((x) => x.verified) ? s : undefined;
    };
    const first = await eventually(verified, 'the healthy scenario Ready, its fault verified', 60_000);
    const readySince = first.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime;
    const objects = async () =>
      [
        ...(await docker('ps', '-aq', '--no-trunc', '--filter', `label=faultline.dev/controller=${scope}`)).split('\n'),
        ...(
          await docker('network', 'ls', '-q', '--no-trunc', '--filter', `label=faultline.dev/controller=${scope}`)
        ).split('\n'),
      ]
        .filter(Boolean)
        .sort();
    const serverPid = Number((await docker('inspect', '-f', '{{.State.Pid}}', `${healthy}_server`)).trim());
    const kernel = async () => ({
      server: (await netnsIptablesSave(serverPid)).filter((l) => l.includes('FAULTLINE') || l.includes('faultline:')),
      host: await hostOwnedLines(scope),
    });
    const objectsBefore = await objects();
    const kernelBefore = await kernel();

    // The specs: each named apart (where its name survived the mutations), the valid ones left out.
    const seed = Number(process.env.FAULTLINE_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`fast-check seed ${seed} (FAULTLINE_HOSTILE_SEED=${seed} replays it)`);
    const files: { path: string; text: string; applied: string[] }[] = [];
    let valid = 0;
    for (const [i, h] of fc.sample(hostileSpec, { seed, numRuns: COUNT }).entries()) {
      const path = join(dir, `h${String(i).padStart(4, '0')}.yaml`);
      const text = h.text.replace(/^(\s*name:\s*)[a-z0-9-]+\s*$/m, `$1${run}-${i}`);
      if (parseScenario(text, path).ok) {
        valid++;
        continue;
      }
      files.push({ path, text, applied: h.applied });
    }
    t.diagnostic(`${COUNT} generated: ${files.length} invalid written into the directory, ${valid} valid left out`);
    const loggedAt = lines.length;
    for (const f of files) await writeFile(f.path, f.text, 'utf8');

    // Every file reported, where a person looks: the log names the file and where in it.
    const reported = (path: string) =>
      lines.slice(loggedAt).filter((l) => (l as { file?: string }).file === path && l.level === 40);
    await eventually(
      () => files.every((f) => reported(f.path).length > 0),
      `every file reported (${files.filter((f) => reported(f.path).length > 0).length} of ${files.length} so far)`,
      300_000,
    ).catch((e: Error) => {
      const missing = files.filter((f) => reported(f.path).length === 0).slice(0, 3);
      for (const m of missing) t.diagnostic(`not reported: ${m.path} (${m.applied.join(', ')})`);
      throw e;
    });
    await ctl.controller.idle();
    let located = 0;
    const unlocated: string[] = [];
    let withStatus = 0;
    for (const f of files) {
      const msgs = reported(f.path).map((l) => l.msg);
      assert.ok(
        msgs.every((m) => m.startsWith(`${f.path}:`) || m.startsWith(`${f.path} `)),
        `${f.path}: each message names the file: ${msgs[0]}`,
      );
      if (msgs.some((m) => new RegExp(`^${f.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `).test(m)))
        located++;
      else {
        // Only a problem of the whole file goes without a place in it: its size (read no further).
        assert.ok(
          msgs.some((m) => /a Scenario file may be at most/.test(m)),
          `${f.path}: no line:col in ${msgs.join(' | ')} [${f.applied.join(', ')}]`,
        );
        if (unlocated.length < 3) unlocated.push(`${msgs[0]} [${f.applied.join(', ')}]`);
      }
      const now = await readFile(f.path, 'utf8');
      const disk = Buffer.from(f.text, 'utf8').toString('utf8'); // as written: a lone surrogate is U+FFFD
      if (now !== disk) {
        // Written: only a status saying why, the person's text kept. faultline only inserts (the
        // generation, a line end, the status entry) into a file without a status of its own, so the
        // text as it is on disk is a subsequence of it.
        let i = 0;
        for (let k = 0; k < now.length && i < disk.length; k++) if (now[k] === disk[i]) i++;
        assert.ok(
          i === disk.length || /^status\s*:/m.test(disk),
          `${f.path}: the text kept (from ${JSON.stringify(disk.slice(i, i + 60))} on, it is not in the file)`,
        );
        assert.match(
          now,
          /type: Valid\s[\s\S]*status: "False"|status: "False"[\s\S]*type: Valid/,
          `${f.path}: Valid=False (the file ends: ${JSON.stringify(now.slice(-300))})`,
        );
        withStatus++;
      }
    }
    t.diagnostic(
      `${files.length} reported in the log (${located} with file:line:col, the rest over the size limit: the file and its size), ${withStatus} also in their status`,
    );

    for (const u of unlocated) t.diagnostic(`without line:col: ${u}`);
    // Once: 10 s later, nothing more is said about them (a final answer until the file changes).
    const said = lines.length;
    await new Promise((r) => setTimeout(r, 10_000));
    const again = lines.slice(said).filter((l) => files.some((f) => f.path === (l as { file?: string }).file));
    assert.deepEqual(
      again.map((l) => l.msg).slice(0, 5),
      [],
      'an invalid file is not retried while it does not change',
    );

    // No crash, no error, no rejection.
    const bad = lines.filter((l) => l.level >= 50 || /crashed/.test(l.msg));
    assert.deepEqual(
      bad.slice(0, 5).map((l) => l.msg),
      [],
      'nothing logged at error level',
    );
    assert.deepEqual(rejections, [], 'no unhandled rejection');

    // Nothing created for them; the healthy scenario untouched.
    assert.deepEqual(await objects(), objectsBefore, 'no Docker object but the healthy scenario’s');
    assert.deepEqual(await kernel(), kernelBefore, 'the same rules, none added');
    const s = await verified();
    assert.ok(s, 'the healthy scenario still Ready, its fault verified');
    assert.equal(s.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, readySince);
    assert.equal(ctl.controller.signal.aborted, false, 'the controller runs');
  },
);
