// The plan of one scenario across several engines (plan/engines.ts): overlays through the Swarm
// manager, each engine's part tagged with its engine, refusals that say what to run.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Scenario } from '../../../src/api/types.js';
import { desiredState } from '../../../src/plan/desired.js';
import { planScenario, planToText } from '../../../src/plan/plan.js';
import { decideNetwork } from '../../../src/plan/stages.js';
import { ownerLabels } from '../../../src/api/ownership.js';
import type { ObservedNetwork, Snapshot } from '../../../src/resolve/index.js';

const scn: Scenario = {
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Scenario',
  metadata: { name: 'xs' },
  spec: {
    networks: [{ name: 'ov', driver: 'overlay', ipam: { config: [{ subnet: '10.247.7.0/24' }] } }],
    containers: [
      { name: 'a', image: 'faultline/testbox' },
      { name: 'b', image: 'faultline/testbox', engine: 'b' },
    ],
    members: [{ network: 'ov', select: { names: ['a', 'b'] } }],
  },
};
const empty: Snapshot = { networks: [], containers: [], takenAt: '2026-11-30T00:00:00Z' };
const d = () => desiredState('ctl', scn, empty);

test('an overlay is created once through the manager; each container on its own engine, attached at create', () => {
  const plan = planScenario(d(), empty, { reachable: ['b', 'default'], manager: 'default', swarm: ['default', 'b'] });
  const text = planToText(plan);
  assert.match(
    text,
    /phase \d: *\n *network\.create xs_ov {2}# declared in spec\.networks\[0\], absent \(through the Swarm manager\)/,
  );
  assert.match(text, /container\.create xs_a {2}#.*\(network xs_ov, aliases a\)/);
  assert.match(text, /container\.create xs_b @b {2}#.*\(network xs_ov, aliases b\)/);
  assert.match(text, /container\.start xs_b @b/);
  assert.equal((text.match(/network\.create/g) ?? []).length, 1, 'one create, not one per engine');
  assert.deepEqual(plan.blocked, []);
});

test('no manager: the overlay is refused with the commands that make a Swarm', () => {
  const plan = planScenario(d(), empty, { reachable: ['b', 'default'] });
  const b = plan.blocked.find((x) => x.kind === 'network');
  assert.equal(b?.reason, 'NoSwarmManager');
  assert.match(b!.message, /docker swarm init --advertise-addr/);
  assert.match(b!.message, /docker swarm join --token/);
});

test('an engine outside the Swarm: its members are refused with what to run there', () => {
  const plan = planScenario(d(), empty, { reachable: ['b', 'default'], manager: 'default', swarm: ['default'] });
  const b = plan.blocked.find((x) => x.kind === 'member');
  assert.equal(b?.reason, 'EngineNotInSwarm');
  assert.match(b!.message, /docker swarm join-token worker/);
});

test('an unreachable engine: its part waits (deferred), the rest is planned', () => {
  const plan = planScenario(d(), empty, {
    reachable: ['default'],
    unreachable: new Map([['b', 'connect ECONNREFUSED']]),
    manager: 'default',
    swarm: ['default', 'b'],
  });
  const text = planToText(plan);
  assert.match(text, /container\.create xs_a/);
  assert.doesNotMatch(text, /@b/);
  assert.deepEqual(
    plan.deferred?.map((x) => x.engine),
    ['b'],
  );
  assert.match(text, /waiting for engine b: engine b is unreachable: connect ECONNREFUSED/);
});

test('an engine the controller does not know: what is declared on it is refused (UnknownEngine)', () => {
  const plan = planScenario(d(), empty, { reachable: ['default'], manager: 'default', swarm: ['default'] });
  const b = plan.blocked.find((x) => x.kind === 'container');
  assert.equal(b?.reason, 'UnknownEngine');
  assert.match(b!.message, /--engine b=URL or --context b/);
});

test('one decision for a declared network, local or through the Swarm manager: create, keep, recreate, refuse', () => {
  const n = d().networks.find((x) => x.name === 'ov')!;
  const owner = { scenario: 'xs', controller: 'ctl' };
  const seen = (labels: Record<string, string>): ObservedNetwork =>
    ({ id: 'n1', name: n.dockerName, labels }) as unknown as ObservedNetwork;
  const ours = (hash: string) => ownerLabels('ctl', 'xs', 'ov', 'network', hash);
  for (const kind of ['Docker', 'Swarm'] as const) {
    const created = decideNetwork(n, undefined, owner, kind);
    assert.equal(created.step, 'create');
    assert.equal(
      created.step === 'create' && created.create.cause,
      `declared in spec.networks[0], absent${kind === 'Swarm' ? ' (through the Swarm manager)' : ''}`,
    );
    assert.deepEqual(decideNetwork(n, seen(ours(n.hash)), owner, kind), { step: 'keep' });
    const changed = decideNetwork(n, seen(ours('old')), owner, kind);
    assert.equal(changed.step, 'recreate');
    assert.match(changed.step === 'recreate' ? changed.remove.cause : '', /hash old → /);
    const theirs = decideNetwork(n, seen({ 'com.docker.compose.project': 'shop' }), owner, kind);
    assert.equal(theirs.step, 'blocked');
    assert.match(
      theirs.step === 'blocked' ? theirs.blocked.message : '',
      new RegExp(
        `^a ${kind} network named "${n.dockerName}" already exists .*faultline never changes what it does not own`,
      ),
    );
  }
});
