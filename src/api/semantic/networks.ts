// spec.networks: unique names, Docker name length, labels, IPAM subnets (valid, IPv6 enabled, no
// two overlapping), gateways, ipRanges and aux addresses inside their subnet; drivers (plugins are
// passed through, Docker's host/null networks are not drivers anyone can create) and their mode
// options; external networks (nothing faultline would create may be given with them, and two entries
// may not name one Docker network). Returns how later parts (members, disconnect faults) refer to a
// network.

import { cidrContains, cidrContainsCidr, cidrsOverlap, formatCidr, formatIp, parseIp, type Cidr } from '../net.js';
import { closest } from '../suggest.js';
import { checkCidr, dockerNameLength, labels, uniqueNames } from './fields.js';
import { formatPath } from '../format.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

export interface NetInfo {
  index: number;
  subnets: Cidr[];
  reserved: Map<string, string>; // address text -> what holds it (gateway, aux address)
  /** An existing network (spec external): its subnets are Docker's, not known here. */
  external: boolean;
  /** Docker's default network "bridge": no aliases and no static addresses there. */
  defaultBridge: boolean;
}

/** What creating a network means; none of it applies to an external one. */
const CREATE_FIELDS = ['driver', 'options', 'ipam', 'internal', 'attachable', 'enableIPv6', 'labels'] as const;

/** The Docker name an external entry names (undefined for a compose reference: found by labels). */
export function externalDockerName(name: string, external: unknown): string | undefined {
  if (external === true) return name;
  if (isObj(external) && typeof external.name === 'string') return external.name;
  return undefined;
}

/** Mode options of the built-in drivers that take one, and the values Docker accepts. */
const MODE_OPTIONS: Record<string, [string, string[]]> = {
  macvlan: ['macvlan_mode', ['bridge', 'vepa', 'passthru', 'private']],
  ipvlan: ['ipvlan_mode', ['l2', 'l3', 'l3s']],
};

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with its NUL), no "/", ":" or spaces. */
const IFNAME_RE = /^[a-zA-Z0-9_.@-]{1,15}$/;

/** The declared network a reference names, or undefined (reported: `ref.network`). */
export type NetworkRef = (v: unknown, path: Path) => NetInfo | undefined;

