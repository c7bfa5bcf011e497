// The partition generators majority, isolate, ring and bridge, each run once on the real engine
// over five containers (halves is tested in netfaults.test.ts): the ping matrix — every ordered
// pair pinged at once — equals the one the generator's groups mean for the scenario's seed, and
// each generator cuts some pairs and leaves others.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { PartitionGenerator } from '../../src/api/types.js';
import { partitionGroups } from '../../src/netfaults/partition.js';
import { TESTBOX } from './lib.js';
import { addressOf, expectedMatrix, failing, fixture, freeSubnet, injected, pingMatrix, ready } from './netlib.js';

const names = ['a', 'b', 'c', 'd', 'e'];
const SEED = 42;

test(
  'generators majority, isolate (count 2), ring and bridge: the ping matrix is the one their groups mean',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    const sub = await freeSubnet();
    const write = (partition: string) =>
      fx.write(`  seed: ${SEED}
  networks:
    - name: net
      ipam: { config: [{ subnet: ${sub.v4} }] }
  containers:
${names.map((n) => `    - { name: ${n}, image: ${TESTBOX} }`).join('\n')}
  members:
    - network: net
      select: { names: [${names.join(', ')}] }
${partition ? `  faults:\n    - { name: gen, targets: { names: [${names.join(', ')}] }, partition: ${partition} }\n` : ''}`);
    await write('');
    await ready(fx.file);
    const ips = new Map(
      await Promise.all(names.map(async (n) => [n, await addressOf(fx.dn(n), fx.dn('net'))] as const)),
    );
    assert.deepEqual(failing(await pingMatrix(names, fx.dn, ips)), [], 'all pairs reach each other before');

    const cases: [PartitionGenerator, number | undefined][] = [
      ['majority', undefined],
      ['isolate', 2],
      ['ring', undefined],
      ['bridge', undefined],
    ];
    for (const [generator, count] of cases) {
      await write(`{ generator: ${generator}${count ? `, count: ${count}` : ''} }`);
      await injected(fx.file, 'gen', 5);
      const groups = partitionGroups(generator, names, SEED, count);
      const want = expectedMatrix(names, groups);
      const seen = await pingMatrix(names, fx.dn, ips);
      t.diagnostic(`${generator}: groups ${JSON.stringify(groups)}, cut ${failing(seen).join(' ')}`);
      assert.deepEqual(failing(seen), failing(want), `${generator}: the pairs cut`);
      assert.ok(failing(want).length > 0 && failing(want).length < want.size, `${generator} cuts some pairs, not all`);
    }
    await write('');
    await ready(fx.file);
    assert.deepEqual(failing(await pingMatrix(names, fx.dn, ips)), [], 'all pairs reach each other after');
  },
);
