// The README's pictures are current: every file of docs/images/MANIFEST is what its command draws
// now. When this fails after a change to the pictures: scripts/docs-images.sh, then review the diff.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { faultline } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const entries = readFileSync(`${ROOT}docs/images/MANIFEST`, 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => {
    const [file, ...args] = l.trim().split(/\s+/);
    return { file, args };
  });

test('the manifest names pictures, and the README shows each SVG', () => {
  assert.ok(entries.length >= 4);
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  for (const { file } of entries.filter((e) => e.file.endsWith('.svg')))
    assert.ok(readme.includes(`docs/images/${file}`), `README.md shows docs/images/${file}`);
});

for (const { file, args } of entries) {
  test(`docs/images/${file} is what \`faultline ${args.join(' ')}\` draws now`, async () => {
    const r = await faultline(args, { cwd: ROOT });
    assert.equal(r.code, 0, r.stderr);
    const committed = readFileSync(`${ROOT}docs/images/${file}`, 'utf8');
    assert.ok(r.stdout === committed, `docs/images/${file} is stale: run scripts/docs-images.sh and commit the result`);
  });
}
