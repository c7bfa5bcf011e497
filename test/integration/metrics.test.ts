// `faultline controller --metrics-addr`: scraped while a scenario with a timed fault runs, as
// Prometheus would, against the real engine and kernel.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, ownedLeft, pairScenario, teardown, tempDir, uniqueName } from './lib.js';
import { ready } from './netlib.js';

const BIN = new URL('../../src/cli/bin.js', import.meta.url).pathname;

/** A port nobody listens on now (the kernel picks it). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('metrics and health while a scenario with a timed blackhole runs', async (t) => {
  const name = uniqueName();
  const dir = await tempDir();
  const port = await freePort();
  const ctl = spawn(
    process.execPath,
    [BIN, 'controller', '--dir', dir, '--metrics-addr', `127.0.0.1:${port}`, '--netns-exec', 'nsenter'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FAULTLINE_LOG_LEVEL: 'warn' } },
  );
  let stderr = '';
  ctl.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stopCtl = async () => {
    if (ctl.exitCode !== null) return;
    const exited = new Promise((r) => ctl.once('exit', r));
    ctl.kill('SIGTERM');
    await exited;
  };
  t.after(() => teardown({ stop: stopCtl }, dir, [name]));
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  };

  await eventually(async () => (await get('/healthz')).status === 200, `/healthz (stderr: ${stderr})`);
  await eventually(async () => (await get('/readyz')).status === 200, '/readyz once the controller has started');

  const subnet = `10.249.${Math.floor(Math.random() * 200) + 20}.0/24`;
  const file = join(dir, `${name}.yaml`);
  const doc = (faults: string) =>
    pairScenario(name, faults, '', `{ name: net, ipam: { config: [{ subnet: ${subnet} }] } }`);
  // The containers first, then a window at an absolute instant 3 s after they are Ready: a window
  // relative to the scenario's start could pass while a busy engine is still starting them.
  await writeFile(file, doc(''));
  await ready(file);
  const opensAt = Date.now() + 3_000;
  await writeFile(
    file,
    doc(`    - { name: cut, targets: { names: [a] }, blackhole: {}, direction: ingress, startAt: "${new Date(opensAt).toISOString()}", duration: 4s }
`),
  );

  // Inside the window: the fault is counted as active, and the armed transition that opened it was
  // measured from its instant to the end of its kernel write.
  const inWindow = await eventually(
    async () => {
      const m = (await get('/metrics')).text;
      return sample(m, 'faultline_active_faults{kind="blackhole"}') === 1 &&
        (sample(m, 'faultline_transition_lateness_seconds_count') ?? 0) >= 1
        ? m
        : undefined;
    },
    'the blackhole active and its transition measured',
    20_000,
  );
  const seenAt = Date.now();
  for (const phase of ['read', 'parse', 'plan', 'docker', 'netns', 'status', 'write'])
    assert.ok(
      (sample(inWindow, `faultline_reconcile_phase_duration_seconds_count{phase="${phase}"}`) ?? 0) >= 1,
      `phase ${phase} measured`,
    );
  assert.ok((sample(inWindow, 'faultline_docker_operations_total{operation="network.create",outcome="ok"}') ?? 0) >= 1);
  assert.ok(
    (sample(inWindow, 'faultline_docker_operations_total{operation="container.create",outcome="ok"}') ?? 0) >= 2,
  );
  assert.ok((sample(inWindow, 'faultline_kernel_programs_total{kind="write"}') ?? 0) >= 1, 'the rule was written');
  assert.ok((sample(inWindow, 'faultline_kernel_programs_total{kind="read"}') ?? 0) >= 1, 'and read back');
  assert.ok((sample(inWindow, 'faultline_reconciles_total{outcome="ok"}') ?? 0) >= 1);
  assert.equal(sample(inWindow, 'faultline_errors_total{reason="kernel"}'), 0);
  // the measured lateness cannot exceed what had passed of the window when the metric was seen
  const late = sample(inWindow, 'faultline_transition_lateness_seconds_sum')!;
  const bound = (seenAt - opensAt) / 1000;
  assert.ok(late > -1 && late <= bound, `lateness ${late} s, within the ${bound} s between the instant and the look`);

  // After the window: nothing active; the closing transition was measured too.
  await eventually(
    async () => {
      const m = (await get('/metrics')).text;
      return (
        sample(m, 'faultline_active_faults{kind="blackhole"}') === 0 &&
        (sample(m, 'faultline_transition_lateness_seconds_count') ?? 0) >= 2
      );
    },
    'the blackhole over',
    20_000,
  );

  await unlink(file);
  await eventually(async () => {
    const left = await ownedLeft(name);
    return left.containers.length === 0 && left.networks.length === 0;
  }, 'the scenario removed');
  // Counted when the reconcile that removed it has finished.
  await eventually(async () => {
    const m = (await get('/metrics')).text;
    return (
      (sample(m, 'faultline_docker_operations_total{operation="network.remove",outcome="ok"}') ?? 0) >= 1 &&
      (sample(m, 'faultline_reconciles_total{outcome="deleted"}') ?? 0) >= 1
    );
  }, 'the removal counted');

  await stopCtl();
  assert.equal(ctl.exitCode, 0, stderr);
  await assert.rejects(get('/healthz'), 'the server closed with the controller');
});
