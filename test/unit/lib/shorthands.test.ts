// The Scenarios the shorthands write are ordinary, valid Scenarios.
import test from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseScenario } from '../../../src/api/parse.js';
import { delayScenario, partitionScenario } from '../../../src/lib/shorthands.js';

test('partition: one fault with explicit groups, timing passed through', () => {
  const s = partitionScenario('split', [['app'], ['db', 'cache']], { duration: '30s' });
  assert.deepEqual(s.spec, {
    faults: [{ name: 'partition', duration: '30s', partition: { groups: [['app'], ['db', 'cache']] } }],
  });
  assert.equal(parseScenario(stringify(s), 'x').ok, true);
});

test('delay: targets by name or selector, peers by name, netem options', () => {
  const s = delayScenario('slow', 'db', '100ms', {
    jitter: '10ms',
    peers: ['app'],
    direction: 'both',
    ports: ['5432'],
  });
  assert.deepEqual(s.spec.faults, [
    {
      name: 'delay',
      targets: { names: ['db'] },
      direction: 'both',
      ports: ['5432'],
      peers: { names: ['app'] },
      netem: { delay: '100ms', jitter: '10ms' },
    },
  ]);
  assert.equal(parseScenario(stringify(s), 'x').ok, true);
  const byLabel = delayScenario('slow2', { labels: { tier: 'db' } }, '1s');
  assert.deepEqual(byLabel.spec.faults?.[0].targets, { labels: { tier: 'db' } });
  assert.equal(parseScenario(stringify(byLabel), 'x').ok, true);
});

test('an invalid shorthand is reported like any invalid file', () => {
  const r = parseScenario(stringify(delayScenario('slow', 'db', 'soon')), 'x');
  assert.equal(r.ok, false);
});
