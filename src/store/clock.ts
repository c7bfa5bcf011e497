import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../ports/index.js';

/** The real clock, for callers that do not inject one (tests inject their own). */
export function systemClock(): Clock {
  return {
    now: () => new Date(),
    sleep: async (ms, signal) => {
      await delay(ms, undefined, { signal });
    },
  };
}
