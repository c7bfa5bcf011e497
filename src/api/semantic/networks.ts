// spec.networks: unique names, Docker name length, labels, IPAM subnets (valid, IPv6 enabled, no
// two overlapping), gateways, ipRanges and aux addresses inside their subnet. Returns how later
// parts (members, disconnect faults) refer to a network.

import { cidrContains, cidrContainsCidr, cidrsOverlap, formatCidr, formatIp, parseIp, type Cidr } from '../net.js';
import { closest } from '../suggest.js';
import { checkCidr, dockerNameLength, labels, uniqueNames } from './fields.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

export interface NetInfo {
  index: number;
  subnets: Cidr[];
  reserved: Map<string, string>; // address text -> what holds it (gateway, aux address)
}

/** The declared network a reference names, or undefined (reported: `ref.network`). */
export type NetworkRef = (v: unknown, path: Path) => NetInfo | undefined;

export function checkNetworks(r: Report, spec: Obj): NetworkRef {
  const networks = list(spec.networks);
  const netNames = uniqueNames(r, networks, [...S, 'networks'], 'network');
  const netInfo = new Map<string, NetInfo>();
  const allSubnets: { cidr: Cidr; path: Path }[] = [];
  networks.forEach((n, i) => {
    if (!isObj(n)) return;
    const p: Path = [...S, 'networks', i];
    const name = str(n.name);
    if (name !== undefined) dockerNameLength(r, name, [...p, 'name'], 'network');
    labels(r, n.labels, [...p, 'labels'], true);
    const info: NetInfo = { index: i, subnets: [], reserved: new Map() };
    if (name !== undefined && netNames.get(name) === i) netInfo.set(name, info);
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
