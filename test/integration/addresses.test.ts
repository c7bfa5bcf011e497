// Networks declared without a subnet, on the real engine: faultline gives each a block of its own
// address pool (--address-pool), not Docker's default pools (which hold about 30 networks). 40 such
// networks across 20 scenarios all converge, each with a distinct block of the pool that Docker
// really holds and the status records; packets cross one of them; a restarted controller keeps
// every choice (no network recreated). A pool too small says, in the status, what to change.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCidr, cidrsOverlap } from '../../src/api/net.js';
import {
  docker,
  dockerStatus,
  eventually,
  forceCleanup,
  readScenario,
  removeDir,
  startController,
  tempDir,
  TESTBOX,
  uniqueName,
} from './lib.js';

/** This file's pools, inside 10.218.128.0/17 (the tests' address-pool range; lib.ts has the rest). */
const POOL = '10.218.128.0/18/24';
const SMALL = '10.218.250.0/23/24';

function scenario(name: string, nets: number, withBoxes = false): string {
  const networks = Array.from({ length: nets }, (_, i) => `{ name: n${i} }`).join(', ');
  const boxes = withBoxes
    ? `  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
  members: [{ network: n0, select: { names: [a, b] } }]
`
    : '';
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  networks: [${networks}]
${boxes}`;
}

const ready = async (file: string) => {
  const s = await readScenario(file);
  return s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
};

test('40 networks declared without a subnet, in 20 scenarios: each gets its own block of the pool, Docker holds it, the status records it, and a restart keeps it', async (t) => {
  const dir = await tempDir();
  const names = Array.from({ length: 20 }, () => uniqueName('pool'));
  t.after(async () => {
    await ctl?.stop();
    for (const n of names) await forceCleanup(n);
    await removeDir(dir);
  });
  let ctl = await startController(dir, { addressPool: POOL });
  for (const [i, n] of names.entries()) await writeFile(join(dir, `${n}.yaml`), scenario(n, 2, i === 0));
  const statuses = [];
  for (const n of names) statuses.push(await eventually(() => ready(join(dir, `${n}.yaml`)), `${n} Ready`, 180_000));

  const pool = readCidr('10.218.128.0/18')!;
  const seen: { net: string; subnet: string; id: string }[] = [];
  for (const s of statuses)
    for (const n of s.status!.networks!) {
      assert.equal(n.subnets?.length, 1, `${n.dockerName} has one subnet in status`);
      const subnet = n.subnets![0];
      const c = readCidr(subnet)!;
      assert.equal(c.prefix, 24, `${n.dockerName}: a /24 block (${subnet})`);
      assert.ok(cidrsOverlap(c, pool) && c.network >= pool.network, `${n.dockerName}: ${subnet} is in ${POOL}`);
      const held = (
        await docker('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', n.dockerName)
      ).trim();
      assert.equal(held, subnet, `Docker holds ${n.dockerName} on the subnet the status records`);
      seen.push({ net: n.dockerName, subnet, id: n.id! });
    }
  assert.equal(seen.length, 40);
  assert.equal(new Set(seen.map((s) => s.subnet)).size, 40, 'forty distinct blocks');
  t.diagnostic(`40 networks converged on ${POOL}: ${seen[0].subnet} … ${seen.at(-1)!.subnet}`);
  // None overlaps anything else on the engine either.
  const others = (await docker('network', 'ls', '-q'))
    .split('\n')
    .filter(Boolean)
    .filter((id) => !seen.some((s) => s.id.startsWith(id)));
  for (const id of others) {
    const subnets = (
      await dockerStatus('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', id)
    ).stdout
      .trim()
      .split(' ')
      .filter(Boolean);
    for (const o of subnets) {
      const oc = readCidr(o);
      if (oc?.family !== 4) continue;
      for (const s of seen) assert.ok(!cidrsOverlap(oc, readCidr(s.subnet)!), `${s.subnet} overlaps ${id}'s ${o}`);
    }
  }

  // Packets cross one of them.
  const first = names[0];
  const ip = (
    await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', `${first}_a`)
  ).trim();
  assert.ok(
    cidrsOverlap(readCidr(`${ip}/32`)!, readCidr(seen[0].subnet)!),
    `a's address ${ip} is in ${seen[0].subnet}`,
  );
  const ping = await dockerStatus('exec', `${first}_b`, 'ping', '-c', '2', '-W', '2', ip);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);

  // A controller restarted (a fresh book) keeps every choice: the networks are not recreated.
  await ctl.stop();
  ctl = await startController(dir, { addressPool: POOL });
  for (const n of names) {
    const f = join(dir, `${n}.yaml`);
    const gen = (await readScenario(f)).status!.observedGeneration;
    // An edit (the spec's description, kept metadata and status): a reconcile with a fresh book.
    await writeFile(f, (await readFile(f, 'utf8')).replace('\nspec:\n', '\nspec:\n  description: again\n'));
    await eventually(
      async () => {
        const s = await ready(f);
        return s && s.status!.observedGeneration! > gen! ? s : undefined;
      },
      `${n} reconciled again`,
      120_000,
    );
  }
  for (const s of seen) {
    const id = (await docker('network', 'inspect', '-f', '{{.Id}}', s.net)).trim();
    assert.equal(id, s.id, `${s.net} not recreated`);
  }
});

test('a pool with no block left: the network is not created, and the status says what to change', async (t) => {
  const dir = await tempDir();
  const names = [uniqueName('pool'), uniqueName('pool')];
  t.after(async () => {
    await ctl.stop();
    for (const n of names) await forceCleanup(n);
    await removeDir(dir);
  });
  const ctl = await startController(dir, { addressPool: SMALL });
  // Two blocks in the pool: the first scenario takes both.
  const [full, starved] = names.map((n) => join(dir, `${n}.yaml`));
  await writeFile(full, scenario(names[0], 2));
  await eventually(() => ready(full), 'the first scenario Ready', 60_000);
  await writeFile(starved, scenario(names[1], 1));
  const s = await eventually(async () => {
    const s = await readScenario(starved);
    return s.status?.conditions?.find((c) => c.reason === 'AddressPoolExhausted') ? s : undefined;
  }, 'the second scenario blocked by the pool');
  const n = s.status!.networks![0];
  assert.equal(n.phase, 'Failed');
  assert.match(n.message!, /no free block left in faultline's address pool 10\.218\.250\.0\/23\/24 for network "n0"/);
  assert.match(n.message!, /--address-pool .*FAULTLINE_ADDRESS_POOL/);
  assert.match(n.message!, /spec\.networks\[0\]\.ipam\.config\[0\]\.subnet/);
  assert.ok(s.status!.events?.some((e) => e.reason === 'AddressPoolExhausted'));
  const left = (await docker('network', 'ls', '-q', '--filter', `label=faultline.dev/scenario=${names[1]}`)).trim();
  assert.equal(left, '', 'no network created for it');
});
