// The npm package as a user gets it: `npm pack` of this tree, installed from the tarball into an
// empty project without optional dependencies (so without koffi), then the CLI through npx and the
// library through the node:test example in examples/library/. Nothing of the repository is on the
// path: only what the tarball carries runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname; // dist/test/integration -> repo root

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command in `cwd`; the environment without node:test's marker (a nested `node --test` would report to us). */
async function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): Promise<Result> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env, timeout, maxBuffer: 32 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('the npm package, installed from its tarball', () => {
  let work = '';
  let app = '';
  let files: string[] = [];
  const version = async () =>
    (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const npx = (...args: string[]) => sh('npx', ['--no-install', 'faultline', ...args], app);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'faultline-pkg-'));
    app = join(work, 'app');
    await mkdir(app);
    // --ignore-scripts: the tree is built (make build); prepack would rebuild dist/ under the
    // tests that are running from it.
    const pack = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
    assert.equal(pack.code, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    files = info.files.map((f) => f.path);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const install = await sh(
      'npm',
      ['install', '--omit=optional', '--no-audit', '--no-fund', join(work, info.filename)],
      app,
    );
    assert.equal(install.code, 0, install.stdout + install.stderr);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships what runs and nothing else: compiled JavaScript and types, the CRD, the schema generator', () => {
    for (const f of ['dist/src/cli/bin.js', 'dist/src/lib/index.js', 'dist/src/lib/index.d.ts', 'crds/scenario.yaml'])
      assert.ok(files.includes(f), f);
    assert.ok(files.includes('scripts/gen-schema.mjs'), 'src/api/schema.ts loads it at run time');
    const extra = files.filter(
      (f) =>
        !/^dist\/src\/.*\.(js|d\.ts)$/.test(f) &&
        ![
          'package.json',
          'README.md',
          'crds/scenario.yaml',
          'crds/scenario.schema.json',
          'scripts/gen-schema.mjs',
          'scripts/build-helper-image.sh',
        ].includes(f),
    );
    assert.deepEqual(extra, []);
  });

  it('koffi is optional: installed without it', async () => {
    const modules = await readdir(join(app, 'node_modules'));
    assert.ok(modules.includes('faultline'));
    assert.ok(!modules.includes('koffi'), 'koffi was installed although optional dependencies were omitted');
  });

  it('npx faultline --help and --version answer', async () => {
    const help = await npx('--help');
    assert.equal(help.code, 0, help.stderr);
    for (const c of ['controller', 'apply', 'run', 'validate', 'plan'])
      assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
    const v = await npx('--version');
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), await version());
  });

  it('validate and plan work on a scenario file; apply writes it into a directory (no koffi)', async () => {
    await copyFile(join(ROOT, 'examples', 'bastion.yaml'), join(app, 'bastion.yaml'));
    const valid = await npx('validate', '-f', 'bastion.yaml');
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /scenario "bastion" is valid/);
    const bad = await sh(
      'sh',
      ['-c', 'sed s/10.231.1.0/10.231.1.300/ bastion.yaml | npx --no-install faultline validate -f -'],
      app,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /<stdin>:\d+:\d+/);
    const plan = await npx('plan', '-f', 'bastion.yaml', '--dir', '.');
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /Plan for scenario "bastion"/);
    await mkdir(join(app, 'scenarios'));
    const apply = await npx('apply', '-f', 'bastion.yaml');
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /scenario.faultline.dev\/bastion created/);
  });

  it('the library example (examples/library/, node:test) passes against the installed package', async () => {
    const dir = join(app, 'test');
    await mkdir(dir);
    for (const f of await readdir(join(ROOT, 'examples', 'library')))
      await copyFile(join(ROOT, 'examples', 'library', f), join(dir, f));
    const r = await sh(process.execPath, ['--test', '--test-reporter=spec', 'test/'], app, 180_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✔ app cannot reach db while they are partitioned, and can again after/);
  });
});
