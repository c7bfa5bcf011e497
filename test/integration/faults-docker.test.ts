// Timed Docker-level faults against the real engine: the window opens and closes on time, the
// effect is observed in Docker itself, and a controller restart mid-window neither replays nor
// loses it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import {
  docker,
  dockerStatus,
  engineEvents,
  eventually,
  finishedBefore,
  readScenario,
  scenarioEnv,
  TESTBOX,
} from './lib.js';

function scenario(name: string, fault: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks:
    - name: net
  containers:
    - { name: server, image: ${TESTBOX} }
    - { name: client, image: ${TESTBOX} }
  members:
    - network: net
      select: { names: [server, client] }
  faults:
${fault}
`;
}

const state = async (c: string) => JSON.parse(await docker('inspect', c))[0].State.Status as string;
const networks = async (c: string) => Object.keys(JSON.parse(await docker('inspect', c))[0].NetworkSettings.Networks);

test('a pause fault at +2s for 3s: the engine pauses the target inside its window only, then it runs again', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(
    file,
    scenario(
      name,
      '    - { name: freeze, targets: { names: [server] }, container: { action: pause }, at: 2s, duration: 3s }',
    ),
  );
  const active = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.targets?.[0]?.phase === 'Injected' ? s : undefined;
  }, 'injected');
  const start = Date.parse(active.status!.startedAt!);
  const f = active.status!.faults![0];
  assert.equal(f.phase, 'Active');
  assert.equal(f.targets![0].verified, true);
  const from = Date.parse(f.window!.from);
  const until = Date.parse(f.window!.until!);
  assert.equal(from - start, 2000, 'window opens 2 s after the recorded start');
  assert.equal(until - start, 5000);

  const done = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.targets?.[0]?.phase === 'Recovered' ? s : undefined;
  }, 'recovered');
  assert.equal(await state(`${name}_server`), 'running');
  assert.equal(done.status!.faults![0].phase, 'Completed');
  assert.equal(done.status!.faults![0].targets![0].injected, 1);
  assert.equal(done.status!.faults![0].targets![0].recovered, 1);
  // When it happened, as the engine recorded it (not when this test happened to look).
  const events = (await engineEvents(start - 1000, Date.now(), `container=${name}_server`)).filter((e) =>
    ['start', 'pause', 'unpause'].includes(e.action),
  );
  assert.deepEqual(
    events.map((e) => e.action),
    ['start', 'pause', 'unpause'],
    'started, paused once, unpaused once',
  );
  const [, paused, unpaused] = events;
  assert.ok(paused.at >= from, `paused ${Math.round(paused.at - from)} ms after the window opened, not before`);
  assert.ok(unpaused.at >= until, `unpaused ${Math.round(unpaused.at - until)} ms after the window closed, not before`);
});

test('a disconnect fault takes the member off the network for its window, then reconnects it by name', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(
    file,
    scenario(
      name,
      '    - { name: cut, targets: { names: [client] }, disconnect: { network: net }, at: 1s, duration: 3s }',
    ),
  );
  const inWindow = await eventually(async () => {
    const x = await readScenario(file);
    const p = x.status?.faults?.[0]?.targets?.[0]?.phase;
    return p === 'Injected' || p === 'Recovered' ? x : undefined;
  }, 'disconnected');
  if (inWindow.status!.faults![0].targets![0].phase === 'Injected') {
    const cut = await finishedBefore(
      t,
      Date.parse(inWindow.status!.faults![0].window!.until!),
      'ping inside the window',
      () => dockerStatus('exec', `${name}_server`, 'ping', '-c', '1', '-W', '1', 'client'),
    );
    if (cut) assert.notEqual(cut.code, 0, 'client unreachable while disconnected');
  }
  const s = await eventually(async () => {
    const x = await readScenario(file);
    return x.status?.faults?.[0]?.phase === 'Completed' ? x : undefined;
  }, 'the window is over');
  const f = s.status!.faults![0];
  assert.equal(f.targets![0].injected, 1);
  const from = Date.parse(f.window!.from);
  const until = Date.parse(f.window!.until!);
  await eventually(
    async () => (await networks(`${name}_client`)).includes(`${name}_net`),
    'reconnected after the window',
  );
  await eventually(
    async () => (await dockerStatus('exec', `${name}_server`, 'ping', '-c', '1', '-W', '1', 'client')).code === 0,
    'reachable by name again',
  );
  // The engine's record: connected first, disconnected inside the window, connected again after it.
  const client = (await docker('inspect', '-f', '{{.Id}}', `${name}_client`)).trim();
  const events = (
    await engineEvents(Date.parse(s.status!.startedAt!) - 1000, Date.now(), 'type=network', `network=${name}_net`)
  )
    .filter((e) => e.attributes.container === client)
    // Docker 20.10 records one disconnect as two events: a change is an action unlike the one before.
    .filter((e, i, all) => i === 0 || all[i - 1].action !== e.action);
  assert.deepEqual(
    events.map((e) => e.action),
    ['connect', 'disconnect', 'connect'],
  );
  assert.ok(events[1].at >= from, 'disconnected once the window opened, not before');
  assert.ok(events[2].at >= until, 'connected again once the window closed, not before');
});

test('controller stopped mid-window: the fault stays, and after a restart it is released on time', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(
    file,
    scenario(
      name,
      '    - { name: freeze, targets: { names: [server] }, container: { action: pause }, at: 1s, duration: 6s }',
    ),
  );
  const injected = await eventually(async () => {
    const x = await readScenario(file);
    return x.status?.faults?.[0]?.targets?.[0]?.phase === 'Injected' ? x : undefined;
  }, 'injected');
  const startedAt = Date.parse(injected.status!.startedAt!);
  const until = Date.parse(injected.status!.faults![0].window!.until!);
  await env.stop();
  // The controller is down for a while inside the window: nobody releases the fault meanwhile.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await state(`${name}_server`), 'paused');
  const downUntil = Date.now();
  await env.restart();
  const s = await eventually(
    async () => {
      const x = await readScenario(file);
      return x.status?.faults?.[0]?.targets?.[0]?.phase === 'Recovered' ? x : undefined;
    },
    'recovered after restart',
    20_000,
  );
  assert.equal(Date.parse(s.status!.startedAt!), startedAt, 'the recorded start survives the restart');
  assert.equal(s.status!.faults![0].targets![0].injected, 1, 'not injected twice');
  assert.equal(await state(`${name}_server`), 'running');
  // The engine's record: paused once, unpaused once, by the restarted controller at the original
  // end (or at once, if the machine was so slow that the end passed while it was down).
  const events = (await engineEvents(startedAt - 1000, Date.now(), `container=${name}_server`)).filter((e) =>
    ['pause', 'unpause'].includes(e.action),
  );
  assert.deepEqual(
    events.map((e) => e.action),
    ['pause', 'unpause'],
  );
  assert.ok(events[1].at >= until, 'released at the original end, not earlier');
  assert.ok(events[1].at >= downUntil, 'released by the restarted controller, not while it was down');
});
