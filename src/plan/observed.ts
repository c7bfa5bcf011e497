// Moved to resolve/view.ts (the view of Docker every pure layer works on).
export * from '../resolve/view.js';
