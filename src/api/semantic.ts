// Checks the JSON Schema cannot express: names that must be unique, references between parts of
// the spec, CIDR arithmetic, cron syntax, ranges, and rules that join several fields.
//
// Every check is defensive: it looks only at values of the right type and leaves malformed ones to
// the schema (which already reported them), so one mistake yields one issue, not three. Each check
// has its own code so tools and tests can tell them apart:
//
//   name.duplicate name.tooLong ref.network ref.container dependsOn.cycle cidr.invalid
//   cidr.outsideSubnet cidr.overlap ip.invalid ip.outsideSubnet ip.conflict member.staticAddress
//   network.ipv6 selector.empty selector.random percent.range port.invalid port.protocol
//   duration.zero rate.zero size.zero fault.action fault.targets fault.notApplicable netem.empty
//   netem.dependency netem.conflict bandwidth.conflict partition.spec partition.groups
//   partition.count reject.protocol container.signal timing.conflict at.range repeat.duration
//   repeat.overlap schedule.invalid schedule.duration timeZone.invalid cap.unknown env.key
//   label.key label.reserved image.invalid

import { CronPattern } from 'croner';
import type { Issue } from './types.js';
import { FAULT_ACTIONS } from './kinds.js';
import { parseDuration, formatDuration } from './duration.js';
import { parsePercent, parseRate, parseSize } from './quantity.js';
import {
  parseCidr,
  parseIp,
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  formatCidr,
  formatIp,
  type Cidr,
  type IpFamily,
} from './net.js';
import { closest } from './suggest.js';
import { RESERVED_LABEL_PREFIX } from './ownership.js';

type Path = (string | number)[];
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const q = (s: string): string => JSON.stringify(s);

/** Longest Docker object name we create: `<metadata.name>_<name>` (DNS label limit, for aliases). */
export const MAX_DOCKER_NAME = 63;

/** Labels under this prefix are how faultline recognises what it owns; people may not set them. */

/** Linux capabilities (capabilities(7), Linux 6.x), as Docker spells them without CAP_. */
export const CAPABILITIES: readonly string[] = [
  'ALL', 'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE',
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL',
  'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN', 'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE',
  'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYSLOG',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'WAKE_ALARM',
];

// Image references, after github.com/distribution/reference (reference/regexp.go):
//   [domain[:port]/]path[:tag][@algorithm:hex]     e.g. ghcr.io/org/app:v1, postgres@sha256:...
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_RE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    '(?::[\\w][\\w.-]{0,127})?' +
    '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
);

/** Why an image reference is invalid, or undefined when it is fine. */
export function imageProblem(ref: string): string | undefined {
  if (ref.length > 255 + 128 + 80) return 'it is too long';
  if (/\s/.test(ref)) return 'it contains spaces';
  if (IMAGE_RE.test(ref)) return undefined;
  // Uppercase is only allowed in the registry host; say so when lowercasing the rest fixes it.
  const slash = ref.indexOf('/');
  const host = slash > 0 && /[.:]|^localhost$/.test(ref.slice(0, slash)) ? ref.slice(0, slash + 1) : '';
  const rest = ref.slice(host.length);
  const at = rest.search(/[:@]/);
  const repo = at < 0 ? rest : rest.slice(0, at);
  const fixed = host + repo.toLowerCase() + (at < 0 ? '' : rest.slice(at));
  if (fixed !== ref && IMAGE_RE.test(fixed)) return `repository names must be lowercase; write ${q(fixed)}`;
  return 'expected [registry/]repository[:tag][@digest] with a lowercase repository';
}

