// A fake Docker engine for fast tests of the middle: a DockerPort over a mutable set of networks
// and containers that records every call, hands out addresses from each network's subnet, and
// emits the events the real engine would (so the event-fed view follows it). `onStart` lets a test
// give a started container a namespace in a FakeKernel.
import type {
  DockerEvent,
  DockerPort,
  ContainerCreateRequest,
  EngineSummary,
  EndpointRequest,
  NetworkCreateRequest,
  VolumeCreateRequest,
} from '../../../src/ports/index.js';
import type { ObservedContainer, ObservedNetwork, ObservedVolume, Snapshot } from '../../../src/resolve/index.js';
import { ENDPOINT_OWNER_OPT } from '../../../src/api/ownership.js';
import { withStatus } from '../../../src/store/yamlEdit.js';
import type { ScenarioStatus } from '../../../src/api/types.js';
import type { DirEvent, DirStore, ScenarioFiles, StatusWriteResult } from '../../../src/ports/index.js';

export class FakeDocker implements DockerPort {
  readonly networks = new Map<string, ObservedNetwork>();
  readonly containers = new Map<string, ObservedContainer>();
  readonly volumes = new Map<string, ObservedVolume>();
  /** Every mutating call: "createNetwork shop_net", "startContainer shop_a", … */
  readonly calls: string[] = [];
  onStart?: (c: ObservedContainer) => void;
  private listeners: ((e: DockerEvent) => void)[] = [];
  private seq = 0;
  private nextPid = 1000;

  /** While set, events are lost (as Docker drops them for a reader that falls behind). */
  dropEvents = false;

  private emit(type: string, action: string, actorId: string, attributes: Record<string, string> = {}): void {
    if (this.dropEvents) return;
    const e: DockerEvent = { type, action, actorId, attributes, time: Math.floor(Date.now() / 1000) };
    for (const l of this.listeners) l(e);
  }

  private container(ref: string): ObservedContainer {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    if (!c) throw Object.assign(new Error(`No such container: ${ref}`), { statusCode: 404 });
    return c;
  }

  private network(ref: string): ObservedNetwork {
    const n = this.networks.get(ref) ?? [...this.networks.values()].find((x) => x.name === ref);
    if (!n) throw Object.assign(new Error(`network ${ref} not found`), { statusCode: 404 });
    return n;
  }

  /** A container that exists outside any scenario (adopted by name or labels). */
  addRunning(name: string, labels: Record<string, string> = {}, networkName?: string): ObservedContainer {
    const id = `c${++this.seq}`.padEnd(12, '0');
    const c: ObservedContainer = {
      id,
      name,
      image: 'faultline/testbox',
      labels,
      state: 'created',
      pid: 0,
      networkMode: networkName ?? 'bridge',
      endpoints: [],
    };
    this.containers.set(id, c);
    if (networkName) this.attach(c, this.network(networkName), { aliases: [] });
    this.start(c);
    this.emit('container', 'start', id, { name, ...labels });
    return c;
  }

  private start(c: ObservedContainer): void {
    c.state = 'running';
    c.pid = this.nextPid++;
    c.startedAt = new Date().toISOString();
    this.onStart?.(c);
  }

  private attach(c: ObservedContainer, n: ObservedNetwork, ep: EndpointRequest): void {
    const base = n.subnets[0]?.subnet.split('/')[0].split('.').map(Number) ?? [10, 0, 0, 0];
    const used = new Set(
      [...this.containers.values()].flatMap((x) =>
        x.endpoints.filter((e) => e.networkId === n.id).map((e) => e.ipv4Address),
      ),
    );
    let host = 2;
    while (used.has(`${base[0]}.${base[1]}.${base[2]}.${host}`)) host++;
    c.endpoints.push({
      networkId: n.id,
      networkName: n.name,
      ipv4Address: ep.ipv4Address ?? `${base[0]}.${base[1]}.${base[2]}.${host}`,
      aliases: [...ep.aliases],
      ...(ep.driverOpts?.[ENDPOINT_OWNER_OPT] ? { owner: ep.driverOpts[ENDPOINT_OWNER_OPT] } : {}),
    });
    n.containerIds.push(c.id);
  }

