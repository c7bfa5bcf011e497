// The ledger that capture-applied.ts applied in a scratch namespace of this machine (Linux 6.18,
// iproute2 6.1, iptables 1.8.9 nft, no sch_netem, no cls_flower) to record
// fixtures/applied-linux-6.18.json: the kernel's own read-back of what faultline writes.
import type { FaultSpec } from '../../../src/api/types.js';
import type { ResolvedFault } from '../../../src/netfaults/index.js';

export const APPLIED: [string, FaultSpec, ResolvedFault][] = [
  ['shop', { name: 'slow-all', netem: { delay: '100ms', loss: '1%' } }, {}],
  [
    'shop',
    { name: 'db-link', bandwidth: { rate: '1mbit', burst: '32kb' }, peers: { names: ['db'] } },
    { peersV4: ['10.213.0.2'], peersV6: ['fd00:213::2'] },
  ],
  [
    'shop',
    { name: 'split', partition: { generator: 'halves' } },
    { partitionDropFrom: { v4: ['10.213.0.4'], v6: ['fd00:213::4'] } },
  ],
  ['shop', { name: 'hole', blackhole: {}, ports: ['8000-8100'] }, { peersV4: ['10.213.7.0/24'] }],
  ['shop', { name: 'refuse', reject: { with: 'tcp-reset' }, direction: 'ingress' }, { peersV4: ['10.213.0.9'] }],
  [
    'shop',
    { name: 'in-slow', bandwidth: { rate: '5mbit', burst: '64kb', limit: '128kb' }, direction: 'ingress' },
    { peersV4: ['10.213.0.2'] },
  ],
  // issue 10: htb-shaped classes under 1fa1:1, a tbf peak bucket, directional ports (cls_bpf here),
  // DNS by name (xt_string) on INPUT
  [
    'shop',
    { name: 'cache-link', peers: { names: ['cache'] }, bandwidth: { rate: '1mbit', ceil: '4mbit' } },
    { peersV4: ['10.213.0.5'] },
  ],
  [
    'shop',
    { name: 'web-link', peers: { names: ['web'] }, bandwidth: { rate: '2mbit', burst: '64kb', peakrate: '8mbit' } },
    { peersV4: ['10.213.0.6'] },
  ],
  [
    'shop',
    {
      name: 'queries',
      peers: { names: ['db'] },
      destinationPorts: ['5432'],
      bandwidth: { rate: '3mbit' },
    },
    { peersV4: ['10.213.0.2'], peersV6: ['fd00:213::2'] },
  ],
  ['shop', { name: 'no-db-name', dns: { action: 'refuse', names: ['db'] } }, {}],
];
