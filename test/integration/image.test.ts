// The controller image, as CI must see it work: built here without any pull
// (scripts/build-image.sh), answering `--version`, and converging a scenario with a partition that
// packets confirm — once as a plain container through the helper-container executor
// (--netns-exec helper), once brought up by manifests/compose.yaml (nsenter from the container,
// cuts in the host's FORWARD path). Every Docker object is named fltest-img-<run>-… or belongs to
// a scenario named img-…; each test removes what it made.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { specHash } from '../../src/api/hash.js';
import type { Scenario } from '../../src/api/types.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { HELPER_NAME } from '../../src/adapters/helper/container.js';
import { judge } from '../../src/lib/verdict.js';
import {
  docker,
  dockerStatus,
  eventually,
  expectedCuts,
  forceCleanup,
  kernelCuts,
  ownedLeft,
  removeDir,
  removeHostChains,
  tempDir,
  TESTBOX,
  uniqueName,
} from './lib.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname; // dist/test/integration -> repo root
const IMAGE = 'faultline/controller';
const RUN = randomBytes(3).toString('hex');

async function script(name: string, timeout: number): Promise<string> {
  const { stdout } = await run(join(ROOT, 'scripts', name), [], { timeout, maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** A /24 of 10.248.0.0/16 for one scenario (the range this file's networks use). */
const subnet = () => `10.248.${100 + (randomBytes(1)[0] % 100)}.0/24`;

function partitionScenario(name: string): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  networks: [{ name: net, ipam: { config: [{ subnet: ${subnet()} }] } }]
  containers:
    - { name: a, image: ${TESTBOX} }
    - { name: b, image: ${TESTBOX} }
    - { name: c, image: ${TESTBOX} }
  members: [{ network: net, select: { names: [a, b, c] } }]
  faults:
    - name: split
      partition: { groups: [[a], [b, c]] }
`;
}

const reaches = async (scenario: string, from: string, to: string) =>
  (await dockerStatus('exec', `${scenario}_${from}`, 'ping', '-c', '1', '-W', '1', to)).code === 0;

/**
 * Write a partition scenario into `dir` (watched by a containerized controller), wait for its
 * verified status, check the cut with packets and the mechanism the status names, delete it and
 * wait until nothing it owned is left.
 */
async function partitionConverges(dir: string, name: string, mechanism: string, logs: () => Promise<string>) {
  const file = join(dir, `${name}.yaml`);
  const text = partitionScenario(name);
  await writeFile(file, text);
  const hash = specHash((parseYaml(text) as Scenario).spec);
  const status = await eventually(
    async () => {
      const st = (parseYaml(await readFile(file, 'utf8')) as Scenario).status;
      const v = judge(st, hash, 'Ready');
      if (v.state === 'fail') throw new Error(v.why);
      return v.state === 'ok' ? st : undefined;
    },
    `scenario ${name} Ready with its partition verified`,
    120_000,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}\ncontroller log:\n${(await logs()).slice(-4000)}`);
  });
  const targets = status!.faults?.find((f) => f.name === 'split')?.targets ?? [];
  assert.deepEqual(
    targets.map((t) => [t.container, t.phase, t.verified, t.mechanism]),
    ['a', 'b', 'c'].map((c) => [c, 'Injected', true, mechanism]),
  );
  // Packets: a is cut off from b and c, b and c still talk.
  assert.equal(await reaches(name, 'a', 'b'), false, 'a -> b must be cut');
  assert.equal(await reaches(name, 'c', 'a'), false, 'c -> a must be cut');
  await eventually(() => reaches(name, 'b', 'c'), 'b -> c answers', 10_000);
  if (mechanism === 'iptables') {
    // Through the helper: the DROPs are in each receiver's namespace (read with nsenter here).
    const key = `${controllerIdFor(dir)}.${name}/split`;
    const containers = ['a', 'b', 'c'].map((c) => `${name}_${c}`);
    assert.deepEqual(
      await kernelCuts(containers, key, 'netns'),
      expectedCuts([[containers[0]], [containers[1], containers[2]]]),
    );
  }
  await rm(file);
  await eventually(
    async () => {
      const left = await ownedLeft(name);
      return left.containers.length === 0 && left.networks.length === 0;
    },
    `nothing owned by ${name} left after its file was deleted`,
    60_000,
  );
}

