// ipvlan l2 and l3 on a veth parent, in the QEMU guest (the host kernel has no ipvlan; the guest's
// stock Debian kernel has it as a module): partition, blackhole, reject and bandwidth, proven by
// packets, placed inside the containers. The cases are test/integration/vlan-cases.ts; outside the
// guest they skip with the kernel's reason, inside it (FAULTLINE_NETEM_REQUIRED=1) they must run.
import { vlanCases } from '../integration/vlan-cases.js';
import { NETEM_REQUIRED, SLOW } from './lib.js';

vlanCases({ driver: 'ipvlan', mode: 'l2', required: NETEM_REQUIRED, slow: SLOW });
vlanCases({ driver: 'ipvlan', mode: 'l3', required: NETEM_REQUIRED, slow: SLOW });
