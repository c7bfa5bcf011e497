import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockedSenders, partitionBlocks, partitionGroups } from '../../../src/netfaults/index.js';

const FIVE = ['a', 'b', 'c', 'd', 'e'];

/** Who can each member receive from (itself included)? */
function sees(groups: string[][], members: string[]): Record<string, string[]> {
  const blocked = blockedSenders(partitionBlocks(groups));
  return Object.fromEntries(members.map((m) => [m, members.filter((x) => !(blocked.get(m) ?? []).includes(x))]));
}

describe('partition generators (seeded, pinned)', () => {
  it('seed 42 over a..e', () => {
    assert.deepEqual(partitionGroups('halves', FIVE, 42), [
      ['a', 'e'],
      ['b', 'c', 'd'],
    ]);
    assert.deepEqual(partitionGroups('majority', FIVE, 42), [['a', 'b', 'd', 'e'], ['c']]);
    assert.deepEqual(partitionGroups('isolate', FIVE, 42), [['a', 'b', 'c', 'd'], ['e']]);
    assert.deepEqual(partitionGroups('isolate', FIVE, 42, 2), [['a', 'c', 'd'], ['b'], ['e']]);
    assert.deepEqual(partitionGroups('ring', FIVE, 42), [
      ['d', 'e'],
      ['b', 'd'],
      ['a', 'b'],
      ['a', 'c'],
      ['c', 'e'],
    ]);
    assert.deepEqual(partitionGroups('bridge', FIVE, 42), [
      ['a', 'b', 'e'],
      ['b', 'c', 'd'],
    ]);
  });

  it('seed 7 over n1..n4', () => {
    const four = ['n1', 'n2', 'n3', 'n4'];
    assert.deepEqual(partitionGroups('halves', four, 7), [
      ['n3', 'n4'],
      ['n1', 'n2'],
    ]);
    assert.deepEqual(partitionGroups('majority', four, 7), [['n1', 'n3', 'n4'], ['n2']]);
    assert.deepEqual(partitionGroups('ring', four, 7), [
      ['n3', 'n4'],
      ['n1', 'n4'],
      ['n1', 'n2'],
      ['n2', 'n3'],
    ]);
    assert.deepEqual(partitionGroups('bridge', four, 7), [
      ['n2', 'n4'],
      ['n1', 'n2', 'n3'],
    ]);
  });

  it('is deterministic and independent of input order', () => {
    assert.deepEqual(partitionGroups('halves', ['e', 'd', 'c', 'b', 'a'], 42), partitionGroups('halves', FIVE, 42));
    assert.notDeepEqual(partitionGroups('halves', FIVE, 1), partitionGroups('halves', FIVE, 42));
  });

  it('majority: the first group is a strict majority for every seed', () => {
    for (let seed = 0; seed < 50; seed++) {
      const [maj, min] = partitionGroups('majority', FIVE, seed);
      assert.ok(maj.length >= 3 && min.length >= 1 && maj.length + min.length === 5);
    }
  });

  it('ring: every node sees a majority, and no two nodes see the same set (5 and 6 nodes)', () => {
    for (const members of [FIVE, ['a', 'b', 'c', 'd', 'e', 'f'], ['a', 'b', 'c', 'd', 'e', 'f', 'g']]) {
      const view = sees(partitionGroups('ring', members, 3), members);
      const majority = Math.floor(members.length / 2) + 1;
      for (const m of members)
        assert.ok(view[m].length >= majority && view[m].length < members.length, `${m} sees ${view[m]}`);
      assert.equal(new Set(Object.values(view).map((v) => v.join())).size, members.length);
    }
  });

  it('bridge: the bridge node sees everyone; the halves do not see each other', () => {
    const view = sees(partitionGroups('bridge', FIVE, 42), FIVE);
    assert.deepEqual(view.b, FIVE);
    assert.deepEqual(view.a, ['a', 'b', 'e']);
    assert.deepEqual(view.c, ['b', 'c', 'd']);
  });

  it('fewer than two members: nothing to split', () => {
    assert.deepEqual(partitionGroups('halves', ['a'], 1), [['a']]);
    assert.deepEqual(partitionGroups('ring', [], 1), []);
  });
});

describe('partitionBlocks', () => {
  const groups = [['server'], ['c1', 'c2']];

  it('both ways: every cross pair, both orders', () => {
    assert.deepEqual(partitionBlocks(groups), [
      ['c1', 'server'],
      ['c2', 'server'],
      ['server', 'c1'],
      ['server', 'c2'],
    ]);
  });

  it('egress (one-way): the later group stops hearing the earlier one', () => {
    assert.deepEqual(partitionBlocks(groups, 'egress'), [
      ['c1', 'server'],
      ['c2', 'server'],
    ]);
  });

  it('ingress (one-way): the earlier group stops hearing the later one', () => {
    assert.deepEqual(partitionBlocks(groups, 'ingress'), [
      ['server', 'c1'],
      ['server', 'c2'],
    ]);
  });

  it('members in no group are untouched; blockedSenders groups by receiver', () => {
    assert.deepEqual(
      [...blockedSenders(partitionBlocks([['a'], ['b']])).entries()],
      [
        ['a', ['b']],
        ['b', ['a']],
      ],
    );
  });
});
