// The view of several engines (observe/engines.ts): merged with engine tags, the Swarm from each
// engine's info (a worker known by the manager's node list), reachability by ping.
import test from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { EngineViews } from '../../../src/observe/engines.js';
import type { SwarmInfo } from '../../../src/ports/index.js';
import { FakeDocker } from '../fakes/docker.js';

class SwarmFake extends FakeDocker {
  down = false;
  constructor(private readonly info: SwarmInfo) {
    super();
  }
  async swarm() {
    return this.info;
  }
  override async ping() {
    if (this.down) throw new Error('connect ECONNREFUSED');
  }
}

const log = pino({ level: 'silent' });

test('a manager and a worker it lists are one Swarm; an engine of another Swarm is not in it', async () => {
  const a = new SwarmFake({ state: 'active', manager: true, clusterId: 'c1', nodeId: 'na', nodeIds: ['na', 'nb'] });
  const b = new SwarmFake({ state: 'active', manager: false, nodeId: 'nb' });
  const c = new SwarmFake({ state: 'active', manager: false, nodeId: 'nc' });
  const v = new EngineViews(
    new Map([
      ['default', a],
      ['b', b],
      ['c', c],
    ]),
    { log },
  );
  const ac = new AbortController();
  await v.start(ac.signal);
  const st = v.state();
  ac.abort();
  assert.equal(st.manager, 'default');
  assert.deepEqual(st.swarm, ['default', 'b']);
  assert.deepEqual(st.reachable, ['default', 'b', 'c']);
});

test('objects of an engine other than default carry it; an engine that stops answering is unreachable, then back', async () => {
  const a = new SwarmFake({ state: 'inactive', manager: false });
  const b = new SwarmFake({ state: 'inactive', manager: false });
  await b.createContainer({ name: 'x', image: 'i', labels: {} } as never);
  let tick: () => void = () => undefined;
  const resyncs: string[] = [];
  const v = new EngineViews(
    new Map([
      ['default', a],
      ['b', b],
    ]),
    {
      log,
      pingMs: 1,
      onResync: (e) => resyncs.push(e),
      sleep: (_ms, signal) =>
        new Promise<void>((r) => {
          tick = r;
          signal.addEventListener('abort', () => r(), { once: true });
        }),
    },
  );
  const ac = new AbortController();
  await v.start(ac.signal);
  assert.deepEqual(
    v.current().containers.map((c) => [c.name, c.engine]),
    [['x', 'b']],
  );
  assert.equal(v.state().manager, undefined, 'no manager: overlays are refused by the planner');
  b.down = true;
  const round = async () => {
    tick();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  };
  await round();
  assert.deepEqual([...v.state().unreachable.keys()], ['b']);
  assert.match(v.state().unreachable.get('b')!, /ECONNREFUSED/);
  assert.deepEqual(
    v.current().containers.map((c) => c.name),
    ['x'],
    'as last seen while away',
  );
  b.down = false;
  await round();
  await round();
  assert.deepEqual(v.state().reachable, ['default', 'b']);
  assert.deepEqual(resyncs, ['b', 'b'], 'every scenario looked at when it went and when it came back');
  ac.abort();
});
