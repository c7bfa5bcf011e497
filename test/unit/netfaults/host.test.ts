// The host ledger (netfaults/host.ts): partitions compiled into faultline's chains under mangle
// FORWARD, named by bridge ports. Golden programs double as worked examples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileHost,
  diffHost,
  hostKeysIn,
  hostProgramFromScratch,
  hostRootChain,
  hostScenarioChain,
  hostTeardown,
  observeHost,
  type HostEntry,
} from '../../../src/netfaults/host.js';
import { parseIptablesSave } from '../../../src/netfaults/index.js';
import { golden } from './helpers.js';

const SCOPE = 'dir-1';
const port = (n: string) => ({ ports: [`veth${n}`], v4: true, v6: false });

/** Receiver ← senders for each member of `groups` (both directions), as netplan emits them. */
function partition(fault: string, groups: string[][], scenario = `${SCOPE}.shop`): HostEntry[] {
  const out: HostEntry[] = [];
  for (const g of groups)
    for (const r of g) {
      const senders = groups.filter((x) => x !== g).flat();
      out.push({
        scenario,
        fault,
        receiver: port(r),
        senders: { ports: senders.map((s) => `veth${s}`), v4: true, v6: false },
        protocol: 'all',
      });
    }
  return out;
}

/** What iptables-save -t mangle would print after the program ran (a user's rule in FORWARD). */
function applied(
  program: string | undefined,
  base = ['*mangle', ':FORWARD ACCEPT [0:0]', '-A FORWARD -s 10.9.9.8/32 -j MARK --set-xmark 0x1/0xffffffff', 'COMMIT'],
): string {
  const lines = [...base];
  if (!program) return lines.join('\n');
  const chains = new Map<string, string[]>();
  for (const l of lines) if (l.startsWith(':')) chains.set(l.slice(1).split(' ')[0], []);
  for (const l of lines) {
    const m = /^-A (\S+) (.*)$/.exec(l);
    if (m) chains.get(m[1])!.push(m[2]);
  }
  for (const l of program.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^:(\S+) - /.exec(l))) chains.set(m[1], []);
    else if ((m = /^-X (\S+)$/.exec(l))) chains.delete(m[1]);
    else if ((m = /^-D (\S+) (.*)$/.exec(l)))
      chains.set(
        m[1],
        chains.get(m[1])!.filter((r) => r !== m![2]),
      );
    else if ((m = /^-I (\S+) 1 (.*)$/.exec(l))) chains.get(m[1])!.unshift(m[2]);
    else if ((m = /^-A (\S+) (.*)$/.exec(l))) chains.get(m[1])!.push(m[2]);
  }
  return [
    '*mangle',
    ...[...chains.keys()].map((c) => `:${c} - [0:0]`),
    ...[...chains].flatMap(([c, rs]) => rs.map((r) => `-A ${c} ${r}`)),
    'COMMIT',
  ].join('\n');
}

const root = hostRootChain(SCOPE);
const observed = (save: string) => observeHost(parseIptablesSave(save), root, 'FORWARD');

