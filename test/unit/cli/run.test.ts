// Which timelines `faultline run` can see end, and which end at --timeout (a normal end).
import test from 'node:test';
import assert from 'node:assert/strict';
import type { TimedFault, TimelineSpec } from '../../../src/api/types.js';
import { timelineEnds } from '../../../src/cli/runner.js';

const fault = (timing: Omit<TimedFault, 'name'>): TimedFault => ({ name: 'f', ...timing });
const spec = (faults: TimedFault[], extra: Partial<TimelineSpec> = {}): TimelineSpec => ({ faults, ...extra });

test('a timeline ends with a scenario duration, or when every fault has a last window that closes', () => {
  assert.equal(timelineEnds(spec([fault({ at: '1s', duration: '2s' })])), true);
  assert.equal(timelineEnds(spec([fault({ duration: '2s', repeat: { every: '10s', times: 3 } })])), true);
  assert.equal(timelineEnds(spec([fault({ repeat: { every: '10s' }, duration: '2s' })], { duration: '1m' })), true);
  assert.equal(timelineEnds(spec([fault({ schedule: '* * * * *', duration: '5s' })], { duration: '5m' })), true);
});

test('an endless repeat, a schedule, a fault without duration or no faults at all: no end', () => {
  assert.equal(timelineEnds(spec([fault({ repeat: { every: '10s' }, duration: '2s' })])), false);
  assert.equal(timelineEnds(spec([fault({ schedule: '* * * * *', duration: '5s' })])), false);
  assert.equal(timelineEnds(spec([fault({ at: '1s' })])), false);
  assert.equal(
    timelineEnds(spec([fault({ at: '1s', duration: '1s' }), fault({ repeat: { every: '1m' }, duration: '1s' })])),
    false,
  );
  assert.equal(timelineEnds(spec([])), false);
});
