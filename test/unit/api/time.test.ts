// The RFC 3339 check of `startAt` (format date-time in the schema): strict, and never wider than
// what the timeline can place, so a file that passes `validate` is never refused later.
import test from 'node:test';
import assert from 'node:assert/strict';
import { isRfc3339 } from '../../../src/api/time.js';

const accepted = [
  '2025-01-31T12:00:00Z',
  '2025-01-31t12:00:00z',
  '2025-01-31T13:00:00.5+01:00',
  '2024-02-29T00:00:00-05:30',
  '2025-12-31T23:59:59.999999+14:00',
];

// What ajv-formats' "date-time" accepts and RFC 3339 (or Date.parse) does not: why it is not used.
const refused = {
  'space separator': '2025-01-31 12:00:00Z',
  'newline separator': '2025-01-31\n12:00:00Z',
  'offset without colon': '2025-01-31T12:00:00+0100',
  'offset without minutes': '2025-01-31T12:00:00+01',
  'leap second (Date.parse gives NaN)': '2016-12-31T23:59:60Z',
  'no offset (local time)': '2025-01-31T12:00:00',
  'no seconds': '2025-01-31T12:00Z',
  'February 30': '2025-02-30T00:00:00Z',
  'February 29 of a common year': '2025-02-29T00:00:00Z',
  'hour 24': '2025-01-31T24:00:00Z',
  'offset hour 24': '2025-01-31T12:00:00+24:00',
};

test('isRfc3339 accepts RFC 3339 date-times, and Date.parse reads every one of them', () => {
  for (const s of accepted) {
    assert.equal(isRfc3339(s), true, s);
    assert.ok(!Number.isNaN(Date.parse(s)), `Date.parse(${JSON.stringify(s)})`);
  }
});

test('isRfc3339 refuses what RFC 3339 forbids or the timeline could not place', () => {
  for (const [why, s] of Object.entries(refused)) assert.equal(isRfc3339(s), false, why);
});
