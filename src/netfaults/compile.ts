// compileLedger: one ledger + the netns's capabilities → the desired tc/iptables state, the
// programs that install it on a clean namespace, the programs that remove it, the tc tag map, the
// mechanism used per fault, and what could not be applied (degraded).
//
// The apply/teardown programs are diffs too (against "nothing there" and against "exactly this
// there"), so there is one code path for writing programs. In the reconcile loop, call diffLedger
// with the real read-back instead: it produces only what is missing or different, and nothing at
// all when the kernel already matches.

import type { Capabilities } from './caps.js';
import { DNS_MARK_BITS, desiredIptables, type IptablesDesired } from './iptables.js';
import { entryKey, normalizeLedger, SAFE_IFNAME, type Degraded, type Ledger } from './ledger.js';
import {
  diffLedger,
  emptyDesired,
  observedFromDesired,
  type DesiredNetns,
  type LedgerDiff,
  type ObservedNetns,
} from './readback.js';
import { dedupeDegraded, desiredTc, markDropPossible, type DesiredDevice, type Tag } from './tc.js';

export interface FaultMechanisms {
  scenario: string;
  fault: string;
  /** e.g. ['netem'], ['iptables'], ['iptables-statistic', 'tbf'] — for status records. */
  mechanisms: string[];
}

export interface CompiledLedger extends DesiredNetns {
  ledger: Ledger;
  devices: DesiredDevice[];
  ifbs: string[];
  iptables: IptablesDesired;
  ip6tables: IptablesDesired;
  /** tc class → the faults it serves (also stored in FAULTLINE-TAGS). */
  tags: Tag[];
  mechanisms: FaultMechanisms[];
  degraded: Degraded[];
  /** From a namespace with nothing of ours in it. */
  apply: LedgerDiff;
  /** Removes everything `apply` installs (assuming it is all there). */
  teardown: LedgerDiff;
}

/**
 * The mark bit of every DNS delay by name (iptables marks its queries, tc on lo delays what is
 * marked): one bit each, in key order. Beyond DNS_MARK_BITS such faults on one namespace, the rest
 * are left out and reported (they would otherwise delay every query).
 */
function dnsMarksOf(ledger: Ledger): { marks: Map<string, number>; over: Degraded[]; left: Set<string> } {
  const keys = [
    ...new Set(ledger.entries.filter((e) => e.action === 'netem' && e.match.dns?.names).map(entryKey)),
  ].sort();
  const marks = new Map<string, number>();
  const over: Degraded[] = [];
  const left = new Set<string>();
  keys.forEach((k, i) => {
    if (i < DNS_MARK_BITS.length) marks.set(k, DNS_MARK_BITS[i]);
    else {
      left.add(k);
      const j = k.indexOf('/');
      over.push({
        scenario: k.slice(0, j),
        fault: k.slice(j + 1),
        reason: 'TooManyDnsDelays',
        message: `fault "${k.slice(j + 1)}": more than ${DNS_MARK_BITS.length} DNS delays by name on one container; this one is not applied (merge their names into fewer faults)`,
      });
    }
  });
  return { marks, over, left };
}

export function compileLedger(input: Ledger, caps: Capabilities): CompiledLedger {
  const named = normalizeLedger(input);
  // An interface whose name a tc or iptables program could misread is left alone, and said so.
  const unsafe = named.interfaces.filter((d) => !SAFE_IFNAME.test(d));
  const normalized = unsafe.length
    ? { ...named, interfaces: named.interfaces.filter((d) => SAFE_IFNAME.test(d)) }
    : named;
  const refusedIfaces: Degraded[] = unsafe.length
    ? [...new Set(named.entries.map(entryKey))].map((k) => {
        const j = k.indexOf('/');
        return {
          scenario: k.slice(0, j),
          fault: k.slice(j + 1),
          reason: 'UnsafeInterfaceName' as const,
          message: `fault "${k.slice(j + 1)}": ${unsafe.length > 1 ? 'interfaces' : 'interface'} ${unsafe.map((d) => JSON.stringify(d)).join(', ')} ${unsafe.length > 1 ? 'have names' : 'has a name'} with characters tc and iptables programs treat specially (only letters, digits and "_.-", at most 15, are written into a program); left alone: rename it in the container (ip link set <name> name eth1)`,
        };
      })
    : [];
  const dns = dnsMarksOf(normalized);
  const ledger = dns.left.size
    ? { ...normalized, entries: normalized.entries.filter((e) => !dns.left.has(entryKey(e))) }
    : normalized;
  const markKeys = markDropPossible(caps)
    ? [
        ...new Set(
          ledger.entries.filter((e) => e.action === 'loss-statistic' && e.match.direction === 'egress').map(entryKey),
        ),
      ].sort()
    : [];
  const tc = desiredTc(ledger, caps, markKeys, dns.marks);
  const v4 = desiredIptables(ledger, caps, 4, tc.tags, dns.marks);
  const v6 = desiredIptables(ledger, caps, 6, [], dns.marks);
  const mech = new Map<string, Set<string>>();
  for (const m of [tc.mechanisms, v4.mechanisms, v6.mechanisms])
    for (const [k, v] of m) {
      if (!mech.has(k)) mech.set(k, new Set());
      v.forEach((x) => mech.get(k)!.add(x));
    }
  const desired: DesiredNetns = {
    interfaces: ledger.interfaces,
    devices: tc.devices,
    ifbs: tc.ifbs,
    iptables: v4.desired,
    ip6tables: v6.desired,
  };
  const empty: ObservedNetns = { devices: [], links: [], iptables: { tables: {} }, ip6tables: { tables: {} } };
  return {
    ...desired,
    ledger,
    tags: tc.tags,
    mechanisms: [...mech.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => {
        const i = k.indexOf('/');
        return { scenario: k.slice(0, i), fault: k.slice(i + 1), mechanisms: [...v].sort() };
      }),
    degraded: dedupeDegraded([...refusedIfaces, ...dns.over, ...tc.degraded, ...v4.degraded, ...v6.degraded]),
    apply: diffLedger(desired, empty),
    teardown: diffLedger(emptyDesired(ledger.interfaces), observedFromDesired(desired)),
  };
}
