// The shipped examples, applied the way the README tells a person to, checked with real packets,
// then deleted with nothing owned left behind. Docker names are the examples' own (echo_*,
// bastion_*, unstable_*): these scenario names are reserved for this file on the shared engine.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cli,
  docker,
  dockerStatus,
  eventually,
  ownedLeft,
  readScenario,
  removeDir,
  tempDir,
  startController,
  teardown,
} from './lib.js';

const ROOT = new URL('../../../', import.meta.url).pathname; // dist/test/integration -> repo root
const example = (name: string) => join(ROOT, 'examples', `${name}.yaml`);

/** Ready=True for the file's current generation. */
async function ready(file: string) {
  const s = await readScenario(file);
  const c = s.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True' && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
}

/** A controller on a fresh directory; `name`'s Docker objects and the directory go in t.after. */
async function setup(t: test.TestContext, name: string) {
  const dir = await tempDir();
  const { controller: ctl } = await startController(dir);
  t.after(() => teardown(ctl, dir, [name]));
  return { dir, file: join(dir, `${name}.yaml`) };
}

async function applyExample(source: string, dir: string, name: string) {
  const r = await cli('apply', '-f', source, '--dir', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`scenario.faultline.dev/${name} created`));
}

/** `faultline delete NAME`, then wait until the engine holds nothing labelled with the scenario. */
async function deleteAndCheckGone(dir: string, name: string) {
  const r = await cli('delete', name, '--dir', dir);
  assert.equal(r.code, 0, r.stderr);
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, `nothing owned by ${name} left`);
}

/** Exit code and output of a command inside a container (non-zero is a result, not an error). */
const execIn = (container: string, ...cmd: string[]) => dockerStatus('exec', container, ...cmd);
const ping = (from: string, to: string) => execIn(from, 'ping', '-c', '1', '-W', '2', to);

/**
 * Replies the echo client printed: lines "sent: Hello world / got: Hello world". A line with an
 * empty "got:" is a failed exchange and does not count.
 */
async function echoReplies(container: string): Promise<number> {
  const { stdout, stderr } = await dockerStatus('logs', container);
  return (stdout + stderr).split('\n').filter((l) => /got: Hello world\s*$/.test(l)).length;
}

async function checkEchoEndToEnd(t: test.TestContext, source: string) {
  const { dir, file } = await setup(t, 'echo');
  await applyExample(source, dir, 'echo');
  await eventually(() => ready(file), 'echo Ready=True', 60_000);
  // The server answers as "talkto" (the member alias); the client logs each reply.
  await eventually(
    async () => (await echoReplies('echo_client')) >= 2,
    'at least 2 "got: Hello world" replies in echo_client logs',
    60_000,
  );
  await deleteAndCheckGone(dir, 'echo');
}

test('faultline validate -f examples/ accepts every example', async () => {
  const r = await cli('validate', '-f', join(ROOT, 'examples'));
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['bastion', 'echo', 'unstable']) assert.match(r.stdout, new RegExp(`scenario "${name}" is valid`));
});

test('echo.yaml: the client gets "Hello world" back from "talkto", then delete leaves nothing', async (t) => {
  await checkEchoEndToEnd(t, example('echo'));
});

test('bastion.yaml: c1 reaches c2 and c3; c2 reaches c3 neither by name nor by its static address', async (t) => {
  const { dir, file } = await setup(t, 'bastion');
  await applyExample(example('bastion'), dir, 'bastion');
  await eventually(() => ready(file), 'bastion Ready=True', 60_000);

  const c3 = JSON.parse(await docker('inspect', 'bastion_c3'))[0];
  assert.equal(c3.NetworkSettings.Networks.bastion_right?.IPAddress, '10.231.2.30', 'c3 has the static address');
  assert.equal(c3.NetworkSettings.Networks.bastion_left, undefined, 'c3 is not on the left network');

  for (const to of ['c2', 'c3']) {
    const r = await ping('bastion_c1', to);
    assert.equal(r.code, 0, `c1 -> ${to}: ${r.stdout}${r.stderr}`);
  }
  // Control: c2's own network works, so the failures below are the isolation and not a dead c2.
  const back = await ping('bastion_c2', 'c1');
  assert.equal(back.code, 0, `c2 -> c1: ${back.stdout}${back.stderr}`);

  const byName = await ping('bastion_c2', 'c3');
  assert.notEqual(byName.code, 0, 'c2 resolved and reached c3 by name');
  assert.match(byName.stderr, /bad address 'c3'/, 'the name does not resolve on c2');
  const byIp = await ping('bastion_c2', '10.231.2.30');
  assert.notEqual(byIp.code, 0, `c2 reached c3 at 10.231.2.30: ${byIp.stdout}`);
  assert.match(byIp.stdout, /0 packets received/);

  await deleteAndCheckGone(dir, 'bastion');
});

