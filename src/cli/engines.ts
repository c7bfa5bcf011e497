// The engines a controller talks to: `default` (DOCKER_HOST, else the local socket, as always),
// plus every `--engine NAME=URL` and `--context NAME[=CONTEXT]`. A context is read the way the
// Docker CLI stores it: $DOCKER_CONFIG (else ~/.docker)/contexts/meta/<sha256(name)>/meta.json for
// the endpoint, contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem for its TLS material.
//
//   --engine b=tcp://10.0.0.2:2375          plain tcp
//   --engine b=https://10.0.0.2:2376        TLS, client certificates from DOCKER_CERT_PATH
//   --engine b=unix:///run/other.sock       another local engine
//   --context fl-b                          engine "fl-b", as `docker --context fl-b` would reach it
//   --context b=fl-b                        the same context, named "b" in scenarios
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EngineOptions } from '../adapters/docker/client.js';
import { UserError } from './options.js';

export interface EngineConfig {
  name: string;
  options: EngineOptions;
  /** Where it is, for logs and errors (never the key). */
  where: string;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A bad --engine / --context: printed without a stack, exit 1. */
export class EngineConfigError extends UserError {}

function checkName(name: string, flag: string, value: string): void {
  if (!NAME_RE.test(name) || name.length > 63)
    throw new EngineConfigError(
      `${flag} ${value}: engine name "${name}" must be lower-case letters, digits and '-' (at most 63), as scenarios write it in engine:`,
    );
}

function readPem(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** `NAME=URL` of --engine. */
export function engineFromFlag(value: string, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const eq = value.indexOf('=');
  if (eq <= 0)
    throw new EngineConfigError(
      `--engine ${value}: expected NAME=URL, e.g. --engine b=tcp://10.0.0.2:2375 or --engine b=https://10.0.0.2:2376`,
    );
  const name = value.slice(0, eq);
  const url = value.slice(eq + 1);
  checkName(name, '--engine', value);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EngineConfigError(
      `--engine ${value}: "${url}" is not a URL (unix:///path, tcp://host:port, https://host:port)`,
    );
  }
  if (u.protocol === 'unix:') return { name, options: { socketPath: u.pathname }, where: url };
  if (u.protocol === 'tcp:' || u.protocol === 'http:')
    return { name, options: { host: `tcp://${u.host}` }, where: url };
  if (u.protocol === 'https:' || u.protocol === 'tls:') {
    const dir = env.DOCKER_CERT_PATH ?? join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'));
    const tls = { ca: readPem(dir, 'ca.pem'), cert: readPem(dir, 'cert.pem'), key: readPem(dir, 'key.pem') };
    if (!tls.cert || !tls.key)
      throw new EngineConfigError(
        `--engine ${value}: TLS needs a client certificate: put cert.pem and key.pem (and ca.pem) in DOCKER_CERT_PATH (now ${dir}), or use --context`,
      );
    return { name, options: { host: `https://${u.host}`, tls }, where: url };
  }
  throw new EngineConfigError(
    `--engine ${value}: unsupported scheme "${u.protocol}" (unix://, tcp://, https://; ssh:// engines: make a context with the Docker CLI? not yet supported)`,
  );
}

/** `NAME[=CONTEXT]` of --context: the engine of a Docker CLI context, with its TLS material. */
export function engineFromContext(value: string, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const eq = value.indexOf('=');
  const name = eq > 0 ? value.slice(0, eq) : value;
  const context = eq > 0 ? value.slice(eq + 1) : value;
  checkName(name, '--context', value);
  const config = env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  const id = createHash('sha256').update(context).digest('hex');
  const metaPath = join(config, 'contexts', 'meta', id, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as typeof meta;
  } catch (e) {
    throw new EngineConfigError(
      `--context ${value}: cannot read Docker context "${context}" (${metaPath}: ${(e as Error).message}); list them with \`docker context ls\` (DOCKER_CONFIG=${config})`,
    );
  }
  const ep = meta.Endpoints?.docker;
  if (!ep?.Host) throw new EngineConfigError(`--context ${value}: ${metaPath} has no Endpoints.docker.Host`);
  const tlsDir = join(config, 'contexts', 'tls', id, 'docker');
  const tls = { ca: readPem(tlsDir, 'ca.pem'), cert: readPem(tlsDir, 'cert.pem'), key: readPem(tlsDir, 'key.pem') };
  const host = ep.Host;
  if (host.startsWith('unix://')) return { name, options: { socketPath: host.slice('unix://'.length) }, where: host };
  if (host.startsWith('ssh://'))
    throw new EngineConfigError(`--context ${value}: ssh:// endpoints (${host}) are not supported; use tcp with TLS`);
  const hasTls = tls.ca !== undefined || tls.cert !== undefined;
  return {
    name,
    options: hasTls ? { host, tls: { ...tls, ...(ep.SkipTLSVerify ? { skipVerify: true } : {}) } } : { host },
    where: `context ${context} (${host}${hasTls ? ', TLS' : ''})`,
  };
}

/** The engines given, checked: no name twice. `default=URL` replaces DOCKER_HOST for today's engine. */
export function engineConfigs(engines: readonly string[], contexts: readonly string[]): EngineConfig[] {
  const all = [...engines.map((e) => engineFromFlag(e)), ...contexts.map((c) => engineFromContext(c))];
  const seen = new Set<string>();
  for (const e of all) {
    if (seen.has(e.name)) throw new EngineConfigError(`engine "${e.name}" is given twice (--engine / --context)`);
    seen.add(e.name);
  }
  return all;
}
