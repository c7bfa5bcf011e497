// Golden files: expected output kept beside the tests (test/unit/<area>/golden/), reviewed like
// code. To record after an intended change: FAULTLINE_UPDATE_GOLDEN=1 node --test dist/test/unit/
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The SOURCE folder of the tests (they run compiled from dist/test/). */
export const TEST_SRC = fileURLToPath(new URL('../../test/', import.meta.url));

export function golden(area: string, name: string, actual: string): void {
  const path = join(TEST_SRC, area, 'golden', name);
  if (process.env.FAULTLINE_UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file ${path} is missing (run with FAULTLINE_UPDATE_GOLDEN=1 to record it)`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from ${area}/golden/${name}`);
}
