// RFC 3339 timestamps ("2025-01-31T12:00:00Z", "2025-01-31T13:00:00.5+01:00"), checked strictly:
// a `T` separator, seconds present, an explicit `Z` or `±hh:mm` offset, and a real calendar date.
// Date.parse alone is too lenient ("2025-02-30" rolls over to March; "2025-01-31 12:00" is read as
// local time).
//
// Why not ajv-formats' "date-time": it is not the same check. It also accepts any whitespace as the
// separator ("2025-01-31\n12:00:00Z") and offsets without a colon or minutes ("+0100", "+01"); the
// last one Date.parse cannot read, so a file would pass `validate` and then be refused by the
// timeline (test/unit/api/time.test.ts keeps these cases). Leap seconds (second 60) are refused for
// the same reason: Date.parse gives NaN, and the timeline could not place the instant.
// Also IANA time zone names, as this runtime knows them (spec and timeline ask the same question).

const RFC3339 =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|([+-])([0-9]{2}):([0-9]{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** True for a valid RFC 3339 date-time that Date.parse reads as the same instant (no leap second). */
export function isRfc3339(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return false;
  return true;
}

/** True for an IANA time zone this runtime knows ("Europe/Berlin", "UTC"); croner would throw on others. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
