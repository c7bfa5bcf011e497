// A coalescing work queue of keys (scenario names), after controller-runtime's workqueue:
//  * a key is queued at most once; adding a queued key is a no-op (events coalesce);
//  * a key is never processed by two workers at once: adding it while it is being processed marks
//    it dirty, and it is queued again when the worker calls done();
//  * addAfter(key, ms) queues it later (the earliest pending delay wins) — this is how the
//    controller sleeps until the next timeline transition, with no polling;
//  * addRateLimited(key) queues it after an exponential backoff that forget(key) resets. The backoff
//    doubles once per wait served: a failure of an attempt that an event started before the wait
//    was over does not double it again (a burst of events around a failing engine — a daemon
//    shutting down answers every start with an error, and each answer is an event — would
//    otherwise grow it to the cap within a second).
import type { Clock } from '../ports/index.js';

export interface QueueOptions {
  baseDelayMs?: number; // first retry delay (default 200 ms)
  maxDelayMs?: number; // cap (default 60 s)
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** When each key's current backoff wait is over (ms since the epoch). */
  private readonly backoffUntil = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; abort: AbortController }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private closed = false;
  private readonly base: number;
  private readonly max: number;

  constructor(
    private readonly clock: Clock,
    opts: QueueOptions = {},
  ) {
    this.base = opts.baseDelayMs ?? 200;
    this.max = opts.maxDelayMs ?? 60_000;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const w = this.waiters.shift();
    if (w) {
      this.queued.delete(key);
      this.processing.add(key);
      w(key);
    } else this.queue.push(key);
  }

  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now().getTime() + ms;
    const prev = this.timers.get(key);
    if (prev && prev.at <= at) return;
    prev?.abort.abort();
    const abort = new AbortController();
    this.timers.set(key, { at, abort });
    this.clock.sleep(ms, abort.signal).then(
      () => {
        if (this.timers.get(key)?.abort === abort) this.timers.delete(key);
        this.add(key);
      },
      () => undefined, // aborted: a sooner timer replaced it
    );
  }

  addRateLimited(key: string): number {
    const now = this.clock.now().getTime();
    const until = this.backoffUntil.get(key);
    if (until !== undefined && until > now) {
      // Failed again before the wait was over: the same wait, not a longer one.
      this.addAfter(key, until - now);
      return until - now;
    }
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** n);
    this.backoffUntil.set(key, now + delay);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
    this.backoffUntil.delete(key);
  }

  /**
   * Every key's backoff starts over, and a key waiting out its backoff runs now. For when the cause
   * of the failures went away for all of them at once (the engine answered again).
   */
  forgetAll(): void {
    for (const key of this.failures.keys()) {
      const t = this.timers.get(key);
      if (t) {
        t.abort.abort();
        this.timers.delete(key);
        this.add(key);
      }
    }
    this.failures.clear();
    this.backoffUntil.clear();
  }

  /** Next key to process; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.queue.length;
  }

  /** Keys handed to workers and not yet done(). */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting in a timer, with the time they are due (for status and tests). */
  pendingTimers(): Map<string, number> {
    return new Map([...this.timers].map(([k, v]) => [k, v.at]));
  }

  shutdown(): void {
    this.closed = true;
    for (const t of this.timers.values()) t.abort.abort();
    this.timers.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
