// resolve/: pure. Selectors and fault targets resolved over the view of Docker. See README.md.
export * from './view.js';
export * from './selectors.js';
export * from './targets.js';
