// The library (src/lib) on the real engine: every call resolves with the status read back for the
// spec it wrote, or rejects with a FaultlineError that says why; the kernel is checked with nsenter
// here, never through faultline's own status.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { stringify } from 'yaml';
import { Faultline, FaultlineError } from '../../src/lib/index.js';
import type { Scenario } from '../../src/api/types.js';
import { controllerIdFor } from '../../src/controller/lease.js';
import { expectedCuts, forceCleanup, kernelCuts, ownedLeft, TESTBOX, uniqueName } from './lib.js';

function system(name: string): Scenario {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name },
    spec: {
      networks: [{ name: 'net', ipam: { config: [{ subnet: `10.248.${randomBytes(1)[0] % 100}.0/24` }] } }],
      containers: ['a', 'b', 'c'].map((n) => ({ name: n, image: TESTBOX })),
      members: [{ network: 'net', select: { names: ['a', 'b', 'c'] } }],
    },
  };
}

describe('Faultline, the library', () => {
  const sys = uniqueName('lib');
  const [a, b, c] = ['a', 'b', 'c'].map((n) => `${sys}_${n}`);
  const theSystem = system(sys);
  let fl: Faultline;

  before(async () => {
    fl = await Faultline.start({ timeout: '90s' });
  });

  after(async () => {
    await fl?.stop().catch(() => undefined);
    await forceCleanup(sys);
  });

  it('apply resolves with the Ready status of the spec it wrote (an object or YAML text)', async () => {
    const r = await fl.apply(theSystem);
    assert.equal(r.name, sys);
    assert.equal(r.status.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
    assert.deepEqual(
      r.status.containers?.map((x) => [x.name, x.phase]),
      [
        ['a', 'Running'],
        ['b', 'Running'],
        ['c', 'Running'],
      ],
    );
    // Applying the same spec again as text: the same verified status, nothing recreated.
    const again = await fl.apply(stringify(theSystem));
    assert.deepEqual(
      again.status.containers?.map((x) => x.id),
      r.status.containers?.map((x) => x.id),
    );
  });

  it('an invalid scenario is rejected before anything is written, with located issues', async () => {
    const bad = system(uniqueName('lib'));
    bad.spec.networks![0].ipam!.config![0].subnet = '10.248.1.300/24';
    await assert.rejects(fl.apply(bad), (e: unknown) => {
      assert.ok(e instanceof FaultlineError);
      assert.equal(e.code, 'Invalid');
      assert.ok(e.issues?.some((i) => i.path.join('.') === 'spec.networks.0.ipam.config.0.subnet'));
      return true;
    });
    await assert.rejects(fl.status(bad.metadata.name), { code: 'NotFound' });
  });

  it('partition resolves once every cut is verified; the kernel holds exactly the cuts; delete removes them', async () => {
    const r = await fl.partition([[a], [b, c]], { name: 'split' });
    const fault = r.status.faults?.find((f) => f.name === 'partition');
    assert.equal(fault?.phase, 'Active');
    assert.ok(fault?.targets?.every((t) => t.phase === 'Injected' && t.verified));
    const key = `${controllerIdFor(fl.dir)}.split/partition`;
    assert.deepEqual(await kernelCuts([a, b, c], key), expectedCuts([[a], [b, c]]));
    await fl.delete('split');
    assert.deepEqual(await kernelCuts([a, b, c], key), { [a]: [], [b]: [], [c]: [] });
  });

  it('delay resolves verified where the kernel has sch_netem, and rejects at once with the reason where it has not', async () => {
    const p = fl.delay(b, '100ms', { name: 'slow' });
    if ((await fl.capabilities()).netem) {
      const r = await p;
      assert.ok(r.status.faults?.[0].targets?.every((t) => t.verified));
    } else {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof FaultlineError);
        assert.equal(e.code, 'Degraded', 'refused for the reason, not after waiting out the timeout');
        assert.match(e.message, /sch_netem/);
        return true;
      });
    }
    await fl.delete('slow');
  });

  it('waitFor resolves for a scenario in the directory; an unknown one is NotFound', async () => {
    const r = await fl.waitFor(sys, 'Running');
    assert.equal(r.status.phase, 'Running');
    await assert.rejects(fl.waitFor('no-such-scenario'), { code: 'NotFound' });
  });

  it('stop removes every scenario it applied, and its temporary directory', async () => {
    const dir = fl.dir;
    await fl.stop();
    assert.deepEqual(await ownedLeft(sys), { containers: [], networks: [] });
    assert.equal(await stat(dir).catch(() => undefined), undefined);
    await assert.rejects(fl.apply(theSystem), /stopped/);
  });
});
