// The host-side ledger: cuts between containers bridged on this host, enforced in the HOST's
// network namespace, where their traffic crosses the FORWARD path (Docker loads br_netfilter, so
// bridged frames traverse iptables FORWARD). One `iptables-restore --noflush` changes a partition of
// any size, where the per-namespace path needs one program per container. Measured here (30
// containers into halves): host 23 ms, per-namespace in parallel 490 ms
// (../shared/tools/floor/partition-floor.sh).
//
// The chains hang from the MANGLE table's FORWARD chain, not from filter's DOCKER-USER, the chain
// Docker keeps for users: whenever any network is created, Docker deletes FORWARD's jump to
// DOCKER-USER and inserts it again (seen with `nft -a list chain ip filter FORWARD`: its handle
// changes), and a frame forwarded in between passed every cut. Docker never touches mangle; its
// FORWARD runs at the same hook, before filter's, and may drop. (Cuts only drop: REJECT is not
// allowed in mangle, and rejects stay in the container's namespace.)
//
// Faithful: a dropped frame vanishes between the two containers; the sender's own send() succeeds
// and its connections time out, as over a cut link. What cannot be enforced here stays in the
// container's namespace (netplan/ decides per pair): traffic that does not cross this host's bridge
// (macvlan, ipvlan, overlay, other hosts), netem/tbf shaping, and faults without container peers.
//
// Containers are named by their BRIDGE PORTS (the host end of their veth pairs, `-m physdev`), not
// by their addresses: a rule left behind for a container that is gone names a veth that no longer
// exists and matches nothing, whereas an address is handed to the next container on the network.
// One rule covers IPv4 and IPv6 alike (each family's table gets it when either end has addresses
// of that family).
//
// CHAINS (all ours, recognised by their prefix; everything else is never touched):
//   FAULTLINE-<c6>              one per controller (c6 = hash of its scope), jumped from mangle
//                               FORWARD (the hook chain), ahead of every rule that is not ours
//   FAULTLINE-<c6>-<s8>         one per scenario (s8 = hash of scope and scenario), jumped from the
//                               controller chain with the comment "faultline:<scope>.<scenario>"
//   FAULTLINE-<c6>-<s8>-<n>     a set of senders shared by several receivers (partitions into groups
//                               share them: a partition of 100 into halves is 100 jumps + 2 sets of
//                               50, not 5,000 pair rules)
// A change of one scenario rewrites its own chains only; chains are declared (`:NAME - [0:0]`, which
// creates or flushes exactly that chain) and filled in one transaction, so the kernel never shows a
// half-written partition.
//
// Worked example: scope "dir-1", scenario "shop", fault "split", groups [[a, b], [c]], with bridge
// ports a=vetha, b=vethb, c=vethc (c6 = hash("dir-1"), s8 = hash("dir-1.shop"); the golden file
// test/unit/netfaults/golden/host-partition-groups.txt holds exactly this):
//
//   *mangle
//   :FAULTLINE-733ab9 - [0:0]
//   :FAULTLINE-733ab9-591bc50f - [0:0]
//   :FAULTLINE-733ab9-591bc50f-1 - [0:0]
//   -I FORWARD 1 -j FAULTLINE-733ab9
//   -A FAULTLINE-733ab9 -m comment --comment "faultline:dir-1.shop" -j FAULTLINE-733ab9-591bc50f
//   -A FAULTLINE-733ab9-591bc50f -m physdev --physdev-out vetha -m comment --comment "faultline:dir-1.shop/split" -j FAULTLINE-733ab9-591bc50f-1
//   -A FAULTLINE-733ab9-591bc50f -m physdev --physdev-out vethb -m comment --comment "faultline:dir-1.shop/split" -j FAULTLINE-733ab9-591bc50f-1
//   -A FAULTLINE-733ab9-591bc50f -m physdev --physdev-in vetha --physdev-out vethc -m comment --comment "faultline:dir-1.shop/split" -j DROP
//   -A FAULTLINE-733ab9-591bc50f -m physdev --physdev-in vethb --physdev-out vethc -m comment --comment "faultline:dir-1.shop/split" -j DROP
//   -A FAULTLINE-733ab9-591bc50f-1 -m physdev --physdev-in vethc -j DROP
//   COMMIT
// (c's senders {a, b} are one receiver's set: inlined; {c} is shared by a and b: a set chain.)
import { createHash } from 'node:crypto';
import type { IpFamily } from '../api/net.js';
import { portMatchParts, protoName } from './iptables.js';
import { COMMENT_PREFIX, SAFE_IFNAME, type MatchProtocol } from './ledger.js';
import type { IptablesState } from './readback.js';