describe('the controller image', () => {
  before(async () => {
    // The first build on a machine bootstraps Debian (minutes); later ones reuse the base.
    await script('build-image.sh', 20 * 60_000);
    await script('build-helper-image.sh', 5 * 60_000);
  });

  it('docker run faultline/controller --version answers; --help and validate run (the image carries what it runs)', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await docker('run', '--rm', IMAGE, '--version')).trim(), pkg.version);
    assert.match(await docker('run', '--rm', IMAGE, '--help'), /Usage: faultline/);
    const { stdout } = await run(
      'sh',
      ['-c', `docker run --rm -i ${IMAGE} validate -f - < ${join(ROOT, 'examples', 'bastion.yaml')}`],
      { maxBuffer: 1 << 20 },
    );
    assert.match(stdout, /scenario "bastion" is valid/);
  });

  it('starts as manifests/Dockerfile says (ENTRYPOINT, CMD, WORKDIR)', async () => {
    // The settings of the runtime stage: what scripts/build-image.sh gives its image too.
    const dockerfile = await readFile(join(ROOT, 'manifests', 'Dockerfile'), 'utf8');
    const settings = dockerfile.slice(dockerfile.indexOf('# ---- settings'));
    const line = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(settings)?.[1];
    const cfg = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', IMAGE)) as {
      Entrypoint: string[];
      Cmd: string[];
      WorkingDir: string;
    };
    assert.deepEqual(cfg.Entrypoint, JSON.parse(line('ENTRYPOINT')!));
    assert.deepEqual(cfg.Cmd, JSON.parse(line('CMD')!));
    assert.equal(cfg.WorkingDir, line('WORKDIR'));
  });

  it('as a container, through the helper container (--netns-exec helper), converges a partition that packets confirm', async (t) => {
    const dir = await tempDir();
    const name = uniqueName('img');
    const ctl = `fltest-img-${RUN}-ctl`;
    // The controller starts the engine's helper under its usual name and leaves it for the next
    // one; one this test made is removed after it (one that was there before is left alone).
    const helperBefore = (await dockerStatus('inspect', HELPER_NAME)).code === 0;
    t.after(async () => {
      await dockerStatus('rm', '-f', ctl);
      if (!helperBefore) await dockerStatus('rm', '-f', HELPER_NAME);
      await forceCleanup(name);
      await removeDir(dir);
    });
    // The directory at the same path inside: the controller's identity is that of the directory.
    await docker(
      'run',
      '-d',
      '--name',
      ctl,
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${dir}:${dir}`,
      IMAGE,
      'controller',
      '--dir',
      dir,
      '--netns-exec',
      'helper',
    );
    await partitionConverges(dir, name, 'iptables', () => docker('logs', ctl).catch(() => ''));
    // SIGTERM: the controller stops cleanly.
    await docker('stop', ctl);
    assert.equal((await docker('inspect', '-f', '{{.State.ExitCode}}', ctl)).trim(), '0');
  });

  it('manifests/compose.yaml brings it up (docker-compose): nsenter from the container, a partition that packets confirm', async (t) => {
    const dir = await tempDir();
    const name = uniqueName('img');
    const project = `fltest-img-${RUN}`;
    const compose = (...args: string[]) =>
      run('docker-compose', ['-f', join(ROOT, 'manifests', 'compose.yaml'), '-p', project, ...args], {
        env: { ...process.env, FAULTLINE_DIR: dir },
        timeout: 120_000,
        maxBuffer: 16 << 20,
      });
    t.after(async () => {
      await compose('down', '--timeout', '20').catch(() => undefined);
      await forceCleanup(name);
      await removeHostChains(dir);
      await removeDir(dir);
    });
    await compose('up', '-d', '--no-build');
    const { stdout } = await compose('ps', '-q');
    assert.equal(stdout.trim().split('\n').filter(Boolean).length, 1, 'one controller container');
    const logs = async () => (await compose('logs', '--no-color').catch(() => ({ stdout: '' }))).stdout;
    await partitionConverges(dir, name, 'iptables-forward', logs);
    assert.match(await logs(), /network namespaces entered through nsenter/);
  });
});
