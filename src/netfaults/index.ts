// netfaults: pure. Ledger per container netns → tc / iptables programs; parsers for their read-back.
// Imports only api/ (types). See README.md.

export * from './ledger.js';
export * from './partition.js';
export * from './caps.js';
export { compileLedger, type CompiledLedger, type FaultMechanisms } from './compile.js';
export {
  ROOT_HANDLE,
  INGRESS_PREF,
  MARK_PREF,
  DROP_MARK,
  UNSHAPED_CLASS,
  ifbName,
  isOwnedIfb,
  mergeNetem,
  type DesiredDevice,
  type DesiredClass,
  type FilterGroup,
  type LeafState,
  type Tag,
} from './tc.js';
export {
  CHAIN_INPUT,
  CHAIN_OUTPUT,
  CHAIN_TAGS,
  CHAIN_MARK,
  OWNED_CHAINS,
  renderProbability,
  type IptablesDesired,
} from './iptables.js';
export {
  parseTcQdiscs,
  parseTcFilters,
  parseTcClasses,
  parseTcRateText,
  parseTbfPeakrates,
  flowerSig,
  parseIpLinks,
  parseIptablesSave,
  deviceState,
  observeNetns,
  readbackCommands,
  diffLedger,
  formatDiff,
  observedFromDesired,
  emptyDesired,
  ownedButUnwanted,
  tagsFromIptables,
  type ObservedNetns,
  type TcDeviceState,
  type IptablesState,
  type LinkState,
  type LedgerDiff,
  type ExecStep,
  type DesiredNetns,
  type OwnedObject,
} from './readback.js';
