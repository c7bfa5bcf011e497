// The layers of src/ (docs/architecture.md): each folder imports only the folders above it, and
// its README's "Imports:" line names exactly what it may import. This test reads the real imports.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
/** Top to bottom: a folder may import only folders before it. */
const ORDER = [
  'api',
  'timeline',
  'netfaults',
  'resolve',
  'netplan',
  'plan',
  'ports',
  'status',
  'apply',
  'observe',
  'kernel',
  'store',
  'controller',
  'adapters',
  'cli',
  'lib',
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The other layers a folder's files import (relative imports that leave the folder). */
function importedLayers(layer: string): Set<string> {
  const out = new Set<string>();
  for (const f of files(join(SRC, layer))) {
    const rel = f.slice(SRC.length).split('/');
    for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const parts = [...rel.slice(0, -1)];
      for (const seg of m[1].split('/')) {
        if (seg === '..') parts.pop();
        else if (seg !== '.') parts.push(seg);
      }
      if (parts[0] !== layer) out.add(parts[0]);
    }
  }
  return out;
}

describe('layers', () => {
  it('every folder of src/ is a known layer', () => {
    const dirs = readdirSync(SRC).filter((d) => statSync(join(SRC, d)).isDirectory());
    assert.deepEqual(dirs.sort(), [...ORDER].sort());
  });

  for (const layer of ORDER) {
    it(`${layer}/ imports only layers above it, and its README says which`, () => {
      const imported = importedLayers(layer);
      const above = new Set(ORDER.slice(0, ORDER.indexOf(layer)));
      assert.deepEqual(
        [...imported].filter((l) => !above.has(l)),
        [],
        `${layer}/ imports a layer below it`,
      );
      const readme = readFileSync(join(SRC, layer, 'README.md'), 'utf8');
      const line = /^Imports[^\n]*(?:\n(?!\n)[^\n]*)*/m.exec(readme)?.[0];
      assert.ok(line, `${layer}/README.md has an "Imports" line`);
      const declared = line.includes('everything above it')
        ? above
        : new Set([...line.matchAll(/`([a-z]+)\/[^`]*`/g)].map((m) => m[1]));
      assert.deepEqual(
        [...imported].filter((l) => !declared.has(l)).sort(),
        [],
        `${layer}/README.md does not name every layer ${layer}/ imports`,
      );
      if (!line.includes('everything above it'))
        assert.deepEqual(
          [...declared].filter((l) => ORDER.includes(l) && !imported.has(l)).sort(),
          [],
          `${layer}/README.md names layers ${layer}/ does not import`,
        );
    });
  }
});
