// NO_COLOR: no terminal escapes, even on a terminal. The streams here pretend to be terminals.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/cli/log.js';
import { RunReporter } from '../../../src/cli/runner.js';

function fakeTerminal(): Writable & { isTTY: boolean; text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { isTTY: true, text: () => chunks.join('') });
}

async function logged(env: NodeJS.ProcessEnv): Promise<string> {
  const term = fakeTerminal();
  createLogger('info', term, env).info({ scenario: 'x' }, 'hello');
  await new Promise((r) => setTimeout(r, 50)); // pino-pretty writes through a transform stream
  return term.text();
}

test('logs on a terminal are coloured, and not when NO_COLOR is set', async () => {
  assert.match(await logged({}), /\x1b\[/, 'the test sees colours when they are allowed');
  const plain = await logged({ NO_COLOR: '1' });
  assert.match(plain, /hello/);
  assert.doesNotMatch(plain, /\x1b/);
});

test('run on a terminal redraws its progress line, and not when NO_COLOR is set', () => {
  const tty = fakeTerminal();
  const live = new RunReporter(tty, {});
  live.progress('Running  active: cut');
  live.line('fault cut: Scheduled → Active');
  assert.match(tty.text(), /\x1b\[K/);

  const plain = fakeTerminal();
  const quiet = new RunReporter(plain, { NO_COLOR: '1' });
  quiet.progress('Running  active: cut');
  quiet.line('fault cut: Scheduled → Active', new Date('2026-03-01T12:00:00.000Z'));
  assert.equal(plain.text(), '12:00:00.000  fault cut: Scheduled → Active\n');
});
