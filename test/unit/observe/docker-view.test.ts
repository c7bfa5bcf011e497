import test from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { DockerView, type ViewChange } from '../../../src/observe/docker-view.js';
import { FakeDocker } from '../fakes/docker.js';
import { eventually } from '../../eventually.js';

const log = pino({ level: 'silent' });

async function started(docker: FakeDocker, changes: ViewChange[] = []) {
  const abort = new AbortController();
  const view = new DockerView(docker, { log, auditMs: 0, onChange: (c) => changes.push(c) });
  await view.start(abort.signal);
  return { view, stop: () => abort.abort() };
}

test('audit: what the view missed while events were dropped is inspected and announced; the rest costs no inspect', async (t) => {
  const docker = new FakeDocker();
  await docker.createNetwork({
    name: 'net',
    driver: 'bridge',
    labels: {},
    internal: false,
    attachable: false,
    enableIPv6: false,
    options: {},
  } as never);
  const kept = docker.addRunning('kept', {}, 'net');
  const gone = docker.addRunning('gone', {}, 'net');
  const changes: ViewChange[] = [];
  const { view, stop } = await started(docker, changes);
  t.after(stop);
  assert.equal(await view.audit(), 0, 'nothing missed yet');
  const inspects = view.stats.inspects;

  docker.dropEvents = true;
  const added = docker.addRunning('added', { app: 'x' }, 'net');
  await docker.removeContainer(gone.id);
  await docker.pauseContainer(kept.id);
  assert.ok(
    view.current().containers.some((c) => c.id === gone.id),
    'the view is stale: it still has gone',
  );

  changes.length = 0;
  const missed = await view.audit();
  const names = view.current().containers.map((c) => `${c.name}:${c.state}`);
  assert.deepEqual(names.sort(), ['added:running', 'kept:paused']);
  const net = view.current().networks.find((n) => n.name === 'net')!;
  assert.deepEqual([...net.containerIds].sort(), [added.id, kept.id].sort(), "the network's members follow");
  assert.equal(missed, 4, 'three containers and their network were wrong');
  assert.equal(view.stats.missed, 4);
  const announced = changes.flatMap((c) => c.containers.map((x) => (x.after ?? x.before)!.name)).sort();
  assert.deepEqual(announced, ['added', 'gone', 'kept'], 'the controller hears of each, as for an event');

  const before = view.stats.inspects;
  assert.ok(before > inspects);
  assert.equal(await view.audit(), 0, 'in step again');
  assert.equal(view.stats.inspects, before, 'an audit that finds nothing inspects nothing');
});

test('after a reconnect a list that fails is tried again until the view is in step, and only then is the controller told', async (t) => {
  const docker = new FakeDocker();
  const c = docker.addRunning('c', {});
  const abort = new AbortController();
  t.after(() => abort.abort());
  let resyncs = 0;
  const view = new DockerView(docker, { log, auditMs: 0, onResync: () => resyncs++ });
  await view.start(abort.signal);
  // The engine restarts: the container exits with it, and the events of that are lost.
  docker.dropEvents = true;
  await docker.stopContainer(c.id);
  docker.dropEvents = false;
  docker.failSnapshots = 2; // the first two lists after the reconnect fail
  const before = docker.snapshots;
  docker.reconnect();
  await eventually(() => resyncs === 1, 'the controller told once the list succeeded', 10_000, 20);
  assert.equal(docker.snapshots - before, 3, 'listed until it succeeded');
  assert.equal(view.current().containers.find((x) => x.id === c.id)?.state, 'exited', 'the view is in step');
});

test('a look that finds objects as they were announces nothing; one that finds a change announces only what changed', async (t) => {
  const docker = new FakeDocker();
  const a = docker.addRunning('a', {});
  const b = docker.addRunning('b', {});
  const changes: ViewChange[] = [];
  const { view, stop } = await started(docker, changes);
  t.after(stop);
  changes.length = 0;
  const inspects = view.stats.inspects;
  await view.refresh({ containers: [a.id, b.id] });
  assert.equal(view.stats.inspects, inspects + 2, 'both were looked at');
  assert.equal(changes.length, 0, 'as they were: nobody is woken');

  await docker.pauseContainer(b.id);
  await view.refresh({ containers: [a.id, b.id] });
  assert.deepEqual(
    changes.flatMap((c) => c.containers.map((x) => `${x.after?.name}:${x.after?.state}`)),
    ['b:paused'],
  );
});
