// Subnets from faultline's own address pools for networks declared without one (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkSpec, Scenario } from '../../../src/api/types.js';
import { allocateSubnets, parseAddressPool, type AllocateInput } from '../../../src/plan/addresses.js';
import { desiredState } from '../../../src/plan/desired.js';
import type { ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';

const net = (name: string, subnet: string, labels: Record<string, string> = {}): ObservedNetwork => ({
  id: `id-${name}`,
  name,
  driver: 'bridge',
  labels,
  internal: false,
  attachable: false,
  enableIPv6: false,
  subnets: [{ subnet }],
  options: {},
  containerIds: [],
});

const networksOf = (networks: NetworkSpec[]) => {
  const s: Scenario = {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 'shop' },
    spec: { networks },
  };
  return desiredState('ctl', s, { networks: [], containers: [], takenAt: '' }).networks;
};

function allocate(x: Partial<AllocateInput> & { networks: AllocateInput['networks'] }) {
  const snapshot: Snapshot = x.snapshot ?? { networks: [], containers: [], takenAt: '' };
  return allocateSubnets({
    scenario: 'shop',
    pools: [parseAddressPool('10.200.0.0/16/24')],
    chosen: new Map(),
    ...x,
    snapshot,
  });
}

describe('address pools', () => {
  it('parses <network>/<prefix>/<block prefix>, and says what is wrong otherwise', () => {
    assert.deepEqual(parseAddressPool('10.200.0.0/16/24'), { cidr: '10.200.0.0/16', size: 24 });
    assert.throws(() => parseAddressPool('10.200.0.0/16'), /like 10.200.0.0\/16\/24/);
    assert.throws(() => parseAddressPool('10.200.0.1/16/24'), /host bits/);
    assert.throws(() => parseAddressPool('10.200.0.0/24/16'), /do not fit/);
    assert.throws(() => parseAddressPool('fd00::/48/64'), /only IPv4/);
  });

  it('the first block that overlaps no network on the engine and no route of the host', () => {
    const got = allocate({
      networks: networksOf([{ name: 'net' }]),
      snapshot: {
        networks: [net('other_net', '10.200.0.0/24'), net('persons', '10.200.2.0/23')],
        containers: [],
        takenAt: '',
      },
      hostRoutes: ['10.200.1.0/24', '0.0.0.0/0'],
    });
    assert.deepEqual(got.get('shop_net'), { subnet: '10.200.4.0/24', from: 'pool' });
  });

  it('two networks of one scenario get two blocks; declared subnets and overlay networks are left alone', () => {
    const got = allocate({
      networks: networksOf([
        { name: 'a' },
        { name: 'b' },
        { name: 'mine', ipam: { config: [{ subnet: '10.9.0.0/24' }] } },
        { name: 'swarm', driver: 'overlay' },
      ]),
    });
    assert.deepEqual([...got.keys()], ['shop_a', 'shop_b']);
    assert.deepEqual(
      [...got.values()].map((c) => ('subnet' in c ? c.subnet : c.exhausted)),
      ['10.200.0.0/24', '10.200.1.0/24'],
    );
  });

  it('keeps a choice: the network as it exists, then this controller’s book, then what status recorded', () => {
    const existing = allocate({
      networks: networksOf([{ name: 'net' }]),
      snapshot: { networks: [net('shop_net', '10.200.9.0/24')], containers: [], takenAt: '' },
    });
    assert.deepEqual(existing.get('shop_net'), { subnet: '10.200.9.0/24', from: 'existing' });
    const booked = allocate({
      networks: networksOf([{ name: 'net' }]),
      chosen: new Map([['shop_net', '10.200.7.0/24']]),
    });
    assert.deepEqual(booked.get('shop_net'), { subnet: '10.200.7.0/24', from: 'pool' });
    const recorded = allocate({
      networks: networksOf([{ name: 'net' }]),
      recorded: [{ name: 'net', dockerName: 'shop_net', phase: 'Ready', subnets: ['10.200.5.0/24'] }],
    });
    assert.deepEqual(recorded.get('shop_net'), { subnet: '10.200.5.0/24', from: 'pool' });
    // ... unless someone else took it meanwhile.
    const taken = allocate({
      networks: networksOf([{ name: 'net' }]),
      recorded: [{ name: 'net', dockerName: 'shop_net', phase: 'Ready', subnets: ['10.200.5.0/24'] }],
      snapshot: { networks: [net('persons', '10.200.5.0/24')], containers: [], takenAt: '' },
    });
    assert.deepEqual(taken.get('shop_net'), { subnet: '10.200.0.0/24', from: 'pool' });
  });

  it('another network’s booked block is not handed out twice', () => {
    const got = allocate({ networks: networksOf([{ name: 'net' }]), chosen: new Map([['cafe_net', '10.200.0.0/24']]) });
    assert.deepEqual(got.get('shop_net'), { subnet: '10.200.1.0/24', from: 'pool' });
  });

  it('none left: says exactly what to change', () => {
    const got = allocate({
      networks: networksOf([{ name: 'net' }]),
      pools: [parseAddressPool('10.200.0.0/23/24')],
      snapshot: { networks: [net('x', '10.200.0.0/24'), net('y', '10.200.1.0/24')], containers: [], takenAt: '' },
    });
    const c = got.get('shop_net')!;
    assert.ok('exhausted' in c);
    assert.match(c.exhausted, /no free block left in faultline's address pool 10\.200\.0\.0\/23\/24 for network "net"/);
    assert.match(c.exhausted, /--address-pool 10\.201\.0\.0\/16\/24, or FAULTLINE_ADDRESS_POOL/);
    assert.match(c.exhausted, /spec\.networks\[0\]\.ipam\.config\[0\]\.subnet/);
  });
});
