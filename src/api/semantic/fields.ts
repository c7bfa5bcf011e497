// Checks of single fields that several parts of the spec share: unique names, Docker name length,
// durations, percents, rates, sizes, labels, selectors, CIDRs and port ranges.
//
// Each looks only at a value of the right type and leaves a malformed one to the schema, which
// has already reported it.

import { parseDuration } from '../duration.js';
import { parsePercent, parseRate, parseSize } from '../quantity.js';
import { parseCidr, parseIp, formatIp, type Cidr } from '../net.js';
import { RESERVED_LABEL_PREFIX } from '../ownership.js';
import { DNS_LABEL_RE, MAX_SCENARIO_NAME } from '../patterns.js';
import { isObj, q, str, type Obj, type Path, type Report } from './report.js';

/** Longest Docker object name we create: `<metadata.name>_<name>` (DNS label limit, for aliases). */
export const MAX_DOCKER_NAME = 63;

/** Duplicate `name`s in a list; the second occurrence is the one reported. */
export function uniqueNames(r: Report, items: unknown[], base: Path, kind: string): Map<string, number> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const name = isObj(item) ? str(item.name) : undefined;
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined) {
      r.add(
        'name.duplicate',
        [...base, i, 'name'],
        `${kind} ${q(name)} is declared twice (first at ${base.join('.')}[${first}]); names must be unique`,
      );
    } else seen.set(name, i);
  });
  return seen;
}

const dnsLabel = (v: string | undefined, max: number): boolean =>
  v !== undefined && v.length <= max && DNS_LABEL_RE.test(v);

/** `<metadata.name>_<name>` must fit a Docker name. */
export function dockerNameLength(r: Report, name: string, path: Path, kind: string): void {
  // Only for names the schema accepted: otherwise it has already said what to fix.
  if (!dnsLabel(r.scenarioName, MAX_SCENARIO_NAME) || !dnsLabel(name, 63)) return;
  const full = `${r.scenarioName}_${name}`;
  if (full.length > MAX_DOCKER_NAME) {
    r.add(
      'name.tooLong',
      path,
      `Docker ${kind} name ${q(full)} would be ${full.length} characters; at most ${MAX_DOCKER_NAME} are allowed: shorten ${q(name)} or metadata.name`,
    );
  }
}

/** Fields `a` and `b` of `obj` exclude each other; a spec that gives both is reported at `b`. */
export function notBoth(r: Report, obj: Obj, path: Path, a: string, b: string, code: string, message: string): void {
  if (obj[a] !== undefined && obj[b] !== undefined) r.add(code, [...path, b], message);
}

/** A duration that must be longer than 0; its milliseconds, or undefined when it does not parse. */
export function positive(r: Report, v: unknown, path: Path, what: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch {
    return undefined; // the schema's pattern reported it
  }
  if (ms <= 0) r.add('duration.zero', path, `${what} must be longer than 0; write e.g. "30s"`);
  return ms;
}

/** A duration's milliseconds, or undefined when it does not parse; reports nothing. */
export function positiveOrZero(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  try {
    return parseDuration(s);
  } catch {
    return undefined;
  }
}

export function percent(r: Report, v: unknown, path: Path): void {
  const s = str(v);
  if (s === undefined) return;
  let p: number;
  try {
    p = parsePercent(s);
  } catch {
    return;
  }
  if (p > 100) r.add('percent.range', path, `${q(s)} is more than 100%; a percent must be between 0% and 100%`);
}

/** A percent field that may also be {percent, correlation}. */
export function percentOrObject(r: Report, v: unknown, path: Path): void {
  if (isObj(v)) {
    percent(r, v.percent, [...path, 'percent']);
    percent(r, v.correlation, [...path, 'correlation']);
  } else percent(r, v, path);
}

