// The string patterns used in crds/scenario.yaml, with words for people. When ajv reports that a
// value does not match a pattern, schema-issues.ts looks the pattern up here to say what the value
// should look like instead of printing a regular expression. A unit test checks that every pattern
// in the CRD has an entry.

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** DNS_LABEL compiled, for code that checks a name outside the schema. */
export const DNS_LABEL_RE = new RegExp(DNS_LABEL);
/** A scenario name prefixes Docker names ("<scenario>_<name>"): at most this long. */
export const MAX_SCENARIO_NAME = 40;
export const DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$';
export const PERCENT = '^[0-9]+(\\.[0-9]+)?%$';
export const RATE = '^[0-9]+(\\.[0-9]+)?(([kKmMgGtT][iI]?)?([bB][iI][tT]|[bB][pP][sS]))?$';
export const SIZE = '^[0-9]+(\\.[0-9]+)?([bB]|[kKmMgG]([bB]|[bB][iI][tT])?)?$';
export const PORT = '^[0-9]{1,5}(-[0-9]{1,5})?$';
export const CONTAINER_REF = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';
export const COMPOSE_PROJECT = '^[a-z0-9][a-z0-9_-]*$';
export const HOSTNAME = '^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$';
export const ALIAS = '^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$';
export const CAPABILITY = '^[A-Z_]+$';
export const SIGNAL = '^(SIG[A-Z0-9+-]+|[0-9]+)$';
export const ABSOLUTE_PATH = '^/';
export const USER = '^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$';
export const REASON = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';
/** A network or volume driver: built in (bridge, local…) or a plugin's name, tag included. */
export const DRIVER = '^[a-zA-Z0-9][a-zA-Z0-9_./:-]*$';
export const NETWORK_MODE = '^(none|host|container:[a-z0-9]([-a-z0-9]*[a-z0-9])?)$';
export const FILE_MODE = '^[0-7]{3,4}$';
/** A DNS name to match in queries: labels of letters, digits, "-" and "_", a trailing dot allowed. */
export const DNS_NAME =
  '^[a-zA-Z0-9_]([-a-zA-Z0-9_]{0,61}[a-zA-Z0-9_])?(\\.[a-zA-Z0-9_]([-a-zA-Z0-9_]{0,61}[a-zA-Z0-9_])?)*\\.?$';

export interface PatternHint {
  /** What the value is, with an article: "a duration". */
  what: string;
  /** Examples, already quoted: '"100ms", "30s", "2m" or "1h30m"'. */
  examples: string;
  /** Why the value does not fit and what to write instead, for a value `v`. */
  advise?: (v: string) => string | undefined;
}

