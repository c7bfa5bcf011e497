import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { dockerdPid, pickDaemon } from '../../../src/adapters/hostns.js';

test('the daemon, not a program it is forking: a child named dockerd whose pid wrapped below it is passed over', () => {
  // pid 1060: dockerd's child between fork and exec (of iptables), after pids wrapped past 32768.
  const daemon = { pid: 8731, ppid: 1, start: 500 };
  const child = { pid: 1060, ppid: 8731, start: 9000 };
  assert.equal(pickDaemon([child, daemon]), 8731);
  assert.equal(pickDaemon([daemon, child]), 8731);
  // Two unrelated daemons (say a second engine): the oldest.
  assert.equal(pickDaemon([{ pid: 300, ppid: 1, start: 700 }, daemon]), 8731);
  assert.equal(pickDaemon([]), undefined);
});

test('dockerdPid: a process named dockerd, else the fallback', async () => {
  const pid = await dockerdPid(-1);
  if (pid === -1) return; // no daemon on this machine: the fallback is the answer
  assert.equal((await readFile(`/proc/${pid}/comm`, 'utf8')).trim(), 'dockerd');
});
