// status/: pure. Everything written into a scenario's status is assembled here. See README.md.
export * from './conditions.js';
export * from './docker.js';
export * from './faults.js';
export * from './scenario.js';
export * from './probe.js';
