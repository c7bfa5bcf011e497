// What every part of the semantic check shares: where issues go, the scenario name (Docker names
// are prefixed with it), and small readers that look at a value only when it has the right type.

import type { Issue } from '../types.js';

export type Path = (string | number)[];
export type Obj = Record<string, unknown>;

/** Where the spec starts in a Scenario object. */
export const SPEC: Path = ['spec'];

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const q = (s: string): string => JSON.stringify(s);

/** Collects issues in the order the checks find them (the order is part of the contract). */
export class Report {
  readonly issues: Issue[] = [];

  /** `scenarioName` is metadata.name when it is a string (not necessarily a valid one). */
  constructor(readonly scenarioName: string | undefined) {}

  add(code: string, path: Path, message: string): void {
    this.issues.push({ code, path, message });
  }
}
