// `faultline run -f s.yaml -- <command>`: when the command starts, what ends the run (--until),
// and the exit status (the command's first, then the faults'). The real controller and file store
// on a temporary directory, a fake Docker engine, a fake command; real time, a few seconds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseScenario } from '../../../src/api/parse.js';
import type { CommandExit, StartCommand } from '../../../src/adapters/command.js';
import { renderSummary, runExitCode, runScenario, type Until } from '../../../src/cli/runner.js';
import { FakeDocker } from '../fakes/docker.js';

const log = pino({ level: 'silent' });

/** A scenario with one container and a Docker-level fault (pause): verifiable without a kernel. */
function scenario(name: string, timing: string, extra = ''): string {
  return `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
${extra}  containers: [{ name: a, image: faultline/testbox }]
  faults:
    - { name: freeze, targets: { names: [a] }, container: { action: pause }, ${timing} }
`;
}

interface FakeCommand {
  start: StartCommand;
  started: { argv: string[]; env?: Record<string, string>; at: number }[];
  stops: number;
  exit(code: number): void;
}

/** A command that exits when told to (or after `exitAfterMs`), and on stop() with 143. */
function fakeCommand(exitAfterMs?: number, code = 0): FakeCommand {
  let resolve: (e: CommandExit) => void = () => undefined;
  const f: FakeCommand = {
    started: [],
    stops: 0,
    exit: (c) => resolve({ code: c }),
    start: (argv, opts) => {
      const exited = new Promise<CommandExit>((r) => (resolve = r));
      f.started.push({ argv, env: opts?.env, at: Date.now() });
      if (exitAfterMs !== undefined) setTimeout(() => resolve({ code }), exitAfterMs);
      return {
        pid: 4242,
        exited,
        signal: () => undefined,
        stop: async () => {
          f.stops++;
          resolve({ code: 143, signal: 'SIGTERM' });
          return exited;
        },
      };
    },
  };
  return f;
}

const sink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

async function run(text: string, o: { command?: FakeCommand; until?: Until; timeoutMs?: number; docker?: FakeDocker }) {
  const parsed = parseScenario(text, 'test.yaml');
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.issues));
  return runScenario({
    text,
    scenario: parsed.scenario,
    docker: o.docker ?? new FakeDocker(),
    log,
    keep: false,
    timeoutMs: o.timeoutMs,
    out: sink(),
    env: {},
    command: o.command ? { argv: ['npm', 'test'], until: o.until ?? 'command', start: o.command.start } : undefined,
  });
}

test('exit status: the command first (1), then the faults (2), else 0', () => {
  assert.equal(runExitCode({ ok: true }), 0);
  assert.equal(runExitCode({ ok: false }), 2);
  assert.equal(runExitCode({ ok: true, command: { failed: false } }), 0);
  assert.equal(runExitCode({ ok: false, command: { failed: false } }), 2);
  assert.equal(runExitCode({ ok: true, command: { failed: true } }), 1);
  assert.equal(runExitCode({ ok: false, command: { failed: true } }), 1);
});

test('--until command: a timeline without an end ends when the command exits, exit 0', async () => {
  const cmd = fakeCommand(800, 0);
  const s = await run(scenario('endless', 'at: 0s'), { command: cmd });
  assert.equal(s.timelineEnds, false);
  assert.equal(s.outcome, 'completed');
  assert.deepEqual(
    s.faults.map((f) => [f.fault, f.result]),
    [['freeze', 'ok']],
  );
  assert.equal(cmd.started.length, 1);
  assert.deepEqual(cmd.started[0].argv, ['npm', 'test']);
  assert.equal(cmd.started[0].env?.FAULTLINE_SCENARIO, 'endless');
  assert.match(cmd.started[0].env?.FAULTLINE_DIR ?? '', /faultline-run-/);
  assert.deepEqual(s.command, {
    argv: ['npm', 'test'],
    started: true,
    exitCode: 0,
    signal: undefined,
    error: undefined,
    stoppedBy: undefined,
    failed: false,
  });
  assert.equal(s.exitCode, 0);
  assert.match(renderSummary(s), /^\ncommand ok: exited 0: npm test\nscenario endless: completed/);
});

test('a command that fails makes the run fail with 1, although every fault was verified', async () => {
  const s = await run(scenario('fails', 'at: 0s'), { command: fakeCommand(500, 7) });
  assert.equal(s.ok, true);
  assert.equal(s.command?.exitCode, 7);
  assert.equal(s.exitCode, 1);
  assert.match(renderSummary(s), /command FAILED: exited 7: npm test/);
});

test('--until timeline: a command still running at the end of the timeline is stopped, and that is no failure', async () => {
  const cmd = fakeCommand();
  const s = await run(scenario('bounded', 'at: 0s', '  duration: 2s\n'), { command: cmd, until: 'timeline' });
  assert.equal(s.timelineEnds, true);
  assert.equal(cmd.stops, 1);
  assert.equal(s.command?.stoppedBy, 'timeline');
  assert.equal(s.command?.failed, false);
  assert.equal(s.exitCode, 0);
});

test('--until timeline: a command that fails early leaves the timeline playing to its end, then exit 1', async () => {
  const cmd = fakeCommand(100, 3);
  const s = await run(scenario('early', 'at: 0s', '  duration: 2s\n'), { command: cmd, until: 'timeline' });
  assert.ok(s.durationMs >= 2000, `${s.durationMs} ms: the run ended before the timeline`);
  assert.equal(s.outcome, 'completed');
  assert.equal(cmd.stops, 0);
  assert.equal(s.exitCode, 1);
});

test('--timeout while the command runs: the command is stopped and the run fails with 1', async () => {
  const cmd = fakeCommand();
  const s = await run(scenario('slow', 'at: 0s'), { command: cmd, timeoutMs: 1500 });
  assert.equal(s.outcome, 'timeout');
  assert.equal(s.command?.stoppedBy, 'timeout');
  assert.equal(s.exitCode, 1);
});

test('a scenario that never becomes Ready does not start the command: exit 2', async () => {
  const docker = new FakeDocker();
  docker.addRunning('stuck_a'); // a container faultline does not own, under the name it would use
  const cmd = fakeCommand(0, 0);
  const s = await run(scenario('stuck', 'at: 0s'), { command: cmd, docker, timeoutMs: 20_000 });
  assert.equal(cmd.started.length, 0);
  assert.equal(s.outcome, 'not-ready');
  assert.equal(s.command?.started, false);
  assert.equal(s.exitCode, 2);
  assert.match(renderSummary(s), /command not started \(the scenario did not become Ready\): npm test/);
});
