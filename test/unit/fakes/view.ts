// Pieces of a Docker view for unit tests.
import type { ObservedNetwork } from '../../../src/resolve/index.js';

/** A bridge network with nothing set but what `over` says. */
export function bridgeNetwork(over: Partial<ObservedNetwork> & Pick<ObservedNetwork, 'id' | 'name'>): ObservedNetwork {
  return {
    driver: 'bridge',
    labels: {},
    internal: false,
    attachable: false,
    enableIPv6: false,
    subnets: [],
    options: {},
    containerIds: [],
    ...over,
  };
}