/** A check that a tc quantity (`what`: rate or size) is more than 0, reported as `<what>.zero`. */
function moreThanZero(what: 'rate' | 'size', parse: (s: string) => number, example: string) {
  return (r: Report, v: unknown, path: Path): void => {
    const s = str(v);
    if (s === undefined) return;
    try {
      if (parse(s) <= 0) r.add(`${what}.zero`, path, `${what} ${q(s)} must be more than 0, e.g. "${example}"`);
    } catch {
      // pattern reported it
    }
  };
}

export const rate = moreThanZero('rate', parseRate, '1mbit');
export const size = moreThanZero('size', parseSize, '32kb');

export function labels(r: Report, v: unknown, path: Path, reserved: boolean): void {
  if (!isObj(v)) return;
  for (const [key, value] of Object.entries(v)) {
    if (key === '' || /[\s=\u0000-\u001f\u007f]/.test(key)) {
      r.add(
        'label.key',
        [...path, key],
        `label key ${q(key)} must not be empty or contain spaces, "=" or control characters; e.g. "com.example.role"`,
      );
    } else if (reserved && key.startsWith(RESERVED_LABEL_PREFIX)) {
      r.add(
        'label.reserved',
        [...path, key],
        `label ${q(key)} uses the prefix ${q(RESERVED_LABEL_PREFIX)}, which faultline reserves to mark what it owns; choose another key`,
      );
    }
    if (typeof value === 'string' && /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      r.add(
        'label.key',
        [...path, key],
        `label ${q(key)} has a value with control characters (newline?); use a single line`,
      );
    }
  }
}

/** A member's select (`forTargets` false) or a fault's targets (true). */
export function selector(r: Report, v: unknown, path: Path, forTargets: boolean): void {
  if (!isObj(v)) return;
  const criteria = ['names', 'labels', 'compose'].filter((k) => v[k] !== undefined);
  if (isObj(v.labels) && Object.keys(v.labels).length === 0 && criteria.length === 1) {
    r.add(
      'selector.empty',
      [...path, 'labels'],
      'an empty labels selector matches every container; give at least one label',
    );
  }
  if (v.random !== undefined) {
    if (!forTargets) {
      r.add(
        'selector.random',
        [...path, 'random'],
        'random applies only to fault targets; members take every matching container',
      );
    } else if (isObj(v.random)) {
      const given = ['count', 'percent'].filter((k) => (v.random as Obj)[k] !== undefined);
      if (given.length !== 1) {
        r.add(
          'selector.random',
          [...path, 'random'],
          given.length === 0
            ? 'random needs count or percent, e.g. {count: 1}'
            : 'random takes count or percent, not both',
        );
      }
      percent(r, v.random.percent, [...path, 'random', 'percent']);
    }
    if (criteria.length === 0) {
      r.add(
        'selector.empty',
        path,
        'random chooses among the matches of names, labels or compose; give one of them too',
      );
    }
  }
}

/** A CIDR, or undefined (reported) when invalid; `bareHost` gives a bare address its own hint. */
export function checkCidr(r: Report, v: unknown, path: Path, bareHost: boolean): Cidr | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (bareHost && !s.includes('/')) {
    const ip = parseIp(s);
    if (ip) {
      const fixed = `${formatIp(ip.family, ip.value)}/${ip.family === 4 ? 32 : 128}`;
      r.add(
        'cidr.invalid',
        path,
        `${q(s)} is not a valid CIDR: the prefix length is missing; write ${fixed} for this one address`,
      );
      return undefined;
    }
  }
  const c = parseCidr(s);
  if (c.ok) return c.cidr;
  const example = c.suggestion ?? (s.includes(':') ? 'fd00:30::/64' : '10.30.0.0/24');
  const tail = c.reason.startsWith('host bits') ? '' : `; write e.g. ${example}`;
  r.add('cidr.invalid', path, `${q(s)} is not a valid CIDR: ${c.reason}${tail}`);
  return undefined;
}

/** Parse a port "N" or range "N-M" (1..65535, N <= M); undefined when invalid. */
export function portRange(s: string): [number, number] | undefined {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}
