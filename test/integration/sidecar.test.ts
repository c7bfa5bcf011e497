// `--status-in sidecar`: the controller keeps each status in .faultline/<file>.status.yaml and never
// writes the committed scenario file; get, describe and wait read the sidecar.
import test from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Controller } from '../../src/controller/controller.js';
import { systemClock } from '../../src/store/index.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { createDockerPort } from '../../src/adapters/docker/port.js';
import { createDirStore } from '../../src/cli/wiring.js';
import { createKernel } from '../../src/cli/netfaults.js';
import { cli, docker, eventually, ownedLeft, teardown, tempDir, TESTBOX, testLogger, uniqueName } from './lib.js';

// Two subnets of a range no other test uses (10.249, which the metrics test draws from at the same
// time, made a collision possible), distinct from each other.
const thirdOne = Math.floor(Math.random() * 128);
const thirdTwo = thirdOne + 128;

function scenario(name: string, networks: string): string {
  return `# committed to git; the controller must never write this file
apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: {name: ${name}}
spec:
  networks: [${networks}]
  containers: [{name: a, image: ${TESTBOX}}]
  members: [{network: one, select: {names: [a]}}]
status: {}   # left over from a file-mode past: not the status any more
`;
}

interface Sidecar {
  kind: string;
  metadata: { name: string; generation: number };
  status: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}

test('sidecar status: the committed file stays byte-identical; get, describe and wait read the sidecar', async (t) => {
  const name = uniqueName();
  const dir = await tempDir();
  const file = join(dir, `${name}.yaml`);
  const sidecar = join(dir, '.faultline', `${name}.status.yaml`);
  const log = testLogger();
  const dockerPort = createDockerPort();
  const ctl = new Controller({
    dir,
    docker: dockerPort,
    kernel: await createKernel(dockerPort, { mode: 'nsenter', hostRules: 'auto' }, log, controllerIdFor(dir)),
    store: createDirStore(dir, undefined, { statusIn: 'sidecar' }),
    clock: systemClock(),
    log,
  });
  await ctl.start();
  t.after(() => teardown(ctl, dir, [name]));

  const net1 = `{name: one, ipam: {config: [{subnet: 10.246.${thirdOne}.0/24}]}}`;
  const v1 = scenario(name, net1);
  await writeFile(file, v1);
  const ready = (s: Sidecar | undefined, generation: number) =>
    s?.metadata.generation === generation &&
    s.status.observedGeneration === generation &&
    s.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const read = async () => parse(await readFile(sidecar, 'utf8')) as Sidecar;
  await eventually(async () => ready(await read(), 1), 'Ready in the sidecar, generation 1');
  const s1 = await read();
  assert.equal(s1.kind, 'ScenarioStatus');
  assert.equal(s1.metadata.name, name);
  assert.equal(await readFile(file, 'utf8'), v1, 'the committed file is byte-identical');
  assert.match(
    await readFile(sidecar, 'utf8'),
    new RegExp(`^# Written by faultline \\(status of \\.\\./${name}\\.yaml\\)`),
  );

  const get = await cli('get', name, '--dir', dir, '-o', 'json');
  assert.equal(get.code, 0, get.stderr);
  const got = JSON.parse(get.stdout) as { metadata: { generation: number }; status: Sidecar['status'] };
  assert.equal(got.metadata.generation, 1);
  assert.equal(got.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const waited = await cli('wait', name, '--dir', dir, '--for', 'condition=Ready', '--timeout', '5s');
  assert.equal(waited.code, 0, waited.stderr);
  const described = await cli('describe', name, '--dir', dir);
  assert.match(described.stdout, /Ready\s+True/);

  // A person's edit: the generation moves on in the sidecar, and the file is still only theirs.
  const v2 = scenario(name, `${net1}, {name: two, ipam: {config: [{subnet: 10.246.${thirdTwo}.0/24}]}}`);
  await writeFile(file, v2);
  await eventually(async () => ready(await read(), 2), 'Ready in the sidecar, generation 2').catch(async (e: Error) => {
    throw new Error(`${e.message}; the sidecar says: ${JSON.stringify((await read().catch(() => undefined))?.status)}`);
  });
  assert.ok((await docker('network', 'ls', '--format', '{{.Name}}')).includes(`${name}_two`));
  assert.equal(await readFile(file, 'utf8'), v2, 'still byte-identical after the edit');

  // Deleting the file removes what it owned and its sidecar.
  await unlink(file);
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'the scenario removed');
  await eventually(
    () =>
      access(sidecar).then(
        () => false,
        () => true,
      ),
    'the sidecar removed with its file',
  );
});
