// netplan/: pure. A scenario's network faults → per-namespace ledger entries and host entries.
export * from './netplan.js';
export * from './text.js';
