// faultline as a library in a node:test suite, the way testcontainers is used:
//
//   npm install --save-dev faultline
//   node --test examples/library/
//
// It needs what the controller needs: a Docker engine, and root on its host (nsenter) or the
// helper image (scripts/build-helper-image.sh). The containers here come from a scenario so that
// the example stands alone; in your suite they are the ones your test started (select them by
// Docker name, labels, or compose project and service).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Faultline } from 'faultline';

const exec = promisify(execFile);

/** One ping from a container, by Docker name, to a name or address: true when it was answered. */
const reaches = (from, to) =>
  exec('docker', ['exec', from, 'ping', '-c', '1', '-W', '1', to]).then(
    () => true,
    () => false,
  );

/** The round trip of one ping, in ms. */
async function rtt(from, to) {
  const { stdout } = await exec('docker', ['exec', from, 'ping', '-c', '1', '-W', '3', to]);
  return Number(/time=([\d.]+) ms/.exec(stdout)?.[1]);
}

describe('the shop, under network faults', () => {
  /** @type {Faultline} */
  let fl;

  before(async () => {
    fl = await Faultline.start();
    // The system under test: two containers on a network of their own.
    await fl.apply({
      apiVersion: 'faultline.dev/v1alpha1',
      kind: 'Scenario',
      metadata: { name: 'shop' },
      spec: {
        networks: [{ name: 'net', ipam: { config: [{ subnet: '10.248.200.0/24' }] } }],
        containers: [
          { name: 'app', image: 'faultline/testbox' },
          { name: 'db', image: 'faultline/testbox' },
        ],
        members: [{ network: 'net', select: { names: ['app', 'db'] } }],
      },
    });
  });

  // Removes every scenario this instance applied (the shop's containers and network too), and
  // waits until nothing of them is left.
  after(() => fl?.stop());

  it('app cannot reach db while they are partitioned, and can again after', async () => {
    assert.ok(await reaches('shop_app', 'db'), 'before the partition');

    // Resolves once the kernel shows the cut in every target (read back, not assumed).
    const { name, status } = await fl.partition([['shop_app'], ['shop_db']]);
    assert.equal(status.faults?.[0].phase, 'Active');
    assert.ok(!(await reaches('shop_app', 'db')), 'during the partition');

    // Resolves once no rule of the partition is left in the kernel.
    await fl.delete(name);
    assert.ok(await reaches('shop_app', 'db'), 'after the partition');
  });

  it('db answers 200 ms later while delayed', async (t) => {
    if (!(await fl.capabilities()).netem) return t.skip('this kernel has no sch_netem (delay needs it)');
    const { name } = await fl.delay('shop_db', '200ms');
    assert.ok((await rtt('shop_app', 'db')) >= 200);
    await fl.delete(name);
    assert.ok((await rtt('shop_app', 'db')) < 200);
  });
});
