// spec.containers: unique names, Docker name length, image references, labels, environment keys,
// capabilities, published ports, and dependsOn (declared, not itself, no cycles).

import { parseIp } from '../net.js';
import { closest } from '../suggest.js';
import { dockerNameLength, labels, portRange, uniqueNames } from './fields.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

/** Linux capabilities (capabilities(7), Linux 6.x), as Docker spells them without CAP_. */
export const CAPABILITIES: readonly string[] = [
  'ALL',
  'AUDIT_CONTROL',
  'AUDIT_READ',
  'AUDIT_WRITE',
  'BLOCK_SUSPEND',
  'BPF',
  'CHECKPOINT_RESTORE',
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'IPC_LOCK',
  'IPC_OWNER',
  'KILL',
  'LEASE',
  'LINUX_IMMUTABLE',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'MKNOD',
  'NET_ADMIN',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_RAW',
  'PERFMON',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYSLOG',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_CHROOT',
  'SYS_MODULE',
  'SYS_NICE',
  'SYS_PACCT',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'WAKE_ALARM',
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
  if (parts.length > 2 || (ip !== undefined && parts.length !== 2))
    return 'expected [ip:][hostPort:]containerPort[/protocol]';
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

export function checkContainers(r: Report, spec: Obj): void {
  const containers = list(spec.containers);
  const ctrNames = uniqueNames(r, containers, [...S, 'containers'], 'container');
  const deps = new Map<string, { index: number; on: string[] }>();
  containers.forEach((c, i) => {
    if (!isObj(c)) return;
    const p: Path = [...S, 'containers', i];
    const name = str(c.name);
    if (name !== undefined) dockerNameLength(r, name, [...p, 'name'], 'container');
    const image = str(c.image);
    if (image !== undefined && image !== '') {
      const why = imageProblem(image);
      if (why) {
        r.add(
          'image.invalid',
          [...p, 'image'],
          `${q(image)} is not a valid image reference: ${why}; e.g. "nginx:1.27", "ghcr.io/org/app:v1"`,
        );
      }
    }
    labels(r, c.labels, [...p, 'labels'], true);
    if (isObj(c.env)) {
      for (const key of Object.keys(c.env)) {
        if (key === '' || /[=\s\u0000-\u001f\u007f]/.test(key)) {
          r.add(
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
          r.add(
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
        r.add(
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
        if (d === name) r.add('ref.container', [...p, 'dependsOn', j], `container ${q(name)} cannot depend on itself`);
        else if (!ctrNames.has(d)) {
          const guess = closest(d, [...ctrNames.keys()]);
          r.add(
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
        r.add(
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
}