  async ping() {}
  /** How many of the next snapshots fail (an engine still restoring answers some inspects with errors). */
  failSnapshots = 0;
  snapshots = 0;
  async snapshot(): Promise<Snapshot> {
    this.snapshots++;
    if (this.failSnapshots > 0) {
      this.failSnapshots--;
      throw new Error('inspect container: Docker says "restoring" (HTTP 500)');
    }
    return structuredClone({
      networks: [...this.networks.values()],
      containers: [...this.containers.values()],
      volumes: [...this.volumes.values()],
      takenAt: new Date().toISOString(),
    });
  }
  async summary(): Promise<EngineSummary> {
    return {
      containers: [...this.containers.values()].map((c) => ({
        id: c.id,
        state: c.state,
        networkIds: [...new Set(c.endpoints.map((e) => e.networkId))].sort(),
      })),
      networks: [...this.networks.keys()],
      volumes: [...this.volumes.keys()],
    };
  }
  async inspectVolume(name: string) {
    const v = this.volumes.get(name);
    return v && structuredClone(v);
  }
  async createVolume(req: VolumeCreateRequest) {
    this.calls.push(`createVolume ${req.name}`);
    this.volumes.set(req.name, { name: req.name, driver: req.driver, labels: { ...req.labels } });
    this.emit('volume', 'create', req.name, { driver: req.driver });
  }
  async removeVolume(name: string) {
    this.calls.push(`removeVolume ${name}`);
    if (this.volumes.delete(name)) this.emit('volume', 'destroy', name, {});
  }
  async inspectContainer(ref: string) {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    return c && structuredClone(c);
  }
  async inspectNetwork(ref: string) {
    const n = this.networks.get(ref) ?? [...this.networks.values()].find((x) => x.name === ref);
    return n && structuredClone(n);
  }
  async createNetwork(req: NetworkCreateRequest) {
    this.calls.push(`createNetwork ${req.name}`);
    const id = `n${++this.seq}`.padEnd(12, '0');
    const subnet = req.ipam?.config[0]?.subnet ?? `10.${100 + this.seq}.0.0/24`;
    this.networks.set(id, {
      id,
      name: req.name,
      driver: req.driver,
      labels: { ...req.labels },
      internal: req.internal,
      attachable: req.attachable,
      enableIPv6: req.enableIPv6,
      subnets: [{ subnet }],
      options: { ...req.options },
      containerIds: [],
    });
    this.emit('network', 'create', id, { name: req.name });
    return id;
  }
  async removeNetwork(ref: string) {
    this.calls.push(`removeNetwork ${ref}`);
    const n = this.networks.get(ref) ?? [...this.networks.values()].find((x) => x.name === ref);
    if (!n) return;
    this.networks.delete(n.id);
    this.emit('network', 'destroy', n.id, { name: n.name });
  }
  async createContainer(req: ContainerCreateRequest) {
    this.calls.push(`createContainer ${req.name}`);
    const id = `c${++this.seq}`.padEnd(12, '0');
    const c: ObservedContainer = {
      id,
      name: req.name,
      image: req.image,
      labels: { ...req.labels },
      state: 'created',
      pid: 0,
      networkMode: req.networkMode ?? req.network?.name ?? 'bridge',
      endpoints: [],
    };
    this.containers.set(id, c);
    if (req.network) this.attach(c, this.network(req.network.name), req.network.endpoint);
    this.emit('container', 'create', id, { name: req.name, ...req.labels });
    return id;
  }
  async startContainer(ref: string) {
    this.calls.push(`startContainer ${ref}`);
    const c = this.container(ref);
    if (c.state === 'running') return;
    this.start(c);
    this.emit('container', 'start', c.id, { name: c.name, ...c.labels });
  }
  private async halt(ref: string, what: string, state = 'exited') {
    this.calls.push(`${what} ${ref}`);
    const c = this.container(ref);
    c.state = state;
    if (state !== 'paused') c.pid = 0;
    this.emit('container', what === 'pauseContainer' ? 'pause' : 'die', c.id, { name: c.name, ...c.labels });
  }
  stopContainer(ref: string) {
    return this.halt(ref, 'stopContainer');
  }
  killContainer(ref: string) {
    return this.halt(ref, 'killContainer');
  }
  pauseContainer(ref: string) {
    return this.halt(ref, 'pauseContainer', 'paused');
  }
  async unpauseContainer(ref: string) {
    this.calls.push(`unpauseContainer ${ref}`);
    const c = this.container(ref);
    c.state = 'running';
    this.emit('container', 'unpause', c.id, { name: c.name, ...c.labels });
  }
  async restartContainer(ref: string) {
    this.calls.push(`restartContainer ${ref}`);
    const c = this.container(ref);
    this.start(c);
    this.emit('container', 'restart', c.id, { name: c.name, ...c.labels });
  }
  async removeContainer(ref: string) {
    this.calls.push(`removeContainer ${ref}`);
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    if (!c) return;
    for (const n of this.networks.values()) n.containerIds = n.containerIds.filter((x) => x !== c.id);
    this.containers.delete(c.id);
    this.emit('container', 'destroy', c.id, { name: c.name, ...c.labels });
  }
  async connect(network: string, ref: string, endpoint: EndpointRequest) {
    this.calls.push(`connect ${network} ${ref}`);
    const c = this.container(ref);
    const n = this.network(network);
    if (c.endpoints.some((e) => e.networkId === n.id)) return;
    this.attach(c, n, endpoint);
    this.emit('network', 'connect', n.id, { name: n.name, container: c.id });
  }
  async disconnect(network: string, ref: string) {
    this.calls.push(`disconnect ${network} ${ref}`);
    const c = this.container(ref);
    const n = this.network(network);
    c.endpoints = c.endpoints.filter((e) => e.networkId !== n.id);
    n.containerIds = n.containerIds.filter((x) => x !== c.id);
    this.emit('network', 'disconnect', n.id, { name: n.name, container: c.id });
  }
  async imageExists() {
    return true;
  }
  private reconnectListeners: (() => void)[] = [];
  async watchEvents(onEvent: (e: DockerEvent) => void, signal: AbortSignal, onReconnect?: () => void) {
    this.listeners.push(onEvent);
    if (onReconnect) this.reconnectListeners.push(onReconnect);
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    this.listeners = this.listeners.filter((l) => l !== onEvent);
    this.reconnectListeners = this.reconnectListeners.filter((l) => l !== onReconnect);
  }
  /** The event stream broke and was opened again (the engine restarted). */
  reconnect(): void {
    for (const l of this.reconnectListeners) l();
  }
}

