import test from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../../src/ports/index.js';
import { WorkQueue } from '../../../src/controller/queue.js';

/** A clock that only moves when the test says so. */
class FakeClock implements Clock {
  t = 0;
  private sleepers: { at: number; resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal }[] = [];
  now = () => new Date(this.t);
  sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const s = { at: this.t + ms, resolve, reject, signal };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        reject(signal.reason);
      });
    });
  async advance(ms: number) {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
    await new Promise((r) => setImmediate(r));
  }
}

test('adding a queued key again coalesces into one item', async () => {
  const q = new WorkQueue(new FakeClock());
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
});

test('a key added while it is being processed is processed again after done(), never concurrently', async () => {
  const q = new WorkQueue(new FakeClock());
  q.add('a');
  const k = await q.get();
  q.add('a');
  assert.equal(q.length, 0, 'not handed to a second worker while in flight');
  q.done(k!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'a');
});

test('addAfter keeps the earliest deadline and fires then', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue(clock);
  q.addAfter('a', 1000);
  q.addAfter('a', 300);
  q.addAfter('a', 5000);
  await clock.advance(299);
  assert.equal(q.length, 0);
  await clock.advance(1);
  assert.equal(q.length, 1);
  await clock.advance(5000);
  assert.equal(q.length, 1, 'the replaced timers never fire');
});

test('rate limiting backs off exponentially, once per wait served, up to the cap, and forget() resets it', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue(clock, { baseDelayMs: 100, maxDelayMs: 1000 });
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    waits.push(q.addRateLimited('a'));
    await clock.advance(waits[i]); // the retry runs when its wait is over, and fails again
  }
  assert.deepEqual(waits, [100, 200, 400, 800, 1000]);
  q.forget('a');
  assert.equal(q.addRateLimited('a'), 100);
});

test('failures of attempts that events started during a wait do not lengthen it', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue(clock, { baseDelayMs: 200, maxDelayMs: 60_000 });
  assert.equal(q.addRateLimited('a'), 200);
  await clock.advance(200);
  assert.equal(q.addRateLimited('a'), 400, 'the wait was served: doubled');
  assert.equal(await q.get(), 'a');
  q.done('a');
  // A burst: an event queues the key at once, ten times within the 400 ms, and each attempt fails.
  for (let i = 0; i < 10; i++) {
    await clock.advance(30);
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.addRateLimited('a'), 400 - 30 * (i + 1), 'the rest of the same wait');
  }
  await clock.advance(100);
  assert.equal(q.length, 1, 'the retry runs when the wait is over');
  assert.equal(q.addRateLimited('a'), 800, 'and only a failure after it doubles the wait');
});

test('forgetAll: every backoff starts over and a key waiting out its backoff is queued now', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue(clock, { baseDelayMs: 100, maxDelayMs: 60_000 });
  for (let i = 0; i < 9; i++) await clock.advance(q.addRateLimited('a')); // grown to 25.6 s
  q.addRateLimited('a');
  while (q.length) q.done((await q.get())!);
  q.addAfter('b', 10_000); // a plain delay, not a backoff: left alone
  assert.equal(q.length, 0);
  q.forgetAll();
  assert.equal(q.length, 1, 'a is queued at once');
  assert.equal(await q.get(), 'a');
  q.done('a');
  await clock.advance(60_000);
  assert.equal(q.length, 1, 'the aborted backoff timer never fires again; b fires at its time');
  assert.equal(await q.get(), 'b');
  assert.equal(q.addRateLimited('a'), 100, 'the backoff starts over');
});

test('shutdown releases waiting workers', async () => {
  const q = new WorkQueue(new FakeClock());
  const waiting = q.get();
  q.shutdown();
  assert.equal(await waiting, undefined);
});
