import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseGoDuration } from '../../../src/timeline/duration.js';

// The timeline's private copy of Go's time.ParseDuration (to be folded into api/duration.ts).
describe('parseGoDuration', () => {
  const ok: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['150ms', 150],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1.s', 1000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1h0m30s', 3_630_000],
    ['1m1m', 120_000],
    ['-30s', -30_000],
    ['+5s', 5000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['2000000ns', 2],
  ];
  for (const [text, ms] of ok) it(`${JSON.stringify(text)} -> ${ms} ms`, () => assert.equal(parseGoDuration(text), ms));

  const bad = ['', '30', '1d', 'm', '.s', '1h 30m', ' 1s', '1s ', '-', '1.2.3s', 'one minute', '1S'];
  for (const text of bad) {
    it(`${JSON.stringify(text)} is rejected with a hint`, () => {
      assert.throws(() => parseGoDuration(text), /invalid duration .*write Go-style units/);
    });
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [150, '150ms'],
    [1500, '1.5s'],
    [120_000, '2m'],
    [5_400_000, '1h30m'],
    [3_630_000, '1h30s'],
    [-30_000, '-30s'],
    [172_800_000, '48h'],
  ];
  for (const [ms, text] of cases) it(`${ms} -> ${text}`, () => assert.equal(formatDuration(ms), text));
});