/** Parse a port "N" or range "N-M" (1..65535, N <= M); undefined when invalid. */
function portRange(s: string): [number, number] | undefined {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

/**
 * Why a publish spec ("8080:80", "127.0.0.1:5000:5000/udp", "[::1]:80:80", "8000-8001:8000-8001")
 * is invalid, or undefined when Docker would accept it.
 */
export function publishProblem(spec: string): string | undefined {
  let rest = spec;
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) return `protocol ${q(proto)} is not tcp, udp or sctp`;
    rest = rest.slice(0, slash);
  }
  let ip: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']:');
    if (end < 0) return 'an IPv6 host address must be written [addr]:hostPort:containerPort';
    ip = rest.slice(1, end);
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(':');
  if (ip === undefined && parts.length === 3) ip = parts.shift();
  if (parts.length > 2 || (ip !== undefined && parts.length !== 2)) return 'expected [ip:][hostPort:]containerPort[/protocol]';
  if (ip !== undefined && !parseIp(ip)) return `${q(ip)} is not an IP address`;
  const container = parts[parts.length - 1] as string;
  const host = parts.length === 2 ? (parts[0] as string) : undefined;
  const c = portRange(container);
  if (!c) return `container port ${q(container)} is not a port or range in 1-65535`;
  if (host !== undefined && host !== '') {
    const h = portRange(host);
    if (!h) return `host port ${q(host)} is not a port or range in 1-65535`;
    if (h[1] - h[0] !== c[1] - c[0] && c[0] !== c[1]) return 'host and container port ranges differ in size';
  }
  return undefined;
}

