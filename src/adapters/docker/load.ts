// Loading dockerode without what faultline never calls.
//
// When it is loaded, dockerode loads its BuildKit session code (gRPC and protobufjs, for
// `buildImage` with version 2) and docker-modem loads ssh2 (for ssh:// engines, with a WebAssembly
// module of 16 MiB of memory). faultline builds no image and speaks to engines over a unix socket,
// http or https; measured here, those modules cost the controller about 8 MiB resident from start
// to exit (node, dockerode alone: 65 MiB resident, 57 with them deferred), which the idle goal of
// issue 7 (100 scenarios in ≤ 100 MiB) cannot spare.
//
// So dockerode is required here with those two internal modules deferred: each is a function its
// parent calls (`withSession(...)`, `ssh(...)`), and stands in as a function that requires the real
// module at its first call and calls it. Nothing else changes: the hook is in place only while
// dockerode's own modules load (synchronously, inside this require), and only for those two
// requests from those two files. Where dockerode was loaded already (a test importing it first),
// the require cache answers and the hook sees nothing.
import Module, { createRequire } from 'node:module';

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };

/** `request` from the file ending in `from`: deferred until called. */
const DEFERRED: readonly { request: string; from: string }[] = [
  { request: './session', from: '/dockerode/lib/docker.js' },
  { request: './ssh', from: '/docker-modem/lib/modem.js' },
];

export function loadDockerode(): typeof import('dockerode') {
  const require = createRequire(import.meta.url);
  const original = loader._load;
  loader._load = function (this: unknown, request, parent, isMain) {
    const from = parent?.filename?.replaceAll('\\', '/') ?? '';
    if (DEFERRED.some((d) => d.request === request && from.endsWith(d.from))) {
      const requireThere = createRequire(from);
      return function deferred(this: unknown, ...args: unknown[]): unknown {
        return (requireThere(request) as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
    return original.call(this, request, parent, isMain);
  };
  try {
    return require('dockerode') as typeof import('dockerode');
  } finally {
    loader._load = original;
  }
}
