// macvlan on a veth parent, here (this kernel has macvlan); ipvlan here too when the kernel has it,
// otherwise skipped with the reason (test/netem/ipvlan.test.ts runs ipvlan l2 and l3 in the QEMU
// guest, whose stock Debian kernel has it). The cases: test/integration/vlan-cases.ts.
import { vlanCases } from './vlan-cases.js';

vlanCases({ driver: 'macvlan', required: true });
vlanCases({ driver: 'ipvlan', mode: 'l3', required: false });
