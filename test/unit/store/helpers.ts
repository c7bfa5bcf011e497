// Shared by the store's tests (not a test file itself).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/ports/index.js';
import type { CommitMethod } from '../../../src/store/index.js';

/** A scratch directory, removed when the returned object is disposed (or by `cleanup`). */
export function scratch(prefix = 'faultline-store-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clock whose sleep runs `onSleep` (the world changing while we wait) and returns at once. */
export function scriptedClock(onSleep: (ms: number, call: number) => void = () => {}): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(0),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      onSleep(ms, sleeps.length);
    },
  };
}

/** A scenario as a person writes it: comments, odd spacing, flow maps, quoting. */
export const SCENARIO = `# yaml-language-server: $schema=../crds/scenario.schema.json
apiVersion: faultline.dev/v1alpha1
kind: Scenario

metadata:
  name: split-brain            # unique in the directory
  labels: {team: net,  tier: "gold"}
spec:
  description:   'two halves'   # why we do this
  networks:
    - name: unstable
      driver: bridge            # bridge | macvlan
      internal: false
  faults:
  - name: split
    partition: { groups: [[server], [client1, client2]] }
    at: 3m
    duration: 1m

  suspend: false
status: {}                      # written by the controller only
# a note a person left at the end
`;

/** Every way the store can commit a write (commit.ts); most write tests run through all three. */
export const METHODS: CommitMethod[] = ['exchange+lease', 'exchange', 'rename'];

/** Only `expected` is left in `dir`: no temporary files. */
export function assertNoLeftovers(dir: string, expected: string[]): void {
  assert.deepEqual(readdirSync(dir).sort(), [...expected].sort());
}

/** Run `fn` with `text` saved as `name` in a fresh scratch directory, which is removed afterwards. */
export async function withFile(
  text: string,
  fn: (file: string, dir: string) => Promise<void> | void,
  name = 'a.yaml',
): Promise<void> {
  const s = scratch();
  try {
    const file = join(s.dir, name);
    writeFileSync(file, text);
    await fn(file, s.dir);
  } finally {
    s.cleanup();
  }
}
