// Kernel capabilities: probed, never assumed.
//
// The adapter creates a scratch network namespace (nothing else lives there, so nothing can be
// disturbed), runs PROBE_PROGRAM in it step by step — every step, even after a failure, because a
// failure is the answer ("this kernel has no sch_netem") — and hands the results to parseProbe.
// Each step is an argument array (never a shell string). Steps marked `cleanup` exist to leave the
// scratch namespace empty; their outcome means nothing.
//
// What a step's success proves is exactly one thing; e.g. `netem` adds a netem leaf under an htb
// class, so it reports true only when htb AND sch_netem are there — which is also the only way we
// ever use netem. On the machine this folder was written on (Linux 6.18, iproute2 6.1,
// iptables 1.8.9 nf_tables) the probe gives:
//   netem false, tbf true, htb true, blackhole true, ingress true, clsact true, ifb true,
//   mirred true, u32 true, u32Mark false, bpf true, flower false, matchall false, gact false,
//   iptables 'nft', ip6tables 'nft', statistic true, multiport true, string true, reject true,
//   mark true
// (the netem guest, Debian's 6.1 kernel: everything, flower and netem included).
//
// A success code is not always proof. Without CONFIG_CLS_U32_MARK the kernel ACCEPTS
// `u32 match mark ...` and silently drops the mark condition, leaving a u32 node with no keys that
// matches every packet (found the hard way: the "mark" filter swallowed all traffic, ARP included).
// So `u32Mark` also reads the filter back and requires the mark to be printed (iproute2 prints
// "mark 0x..." / "fwmark_value" only when the kernel dumps it).

export type IptablesBackend = 'nft' | 'legacy';

export interface Capabilities {
  /** sch_netem (delay, jitter, loss, duplicate, corrupt, reorder). */
  netem: boolean;
  /** sch_tbf (bandwidth). */
  tbf: boolean;
  /** sch_htb: our classful root; without it no tc-based fault can be placed per peer. */
  htb: boolean;
  /** sch_blackhole: the silent egress drop leaf (sender's send() still succeeds). */
  blackhole: boolean;
  /** sch_ingress: where ingress traffic is redirected to the ifb. */
  ingress: boolean;
  clsact: boolean;
  /** ifb devices: ingress shaping happens on an ifb's egress. */
  ifb: boolean;
  /** act_mirred: the redirect from ingress to the ifb. */
  mirred: boolean;
  /** cls_u32: selects peers/ports/protocol. */
  u32: boolean;
  /** u32 `match mark` that the kernel really honours (CONFIG_CLS_U32_MARK; verified by read-back). */
  u32Mark: boolean;
  /** cls_bpf (classic BPF): the packet mark (egress loss fallback, DNS by name), and ports past IP options. */
  bpf: boolean;
  /** cls_flower: ports and IPv6 protocols parsed by the flow dissector (IP options, extension headers). */
  flower: boolean;
  matchall: boolean;
  /** act_gact (`action drop`); informational — we drop with a blackhole leaf instead. */
  gact: boolean;
  iptables: IptablesBackend | null;
  ip6tables: IptablesBackend | null;
  /** xt_statistic (random loss fallback). */
  statistic: boolean;
  /** xt_multiport (`--ports`: source OR destination port). */
  multiport: boolean;
  /** xt_string: DNS queries matched by the names they ask for. */
  string: boolean;
  /** REJECT target with tcp-reset. */
  reject: boolean;
  /** MARK target in mangle (egress loss fallback). */
  mark: boolean;
}

/** Everything present: what a full-featured Docker host has. Used by tests and docs. */
export const FULL_CAPS: Capabilities = Object.freeze({
  netem: true,
  tbf: true,
  htb: true,
  blackhole: true,
  ingress: true,
  clsact: true,
  ifb: true,
  mirred: true,
  u32: true,
  u32Mark: true,
  bpf: true,
  flower: true,
  matchall: true,
  gact: true,
  iptables: 'nft',
  ip6tables: 'nft',
  statistic: true,
  multiport: true,
  string: true,
  reject: true,
  mark: true,
}) as Capabilities;

export type ProbeId =
  | 'htb'
  | 'class'
  | 'netem'
  | 'tbf'
  | 'blackhole'
  | 'u32'
  | 'u32Mark'
  | 'u32Mark-show'
  | 'bpf'
  | 'flower'
  | 'matchall'
  | 'gact'
  | 'ingress'
  | 'ifb'
  | 'mirred'
  | 'clsact'
  | 'iptables-version'
  | 'iptables'
  | 'statistic'
  | 'multiport'
  | 'string'
  | 'comment'
  | 'reject'
  | 'mark'
  | 'ip6tables-version'
  | 'ip6tables'
  | 'ip6tables-reject'
  | 'cleanup';

