// Every option value is checked before anything runs: the error names the option and what it
// accepts. None of these needs Docker: parsing fails first (--dir points nowhere, so a value that
// slipped through would fail on the directory instead, not start a controller).
import test from 'node:test';
import assert from 'node:assert/strict';
import { faultline } from './helpers.js';

const NOWHERE = '/nonexistent/faultline-test-dir';

// `code`: the exit status when it is not 1 (`run` exits 3 on bad input, see its --help).
const cases: { args: string[]; env?: Record<string, string>; says: RegExp[]; code?: number }[] = [
  {
    args: ['timeline', '-f', '-', '--width', 'abc'],
    says: [/'--width <n>' argument 'abc'/, /whole number from 10 to 10000/],
  },
  { args: ['timeline', '-f', '-', '--format', 'png'], says: [/'--format <format>' argument 'png'/, /text, svg/] },
  {
    args: ['controller', '--dir', NOWHERE, '--workers', '0'],
    says: [/'--workers <n>' argument '0'/, /whole number from 1 to 100/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--workers', 'abc'],
    says: [/'--workers <n>' argument 'abc'/, /whole number/],
  },
  {
    args: ['controller', '--dir', NOWHERE],
    env: { FAULTLINE_WORKERS: 'two' },
    says: [/'--workers <n>' value 'two' from env 'FAULTLINE_WORKERS'/, /whole number/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--resync', 'soon'],
    says: [/'--resync <duration>' argument 'soon'/, /30s, 2m or 1h30m/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--resync', '0s'],
    says: [/'--resync <duration>' argument '0s'/, /at least 1s/],
  },
  {
    args: ['controller', '--dir', NOWHERE],
    env: { FAULTLINE_RESYNC: '5' },
    says: [/from env 'FAULTLINE_RESYNC'/, /duration/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--netns-exec', 'ssh'],
    says: [/'--netns-exec <mode>' argument 'ssh'/, /auto, nsenter, helper/],
  },
  {
    args: ['controller', '--dir', NOWHERE],
    env: { FAULTLINE_NETNS_EXEC: 'ssh' },
    says: [/from env 'FAULTLINE_NETNS_EXEC'/, /auto, nsenter, helper/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--host-rules', 'on'],
    says: [/'--host-rules <mode>' argument 'on'/, /auto, off/],
  },
  {
    args: ['controller', '--dir', NOWHERE],
    env: { FAULTLINE_HOST_RULES: 'on' },
    says: [/from env 'FAULTLINE_HOST_RULES'/, /auto, off/],
  },
  {
    args: ['controller', '--dir', NOWHERE, '--log-level', 'loud'],
    says: [/'--log-level <level>' argument 'loud'/, /trace, debug, info, warn, error/],
  },
  {
    args: ['controller', '--dir', NOWHERE],
    env: { FAULTLINE_LOG_LEVEL: 'loud' },
    says: [/from env 'FAULTLINE_LOG_LEVEL'/, /trace, debug/],
  },
  {
    args: ['wait', 'x', '--dir', NOWHERE, '--timeout', 'forever'],
    says: [/'--timeout <duration>' argument 'forever'/, /30s, 2m or 1h30m/],
  },
  {
    args: ['wait', 'x', '--dir', NOWHERE, '--for', 'ready'],
    says: [/'--for <condition>' argument 'ready'/, /condition=Ready/],
  },
  {
    args: ['run', '-f', NOWHERE, '--timeout', '5'],
    says: [/'--timeout <duration>' argument '5'/, /30s, 2m or 1h30m/],
    code: 3,
  },
  {
    args: ['run', '-f', NOWHERE, '-o', 'yaml'],
    says: [/'-o, --output <format>' argument 'yaml'/, /text, json/],
    code: 3,
  },
  {
    args: ['get', '--dir', NOWHERE, '-o', 'table'],
    says: [/'-o, --output <format>' argument 'table'/, /yaml, json, wide/],
  },
  {
    args: ['reseed', 'x', '--dir', NOWHERE, '--seed', '-1'],
    says: [/'--seed <n>' argument '-1'/, /whole number from 0/],
  },
];

for (const c of cases) {
  const label = [...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`), ...c.args].join(' ');
  test(`rejected with the option named and what it accepts: ${label}`, async () => {
    const r = await faultline(c.args, { env: c.env });
    assert.equal(r.code, c.code ?? 1, r.stdout + r.stderr);
    for (const re of c.says) assert.match(r.stderr, re);
  });
}
