// validateScenario: everything wrong with a Scenario object, as Issues (code, path, message).
//
//   1. The JSON Schema derived from crds/scenario.yaml (types, enums, patterns, closed objects),
//      its errors reworded by schema-issues.ts: codes `schema.<keyword>`.
//   2. Semantic checks the schema cannot express (semantic/): references, uniqueness, CIDR
//      arithmetic, cron, ranges; each with its own code.
//
// Positions (line/column) are added by parse.ts, which has the YAML document; this module works
// on plain data so it can also check objects built in code.

import type { Issue } from './types.js';
import { scenarioValidator } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import { semanticIssues } from './semantic/index.js';

/** Every problem with `obj` as a Scenario; empty when it is valid. Never throws. */
export function validateScenario(obj: unknown): Issue[] {
  const validate = scenarioValidator();
  const issues = validate(obj) ? [] : schemaIssues(validate.errors ?? [], obj);
  try {
    issues.push(...semanticIssues(obj));
  } catch (err) {
    // A bug in a check must not take the controller down; report it like any other problem.
    issues.push({ code: 'internal.error', path: [], message: `validation failed unexpectedly: ${String(err)}` });
  }
  return issues;
}
