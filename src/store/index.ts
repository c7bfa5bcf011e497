// The store's public surface. See README.md.
export { ScenarioStore } from './store.js';
export { systemClock } from './clock.js';
export { readOnce, readStable, type ReadOptions } from './read.js';
export type {
  ApplyResult,
  StoreOptions,
  UpdateFailureReason,
  UpdateResult,
  WriteStatusFailureReason,
  WriteStatusOptions,
  WriteStatusResult,
} from './store.js';
export type { CommitMethod, Edit, NotEditable } from './commit.js';
export { TEMP_PREFIX } from './commit.js';
export { RECOVERED_PREFIX, tidyTemps, type TidyReport } from './tidy.js';
export { indexByName, listScenarioFiles, scanScenarioFiles, type DirScan, type NameIndex } from './dir.js';
export type { StableRead } from './read.js';
export { watchDir, type WatchEvent, type WatchOptions } from './watch.js';
export { generationOf, readName, readStatus, splitTrailingStatus, type GenerationInfo } from './yamlEdit.js';
export { tryLock, type LockAttempt } from './lock.js';
export { loadNative, type Native } from './native.js';
export { SIDECAR_DIR, heldIn, readSidecar, sidecarPath, type HeldStatus } from './sidecar.js';
