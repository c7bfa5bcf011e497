// The api layer's public surface. Other layers import from here.
export * from './types.js';
export { stableStringify, contentHash, specHash } from './hash.js';
export { parseDuration, formatDuration, isDuration } from './duration.js';
export { parsePercent, parseRate, parseSize } from './quantity.js';
export {
  parseIp,
  parseCidr,
  formatIp,
  formatCidr,
  cidrContains,
  cidrContainsCidr,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from './net.js';
export { isRfc3339 } from './time.js';
export { failpoint } from './failpoint.js';
export { parseScenario, MAX_FILE_BYTES, MAX_ALIAS_COUNT, type ParseOptions, type ParseResult } from './parse.js';
export { guardText, tooLargeIssue, MAX_DEPTH } from './guard.js';
export { validateScenario } from './validate.js';
export { formatPath, formatIssue, formatIssues } from './format.js';
export {
  scenarioSchema,
  scenarioValidator,
  statusValidator,
  CRD_PATH,
  SCHEMA_PATH,
  type JsonSchema,
} from './schema.js';
