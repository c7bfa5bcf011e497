// Test helpers: fixtures captured from a real kernel, golden files, and the capabilities of the
// machine the fixtures were captured on.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProbe, type Capabilities, type ProbeResult } from '../../../src/netfaults/index.js';

/** The SOURCE folder of these tests (the compiled tests run from dist/test/unit/netfaults/). */
export const TEST_DIR = fileURLToPath(new URL('../../../../test/unit/netfaults/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(join(TEST_DIR, 'fixtures', name), 'utf8');
}

export function fixtureJson<T>(name: string): T {
  return JSON.parse(fixture(name)) as T;
}

/**
 * Compare with test/unit/netfaults/golden/<name>. To re-record after an intended change:
 *   FAULTLINE_UPDATE_GOLDEN=1 node --test dist/test/unit/netfaults/
 * and review the diff of the golden files like code.
 */
export function golden(name: string, actual: string): void {
  const path = join(TEST_DIR, 'golden', name);
  if (process.env.FAULTLINE_UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file ${path} is missing (run with FAULTLINE_UPDATE_GOLDEN=1 to record it)`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from golden/${name}`);
}

/** Linux 6.18 without sch_netem, as probed when the fixtures were captured. */
export const THIS_KERNEL: Capabilities = parseProbe(fixtureJson<ProbeResult[]>('probe-linux-6.18.json'));
