// faultline's requests (plan/requests.ts) -> Engine API bodies. Pure: no calls here.
import type { ContainerCreateRequest, EndpointRequest, MountRequest, NetworkCreateRequest } from '../../ports/index.js';
import { DockerError } from './errors.js';

export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount?: number } {
  const p = policy.trim();
  if (p === '' || p === 'no') return { Name: 'no' };
  if (p === 'always' || p === 'unless-stopped') return { Name: p };
  const m = /^on-failure(?::(\d+))?$/.exec(p);
  if (m) return m[1] === undefined ? { Name: 'on-failure' } : { Name: 'on-failure', MaximumRetryCount: Number(m[1]) };
  throw new DockerError({
    code: 'InvalidRequest',
    operation: 'parse restart policy',
    message: `restart policy "${policy}" is not one of no | always | unless-stopped | on-failure[:N]`,
  });
}

/** EndpointSettings for a create's NetworkingConfig or a connect. */
export function endpointConfig(ep: EndpointRequest): Record<string, unknown> {
  const ipam: Record<string, string> = {};
  if (ep.ipv4Address) ipam.IPv4Address = ep.ipv4Address;
  if (ep.ipv6Address) ipam.IPv6Address = ep.ipv6Address;
  return {
    Aliases: ep.aliases,
    ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}),
    ...(ep.driverOpts ? { DriverOpts: ep.driverOpts } : {}),
  };
}

/** HostConfig.Mounts: named volumes, binds (which must exist: the Mounts API never creates them), tmpfs. */
export function mountsBody(mounts: MountRequest[]): Record<string, unknown>[] {
  return mounts.map((m) => {
    switch (m.type) {
      case 'volume':
        return {
          Type: 'volume',
          Source: m.source,
          Target: m.target,
          ReadOnly: m.readOnly,
          ...(m.create
            ? {
                VolumeOptions: {
                  Labels: m.create.labels,
                  DriverConfig: { Name: m.create.driver, Options: m.create.options },
                },
              }
            : {}),
        };
      case 'bind':
        return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly };
      case 'tmpfs':
        return {
          Type: 'tmpfs',
          Target: m.target,
          TmpfsOptions: {
            ...(m.sizeBytes !== undefined ? { SizeBytes: m.sizeBytes } : {}),
            ...(m.mode !== undefined ? { Mode: m.mode } : {}),
          },
        };
    }
  });
}

export function networkCreateBody(req: NetworkCreateRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    Name: req.name,
    // Without it, Docker 20.10 happily creates a second network with the same name.
    CheckDuplicate: true,
    Driver: req.driver,
    Labels: req.labels,
    Internal: req.internal,
    Attachable: req.attachable,
    EnableIPv6: req.enableIPv6,
    Options: req.options,
  };
  if (req.ipam) {
    body.IPAM = {
      Driver: req.ipam.driver || 'default',
      Config: req.ipam.config.map((c) => ({
        Subnet: c.subnet,
        ...(c.gateway ? { Gateway: c.gateway } : {}),
        ...(c.ipRange ? { IPRange: c.ipRange } : {}),
        ...(c.auxAddresses ? { AuxiliaryAddresses: c.auxAddresses } : {}),
      })),
      Options: req.ipam.options,
    };
  }
  return body;
}

/** Throws InvalidRequest for a restart policy Docker would not understand. */
export function containerCreateBody(req: ContainerCreateRequest): Record<string, unknown> {
  const restart = parseRestartPolicy(req.restartPolicy);
  const portBindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  const exposed: Record<string, object> = {};
  for (const p of req.ports) {
    const key = p.containerPort.includes('/') ? p.containerPort : `${p.containerPort}/tcp`;
    exposed[key] = {};
    (portBindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort ?? '' });
  }
  const body: Record<string, unknown> = {
    name: req.name,
    Image: req.image,
    Env: req.env,
    Labels: req.labels,
    ExposedPorts: exposed,
    HostConfig: {
      CapAdd: req.capAdd,
      CapDrop: req.capDrop,
      RestartPolicy: restart,
      PortBindings: portBindings,
      ...(req.mounts?.length ? { Mounts: mountsBody(req.mounts) } : {}),
      ...(req.pidMode ? { PidMode: req.pidMode } : {}),
      // Like `docker run --network X`: the first network is also the network mode.
      ...(req.networkMode || req.network ? { NetworkMode: req.networkMode ?? req.network?.name } : {}),
    },
  };
  if (req.command) body.Cmd = req.command;
  if (req.entrypoint) body.Entrypoint = req.entrypoint;
  if (req.hostname) body.Hostname = req.hostname;
  if (req.workingDir) body.WorkingDir = req.workingDir;
  if (req.user) body.User = req.user;
  if (req.stopSignal) body.StopSignal = req.stopSignal;
  if (req.stopTimeout !== undefined) body.StopTimeout = req.stopTimeout;
  if (req.network) {
    body.NetworkingConfig = { EndpointsConfig: { [req.network.name]: endpointConfig(req.network.endpoint) } };
  }
  return body;
}
