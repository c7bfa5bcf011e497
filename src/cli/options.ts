// Options the commands share, and how every option value is checked.
//
// A bad value never reaches a command: each parser below throws InvalidArgumentError saying what
// is accepted, and commander prints it with the option's name and where the value came from:
//
//   error: option '--workers <n>' argument '0' is invalid. Use a whole number from 1 to 100.
//   error: option '--workers <n>' value 'abc' from env 'FAULTLINE_WORKERS' is invalid. Use a …
//
// Every controller option can also be set by a FAULTLINE_* variable (`Option.env`): commander
// reads it while parsing the command line — never at module load — and --help shows it.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../api/duration.js';
import { DEFAULT_ADDRESS_POOL, parseAddressPool, type AddressPool } from '../plan/addresses.js';

/** A mistake the user can fix (bad input, missing file): printed without a stack, exit 1. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parser for a whole number in [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Use a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Parser for a Go-style duration ("30s", "2m", "1h30m") of at least `minMs`; gives milliseconds. */
export function duration(minMs: number, minText: string): (value: string) => number {
  return (value) => {
    let ms: number;
    try {
      ms = parseDuration(value.trim());
    } catch {
      throw new InvalidArgumentError(`Use a duration like 30s, 2m or 1h30m (at least ${minText}).`);
    }
    if (ms < minMs) throw new InvalidArgumentError(`Use a duration of at least ${minText}, like 30s, 2m or 1h30m.`);
    return ms;
  };
}

/** Parser for a listen address `[host]:port`: ":9464" (every interface), "127.0.0.1:9464", "[::1]:9464". */
export function listenAddress(value: string): { host?: string; port: number; text: string } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[3]) > 65_535)
    throw new InvalidArgumentError('Use [host]:port, like :9464, 127.0.0.1:9464 or [::1]:9464.');
  const host = m[1] ?? m[2];
  return { ...(host ? { host } : {}), port: Number(m[3]), text: value.trim() };
}

export const dirOption = () =>
  new Option('--dir <dir>', 'directory of Scenario files the controller watches')
    .env('FAULTLINE_DIR')
    .default('scenarios');

export const outputOption = (choices: string[]) =>
  new Option('-o, --output <format>', 'output format').choices(choices);

export const netnsOption = () =>
  new Option(
    '--netns-exec <mode>',
    'how to enter container network namespaces: nsenter (root on the engine host), helper (a helper container), auto',
  )
    .choices(['auto', 'nsenter', 'helper'])
    .env('FAULTLINE_NETNS_EXEC')
    .default('auto');

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

export const logLevelOption = (fallback: string, description = 'log level (logs go to stderr)') =>
  new Option('--log-level <level>', description).choices(LOG_LEVELS).env('FAULTLINE_LOG_LEVEL').default(fallback);

export const hostRulesOption = () =>
  new Option(
    '--host-rules <mode>',
    'cuts between containers bridged on this host: auto (one chain in the host FORWARD path when br_netfilter allows), off (always in each container namespace)',
  )
    .choices(['auto', 'off'])
    .env('FAULTLINE_HOST_RULES')
    .default('auto');

/** "10.200.0.0/16/24,10.201.0.0/16/24" → pools; "docker": none (Docker's own default pools). */
export function addressPools(value: string): AddressPool[] {
  if (value.trim() === 'docker') return [];
  try {
    return value.split(',').map((p) => parseAddressPool(p));
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}. Or "docker" for Docker's own default pools.`);
  }
}

export const addressPoolOption = () =>
  new Option(
    '--address-pool <pools>',
    'subnets for networks declared without one: <network>/<prefix>/<block prefix>, comma-separated; "docker" leaves it to Docker\'s default pools',
  )
    .argParser(addressPools)
    .env('FAULTLINE_ADDRESS_POOL')
    .default(addressPools(DEFAULT_ADDRESS_POOL), DEFAULT_ADDRESS_POOL);

/** Where controllers keep their health records (controller/health.ts); default by user. */
export const stateDirOption = () =>
  new Option(
    '--state-dir <dir>',
    'where the controller records what it cannot write into the files (read by get and describe); default /run/faultline as root, else $TMPDIR/faultline-<uid>',
  ).env('FAULTLINE_STATE_DIR');

/** -f; `-f -` reads the scenario from stdin (see input.ts). */
export const filenameOption = (what: string) => new Option('-f, --filename <path>', `${what}; - reads stdin`);

/** Examples shown at the end of `faultline <command> --help`, one command line per entry. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}
