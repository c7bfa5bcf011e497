// When a library call may return: one status judged against the spec the call wrote.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Condition, FaultStatus, ScenarioStatus } from '../../../src/api/types.js';
import { judge } from '../../../src/lib/verdict.js';

const T = '2025-01-01T00:00:00Z';
const cond = (type: Condition['type'], status: Condition['status'], reason: string, message = reason): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: T,
});
const ready = [
  cond('Valid', 'True', 'SpecValid'),
  cond('Ready', 'True', 'Converged'),
  cond('Degraded', 'False', 'AsDeclared'),
];
const cut = (targets: FaultStatus['targets'], phase: FaultStatus['phase'] = 'Active'): FaultStatus => ({
  name: 'cut',
  phase,
  targets,
});
const st = (s: Partial<ScenarioStatus>): ScenarioStatus => ({
  specHash: 'h1',
  conditions: ready,
  phase: 'Running',
  ...s,
});

test('Ready: converged and every active fault injected and verified in every target', () => {
  const ok = st({ faults: [cut([{ container: 'a', phase: 'Injected', verified: true }])] });
  assert.deepEqual(judge(ok, 'h1'), { state: 'ok' });
  assert.deepEqual(judge(st({}), 'h1'), { state: 'ok' }, 'no faults: Ready is enough');
  assert.deepEqual(
    judge(st({ faults: [cut(undefined, 'Scheduled')] }), 'h1'),
    { state: 'ok' },
    'a later fault is not waited for',
  );
});

test('waits for the status of the spec it wrote, not an older one', () => {
  assert.equal(judge(undefined, 'h1').state, 'wait');
  assert.equal(judge(st({ specHash: 'h0' }), 'h1').state, 'wait');
});

test('waits while a target is not injected, not verified, or the fault has no target yet', () => {
  for (const targets of [
    [{ container: 'a', phase: 'Injected' as const, verified: false }],
    [{ container: 'a', phase: 'Pending' as const, reason: 'ContainerNotRunning' }],
    [
      { container: 'a', phase: 'Injected' as const, verified: true },
      { container: 'b', phase: 'Failed' as const, lastError: 'exit 1' },
    ],
    [],
  ]) {
    const v = judge(st({ faults: [cut(targets)] }), 'h1');
    assert.equal(v.state, 'wait', JSON.stringify(targets));
  }
  const v = judge(st({ faults: [cut([{ container: 'b', phase: 'Failed', lastError: 'exit 1' }])] }), 'h1');
  assert.ok(v.state === 'wait' && /fault "cut" not verified in b \(Failed: exit 1\)/.test(v.why), JSON.stringify(v));
});

test('fails at once: invalid, a name conflict, a kernel that cannot do the fault', () => {
  const invalid = st({
    conditions: [cond('Valid', 'False', 'InvalidSpec')],
    issues: [{ code: 'x', path: ['spec', 'faults', 0], message: 'bad' }],
  });
  assert.deepEqual(judge(invalid, 'h1'), { state: 'fail', code: 'Invalid', why: 'spec.faults.0: bad' });
  const conflict = st({
    conditions: [cond('Valid', 'True', 'SpecValid'), cond('Ready', 'False', 'Conflict', 'x_net exists')],
  });
  assert.deepEqual(judge(conflict, 'h1'), { state: 'fail', code: 'Conflict', why: 'x_net exists' });
  const netem = st({
    conditions: [...ready.slice(0, 2), cond('Degraded', 'True', 'KernelLacksNetem', 'no sch_netem')],
  });
  assert.deepEqual(judge(netem, 'h1'), {
    state: 'fail',
    code: 'Degraded',
    why: 'Degraded KernelLacksNetem: no sch_netem',
  });
});

test('Degraded reasons that waiting can clear are waited for', () => {
  for (const reason of ['NoTargets', 'NoPeers', 'ContainerNotRunning', 'FaultFailed']) {
    const s = st({ conditions: [...ready.slice(0, 2), cond('Degraded', 'True', reason)] });
    assert.equal(judge(s, 'h1').state, 'wait', reason);
  }
  const converging = st({ conditions: [cond('Valid', 'True', 'SpecValid'), cond('Ready', 'False', 'Converging')] });
  assert.equal(judge(converging, 'h1').state, 'wait');
});

test('a Pending fault (in its window, acting on nothing) is waited for, never ok', () => {
  const pending: FaultStatus = {
    ...cut(undefined, 'Pending'),
    reason: 'NoTargets',
    message: 'its targets match no container',
  };
  const r = judge(st({ faults: [pending] }), 'h1');
  assert.equal(r.state, 'wait');
  assert.match(r.state === 'wait' ? r.why : '', /"cut" is Pending NoTargets: its targets match no container/);
});

test('another condition or a phase: only that is asked', () => {
  const s = st({
    phase: 'Completed',
    conditions: [cond('Valid', 'True', 'SpecValid'), cond('Ready', 'False', 'Converging')],
  });
  assert.deepEqual(judge(s, 'h1', 'Completed'), { state: 'ok' });
  assert.deepEqual(judge(s, 'h1', 'Valid'), { state: 'ok' });
  assert.equal(judge(s, 'h1', 'Running').state, 'wait');
  assert.equal(judge(s, 'h1', 'Degraded').state, 'wait');
});
