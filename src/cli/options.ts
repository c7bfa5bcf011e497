// Options the commands share.
import { Option } from 'commander';

/** A mistake the user can fix (bad input, missing file): printed without a stack, exit 1. */
export class UserError extends Error {}

function defaultDir(): string {
  return process.env.FAULTLINE_DIR ?? 'scenarios';
}

export const dirOption = () => new Option('--dir <dir>', 'directory of Scenario files the controller watches').default(defaultDir(), '$FAULTLINE_DIR or ./scenarios');

export const outputOption = (choices: string[]) => new Option('-o, --output <format>', 'output format').choices(choices);

export const netnsOption = () =>
  new Option('--netns-exec <mode>', 'how to enter container network namespaces: nsenter (root on the engine host), helper (a helper container), auto').choices(['auto', 'nsenter', 'helper']).default('auto');

export const hostRulesOption = () =>
  new Option('--host-rules <mode>', 'cuts between containers bridged on this host: auto (one chain in the host FORWARD path when br_netfilter allows), off (always in each container namespace)').choices(['auto', 'off']).default('auto');

/** -f; `-f -` reads the scenario from stdin (see input.ts). */
export const filenameOption = (what: string) => new Option('-f, --filename <path>', `${what}; - reads stdin`);
