#!/usr/bin/env -S node --max-semi-space-size=1
// A small young generation: the controller's allocations are small and steady, and 16 MiB
// semi-spaces would sit in its resident memory for nothing (measured with bench/idle.ts, 100
// scenarios: 100 MiB RSS instead of 117). Only the command line can set it: run this file itself
// (`faultline …`, or dist/src/cli/bin.js), not `node dist/src/cli/bin.js`.
const { main } = await import('./main.js');

main(process.argv).then((code) => process.exit(code));
