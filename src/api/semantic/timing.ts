// When: a fault's at/startAt, duration, repeat, schedule (cron) and timeZone, and the scenario's
// own duration.

import { CronPattern } from 'croner';
import { formatDuration } from '../duration.js';
import { closest } from '../suggest.js';
import { isTimeZone } from '../time.js';
import { notBoth, positive, positiveOrZero } from './fields.js';
import { SPEC as S, isObj, q, str, type Obj, type Path, type Report } from './report.js';

/** The timing fields of one fault `f` at path `p`. */
export function checkFaultTiming(r: Report, f: Obj, p: Path): void {
  notBoth(r, f, p, 'at', 'startAt', 'timing.conflict', 'give at (an offset) or startAt (a time), not both');
  if (isObj(f.at)) {
    const min = positiveOrZero(f.at.min);
    const max = positiveOrZero(f.at.max);
    if (min !== undefined && max !== undefined && min > max) {
      r.add('at.range', [...p, 'at'], `at.min (${String(f.at.min)}) is after at.max (${String(f.at.max)}); swap them`);
    }
  }
  const duration = positive(r, f.duration, [...p, 'duration'], 'duration');
  notBoth(r, f, p, 'repeat', 'schedule', 'timing.conflict', 'give repeat or schedule, not both');
  if (isObj(f.repeat)) {
    const every = positive(r, f.repeat.every, [...p, 'repeat', 'every'], 'repeat.every');
    if (f.duration === undefined) {
      r.add(
        'repeat.duration',
        [...p, 'repeat'],
        'repeat needs duration: without it the first window lasts until the scenario ends',
      );
    } else if (
      every !== undefined &&
      duration !== undefined &&
      every > 0 &&
      every < duration &&
      f.concurrency !== 'allow'
    ) {
      r.add(
        'repeat.overlap',
        [...p, 'repeat', 'every'],
        `repeat.every (${String(f.repeat.every)}) is shorter than duration (${String(f.duration)}), so windows would overlap; make every at least ${formatDuration(duration)} or set concurrency: allow`,
      );
    }
  }
  const schedule = str(f.schedule);
  if (schedule !== undefined && schedule !== '') {
    try {
      new CronPattern(schedule, undefined, { mode: '5-or-6-parts' });
    } catch (err) {
      const why = (err as Error).message.replace(/^CronPattern:\s*/, '');
      r.add(
        'schedule.invalid',
        [...p, 'schedule'],
        `${q(schedule)} is not a valid cron schedule: ${why}; write 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. "*/5 * * * *"`,
      );
    }
    if (f.duration === undefined) {
      r.add(
        'schedule.duration',
        [...p, 'schedule'],
        'schedule needs duration: how long each window lasts, e.g. duration: 1m',
      );
    }
    if (f.at !== undefined || f.startAt !== undefined) {
      r.add(
        'timing.conflict',
        [...p, f.at !== undefined ? 'at' : 'startAt'],
        'schedule sets the start times; remove at/startAt',
      );
    }
  }
  const tz = str(f.timeZone);
  if (tz !== undefined && tz !== '') {
    if (!isTimeZone(tz)) {
      const guess = closest(tz, supportedTimeZones());
      r.add(
        'timeZone.invalid',
        [...p, 'timeZone'],
        `${q(tz)} is not an IANA time zone${guess ? `; did you mean ${q(guess)}?` : '; write e.g. "Europe/Berlin" or "UTC"'}`,
      );
    }
    if (f.schedule === undefined) {
      r.add('timing.conflict', [...p, 'timeZone'], 'timeZone applies only to schedule; remove it');
    }
  }
}

/** spec.duration, the scenario's own length. */
export function checkScenarioDuration(r: Report, spec: Obj): void {
  positive(r, spec.duration, [...S, 'duration'], 'duration');
}

function supportedTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  } catch {
    return [];
  }
}