/** Bridge ports (host-side veth names) of a container, and the address families it uses. */
export interface BridgePorts {
  ports: string[];
  v4: boolean;
  v6: boolean;
}

/** "Packets from `senders` to `receiver` vanish": one receiver of one fault. */
export interface HostEntry {
  /** "<scope>.<scenario>" (the scenario part of every key). */
  scenario: string;
  fault: string;
  receiver: BridgePorts;
  senders: BridgePorts;
  protocol: MatchProtocol;
  ports?: [number, number][];
  sourcePorts?: [number, number][];
  destinationPorts?: [number, number][];
}

/** The table whose FORWARD chain the controller chain hangs from. */
export const HOST_TABLE = 'mangle';

/** Where the controller chain hangs, per family (null: that family has no host path). */
export interface HostHooks {
  v4: 'FORWARD' | null;
  v6: 'FORWARD' | null;
}

export interface HostRule {
  spec: string;
  /** "<scope>.<scenario>/<fault>" — or "<scope>.<scenario>" for the controller chain's jump. */
  keys: string[];
}

export interface HostChain {
  name: string;
  rules: HostRule[];
}

export interface HostDesired {
  family: IpFamily;
  hook: 'FORWARD' | null;
  /** FAULTLINE-<c6>: the controller's chain. */
  root: string;
  /** Every chain of ours that must exist (the root first); none when nothing is wanted. */
  chains: HostChain[];
}

const short = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The controller chain of a scope: "FAULTLINE-<6 hex>". */
export function hostRootChain(scope: string): string {
  return `FAULTLINE-${short(scope, 6)}`;
}

/** The chain of one scenario ("<scope>.<scenario>") under a root. */
export function hostScenarioChain(root: string, scopedScenario: string): string {
  return `${root}-${short(scopedScenario, 8)}`;
}

/** Sender sets per scenario chain are numbered 1..MAX_SETS (chain names stay within 28 bytes). */
const MAX_SETS = 99;

const comment = (text: string) => `-m comment --comment "${COMMENT_PREFIX}${text}"`;

/** The ports of `p` that take part in `family` (none when it has no address of that family). */
function portsOf(p: BridgePorts, family: IpFamily): string[] {
  // A port whose name a program could misread is never written (SAFE_IFNAME): its cut is not made.
  return (family === 4 ? p.v4 : p.v6) ? [...new Set(p.ports)].filter((x) => SAFE_IFNAME.test(x)).sort() : [];
}

/** A pair is cut in a family's table when either end speaks that family. */
function inFamily(e: HostEntry, family: IpFamily): boolean {
  return family === 4 ? e.receiver.v4 || e.senders.v4 : e.receiver.v6 || e.senders.v6;
}

/** The protocol/port part of a rule, one variant per protocol and port list (as iptables-save prints). */
function matchParts(e: HostEntry, family: IpFamily): string[] {
  const icmp = e.protocol === 'icmp';
  const ports = icmp ? undefined : e.ports;
  const sports = icmp ? undefined : e.sourcePorts;
  const dports = icmp ? undefined : e.destinationPorts;
  let protos: (string | undefined)[];
  if (ports || sports || dports) protos = e.protocol === 'all' ? ['tcp', 'udp'] : [e.protocol];
  else protos = e.protocol === 'all' ? [undefined] : [protoName(e.protocol as 'tcp' | 'udp' | 'icmp', family)];
  const out: string[] = [];
  for (const proto of protos)
    for (const plist of portMatchParts(ports, sports, dports)) {
      const parts: string[] = [];
      if (proto) parts.push(`-p ${proto}`);
      if (plist) parts.push(plist);
      out.push(parts.join(' '));
    }
  return out;
}

const join = (...parts: string[]) => parts.filter(Boolean).join(' ');
const protoPart = (m: string) => /^-p \S+/.exec(m)?.[0] ?? '';
const portPart = (m: string) => m.replace(/^-p \S+ ?/, '');

/**
 * The chains that enforce `entries` for one family. Deterministic: the same entries always give
 * the same text, so an unchanged partition diffs to nothing.
 */
