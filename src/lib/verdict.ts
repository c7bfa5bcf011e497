// When may a library call return? A pure judgement of one status, read back from the scenario's
// file, against the spec the call wrote. The library polls the file and asks this after each read.
//
//   status of another spec (an older one, or none yet)        -> wait
//   Valid=False                                               -> fail Invalid (a file edit is needed)
//   Ready=False, reason Conflict                              -> fail Conflict (a name faultline does not own)
//   Ready=False otherwise                                     -> wait (Docker is converging)
//   Degraded=True, a reason that waiting can change           -> wait (a target not running yet, no peers yet)
//   Degraded=True, any other reason (KernelLacksNetem, …)     -> fail Degraded (the kernel cannot do it)
//   an Active fault with a target not Injected and verified   -> wait
//   otherwise                                                 -> ok: the status is the verified status
//
// A `wait` carries why, so a call that times out says what it was still waiting for.
import type { ConditionType, ScenarioPhase, ScenarioStatus } from '../api/types.js';

/** What a call waits for: a condition True (Ready also needs every active fault verified), or a phase. */
export type WaitTarget = ConditionType | ScenarioPhase;

export type FailureCode = 'Invalid' | 'Conflict' | 'Degraded' | 'Timeout' | 'NotFound' | 'NotRemoved';

export type Verdict =
  { state: 'ok' } | { state: 'wait'; why: string } | { state: 'fail'; code: FailureCode; why: string };

/** Degraded reasons that can clear by themselves: a container still starting, a peer not there yet. */
const TRANSIENT_DEGRADED = new Set([
  'NoTargets',
  'NoPeers',
  'ContainerNotRunning',
  'ContainerNotFound',
  'FaultFailed',
  'Converging',
]);

const CONDITIONS: readonly string[] = ['Valid', 'Ready', 'Degraded'];

/**
 * Judge `status` for the spec whose hash is `specHash` (api/hash specHash of what was written).
 * `want` Ready: Docker converged and every active fault injected and verified in every target.
 */
export function judge(status: ScenarioStatus | undefined, specHash: string, want: WaitTarget = 'Ready'): Verdict {
  if (!status || status.specHash !== specHash)
    return { state: 'wait', why: 'the controller has not reconciled this spec yet' };
  const cond = (t: ConditionType) => status.conditions?.find((c) => c.type === t);
  const valid = cond('Valid');
  if (valid?.status === 'False') {
    const issues = (status.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    return { state: 'fail', code: 'Invalid', why: issues.join('; ') || valid.message };
  }
  const ready = cond('Ready');
  if (ready?.status === 'False' && ready.reason === 'Conflict')
    return { state: 'fail', code: 'Conflict', why: ready.message };
  if (want !== 'Ready') {
    if (CONDITIONS.includes(want)) {
      const c = cond(want as ConditionType);
      return c?.status === 'True'
        ? { state: 'ok' }
        : { state: 'wait', why: c ? `${want}=${c.status} ${c.reason}: ${c.message}` : `no ${want} condition yet` };
    }
    return status.phase === want ? { state: 'ok' } : { state: 'wait', why: `phase is ${status.phase ?? 'unknown'}` };
  }
  if (ready?.status !== 'True')
    return { state: 'wait', why: ready ? `Ready=${ready.status} ${ready.reason}: ${ready.message}` : 'not Ready yet' };
  const degraded = cond('Degraded');
  if (degraded?.status === 'True') {
    const why = `Degraded ${degraded.reason}: ${degraded.message}`;
    return TRANSIENT_DEGRADED.has(degraded.reason) ? { state: 'wait', why } : { state: 'fail', code: 'Degraded', why };
  }
  for (const f of status.faults ?? []) {
    if (f.phase === 'Pending')
      return {
        state: 'wait',
        why: `fault "${f.name}" is Pending ${f.reason ?? ''}: ${f.message ?? 'it acts on nothing yet'}`,
      };
    if (f.phase !== 'Active') continue;
    if (!f.targets?.length) return { state: 'wait', why: `fault "${f.name}" has no target yet` };
    const pending = f.targets.filter((t) => t.phase !== 'Injected' || !t.verified);
    if (pending.length)
      return {
        state: 'wait',
        why: `fault "${f.name}" not verified in ${pending
          .map(
            (t) =>
              `${t.container} (${t.phase}${t.reason ? ` ${t.reason}` : ''}${t.lastError ? `: ${t.lastError}` : ''})`,
          )
          .join(', ')}`,
      };
  }
  return { state: 'ok' };
}
