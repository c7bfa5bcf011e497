// compileLedger: one ledger + the netns's capabilities → the desired tc/iptables state, the
// programs that install it on a clean namespace, the programs that remove it, the tc tag map, the
// mechanism used per fault, and what could not be applied (degraded).
//
// The apply/teardown programs are diffs too (against "nothing there" and against "exactly this
// there"), so there is one code path for writing programs. In the reconcile loop, call diffLedger
// with the real read-back instead: it produces only what is missing or different, and nothing at
// all when the kernel already matches.

import type { Capabilities } from './caps.js';
import { desiredIptables, type IptablesDesired } from './iptables.js';
import { entryKey, normalizeLedger, type Degraded, type Ledger } from './ledger.js';
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

export function compileLedger(input: Ledger, caps: Capabilities): CompiledLedger {
  const ledger = normalizeLedger(input);
  const markKeys = markDropPossible(caps)
    ? [
        ...new Set(
          ledger.entries.filter((e) => e.action === 'loss-statistic' && e.match.direction === 'egress').map(entryKey),
        ),
      ].sort()
    : [];
  const tc = desiredTc(ledger, caps, markKeys);
  const v4 = desiredIptables(ledger, caps, 4, tc.tags);
  const v6 = desiredIptables(ledger, caps, 6, []);
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
    degraded: dedupeDegraded([...tc.degraded, ...v4.degraded, ...v6.degraded]),
    apply: diffLedger(desired, empty),
    teardown: diffLedger(emptyDesired(ledger.interfaces), observedFromDesired(desired)),
  };
}