/** Lowercase, "-" for anything else, no leading/trailing "-": "Web_Server 1" -> "web-server-1". */
export function toDnsLabel(v: string): string {
  return v
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

export const PATTERN_HINTS: Readonly<Record<string, PatternHint>> = {
  [DNS_LABEL]: {
    what: 'a name (DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit)',
    examples: '"web-1"',
    advise: (v) => {
      const fixed = toDnsLabel(v);
      return fixed && fixed !== v ? `write "${fixed}"` : undefined;
    },
  },
  [DURATION]: {
    what: 'a duration',
    examples: '"100ms", "30s", "2m" or "1h30m" (units ns, us, ms, s, m, h)',
    advise: (v) => {
      if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return `add a unit: "${v}s" or "${v}ms"`;
      const spaced = v.replace(/\s+/g, '');
      if (spaced !== v && new RegExp(DURATION, 'u').test(spaced)) return `remove the spaces: "${spaced}"`;
      const m = /^([0-9.]+)\s*(sec|secs|second|seconds|min|mins|minute|minutes|hr|hrs|hour|hours)$/i.exec(v);
      if (m) {
        const unit = (m[2] as string).toLowerCase().startsWith('s')
          ? 's'
          : (m[2] as string).toLowerCase().startsWith('m')
            ? 'm'
            : 'h';
        return `write "${m[1]}${unit}"`;
      }
      return undefined;
    },
  },
  [PERCENT]: {
    what: 'a percent',
    examples: '"25%" or "0.1%"',
    advise: (v) => (/^[0-9]+(\.[0-9]+)?$/.test(v.trim()) ? `add "%": "${v.trim()}%"` : undefined),
  },
  [RATE]: {
    what: 'a tc rate',
    examples: '"1mbit", "500kbit" (bits/s) or "10mbps" (bytes/s)',
    advise: (v) => {
      const compact = v.replace(/\s+/g, '').replace(/\/s$/i, '');
      return compact !== v && new RegExp(RATE, 'u').test(compact) ? `write "${compact.toLowerCase()}"` : undefined;
    },
  },
  [SIZE]: {
    what: 'a tc size',
    examples: '"1500b", "32kb" or "1mb"',
    advise: (v) => {
      const compact = v.replace(/\s+/g, '');
      return compact !== v && new RegExp(SIZE, 'u').test(compact) ? `write "${compact.toLowerCase()}"` : undefined;
    },
  },
  [PORT]: { what: 'a port', examples: '"5432" or a range "8000-8100"' },
  [CONTAINER_REF]: {
    what: 'a container name (letters, digits, "_", "." and "-", starting with a letter or digit)',
    examples: '"web-1" or "myproject-db-1"',
    advise: (v) => (v.startsWith('/') ? `drop the leading "/": "${v.slice(1)}"` : undefined),
  },
  [COMPOSE_PROJECT]: {
    what: 'a compose project name (lowercase letters, digits, "_" and "-")',
    examples: '"myproject"',
    advise: (v) => (v.toLowerCase() !== v ? `write "${v.toLowerCase()}"` : undefined),
  },
  [HOSTNAME]: { what: 'a host name', examples: '"db" or "db.internal"' },
  [ALIAS]: { what: 'a DNS alias', examples: '"db" or "primary.db"' },
  [CAPABILITY]: {
    what: 'a Linux capability name in capitals (the CAP_ prefix is optional)',
    examples: '"NET_ADMIN" or "SYS_TIME"',
    advise: (v) => {
      const fixed = v.trim().toUpperCase().replace(/-/g, '_');
      return fixed !== v && new RegExp(CAPABILITY, 'u').test(fixed) ? `write "${fixed}"` : undefined;
    },
  },
  [SIGNAL]: {
    what: 'a signal',
    examples: '"SIGTERM", "SIGKILL" or "9"',
    advise: (v) => {
      const up = v.trim().toUpperCase();
      const fixed = up.startsWith('SIG') ? up : `SIG${up}`;
      return new RegExp(SIGNAL, 'u').test(fixed) ? `write "${fixed}"` : undefined;
    },
  },
  [ABSOLUTE_PATH]: {
    what: 'an absolute path',
    examples: '"/app"',
    advise: (v) => `write "/${v.replace(/^\.?\/*/, '')}"`,
  },
  [USER]: { what: 'a user', examples: '"1000", "1000:1000" or "nobody"' },
  [REASON]: { what: 'a CamelCase reason', examples: '"KernelLacksNetem"' },
  [DRIVER]: {
    what: 'a driver name (letters, digits, "_", ".", "/", ":" and "-")',
    examples: '"bridge", "macvlan" or "weaveworks/net-plugin:latest_release"',
  },
  [NETWORK_MODE]: {
    what: 'a network mode',
    examples: '"none", "host" or "container:<name of a container in spec.containers>"',
    advise: (v) => {
      if (v === 'bridge' || v === 'default')
        return 'leave networkMode out and list the container in spec.members (an external network `bridge` is the default bridge)';
      const m = /^(?:container|service):\/?(.+)$/.exec(v.trim());
      if (m) {
        const fixed = `container:${toDnsLabel(m[1])}`;
        return new RegExp(NETWORK_MODE, 'u').test(fixed) && fixed !== v
          ? `write "${fixed}" (the short name of a container in spec.containers)`
          : undefined;
      }
      return undefined;
    },
  },
  [FILE_MODE]: { what: 'a file mode in octal', examples: '"755" or "1777"' },
  [DNS_NAME]: {
    what: 'a DNS name (labels of letters, digits, "-" and "_", at most 63 characters each, joined by ".")',
    examples: '"db", "db.internal" or "example.com"',
    advise: (v) => {
      const t = v.trim().replace(/^\*\./, '');
      return t !== v && new RegExp(DNS_NAME, 'u').test(t)
        ? `write "${t}" (a name also matches every name under it)`
        : undefined;
    },
  },
};