/** Run every semantic check on a (possibly invalid) Scenario object. */
export function semanticIssues(root: unknown): Issue[] {
  const issues: Issue[] = [];
  const add = (code: string, path: Path, message: string): void => {
    issues.push({ code, path, message });
  };
  if (!isObj(root)) return issues;
  const meta = isObj(root.metadata) ? root.metadata : {};
  const scenarioName = str(meta.name);
  const spec = isObj(root.spec) ? root.spec : undefined;
  if (!spec) return issues;
  const S: Path = ['spec'];

  // ------------------------------------------------------------ helpers bound to `add`

  /** Duplicate `name`s in a list; the second occurrence is the one reported. */
  const uniqueNames = (items: unknown[], base: Path, kind: string): Map<string, number> => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const name = isObj(item) ? str(item.name) : undefined;
      if (name === undefined) return;
      const first = seen.get(name);
      if (first !== undefined) {
        add(
          'name.duplicate',
          [...base, i, 'name'],
          `${kind} ${q(name)} is declared twice (first at ${base.join('.')}[${first}]); names must be unique`,
        );
      } else seen.set(name, i);
    });
    return seen;
  };

  const dnsLabel = (v: string | undefined, max: number): boolean =>
    v !== undefined && v.length <= max && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v);
  const dockerNameLength = (name: string, path: Path, kind: string): void => {
    // Only for names the schema accepted: otherwise it has already said what to fix.
    if (!dnsLabel(scenarioName, 40) || !dnsLabel(name, 63)) return;
    const full = `${scenarioName}_${name}`;
    if (full.length > MAX_DOCKER_NAME) {
      add(
        'name.tooLong',
        path,
        `Docker ${kind} name ${q(full)} would be ${full.length} characters; at most ${MAX_DOCKER_NAME} are allowed: shorten ${q(name)} or metadata.name`,
      );
    }
  };

  const positive = (v: unknown, path: Path, what: string): number | undefined => {
    const s = str(v);
    if (s === undefined) return undefined;
    let ms: number;
    try {
      ms = parseDuration(s);
    } catch {
      return undefined; // the schema's pattern reported it
    }
    if (ms <= 0) add('duration.zero', path, `${what} must be longer than 0; write e.g. "30s"`);
    return ms;
  };

  const percent = (v: unknown, path: Path): void => {
    const s = str(v);
    if (s === undefined) return;
    let p: number;
    try {
      p = parsePercent(s);
    } catch {
      return;
    }
    if (p > 100) add('percent.range', path, `${q(s)} is more than 100%; a percent must be between 0% and 100%`);
  };

  /** A percent field that may also be {percent, correlation}. */
  const percentOrObject = (v: unknown, path: Path): void => {
    if (isObj(v)) {
      percent(v.percent, [...path, 'percent']);
      percent(v.correlation, [...path, 'correlation']);
    } else percent(v, path);
  };

  const labels = (v: unknown, path: Path, reserved: boolean): void => {
    if (!isObj(v)) return;
    for (const [key, value] of Object.entries(v)) {
      if (key === '' || /[\s=\u0000-\u001f\u007f]/.test(key)) {
        add(
          'label.key',
          [...path, key],
          `label key ${q(key)} must not be empty or contain spaces, "=" or control characters; e.g. "com.example.role"`,
        );
      } else if (reserved && key.startsWith(RESERVED_LABEL_PREFIX)) {
        add(
          'label.reserved',
          [...path, key],
          `label ${q(key)} uses the prefix ${q(RESERVED_LABEL_PREFIX)}, which faultline reserves to mark what it owns; choose another key`,
        );
      }
      if (typeof value === 'string' && /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
        add(
          'label.key',
          [...path, key],
          `label ${q(key)} has a value with control characters (newline?); use a single line`,
        );
      }
    }
  };

  const selector = (v: unknown, path: Path, forTargets: boolean): void => {
    if (!isObj(v)) return;
    const criteria = ['names', 'labels', 'compose'].filter((k) => v[k] !== undefined);
    if (isObj(v.labels) && Object.keys(v.labels).length === 0 && criteria.length === 1) {
      add(
        'selector.empty',
        [...path, 'labels'],
        'an empty labels selector matches every container; give at least one label',
      );
    }
    if (v.random !== undefined) {
      if (!forTargets) {
        add(
          'selector.random',
          [...path, 'random'],
          'random applies only to fault targets; members take every matching container',
        );
      } else if (isObj(v.random)) {
        const given = ['count', 'percent'].filter((k) => (v.random as Obj)[k] !== undefined);
        if (given.length !== 1) {
          add(
            'selector.random',
            [...path, 'random'],
            given.length === 0 ? 'random needs count or percent, e.g. {count: 1}' : 'random takes count or percent, not both',
          );
        }
        percent(v.random.percent, [...path, 'random', 'percent']);
      }
      if (criteria.length === 0) {
        add(
          'selector.empty',
          path,
          'random chooses among the matches of names, labels or compose; give one of them too',
        );
      }
    }
  };

  const checkCidr = (v: unknown, path: Path, bareHost: boolean): Cidr | undefined => {
    const s = str(v);
    if (s === undefined) return undefined;
    if (bareHost && !s.includes('/')) {
      const ip = parseIp(s);
      if (ip) {
        const fixed = `${formatIp(ip.family, ip.value)}/${ip.family === 4 ? 32 : 128}`;
        add(
          'cidr.invalid',
          path,
          `${q(s)} is not a valid CIDR: the prefix length is missing; write ${fixed} for this one address`,
        );
        return undefined;
      }
    }
    const r = parseCidr(s);
    if (r.ok) return r.cidr;
    const example = r.suggestion ?? (s.includes(':') ? 'fd00:30::/64' : '10.30.0.0/24');
    const tail = r.reason.startsWith('host bits') ? '' : `; write e.g. ${example}`;
    add('cidr.invalid', path, `${q(s)} is not a valid CIDR: ${r.reason}${tail}`);
    return undefined;
  };

  // ------------------------------------------------------------ networks

  interface NetInfo {
    index: number;
    subnets: Cidr[];
    reserved: Map<string, string>; // address text -> what holds it (gateway, aux address)
  }
  const networks = list(spec.networks);
  const netNames = uniqueNames(networks, [...S, 'networks'], 'network');
  const netInfo = new Map<string, NetInfo>();
  const allSubnets: { cidr: Cidr; path: Path }[] = [];
  networks.forEach((n, i) => {
    if (!isObj(n)) return;
    const p: Path = [...S, 'networks', i];
    const name = str(n.name);
    if (name !== undefined) dockerNameLength(name, [...p, 'name'], 'network');
    labels(n.labels, [...p, 'labels'], true);
    const info: NetInfo = { index: i, subnets: [], reserved: new Map() };
    if (name !== undefined && netNames.get(name) === i) netInfo.set(name, info);
    const ipam = isObj(n.ipam) ? n.ipam : {};
    let hasV6 = false;
    list(ipam.config).forEach((c, j) => {
      if (!isObj(c)) return;
      const cp: Path = [...p, 'ipam', 'config', j];
      const subnet = checkCidr(c.subnet, [...cp, 'subnet'], false);
      if (subnet) {
        info.subnets.push(subnet);
        if (subnet.family === 6) hasV6 = true;
        const clash = allSubnets.find((o) => cidrsOverlap(o.cidr, subnet));
        if (clash) {
          add(
            'cidr.overlap',
            [...cp, 'subnet'],
            `subnet ${formatCidr(subnet)} overlaps ${formatCidr(clash.cidr)} (${clash.path.join('.')}); Docker refuses overlapping subnets`,
          );
        } else allSubnets.push({ cidr: subnet, path: [...cp, 'subnet'] });
      }
      const inside = (text: string, path: Path, what: string): void => {
        const ip = parseIp(text);
        if (!ip) {
          add(
            'ip.invalid',
            path,
            `${q(text)} is not an IP address; write e.g. ${subnet ? formatIp(subnet.family, subnet.network + 1n) : '10.30.0.1'}`,
          );
          return;
        }
        if (subnet && !cidrContains(subnet, ip)) {
          add(
            'ip.outsideSubnet',
            path,
            `${what} ${text} is outside subnet ${formatCidr(subnet)}; pick an address inside it, e.g. ${formatIp(subnet.family, subnet.network + 1n)}`,
          );
          return;
        }
        info.reserved.set(formatIp(ip.family, ip.value), what);
      };
      const gateway = str(c.gateway);
      if (gateway !== undefined) inside(gateway, [...cp, 'gateway'], 'gateway');
      const range = checkCidr(c.ipRange, [...cp, 'ipRange'], false);
      if (range && subnet && !cidrContainsCidr(subnet, range)) {
        add(
          'cidr.outsideSubnet',
          [...cp, 'ipRange'],
          `ipRange ${formatCidr(range)} is outside subnet ${formatCidr(subnet)}; give a CIDR inside it, e.g. ${formatCidr({ ...subnet, prefix: Math.min(subnet.prefix + 1, subnet.family === 4 ? 32 : 128) })}`,
        );
      }
      if (isObj(c.auxAddresses)) {
        for (const [host, addr] of Object.entries(c.auxAddresses)) {
          if (typeof addr === 'string') inside(addr, [...cp, 'auxAddresses', host], `aux address ${q(host)}`);
        }
      }
    });
    if (hasV6 && n.enableIPv6 !== true) {
      add('network.ipv6', [...p, 'enableIPv6'], 'the network has an IPv6 subnet; set enableIPv6: true');
    }
  });

  const networkRef = (v: unknown, path: Path): NetInfo | undefined => {
    const name = str(v);
    if (name === undefined) return undefined;
    const info = netInfo.get(name);
    if (info) return info;
    const declared = [...netNames.keys()];
    const guess = closest(name, declared);
    add(
      'ref.network',
      path,
      `network ${q(name)} is not declared in spec.networks${declared.length ? ` (declared: ${declared.join(', ')})` : ''}${guess ? `; did you mean ${q(guess)}?` : ''}`,
    );
    return undefined;
  };

  // ------------------------------------------------------------ containers

  const containers = list(spec.containers);
  const ctrNames = uniqueNames(containers, [...S, 'containers'], 'container');
  const deps = new Map<string, { index: number; on: string[] }>();
  containers.forEach((c, i) => {
    if (!isObj(c)) return;
    const p: Path = [...S, 'containers', i];
    const name = str(c.name);
    if (name !== undefined) dockerNameLength(name, [...p, 'name'], 'container');
    const image = str(c.image);
    if (image !== undefined && image !== '') {
      const why = imageProblem(image);
      if (why) {
        add(
          'image.invalid',
          [...p, 'image'],
          `${q(image)} is not a valid image reference: ${why}; e.g. "nginx:1.27", "ghcr.io/org/app:v1"`,
        );
      }
    }
    labels(c.labels, [...p, 'labels'], true);
    if (isObj(c.env)) {
      for (const key of Object.keys(c.env)) {
        if (key === '' || /[=\s\u0000-\u001f\u007f]/.test(key)) {
          add(
            'env.key',
            [...p, 'env', key],
            `${q(key)} is not a valid environment variable name: no "=", spaces or control characters; e.g. "MY_VAR"`,
          );
        }
      }
    }
    for (const field of ['capAdd', 'capDrop'] as const) {
      list(c[field]).forEach((cap, j) => {
        if (typeof cap !== 'string' || !/^[A-Z_]+$/.test(cap)) return; // pattern reported it
        const bare = cap.startsWith('CAP_') ? cap.slice(4) : cap;
        if (!CAPABILITIES.includes(bare)) {
          const guess = closest(bare, CAPABILITIES);
          add(
            'cap.unknown',
            [...p, field, j],
            `${q(cap)} is not a Linux capability${guess ? `; did you mean ${q(guess)}?` : ''} (see capabilities(7); the CAP_ prefix is optional)`,
          );
        }
      });
    }
    list(c.ports).forEach((port, j) => {
      if (typeof port !== 'string' || port === '') return;
      const why = publishProblem(port);
      if (why) {
        add(
          'port.invalid',
          [...p, 'ports', j],
          `${q(port)} is not a port mapping: ${why}; write e.g. "8080:80" or "127.0.0.1:5000:5000/udp"`,
        );
      }
    });
    if (name !== undefined && ctrNames.get(name) === i) {
      const on: string[] = [];
      list(c.dependsOn).forEach((d, j) => {
        if (typeof d !== 'string') return;
        if (d === name) add('ref.container', [...p, 'dependsOn', j], `container ${q(name)} cannot depend on itself`);
        else if (!ctrNames.has(d)) {
          const guess = closest(d, [...ctrNames.keys()]);
          add(
            'ref.container',
            [...p, 'dependsOn', j],
            `dependsOn ${q(d)} is not declared in spec.containers${guess ? `; did you mean ${q(guess)}?` : ''}`,
          );
        } else on.push(d);
      });
      deps.set(name, { index: i, on });
    }
  });
  // Cycles in dependsOn: depth-first search, reporting each cycle once at the container that
  // closes it: a -> b -> c -> a is reported at the dependsOn entry of c that names a.
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    const node = deps.get(name);
    node?.on.forEach((d) => {
      if (state.get(d) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        const j = list((containers[node.index] as Obj).dependsOn).indexOf(d);
        add(
          'dependsOn.cycle',
          [...S, 'containers', node.index, 'dependsOn', j],
          `dependsOn forms a cycle: ${cycle.join(' -> ')}; remove one of these dependencies`,
        );
      } else if (!state.has(d)) visit(d);
    });
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of deps.keys()) if (!state.has(name)) visit(name);

  // ------------------------------------------------------------ members

  const staticTaken = new Map<string, Path>(); // "<network>|<address>" -> where
  list(spec.members).forEach((m, i) => {
    if (!isObj(m)) return;
    const p: Path = [...S, 'members', i];
    const net = networkRef(m.network, [...p, 'network']);
    selector(m.select, [...p, 'select'], false);
    for (const [field, family] of [['ipv4Address', 4], ['ipv6Address', 6]] as const) {
      const text = str(m[field]);
      if (text === undefined) continue;
      const fp: Path = [...p, field];
      const ip = parseIp(text);
      if (!ip || ip.family !== family) {
        add(
          'ip.invalid',
          fp,
          `${q(text)} is not an IPv${family} address; write e.g. ${family === 4 ? '10.30.0.10' : 'fd00:30::10'}`,
        );
        continue;
      }
      const sel = isObj(m.select) ? m.select : {};
      const names = list(sel.names);
      const onlyNames = Object.keys(sel).every((k) => k === 'names');
      if (names.length !== 1 || !onlyNames) {
        add(
          'member.staticAddress',
          fp,
          `a static ${field} needs exactly one container: select it with names and a single name (two containers cannot share ${text})`,
        );
      }
      if (!net) continue;
      const familySubnets = net.subnets.filter((s) => s.family === family);
      const networkName = str(m.network) as string;
      if (familySubnets.length === 0) {
        add(
          'member.staticAddress',
          fp,
          `network ${q(networkName)} declares no IPv${family} subnet in ipam.config; Docker assigns static addresses only inside a declared subnet`,
        );
        continue;
      }
      if (!familySubnets.some((s) => cidrContains(s, ip))) {
        add(
          'ip.outsideSubnet',
          fp,
          `${text} is outside the subnets of network ${q(networkName)} (${familySubnets.map(formatCidr).join(', ')})`,
        );
        continue;
      }
      const canonical = formatIp(ip.family as IpFamily, ip.value);
      const holder = net.reserved.get(canonical);
      if (holder) {
        add(
          'ip.conflict',
          fp,
          `${text} is already the ${holder} of network ${q(networkName)}; choose another address`,
        );
      }
      const key = `${networkName}|${canonical}`;
      const prior = staticTaken.get(key);
      if (prior) {
        add(
          'ip.conflict',
          fp,
          `${text} is also given at ${prior.join('.')}; static addresses on one network must differ`,
        );
      }
      else staticTaken.set(key, fp);
    }
  });

  // ------------------------------------------------------------ faults

  const faults = list(spec.faults);
  uniqueNames(faults, [...S, 'faults'], 'fault');
  faults.forEach((f, i) => {
    if (!isObj(f)) return;
    const p: Path = [...S, 'faults', i];
    const label = str(f.name) !== undefined ? `fault ${q(f.name as string)}` : 'this fault';
    const actions = FAULT_ACTIONS.filter((a) => f[a] !== undefined);
    if (actions.length === 0) {
      add('fault.action', p, `${label} has no action; give exactly one of ${FAULT_ACTIONS.join(', ')}`);
    } else if (actions.length > 1) {
      add(
        'fault.action',
        [...p, actions[1] as string],
        `${label} has ${actions.length} actions (${actions.join(', ')}); give exactly one, and split the rest into separate faults`,
      );
    }
    const action = actions.length === 1 ? actions[0] : undefined;

    // Who.
    const partition = isObj(f.partition) ? f.partition : undefined;
    const explicitGroups = action === 'partition' && partition !== undefined && partition.groups !== undefined;
    if (explicitGroups && f.targets !== undefined) {
      add(
        'fault.targets',
        [...p, 'targets'],
        `${label}: a partition with explicit groups takes no targets (the groups name every container); remove targets`,
      );
    } else if (!explicitGroups && action !== undefined && f.targets === undefined) {
      add(
        'fault.targets',
        p,
        `${label} needs targets: which containers get the fault, e.g. targets: {names: [server]}`,
      );
    }
    selector(f.targets, [...p, 'targets'], true);
    if (isObj(f.peers)) {
      list(f.peers.cidrs).forEach((c, j) => checkCidr(c, [...p, 'peers', 'cidrs', j], true));
    }
    list(f.ports).forEach((port, j) => {
      if (typeof port !== 'string' || !/^[0-9]{1,5}(-[0-9]{1,5})?$/.test(port)) return;
      if (!portRange(port)) {
        add(
          'port.invalid',
          [...p, 'ports', j],
          `${q(port)} is not a port or range: ports run from 1 to 65535 and a range is low-high, e.g. "8000-8100"`,
        );
      }
    });
    if (f.ports !== undefined && (f.protocol === 'icmp' || f.protocol === 'all')) {
      add(
        'port.protocol',
        [...p, 'protocol'],
        `ports need protocol tcp or udp (${f.protocol} has no ports); set protocol: tcp or remove ports`,
      );
    }
    if (action === 'container' || action === 'disconnect') {
      for (const k of ['peers', 'ports', 'protocol', 'direction']) {
        if (f[k] !== undefined) {
          add(
            'fault.notApplicable',
            [...p, k],
            `${k} does not apply to a ${action} fault (it acts on whole containers); remove it`,
          );
        }
      }
    }
    if (action === 'partition' && f.peers !== undefined) {
      add(
        'fault.notApplicable',
        [...p, 'peers'],
        'peers does not apply to a partition (its groups say who is cut off from whom); remove it',
      );
    }

    // What.
    if (isObj(f.netem)) {
      const n = f.netem;
      const np: Path = [...p, 'netem'];
      const effects = ['delay', 'loss', 'gemodel', 'duplicate', 'corrupt', 'reorder', 'rate'];
      if (!effects.some((k) => n[k] !== undefined)) {
        add('netem.empty', np, `netem needs at least one of ${effects.join(', ')}`);
      }
      if (n.jitter !== undefined && n.delay === undefined) {
        add(
          'netem.dependency',
          [...np, 'jitter'],
          'jitter varies the delay; give delay too, e.g. delay: 100ms',
        );
      }
      if (n.correlation !== undefined && n.jitter === undefined) {
        add(
          'netem.dependency',
          [...np, 'correlation'],
          'correlation relates successive delays and needs jitter, e.g. jitter: 10ms',
        );
      }
      if (n.distribution !== undefined && n.jitter === undefined) {
        add(
          'netem.dependency',
          [...np, 'distribution'],
          'distribution shapes the jitter; give jitter too, e.g. jitter: 10ms',
        );
      }
      if (n.reorder !== undefined && n.delay === undefined) {
        add(
          'netem.dependency',
          [...np, 'reorder'],
          'reorder sends some packets without the delay, so it needs delay, e.g. delay: 10ms',
        );
      }
      if (n.loss !== undefined && n.gemodel !== undefined) {
        add(
          'netem.conflict',
          [...np, 'gemodel'],
          'give loss or gemodel, not both (both set the loss model)',
        );
      }
      percent(n.correlation, [...np, 'correlation']);
      percentOrObject(n.loss, [...np, 'loss']);
      percentOrObject(n.duplicate, [...np, 'duplicate']);
      percentOrObject(n.corrupt, [...np, 'corrupt']);
      if (isObj(n.reorder)) {
        percent(n.reorder.percent, [...np, 'reorder', 'percent']);
        percent(n.reorder.correlation, [...np, 'reorder', 'correlation']);
      }
      if (isObj(n.gemodel)) for (const k of ['p', 'r', 'h', 'k']) percent(n.gemodel[k], [...np, 'gemodel', k]);
      rate(n.rate, [...np, 'rate']);
    }
    if (isObj(f.bandwidth)) {
      const b = f.bandwidth;
      const bp: Path = [...p, 'bandwidth'];
      rate(b.rate, [...bp, 'rate']);
      size(b.burst, [...bp, 'burst']);
      size(b.limit, [...bp, 'limit']);
      if (b.limit !== undefined && b.latency !== undefined) {
        add(
          'bandwidth.conflict',
          [...bp, 'latency'],
          'give limit or latency, not both (tbf sizes its queue from one of them)',
        );
      }
      positive(b.latency, [...bp, 'latency'], 'latency');
    }
    if (partition) {
      const pp: Path = [...p, 'partition'];
      const hasGroups = partition.groups !== undefined;
      const hasGen = partition.generator !== undefined;
      if (hasGroups === hasGen) {
        add(
          'partition.spec',
          pp,
          hasGroups ? 'give groups or generator, not both' : 'a partition needs groups (e.g. [[server], [client1, client2]]) or a generator (halves, majority, isolate, ring, bridge)',
        );
      }
      const where = new Map<string, number>();
      list(partition.groups).forEach((g, gi) => {
        list(g).forEach((name, ni) => {
          if (typeof name !== 'string') return;
          const prior = where.get(name);
          if (prior !== undefined) {
            add(
              'partition.groups',
              [...pp, 'groups', gi, ni],
              prior === gi ? `${q(name)} appears twice in group ${gi}` : `${q(name)} is in group ${prior} and group ${gi}; a container belongs to one group`,
            );
          } else where.set(name, gi);
        });
      });
      if (partition.count !== undefined && partition.generator !== 'isolate') {
        add('partition.count', [...pp, 'count'], 'count applies only to generator: isolate');
      }
    }
    if (isObj(f.reject) && f.reject.with === 'tcp-reset' && (f.protocol === 'udp' || f.protocol === 'icmp')) {
      add(
        'reject.protocol',
        [...p, 'reject', 'with'],
        `tcp-reset answers TCP only, but protocol is ${f.protocol}; use icmp-port-unreachable or protocol: tcp`,
      );
    }
    if (isObj(f.disconnect)) networkRef(f.disconnect.network, [...p, 'disconnect', 'network']);
    if (isObj(f.container) && f.container.signal !== undefined && f.container.action !== 'kill' && f.container.action !== 'stop') {
      add(
        'container.signal',
        [...p, 'container', 'signal'],
        `signal applies to kill and stop, not ${String(f.container.action)}; remove it`,
      );
    }

    // When.
    if (f.at !== undefined && f.startAt !== undefined) {
      add(
        'timing.conflict',
        [...p, 'startAt'],
        'give at (an offset) or startAt (a time), not both',
      );
    }
    if (isObj(f.at)) {
      const min = positiveOrZero(f.at.min);
      const max = positiveOrZero(f.at.max);
      if (min !== undefined && max !== undefined && min > max) {
        add('at.range', [...p, 'at'], `at.min (${String(f.at.min)}) is after at.max (${String(f.at.max)}); swap them`);
      }
    }
    const duration = positive(f.duration, [...p, 'duration'], 'duration');
    if (f.repeat !== undefined && f.schedule !== undefined) {
      add(
        'timing.conflict',
        [...p, 'schedule'],
        'give repeat or schedule, not both',
      );
    }
    if (isObj(f.repeat)) {
      const every = positive(f.repeat.every, [...p, 'repeat', 'every'], 'repeat.every');
      if (f.duration === undefined) {
        add(
          'repeat.duration',
          [...p, 'repeat'],
          'repeat needs duration: without it the first window lasts until the scenario ends',
        );
      } else if (every !== undefined && duration !== undefined && every > 0 && every < duration && f.concurrency !== 'allow') {
        add(
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
        add(
          'schedule.invalid',
          [...p, 'schedule'],
          `${q(schedule)} is not a valid cron schedule: ${why}; write 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. "*/5 * * * *"`,
        );
      }
      if (f.duration === undefined) {
        add(
          'schedule.duration',
          [...p, 'schedule'],
          'schedule needs duration: how long each window lasts, e.g. duration: 1m',
        );
      }
      if (f.at !== undefined || f.startAt !== undefined) {
        add(
          'timing.conflict',
          [...p, f.at !== undefined ? 'at' : 'startAt'],
          'schedule sets the start times; remove at/startAt',
        );
      }
    }
    const tz = str(f.timeZone);
    if (tz !== undefined && tz !== '') {
      if (!validTimeZone(tz)) {
        const guess = closest(tz, supportedTimeZones());
        add(
          'timeZone.invalid',
          [...p, 'timeZone'],
          `${q(tz)} is not an IANA time zone${guess ? `; did you mean ${q(guess)}?` : '; write e.g. "Europe/Berlin" or "UTC"'}`,
        );
      }
      if (f.schedule === undefined) {
        add(
          'timing.conflict',
          [...p, 'timeZone'],
          'timeZone applies only to schedule; remove it',
        );
      }
    }
  });

  positive(spec.duration, [...S, 'duration'], 'duration');
  return issues;

  // ------------------------------------------------------------ local helpers (hoisted)

  function positiveOrZero(v: unknown): number | undefined {
    const s = str(v);
    if (s === undefined) return undefined;
    try {
      return parseDuration(s);
    } catch {
      return undefined;
    }
  }

  function rate(v: unknown, path: Path): void {
    const s = str(v);
    if (s === undefined) return;
    try {
      if (parseRate(s) <= 0) add('rate.zero', path, `rate ${q(s)} must be more than 0, e.g. "1mbit"`);
    } catch {
      // pattern reported it
    }
  }

  function size(v: unknown, path: Path): void {
    const s = str(v);
    if (s === undefined) return;
    try {
      if (parseSize(s) <= 0) add('size.zero', path, `size ${q(s)} must be more than 0, e.g. "32kb"`);
    } catch {
      // pattern reported it
    }
  }
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function supportedTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  } catch {
    return [];
  }
}
