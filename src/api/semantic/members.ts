// spec.members: the network exists, select takes no random, a container named there has no
// networkMode (it joins no network), and a static ipv4Address/ipv6Address names one container, lies
// in a declared subnet of its family, and is not a gateway, an aux address or another member's
// address. On an external network the subnets are Docker's (not checked here); on Docker's default
// bridge there are neither aliases nor static addresses.

import { cidrContains, formatCidr, formatIp, parseIp, type IpFamily } from '../net.js';
import type { NetworkModes } from './containers.js';
import { selector } from './fields.js';
import type { NetworkRef } from './networks.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

export function checkMembers(r: Report, spec: Obj, networkRef: NetworkRef, modes: NetworkModes): void {
  const staticTaken = new Map<string, Path>(); // "<network>|<address>" -> where
  list(spec.members).forEach((m, i) => {
    if (!isObj(m)) return;
    const p: Path = [...S, 'members', i];
    const net = networkRef(m.network, [...p, 'network']);
    selector(r, m.select, [...p, 'select'], false);
    if (isObj(m.select)) {
      list(m.select.names).forEach((n, j) => {
        const mode = typeof n === 'string' ? modes.get(n) : undefined;
        if (mode === undefined) return;
        r.add(
          'member.networkMode',
          [...p, 'select', 'names', j],
          `container ${q(n as string)} has networkMode ${mode}, so it joins no network${mode.startsWith('container:') ? ` (it uses the networks of ${mode.slice(10)})` : ''}; remove it from this member or remove its networkMode`,
        );
      });
    }
    if (net?.defaultBridge && m.aliases !== undefined) {
      r.add(
        'member.defaultBridge',
        [...p, 'aliases'],
        "Docker's default bridge has no DNS and takes no aliases; remove aliases (or join a user-defined network)",
      );
    }
    for (const [field, family] of [
      ['ipv4Address', 4],
      ['ipv6Address', 6],
    ] as const) {
      const text = str(m[field]);
      if (text === undefined) continue;
      const fp: Path = [...p, field];
      const ip = parseIp(text);
      if (!ip || ip.family !== family) {
        r.add(
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
        r.add(
          'member.staticAddress',
          fp,
          `a static ${field} needs exactly one container: select it with names and a single name (two containers cannot share ${text})`,
        );
      }
      if (!net) continue;
      if (net.defaultBridge) {
        r.add(
          'member.defaultBridge',
          fp,
          "Docker's default bridge assigns addresses itself (no static addresses there); remove " + field,
        );
        continue;
      }
      if (net.external) continue; // Docker knows its subnets; it refuses an address outside them
      const familySubnets = net.subnets.filter((s) => s.family === family);
      const networkName = str(m.network) as string;
      if (familySubnets.length === 0) {
        r.add(
          'member.staticAddress',
          fp,
          `network ${q(networkName)} declares no IPv${family} subnet in ipam.config; Docker assigns static addresses only inside a declared subnet`,
        );
        continue;
      }
      if (!familySubnets.some((s) => cidrContains(s, ip))) {
        r.add(
          'ip.outsideSubnet',
          fp,
          `${text} is outside the subnets of network ${q(networkName)} (${familySubnets.map(formatCidr).join(', ')})`,
        );
        continue;
      }
      const canonical = formatIp(ip.family as IpFamily, ip.value);
      const holder = net.reserved.get(canonical);
      if (holder) {
        r.add(
          'ip.conflict',
          fp,
          `${text} is already the ${holder} of network ${q(networkName)}; choose another address`,
        );
      }
      const key = `${networkName}|${canonical}`;
      const prior = staticTaken.get(key);
      if (prior) {
        r.add(
          'ip.conflict',
          fp,
          `${text} is also given at ${prior.join('.')}; static addresses on one network must differ`,
        );
      } else staticTaken.set(key, fp);
    }
  });
}