describe('host ledger: partitions in the host FORWARD path', () => {
  it('groups [[a, b], [c]]: a shared sender set gets a chain, a single receiver is inlined (the worked example)', () => {
    const d = compileHost(SCOPE, partition('split', [['a', 'b'], ['c']]), 4, 'FORWARD');
    const program = hostProgramFromScratch(d)!;
    golden('host-partition-groups.txt', program);
    assert.equal(d.chains[1].name, hostScenarioChain(root, `${SCOPE}.shop`));
    // Applied as compiled, the kernel reads back equal: no program at all.
    const again = diffHost(d, observed(applied(program)));
    assert.equal(again.empty, true, again.program);
    assert.deepEqual([...hostKeysIn(observed(applied(program)))], [`${SCOPE}.shop/split`]);
  });

  it('halves of 100: 100 jumps and 2 sets of 50, not 5,000 pair rules', () => {
    const names = Array.from({ length: 100 }, (_, i) => `n${i}`);
    const d = compileHost(SCOPE, partition('halves', [names.slice(0, 50), names.slice(50)]), 4, 'FORWARD');
    const rules = d.chains.reduce((n, c) => n + c.rules.length, 0);
    assert.equal(rules, 1 + 100 + 2 * 50);
  });

  it('a second scenario changes only its own chains; removing the last one removes the hook', () => {
    const one = compileHost(SCOPE, partition('split', [['a'], ['b']]), 4, 'FORWARD');
    const afterOne = applied(hostProgramFromScratch(one));
    const two = compileHost(
      SCOPE,
      [...partition('split', [['a'], ['b']]), ...partition('cut', [['c'], ['d']], `${SCOPE}.other`)],
      4,
      'FORWARD',
    );
    const diff = diffHost(two, observed(afterOne));
    const declared = diff.program!.split('\n').filter((l) => l.startsWith(':'));
    // the controller chain (a jump added) and the new scenario's chain; the first scenario's chain untouched
    assert.deepEqual(declared, [`:${root} - [0:0]`, `:${hostScenarioChain(root, `${SCOPE}.other`)} - [0:0]`]);
    assert.deepEqual(diff.pendingKeys, [`${SCOPE}.other/cut`, `${SCOPE}.shop/split`].sort());
    const none = compileHost(SCOPE, [], 4, 'FORWARD');
    const teardown = diffHost(none, observed(applied(diff.program, afterOne.split('\n'))));
    golden('host-teardown.txt', teardown.program!);
    assert.equal(
      diffHost(none, observed(applied(teardown.program, applied(diff.program, afterOne.split('\n')).split('\n'))))
        .empty,
      true,
    );
  });

  it('our jump below a rule that is not ours (a user ACCEPT in FORWARD) is moved back to the top', () => {
    const d = compileHost(SCOPE, partition('split', [['a'], ['b']]), 4, 'FORWARD');
    const save = applied(hostProgramFromScratch(d)).replace(
      `-A FORWARD -j ${root}`,
      `-A FORWARD -s 10.9.9.9/32 -j ACCEPT\n-A FORWARD -j ${root}`,
    );
    const diff = diffHost(d, observed(save));
    assert.match(diff.program!, /^\*mangle\n/);
    assert.deepEqual(
      diff.program!.split('\n').filter((l) => / FORWARD /.test(l)),
      [`-D FORWARD -j ${root}`, `-I FORWARD 1 -j ${root}`],
    );
  });

  it("what a version before mangle left in filter (hung from DOCKER-USER) is flushed, unhooked and deleted; others' chains stay", () => {
    const other = hostRootChain('another-scope');
    const save = [
      '*filter',
      ':FORWARD DROP [0:0]',
      ':DOCKER-USER - [0:0]',
      `:${root} - [0:0]`,
      `:${root}-591bc50f - [0:0]`,
      `:${other} - [0:0]`,
      '-A FORWARD -j DOCKER-USER',
      `-A DOCKER-USER -j ${other}`,
      `-A DOCKER-USER -j ${root}`,
      '-A DOCKER-USER -j RETURN',
      `-A ${root} -m comment --comment "faultline:dir-1.shop" -j ${root}-591bc50f`,
      `-A ${root}-591bc50f -m physdev --physdev-in vethb --physdev-out vetha -j DROP`,
      'COMMIT',
    ].join('\n');
    assert.equal(
      hostTeardown(parseIptablesSave(save), root, 'filter'),
      [
        '*filter',
        `:${root} - [0:0]`,
        `:${root}-591bc50f - [0:0]`,
        `-D DOCKER-USER -j ${root}`,
        `-X ${root}`,
        `-X ${root}-591bc50f`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.equal(hostTeardown(parseIptablesSave(save), hostRootChain('nobody'), 'filter'), undefined);
  });

  it('ports and protocol: the match rides on the receiver jump, tcp and udp each when protocol is all', () => {
    const entries = partition('db', [['a', 'b'], ['c']]).map((e) => ({
      ...e,
      ports: [[5432, 5432]] as [number, number][],
    }));
    golden('host-partition-ports.txt', hostProgramFromScratch(compileHost(SCOPE, entries, 4, 'FORWARD'))!);
  });

  it('IPv6: only pairs that speak it get rules in ip6tables, hooked on FORWARD too', () => {
    const entries = partition('split', [['a'], ['b'], ['c']]);
    entries[0] = { ...entries[0], receiver: { ...entries[0].receiver, v6: true } };
    const d6 = compileHost(SCOPE, entries, 6, 'FORWARD');
    assert.deepEqual(
      d6.chains[1].rules.map((r) => r.spec.replace(/ -m comment.*DROP$/, '')),
      ['-m physdev --physdev-in vethb --physdev-out vetha', '-m physdev --physdev-in vethc --physdev-out vetha'],
    );
    assert.match(hostProgramFromScratch(d6)!, /-I FORWARD 1 -j FAULTLINE-/);
    assert.equal(compileHost(SCOPE, entries, 6, null).chains.length, 0);
  });
});