export function compileHost(
  scope: string,
  entries: readonly HostEntry[],
  family: IpFamily,
  hook: HostHooks[keyof HostHooks],
): HostDesired {
  const root = hostRootChain(scope);
  const desired: HostDesired = { family, hook, root, chains: [] };
  if (!hook) return desired;
  const byScenario = new Map<string, HostEntry[]>();
  const all = (p: BridgePorts) => ({ ...p, v4: true, v6: true });
  for (const e of entries) {
    if (!inFamily(e, family)) continue;
    const norm = { ...e, receiver: all(e.receiver), senders: all(e.senders) };
    if (!portsOf(norm.receiver, family).length || !portsOf(norm.senders, family).length) continue;
    byScenario.set(e.scenario, [...(byScenario.get(e.scenario) ?? []), norm]);
  }
  if (byScenario.size === 0) return desired;
  const rootChain: HostChain = { name: root, rules: [] };
  const rest: HostChain[] = [];
  for (const scenario of [...byScenario.keys()].sort()) {
    const list = byScenario
      .get(scenario)!
      .sort(
        (a, b) => cmp(a.fault, b.fault) || cmp(portsOf(a.receiver, family).join(), portsOf(b.receiver, family).join()),
      );
    const chainName = hostScenarioChain(root, scenario);
    rootChain.rules.push({ spec: join(comment(scenario), `-j ${chainName}`), keys: [scenario] });
    // A sender set earns its own chain when more than one (receiver, match) jumps to it.
    const uses = new Map<string, number>();
    for (const e of list) {
      const k = portsOf(e.senders, family).join(',');
      uses.set(k, (uses.get(k) ?? 0) + portsOf(e.receiver, family).length * matchParts(e, family).length);
    }
    const sets = new Map<string, HostChain>();
    for (const [k, n] of [...uses].sort(([a], [b]) => cmp(a, b))) {
      if (n < 2 || sets.size >= MAX_SETS) continue;
      sets.set(k, { name: `${chainName}-${sets.size + 1}`, rules: [] });
    }
    const chain: HostChain = { name: chainName, rules: [] };
    for (const e of list) {
      const key = `${e.scenario}/${e.fault}`;
      const senders = portsOf(e.senders, family);
      const set = sets.get(senders.join(','));
      // iptables-save prints the protocol match first, then the modules in the order given.
      for (const r of portsOf(e.receiver, family))
        for (const m of matchParts(e, family)) {
          if (set)
            chain.rules.push({
              spec: join(protoPart(m), `-m physdev --physdev-out ${r}`, portPart(m), comment(key), `-j ${set.name}`),
              keys: [key],
            });
          else
            for (const s of senders)
              chain.rules.push({
                spec: join(
                  protoPart(m),
                  `-m physdev --physdev-in ${s} --physdev-out ${r}`,
                  portPart(m),
                  comment(key),
                  '-j DROP',
                ),
                keys: [key],
              });
        }
      if (set)
        for (const s of senders)
          if (!set.rules.some((x) => x.spec === `-m physdev --physdev-in ${s} -j DROP`))
            set.rules.push({ spec: `-m physdev --physdev-in ${s} -j DROP`, keys: [] });
    }
    // A set's keys are those of the rules that jump to it.
    for (const set of sets.values()) {
      const keys = [
        ...new Set(chain.rules.filter((r) => r.spec.endsWith(`-j ${set.name}`)).flatMap((r) => r.keys)),
      ].sort();
      for (const r of set.rules) r.keys = keys;
    }
    rest.push(chain, ...sets.values());
  }
  desired.chains = [rootChain, ...rest];
  return desired;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The chains of a scope found in one family's `iptables-save -t mangle`, and the hook jumps. */
export interface HostObserved {
  chains: Map<string, string[]>;
  /** Index of each rule of the hook chain that jumps to the root, and of its first rule not ours. */
  hookJumps: number[];
  firstForeign: number;
}

const norm = (s: string) => s.replace(/"/g, '').replace(/\s+/g, ' ').trim();

export function observeHost(state: IptablesState | null, root: string, hook: string | null): HostObserved {
  const chains = new Map<string, string[]>();
  const t = state?.tables[HOST_TABLE];
  for (const c of t?.chains ?? []) if (c === root || c.startsWith(`${root}-`)) chains.set(c, []);
  for (const r of t?.rules ?? []) if (chains.has(r.chain)) chains.get(r.chain)!.push(norm(r.spec));
  const hookRules = hook ? (t?.rules ?? []).filter((r) => r.chain === hook) : [];
  const hookJumps = hookRules.map((r, i) => (norm(r.spec) === `-j ${root}` ? i : -1)).filter((i) => i >= 0);
  const firstForeign = hookRules.findIndex((r) => !/-j FAULTLINE-/.test(r.spec));
  return { chains, hookJumps, firstForeign: firstForeign < 0 ? hookRules.length : firstForeign };
}

export interface HostDiff {
  /** `iptables-restore --noflush` (or ip6tables-restore) input; undefined when nothing differs. */
  program?: string;
  /** Keys whose rules are not (all) in the kernel as desired. */
  pendingKeys: string[];
  empty: boolean;
}

/**
 * desired vs observed → the one program that makes them equal, touching only chains that differ.
 * Order inside the transaction: declare (create or flush) every changed or doomed chain, drop stale
 * hook jumps, delete doomed chains (nothing references them once their referrers are flushed),
 * insert the hook jump, then fill the changed chains.
 */
export function diffHost(desired: HostDesired, observed: HostObserved): HostDiff {
  const pending = new Set<string>();
  const decl: string[] = [];
  const del: string[] = [];
  const x: string[] = [];
  const ins: string[] = [];
  const add: string[] = [];
  const wanted = new Map(desired.chains.map((c) => [c.name, c]));
  for (const c of desired.chains) {
    const have = observed.chains.get(c.name);
    const same =
      have !== undefined && have.length === c.rules.length && have.every((s, i) => s === norm(c.rules[i].spec));
    if (same) continue;
    c.rules.forEach((r) => r.keys.forEach((k) => pending.add(k)));
    decl.push(`:${c.name} - [0:0]`);
    add.push(...c.rules.map((r) => `-A ${c.name} ${r.spec}`));
  }
  for (const name of [...observed.chains.keys()].sort()) {
    if (wanted.has(name)) continue;
    decl.push(`:${name} - [0:0]`);
    x.push(`-X ${name}`);
  }
  const wantJump = desired.chains.length > 0 && desired.hook !== null;
  const hook = desired.hook;
  if (hook) {
    const jumpOk = observed.hookJumps.length === 1 && observed.hookJumps[0] < observed.firstForeign;
    if (wantJump && !jumpOk) {
      for (const k of desired.chains[0].rules.flatMap((r) => r.keys)) pending.add(k);
      for (const _ of observed.hookJumps) del.push(`-D ${hook} -j ${desired.root}`);
      ins.push(`-I ${hook} 1 -j ${desired.root}`);
    } else if (!wantJump) for (const _ of observed.hookJumps) del.push(`-D ${hook} -j ${desired.root}`);
  }
  const lines = [...decl, ...del, ...x, ...ins, ...add];
  // A scenario chain's jump key ("<scope>.<scenario>") stands for its faults too: report fault keys.
  const faultKeys = new Set<string>();
  for (const k of pending) {
    if (k.includes('/')) faultKeys.add(k);
    else
      for (const c of desired.chains)
        for (const r of c.rules) for (const rk of r.keys) if (rk.startsWith(`${k}/`)) faultKeys.add(rk);
  }
  return {
    program: lines.length ? [`*${HOST_TABLE}`, ...lines, 'COMMIT', ''].join('\n') : undefined,
    pendingKeys: [...faultKeys].sort(),
    empty: lines.length === 0,
  };
}

/** Keys ("<scope>.<scenario>/<fault>") present in a family's observed chains of this root. */
export function hostKeysIn(observed: HostObserved): Set<string> {
  const out = new Set<string>();
  for (const rules of observed.chains.values())
    for (const r of rules) {
      const m = /--comment faultline:(\S+\/\S+)/.exec(r);
      if (m) out.add(m[1]);
    }
  return out;
}

/** Scenario parts ("<scope>.<scenario>") jumped to from the root chain: who owns what is there. */
export function hostScenariosIn(observed: HostObserved, root: string): string[] {
  return (observed.chains.get(root) ?? []).flatMap((r) => {
    const m = /--comment faultline:(\S+)/.exec(r);
    return m ? [m[1]] : [];
  });
}

/** The whole of a desired state as the program that installs it from nothing (for `plan`). */
export function hostProgramFromScratch(desired: HostDesired): string | undefined {
  return diffHost(desired, { chains: new Map(), hookJumps: [], firstForeign: 0 }).program;
}

/**
 * The program that removes every chain of `root` from one table of an `iptables-save`, with every
 * jump to it; undefined when it has none. Used on the filter table, where versions before mangle
 * hung their chains (from DOCKER-USER, or from FORWARD for IPv6 on hosts without one): their cuts
 * would otherwise hold beside the new ones, and never be removed.
 */
export function hostTeardown(state: IptablesState | null, root: string, table: string): string | undefined {
  const t = state?.tables[table];
  const ours = (t?.chains ?? []).filter((c) => c === root || c.startsWith(`${root}-`)).sort();
  if (!ours.length) return undefined;
  const jumps = (t?.rules ?? [])
    .filter((r) => !ours.includes(r.chain) && norm(r.spec) === `-j ${root}`)
    .map((r) => `-D ${r.chain} -j ${root}`);
  return [`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...jumps, ...ours.map((c) => `-X ${c}`), 'COMMIT', ''].join(
    '\n',
  );
}