/** Scenario files in memory; status written with the store's own text edit (api of ScenarioFiles). */
export class MemoryFiles implements ScenarioFiles {
  readonly texts = new Map<string, string>();
  writes = 0;
  /** While set, every status write fails as the store reports a filesystem's refusal. */
  failWrites?: { errno: string; message: string };
  async read(path: string) {
    const t = this.texts.get(path);
    return t === undefined ? { missing: true as const } : { text: t };
  }
  async writeStatus(path: string, status: ScenarioStatus, reconciledSpecHash?: string): Promise<StatusWriteResult> {
    const t = this.texts.get(path);
    if (t === undefined) return { written: false, reason: 'missing' };
    if (this.failWrites) return { written: false, reason: 'StatusWriteFailed', ...this.failWrites };
    const out = withStatus(t, status, { reconciledSpecHash });
    if ('notEditable' in out) return { written: false, reason: 'notEditable', message: out.notEditable };
    this.writes++;
    this.texts.set(path, out.text);
    return { written: true, own: true, text: out.text };
  }
}

/** A directory of scenario files in memory, watched: what the controller needs of store/. */
export class MemoryDir extends MemoryFiles implements DirStore {
  private listeners: ((e: DirEvent) => void)[] = [];
  private own = new Set<string>();
  /** Milliseconds every read takes (to hold a reconcile in the middle of its work). */
  readDelayMs = 0;
  async list() {
    return [...this.texts.keys()].sort();
  }
  async peek(path: string) {
    return super.read(path);
  }
  override async read(path: string) {
    if (this.readDelayMs) await new Promise((r) => setTimeout(r, this.readDelayMs));
    return super.read(path);
  }
  override async writeStatus(path: string, status: ScenarioStatus, reconciledSpecHash?: string) {
    const r = await super.writeStatus(path, status, reconciledSpecHash);
    if (r.written) this.own.add(this.texts.get(path)!);
    return r;
  }
  isOwnWrite(_path: string, text: string) {
    return this.own.has(text);
  }
  async watch(onEvent: (e: DirEvent) => void, signal: AbortSignal) {
    this.listeners.push(onEvent);
    signal.addEventListener('abort', () => (this.listeners = this.listeners.filter((l) => l !== onEvent)), {
      once: true,
    });
  }
  /** A person saves a file. */
  save(path: string, text: string): void {
    const kind = this.texts.has(path) ? 'change' : 'add';
    this.texts.set(path, text);
    for (const l of this.listeners) l({ path, kind });
  }
}