/**
 * Edit a scenario file the way an editor saves it: read it (status and all), change the text,
 * write a hidden temp file next to it and rename it over the original (atomic; the store ignores
 * hidden names, so only the final file is seen).
 */
async function editFile(file: string, edit: (text: string) => string): Promise<void> {
  const before = await readFile(file, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, 'the edit changed the file');
  const tmp = join(file, '..', `.${Math.random().toString(36).slice(2)}.swp`);
  await writeFile(tmp, after);
  await rename(tmp, file);
}

const NAMES_ALL = 'select: { names: [server, client1, client2] }';
const NAMES_TWO = 'select: { names: [server, client1] }';

test('unstable.yaml: all three talk by name; dropping client2 from the list disconnects it, restoring it reconnects', async (t) => {
  const { dir, file } = await setup(t, 'unstable');
  await applyExample(example('unstable'), dir, 'unstable');
  const first = await eventually(() => ready(file), 'unstable Ready=True', 60_000);
  for (const [from, to] of [
    ['server', 'client1'],
    ['server', 'client2'],
    ['client1', 'client2'],
    ['client2', 'server'],
  ]) {
    const r = await ping(`unstable_${from}`, to);
    assert.equal(r.code, 0, `${from} -> ${to}: ${r.stdout}${r.stderr}`);
  }
  const client2Id = JSON.parse(await docker('inspect', 'unstable_client2'))[0].Id;

  await editFile(file, (text) => text.replace(NAMES_ALL, NAMES_TWO));
  await eventually(async () => {
    const s = await ready(file);
    return s && s.metadata.generation === (first.metadata.generation ?? 1) + 1 ? s : undefined;
  }, 'converged on the edit (next generation)');
  const off = JSON.parse(await docker('inspect', 'unstable_client2'))[0];
  assert.equal(off.Id, client2Id, 'client2 is the same container, only disconnected');
  assert.equal(off.State.Running, true);
  assert.equal(
    off.NetworkSettings.Networks.unstable_unstable,
    undefined,
    'client2 has no endpoint on unstable_unstable',
  );
  const gone = await ping('unstable_server', 'client2');
  assert.notEqual(gone.code, 0, `server still reaches client2: ${gone.stdout}`);

  await editFile(file, (text) => text.replace(NAMES_TWO, NAMES_ALL));
  await eventually(async () => {
    const s = await ready(file);
    return s && s.metadata.generation === (first.metadata.generation ?? 1) + 2 ? s : undefined;
  }, 'converged on the edit back');
  const on = JSON.parse(await docker('inspect', 'unstable_client2'))[0];
  assert.equal(on.Id, client2Id);
  assert.ok(on.NetworkSettings.Networks.unstable_unstable, 'client2 has an endpoint on unstable_unstable again');
  const back = await ping('unstable_server', 'client2');
  assert.equal(back.code, 0, `server -> client2 by name after reconnect: ${back.stdout}${back.stderr}`);

  await deleteAndCheckGone(dir, 'unstable');
});

test('faultline delete -f with an example removes its file; the controller removes what it owned', async (t) => {
  // Same lifecycle as above through `delete -f FILE` (the other way the README deletes).
  const { dir, file } = await setup(t, 'unstable');
  await applyExample(example('unstable'), dir, 'unstable');
  await eventually(() => ready(file), 'unstable Ready=True', 60_000);
  assert.equal((await ownedLeft('unstable')).containers.length, 3);
  const r = await cli('delete', '-f', example('unstable'), '--dir', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /scenario.faultline.dev\/unstable deleted/);
  await assert.rejects(readFile(file), { code: 'ENOENT' });
  await eventually(async () => {
    const left = await ownedLeft('unstable');
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'nothing owned by unstable left');
});

test("a second controller on another directory leaves the first one's scenario alone", async (t) => {
  const { dir, file } = await setup(t, 'unstable');
  await applyExample(example('unstable'), dir, 'unstable');
  const s = await eventually(() => ready(file), 'unstable Ready=True', 60_000);
  const ids = async () =>
    (await docker('ps', '-aq', '--no-trunc', '--filter', 'label=faultline.dev/scenario=unstable'))
      .split('\n')
      .filter(Boolean)
      .sort();
  const before = await ids();
  assert.equal(before.length, 3);

  // Someone else runs a controller on their own, empty, directory against the same engine.
  const other = await tempDir();
  const { controller: ctl2 } = await startController(other);
  t.after(async () => {
    await ctl2.stop();
    await removeDir(other);
  });
  await ctl2.idle();
  assert.deepEqual(await ids(), before, "the other controller removed (and ours re-created) unstable's containers");
  const now = await readScenario(file);
  const since = (x: typeof s) => x.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  assert.equal(since(now), since(s), 'unstable left Ready meanwhile');
});
