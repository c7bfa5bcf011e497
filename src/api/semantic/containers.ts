// spec.containers: unique names, Docker name length, image references, labels, environment keys,
// capabilities, published ports, dependsOn (declared, not itself, no cycles), networkMode (a
// `container:` owner is declared, owns its namespace, and counts as a dependency; no hostname or
// ports beside a network mode) and mounts (volumes declared in spec.volumes or absolute bind paths,
// one mount per target). Returns each declared container's network mode, for the members.

import { parseIp } from '../net.js';
import { closest } from '../suggest.js';
import { dockerNameLength, labels, portRange, size, uniqueNames } from './fields.js';
import { formatPath } from '../format.js';
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

/** Declared containers by short name: their network mode when they have one. */
export type NetworkModes = Map<string, string | undefined>;

export function checkContainers(r: Report, spec: Obj, volumeNames: Set<string>): NetworkModes {
  const containers = list(spec.containers);
  const ctrNames = uniqueNames(r, containers, [...S, 'containers'], 'container');
  const deps = new Map<string, { index: number; on: string[]; owner?: string }>();
  const modes: NetworkModes = new Map();
  for (const [name, i] of ctrNames) modes.set(name, str((containers[i] as Obj).networkMode));
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
    const owner = checkNetworkMode(r, c, p, name, ctrNames, modes);
    checkMounts(r, c, p, volumeNames);
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
      deps.set(name, { index: i, on, owner });
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
    // A container: network mode starts its owner first, as a dependsOn entry does.
    const edges = [...(node?.on ?? []), ...(node?.owner ? [node.owner] : [])];
    edges.forEach((d, k) => {
      if (!node) return;
      if (state.get(d) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        const viaMode = k >= node.on.length;
        // "a -> b": a starts after b; an edge that comes from a network mode says so.
        const text = cycle
          .map((x, i) => {
            const next = cycle[i + 1];
            const n = deps.get(x);
            return next !== undefined && n?.owner === next && !n.on.includes(next)
              ? `${x} (networkMode container:${next})`
              : x;
          })
          .join(' -> ');
        r.add(
          'dependsOn.cycle',
          viaMode
            ? [...S, 'containers', node.index, 'networkMode']
            : [...S, 'containers', node.index, 'dependsOn', list((containers[node.index] as Obj).dependsOn).indexOf(d)],
          `dependsOn forms a cycle: ${text}; remove one of these dependencies`,
        );
      } else if (!state.has(d)) visit(d);
    });
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of deps.keys()) if (!state.has(name)) visit(name);
  return modes;
}

/**
 * networkMode: a `container:` owner must be declared, not the container itself, and own its
 * namespace (no chains: name the owner at the end of the chain); a hostname or published ports
 * beside any network mode are refused as Docker refuses them (or silently drops them, for host).
 * Returns the owner's short name for a `container:` mode.
 */
function checkNetworkMode(
  r: Report,
  c: Obj,
  p: Path,
  name: string | undefined,
  ctrNames: Map<string, number>,
  modes: NetworkModes,
): string | undefined {
  const mode = str(c.networkMode);
  if (mode === undefined || !/^(none|host|container:.+)$/.test(mode)) return undefined; // the pattern said it
  if (list(c.ports).length > 0) {
    r.add(
      'container.networkMode',
      [...p, 'ports'],
      `ports publish a container's own network, and with networkMode ${mode} it has none${mode === 'host' ? ' (it listens on the host already)' : ''}; remove ports${mode.startsWith('container:') ? ` (publish them on ${mode.slice(10)})` : ''}`,
    );
  }
  if (!mode.startsWith('container:')) return undefined;
  const owner = mode.slice('container:'.length);
  if (c.hostname !== undefined) {
    r.add(
      'container.networkMode',
      [...p, 'hostname'],
      `a container with networkMode ${mode} has the host name of ${q(owner)} (Docker refuses both); remove hostname`,
    );
  }
  if (owner === name) {
    r.add(
      'container.networkMode',
      [...p, 'networkMode'],
      `container ${q(owner)} cannot share its own network namespace`,
    );
    return undefined;
  }
  if (!ctrNames.has(owner)) {
    const guess = closest(owner, [...ctrNames.keys()]);
    r.add(
      'ref.container',
      [...p, 'networkMode'],
      `networkMode ${q(mode)} names ${q(owner)}, which is not declared in spec.containers${guess ? `; did you mean "container:${guess}"?` : ''}`,
    );
    return undefined;
  }
  const ownerMode = modes.get(owner);
  if (ownerMode !== undefined) {
    const hint = ownerMode.startsWith('container:')
      ? `: write "${ownerMode}" (the container that owns the namespace)`
      : `; give this container networkMode ${ownerMode} itself`;
    r.add(
      'container.networkMode',
      [...p, 'networkMode'],
      `${q(owner)} has networkMode ${ownerMode} and owns no network namespace to share${hint}`,
    );
    return undefined;
  }
  return owner;
}

/** Why a bind source is not an absolute, plain path on the host; undefined when it is. */
export function bindSourceProblem(source: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(source)) return 'it contains control characters';
  if (!source.startsWith('/')) return 'it is not absolute';
  if (source.split('/').some((part) => part === '..' || part === '.')) return 'it has "." or ".." components';
  return undefined;
}

/** volumes (declared names or absolute bind paths) and tmpfs: one mount per target, sizes above 0. */
function checkMounts(r: Report, c: Obj, p: Path, volumeNames: Set<string>): void {
  const targets = new Map<string, Path>();
  const target = (v: unknown, path: Path) => {
    const t = str(v);
    if (t === undefined || !t.startsWith('/')) return; // the pattern said it
    const norm = t.replace(/\/+$/, '') || '/';
    if (norm === '/') {
      r.add(
        'mount.target',
        path,
        "a mount cannot cover the container's whole file system; mount at a directory, e.g. /data",
      );
      return;
    }
    const prior = targets.get(norm);
    if (prior) r.add('mount.target', path, `${q(t)} is already mounted by ${formatPath(prior)}; one mount per target`);
    else targets.set(norm, path);
  };
  list(c.volumes).forEach((m, j) => {
    if (!isObj(m)) return;
    const mp: Path = [...p, 'volumes', j];
    target(m.target, [...mp, 'target']);
    const source = str(m.source);
    if (source === undefined || source === '') return;
    if (source.startsWith('/') || source.startsWith('.') || source.includes('/')) {
      const why = bindSourceProblem(source);
      if (why) {
        r.add(
          'mount.source',
          [...mp, 'source'],
          `bind source ${q(source)}: ${why}; a bind mount names an absolute path on the engine's host, e.g. "/srv/seed"`,
        );
      }
      return;
    }
    if (!volumeNames.has(source)) {
      const guess = closest(source, [...volumeNames]);
      r.add(
        'ref.volume',
        [...mp, 'source'],
        `volume ${q(source)} is not declared in spec.volumes${guess ? `; did you mean ${q(guess)}?` : ''} (a bind mount needs an absolute path, e.g. "/srv/${source}")`,
      );
    }
  });
  list(c.tmpfs).forEach((m, j) => {
    if (!isObj(m)) return;
    target(m.target, [...p, 'tmpfs', j, 'target']);
    size(r, m.size, [...p, 'tmpfs', j, 'size']);
  });
}
