// One colour per fault kind, shared by every picture faultline draws: the timeline's Gantt bars
// (gantt.ts) and the topology graph's fault edges (cli/graph.ts), so that "red" means a cut and
// "orange" a delay in both. Chosen to stay apart for the common forms of colour blindness and
// on white.
import type { FaultAction } from '../api/types.js';

export const FAULT_COLOURS: { readonly [K in FaultAction]: string } = Object.freeze({
  netem: '#e07b00', // delay, loss, duplication: orange
  bandwidth: '#7b4fd6', // rate limits: purple
  partition: '#d62828', // cuts: red
  blackhole: '#8c1c13', // silent drops: dark red
  reject: '#c2187a', // refused at once: magenta
  dns: '#00838f', // the embedded resolver's answers: teal
  disconnect: '#3a6ea5', // off a network: blue
  container: '#2e7d32', // pause, stop, kill, restart: green
});

/** What each colour stands for, for legends. */
export const FAULT_KIND_TEXT: { readonly [K in FaultAction]: string } = Object.freeze({
  netem: 'delay / loss (netem)',
  bandwidth: 'rate limit',
  partition: 'partition (cut)',
  blackhole: 'blackhole',
  reject: 'reject',
  dns: 'DNS fault',
  disconnect: 'disconnect',
  container: 'container action',
});
