import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../../../src/timeline/index.js';
import { shuffled } from '../../../src/timeline/random.js';

const take = (r: () => number, n: number) => Array.from({ length: n }, r);

describe('seededRandom', () => {
  it('golden: these exact numbers (changing them re-rolls every running scenario)', () => {
    assert.deepEqual(take(seededRandom(42, 'a'), 3), [0.9063852925319225, 0.19217906659469008, 0.46685110102407634]);
  });

  it('same seed and keys, same stream; a new generator starts over', () => {
    assert.deepEqual(take(seededRandom(7, 'targets', 'db'), 10), take(seededRandom(7, 'targets', 'db'), 10));
  });

  it('keys are separate: ("a","b") is not ("ab") is not ("a")', () => {
    const firsts = [
      seededRandom(42, 'a', 'b')(),
      seededRandom(42, 'ab')(),
      seededRandom(42, 'a')(),
      seededRandom(43, 'a')(),
    ];
    assert.equal(new Set(firsts).size, 4);
  });

  it('numbers lie in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.string(), { maxLength: 3 }), (seed, keys) => {
        for (const x of take(seededRandom(seed, ...keys), 20)) assert.ok(x >= 0 && x < 1, String(x));
      }),
      { numRuns: 100 },
    );
  });

  it('roughly uniform: 10 000 draws fill 10 buckets within ±10%', () => {
    const r = seededRandom(1, 'uniformity');
    const buckets = Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(r() * 10)]++;
    for (const b of buckets) assert.ok(b > 900 && b < 1100, `bucket ${b}`);
  });
});

describe('shuffled', () => {
  it('permutes a copy, the same way for the same stream (partition generators rely on it)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    assert.deepEqual(shuffled(names, seededRandom(42, 't')), ['b', 'e', 'd', 'c', 'a']);
    assert.deepEqual(names, ['a', 'b', 'c', 'd', 'e']);
  });
});
