// Timed Docker-level faults against the real engine: the window opens and closes on time, the
// effect is observed in Docker itself, and a controller restart mid-window neither replays nor
// loses it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { docker, dockerStatus, eventually, readScenario, scenarioEnv, TESTBOX } from './lib.js';

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

test('a pause fault at +2s for 3s: running, then paused inside the window, then running again', async (t) => {
  const env = await scenarioEnv(t);
  const { name, file } = env;
  await writeFile(
    file,
    scenario(
      name,
      '    - { name: freeze, targets: { names: [server] }, container: { action: pause }, at: 2s, duration: 3s }',
    ),
  );
  const s0 = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.phase === 'Scheduled' && s.status.phase === 'Running' ? s : undefined;
  }, 'scheduled');
  const start = Date.parse(s0.status!.startedAt!);
  assert.equal(await state(`${name}_server`), 'running');

  const active = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.targets?.[0]?.phase === 'Injected' ? s : undefined;
  }, 'injected');
  assert.equal(await state(`${name}_server`), 'paused');
  const f = active.status!.faults![0];
  assert.equal(f.phase, 'Active');
  assert.equal(f.targets![0].verified, true);
  assert.equal(Date.parse(f.window!.from) - start, 2000, 'window opens 2 s after the recorded start');
  assert.equal(Date.parse(f.window!.until!) - start, 5000);
  assert.ok(Date.now() - start >= 2000, 'not injected before the window opened');

  const done = await eventually(async () => {
    const s = await readScenario(file);
    return s.status?.faults?.[0]?.targets?.[0]?.phase === 'Recovered' ? s : undefined;
  }, 'recovered');
  assert.ok(Date.now() - start >= 5000, 'not released before the window closed');
  assert.equal(await state(`${name}_server`), 'running');
  assert.equal(done.status!.faults![0].phase, 'Completed');
  assert.equal(done.status!.faults![0].targets![0].injected, 1);
  assert.equal(done.status!.faults![0].targets![0].recovered, 1);
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
  await eventually(
    async () => (await networks(`${name}_client`).catch((): string[] => [])).includes(`${name}_net`),
    'connected first',
  );
  await eventually(
    async () => !(await networks(`${name}_client`)).includes(`${name}_net`),
    'disconnected inside the window',
  );
  const cut = await dockerStatus('exec', `${name}_server`, 'ping', '-c', '1', '-W', '1', 'client');
  assert.notEqual(cut.code, 0, 'client unreachable while disconnected');
  await eventually(
    async () => (await networks(`${name}_client`)).includes(`${name}_net`),
    'reconnected after the window',
  );
  await eventually(
    async () => (await dockerStatus('exec', `${name}_server`, 'ping', '-c', '1', '-W', '1', 'client')).code === 0,
    'reachable by name again',
  );
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
  await eventually(
    async () => (await readScenario(file)).status?.faults?.[0]?.targets?.[0]?.phase === 'Injected',
    'injected',
  );
  const startedAt = Date.parse((await readScenario(file)).status!.startedAt!);
  await env.stop();
  await new Promise((r) => setTimeout(r, 1000)); // the controller is down for a while inside the window
  assert.equal(await state(`${name}_server`), 'paused');
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
  assert.ok(Date.now() - startedAt >= 7000, 'released at the original end, not earlier');
  assert.equal(s.status!.faults![0].targets![0].injected, 1, 'not injected twice');
  assert.equal(await state(`${name}_server`), 'running');
});