export interface ProbeStep {
  id: ProbeId;
  argv: string[];
  /** true: run it, ignore the outcome. */
  cleanup?: boolean;
}

export interface ProbeResult {
  id: ProbeId;
  code: number;
  stdout: string;
  stderr: string;
}

const PROBE_CHAIN = 'FAULTLINE-PROBE';
const PROBE_IFB = 'flprobe-ifb';

const tc = (...a: string[]) => ['tc', ...a];
const ipt = (...a: string[]) => ['iptables', '-w', ...a];
const ip6t = (...a: string[]) => ['ip6tables', '-w', ...a];

/** Run in a fresh scratch netns, in order, all steps (failures included). Uses only `lo`. */
export const PROBE_PROGRAM: readonly ProbeStep[] = Object.freeze([
  { id: 'htb', argv: tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1fa1:', 'htb', 'default', '0') },
  {
    id: 'class',
    argv: tc('class', 'add', 'dev', 'lo', 'parent', '1fa1:', 'classid', '1fa1:101', 'htb', 'rate', '1gbit'),
  },
  {
    id: 'class',
    argv: tc('class', 'add', 'dev', 'lo', 'parent', '1fa1:', 'classid', '1fa1:102', 'htb', 'rate', '1gbit'),
  },
  {
    id: 'class',
    argv: tc('class', 'add', 'dev', 'lo', 'parent', '1fa1:', 'classid', '1fa1:103', 'htb', 'rate', '1gbit'),
  },
  {
    id: 'netem',
    argv: tc('qdisc', 'add', 'dev', 'lo', 'parent', '1fa1:101', 'handle', '101:', 'netem', 'delay', '1ms'),
  },
  {
    id: 'tbf',
    argv: tc(
      'qdisc',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:102',
      'handle',
      '102:',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '32kb',
      'latency',
      '50ms',
    ),
  },
  { id: 'blackhole', argv: tc('qdisc', 'add', 'dev', 'lo', 'parent', '1fa1:103', 'handle', '103:', 'blackhole') },
  {
    id: 'u32',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'ip',
      'prio',
      '10',
      'u32',
      'match',
      'ip',
      'dst',
      '127.0.0.2/32',
      'flowid',
      '1fa1:103',
    ),
  },
  {
    id: 'u32Mark',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'all',
      'prio',
      '11',
      'u32',
      'match',
      'mark',
      '0x800000',
      '0x800000',
      'flowid',
      '1fa1:103',
    ),
  },
  { id: 'u32Mark-show', argv: tc('filter', 'show', 'dev', 'lo', 'parent', '1fa1:') },
  {
    id: 'bpf',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'all',
      'prio',
      '14',
      'bpf',
      'bytecode',
      '1,6 0 0 0',
      'flowid',
      '1fa1:103',
    ),
  },
  {
    id: 'flower',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'ip',
      'prio',
      '15',
      'flower',
      'ip_proto',
      'tcp',
      'dst_port',
      '1-2',
      'classid',
      '1fa1:103',
    ),
  },
  {
    id: 'matchall',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'all',
      'prio',
      '12',
      'matchall',
      'classid',
      '1fa1:103',
    ),
  },
  {
    id: 'gact',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'parent',
      '1fa1:',
      'protocol',
      'ip',
      'prio',
      '13',
      'u32',
      'match',
      'ip',
      'dst',
      '127.0.0.3/32',
      'action',
      'drop',
    ),
  },
  { id: 'cleanup', argv: tc('qdisc', 'del', 'dev', 'lo', 'root'), cleanup: true },
  { id: 'ingress', argv: tc('qdisc', 'add', 'dev', 'lo', 'handle', 'ffff:', 'ingress') },
  { id: 'ifb', argv: ['ip', 'link', 'add', PROBE_IFB, 'type', 'ifb'] },
  {
    id: 'mirred',
    argv: tc(
      'filter',
      'add',
      'dev',
      'lo',
      'ingress',
      'protocol',
      'all',
      'prio',
      '1',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      PROBE_IFB,
    ),
  },
  { id: 'cleanup', argv: tc('qdisc', 'del', 'dev', 'lo', 'ingress'), cleanup: true },
  { id: 'cleanup', argv: ['ip', 'link', 'del', PROBE_IFB], cleanup: true },
  { id: 'clsact', argv: tc('qdisc', 'add', 'dev', 'lo', 'clsact') },
  { id: 'cleanup', argv: tc('qdisc', 'del', 'dev', 'lo', 'clsact'), cleanup: true },
  { id: 'iptables-version', argv: ['iptables', '--version'] },
  { id: 'iptables', argv: ipt('-t', 'filter', '-N', PROBE_CHAIN) },
  {
    id: 'statistic',
    argv: ipt('-A', PROBE_CHAIN, '-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'DROP'),
  },
  { id: 'multiport', argv: ipt('-A', PROBE_CHAIN, '-p', 'tcp', '-m', 'multiport', '--ports', '1,2:3', '-j', 'DROP') },
  {
    id: 'string',
    argv: ipt('-A', PROBE_CHAIN, '-m', 'string', '--hex-string', '|00|', '--algo', 'bm', '--from', '40', '-j', 'DROP'),
  },
  {
    id: 'comment',
    argv: ipt('-A', PROBE_CHAIN, '-m', 'comment', '--comment', 'faultline:probe/probe', '-j', 'RETURN'),
  },
  { id: 'reject', argv: ipt('-A', PROBE_CHAIN, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset') },
  { id: 'cleanup', argv: ipt('-F', PROBE_CHAIN), cleanup: true },
  { id: 'cleanup', argv: ipt('-X', PROBE_CHAIN), cleanup: true },
  { id: 'mark', argv: ipt('-t', 'mangle', '-N', PROBE_CHAIN) },
  { id: 'mark', argv: ipt('-t', 'mangle', '-A', PROBE_CHAIN, '-j', 'MARK', '--set-xmark', '0x800000/0x800000') },
  { id: 'cleanup', argv: ipt('-t', 'mangle', '-F', PROBE_CHAIN), cleanup: true },
  { id: 'cleanup', argv: ipt('-t', 'mangle', '-X', PROBE_CHAIN), cleanup: true },
  { id: 'ip6tables-version', argv: ['ip6tables', '--version'] },
  { id: 'ip6tables', argv: ip6t('-t', 'filter', '-N', PROBE_CHAIN) },
  { id: 'ip6tables-reject', argv: ip6t('-A', PROBE_CHAIN, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset') },
  { id: 'cleanup', argv: ip6t('-F', PROBE_CHAIN), cleanup: true },
  { id: 'cleanup', argv: ip6t('-X', PROBE_CHAIN), cleanup: true },
] as ProbeStep[]);

function backend(versionOut: string | undefined): IptablesBackend {
  return /nf_tables/.test(versionOut ?? '') ? 'nft' : 'legacy';
}

/**
 * Results of PROBE_PROGRAM (in any order; a step id that appears several times counts as
 * supported only if every run of it succeeded; a step that is missing counts as unsupported).
 */
export function parseProbe(results: readonly ProbeResult[]): Capabilities {
  const ok = (id: ProbeId): boolean => {
    const runs = results.filter((r) => r.id === id);
    return runs.length > 0 && runs.every((r) => r.code === 0);
  };
  const out = (id: ProbeId) => results.find((r) => r.id === id)?.stdout;
  const htb = ok('htb') && ok('class');
  // Every rule we write carries `-m comment` (that is how we recognise our own rules), so an
  // iptables without xt_comment is as good as none.
  const iptables = ok('iptables') && ok('comment') ? backend(out('iptables-version')) : null;
  const ip6tables = ok('ip6tables') ? backend(out('ip6tables-version')) : null;
  return {
    netem: htb && ok('netem'),
    tbf: htb && ok('tbf'),
    htb,
    blackhole: htb && ok('blackhole'),
    ingress: ok('ingress'),
    clsact: ok('clsact'),
    ifb: ok('ifb'),
    mirred: ok('ingress') && ok('ifb') && ok('mirred'),
    u32: htb && ok('u32'),
    u32Mark: htb && ok('u32Mark') && /mark 0x|fwmark_value/.test(out('u32Mark-show') ?? ''),
    bpf: htb && ok('bpf'),
    flower: htb && ok('flower'),
    matchall: htb && ok('matchall'),
    gact: htb && ok('gact'),
    iptables,
    ip6tables,
    statistic: iptables !== null && ok('statistic'),
    multiport: iptables !== null && ok('multiport'),
    string: iptables !== null && ok('string'),
    reject: iptables !== null && ok('reject'),
    mark: iptables !== null && ok('mark'),
  };
}