export function checkNetworks(r: Report, spec: Obj): NetworkRef {
  const networks = list(spec.networks);
  const netNames = uniqueNames(r, networks, [...S, 'networks'], 'network');
  const netInfo = new Map<string, NetInfo>();
  const allSubnets: { cidr: Cidr; path: Path }[] = [];
  const externalNames = new Map<string, Path>(); // Docker name -> the entry that names it
  networks.forEach((n, i) => {
    if (!isObj(n)) return;
    const p: Path = [...S, 'networks', i];
    const name = str(n.name);
    const external = n.external === true || isObj(n.external);
    if (external) checkExternal(r, n, p, name, externalNames);
    else if (name !== undefined) dockerNameLength(r, name, [...p, 'name'], 'network');
    if (!external) checkDriver(r, n, p);
    labels(r, n.labels, [...p, 'labels'], true);
    const dockerName = external && name !== undefined ? externalDockerName(name, n.external) : undefined;
    const info: NetInfo = {
      index: i,
      subnets: [],
      reserved: new Map(),
      external,
      defaultBridge: dockerName === 'bridge',
    };
    if (name !== undefined && netNames.get(name) === i) netInfo.set(name, info);
    if (external) return; // its ipam was reported above; Docker's subnets are not known here
    const ipam = isObj(n.ipam) ? n.ipam : {};
    let hasV6 = false;
    list(ipam.config).forEach((c, j) => {
      if (!isObj(c)) return;
      const cp: Path = [...p, 'ipam', 'config', j];
      const subnet = checkCidr(r, c.subnet, [...cp, 'subnet'], false);
      if (subnet) {
        info.subnets.push(subnet);
        if (subnet.family === 6) hasV6 = true;
        const clash = allSubnets.find((o) => cidrsOverlap(o.cidr, subnet));
        if (clash) {
          r.add(
            'cidr.overlap',
            [...cp, 'subnet'],
            `subnet ${formatCidr(subnet)} overlaps ${formatCidr(clash.cidr)} (${clash.path.join('.')}); Docker refuses overlapping subnets`,
          );
        } else allSubnets.push({ cidr: subnet, path: [...cp, 'subnet'] });
      }
      const inside = (text: string, path: Path, what: string): void => {
        const ip = parseIp(text);
        if (!ip) {
          r.add(
            'ip.invalid',
            path,
            `${q(text)} is not an IP address; write e.g. ${subnet ? formatIp(subnet.family, subnet.network + 1n) : '10.30.0.1'}`,
          );
          return;
        }
        if (subnet && !cidrContains(subnet, ip)) {
          r.add(
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
      const range = checkCidr(r, c.ipRange, [...cp, 'ipRange'], false);
      if (range && subnet && !cidrContainsCidr(subnet, range)) {
        r.add(
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
      r.add('network.ipv6', [...p, 'enableIPv6'], 'the network has an IPv6 subnet; set enableIPv6: true');
    }
  });

  return (v, path) => {
    const name = str(v);
    if (name === undefined) return undefined;
    const info = netInfo.get(name);
    if (info) return info;
    const declared = [...netNames.keys()];
    const guess = closest(name, declared);
    r.add(
      'ref.network',
      path,
      `network ${q(name)} is not declared in spec.networks${declared.length ? ` (declared: ${declared.join(', ')})` : ''}${guess ? `; did you mean ${q(guess)}?` : ''}`,
    );
    return undefined;
  };
}

/** An external entry: nothing a create would use, name or compose (not both), one entry per network. */
function checkExternal(r: Report, n: Obj, p: Path, name: string | undefined, externalNames: Map<string, Path>): void {
  for (const field of CREATE_FIELDS) {
    if (n[field] === undefined) continue;
    r.add(
      'network.external',
      [...p, field],
      `network ${q(name ?? '?')} is external: faultline never creates or changes it, so ${field} does not apply; remove ${field} (or remove external to have faultline create the network)`,
    );
  }
  const ext = n.external;
  if (isObj(ext) && ext.name !== undefined && ext.compose !== undefined) {
    r.add(
      'network.external',
      [...p, 'external', 'compose'],
      'give external.name (a Docker network name) or external.compose (a compose project and network), not both',
    );
    return;
  }
  if (name === undefined) return;
  const dockerName = externalDockerName(name, ext);
  const key =
    dockerName ??
    (isObj(ext) && isObj(ext.compose)
      ? `compose:${String(ext.compose.project)}/${String(ext.compose.network)}`
      : undefined);
  if (key === undefined) return;
  const prior = externalNames.get(key);
  if (prior) {
    r.add(
      'network.external',
      [...p, 'external'],
      `${dockerName ? `Docker network ${q(dockerName)}` : 'this compose network'} is already ${formatPath(prior)}; refer to that entry instead of declaring it twice`,
    );
  } else externalNames.set(key, p);
}

/** Docker's host and null networks cannot be created; mode options of macvlan/ipvlan; the parent's name. */
function checkDriver(r: Report, n: Obj, p: Path): void {
  const driver = str(n.driver);
  if (driver === 'host' || driver === 'null' || driver === 'none') {
    r.add(
      'network.driver',
      [...p, 'driver'],
      `Docker has exactly one ${driver === 'host' ? 'host' : 'none'} network and creates no others; give a container networkMode: ${driver === 'host' ? 'host' : 'none'} instead of declaring a network`,
    );
    return;
  }
  if (driver === undefined || !isObj(n.options)) return;
  const mode = MODE_OPTIONS[driver];
  if (mode) {
    const [key, values] = mode;
    const v = n.options[key];
    if (typeof v === 'string' && !values.includes(v)) {
      r.add(
        'network.option',
        [...p, 'options', key],
        `${key} ${q(v)} is not one of ${values.join(', ')}${closest(v, values) ? `; did you mean ${q(closest(v, values) as string)}?` : ''}`,
      );
    }
    const parent = n.options.parent;
    if (typeof parent === 'string' && !IFNAME_RE.test(parent)) {
      r.add(
        'network.option',
        [...p, 'options', 'parent'],
        `parent ${q(parent)} is not a network interface name (at most 15 letters, digits, "_", ".", "@" or "-"); e.g. "eth0" or "eth0.10"`,
      );
    }
  }
}
