// faultline as a library: `import { Faultline } from 'faultline'` (package.json "exports").
// Everything a test suite needs to write scenarios and read their status, typed.
export { Faultline, FaultlineError, type FaultlineOptions, type CallOptions, type Verified } from './faultline.js';
export type { FaultOptions, PartitionOptions, DelayOptions, Targets } from './shorthands.js';
export type { WaitTarget, FailureCode } from './verdict.js';
export type {
  Scenario,
  ScenarioSpec,
  ScenarioStatus,
  ScenarioPhase,
  FaultSpec,
  FaultStatus,
  FaultTargetStatus,
  Condition,
  ConditionType,
  Selector,
  NetworkSpec,
  ContainerSpec,
  MemberSpec,
  NetemSpec,
  BandwidthSpec,
  PartitionSpec,
  Duration,
  Issue,
} from '../api/types.js';
export type { Capabilities } from '../netfaults/index.js';
export { parseScenario } from '../api/parse.js';
