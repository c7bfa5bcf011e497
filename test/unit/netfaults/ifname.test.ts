// Interface names a tc or iptables program could misread are never written into one (issue 9,
// security): a process in a container may rename its own interfaces to anything but '/', ':' and
// whitespace, and `tc -batch` reads '#' as a comment and '"' as a quote.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEntries, compileLedger, FULL_CAPS, SAFE_IFNAME } from '../../../src/netfaults/index.js';
import { compileHost } from '../../../src/netfaults/host.js';

const HOSTILE = ['x#y', 'a"b', "q'r", 'a;reboot', '$(id)', 'e|tc', 'dev\\x', 'ëth0', 'averyveryverylongname'];

describe('interface names in programs', () => {
  it('letters, digits and "_.-", at most 15 bytes: the names kernels and Docker give', () => {
    for (const ok of ['eth0', 'lo', 'veth1a2b3c4', 'br-0123456789ab', 'eth0.100', 'ifb_x'])
      assert.ok(SAFE_IFNAME.test(ok), ok);
    for (const bad of HOSTILE) assert.ok(!SAFE_IFNAME.test(bad), bad);
  });

  it('a namespace with hostile interface names: they appear in no program; each fault says which and what to do', () => {
    const { entries } = buildEntries(
      'dir-1.shop',
      { name: 'slow', egress: undefined, blackhole: {}, direction: 'both', protocol: 'udp' } as never,
      {},
      FULL_CAPS,
    );
    assert.ok(entries.length > 0);
    const c = compileLedger({ netns: 'api', interfaces: ['eth0', ...HOSTILE], entries }, FULL_CAPS);
    const programs = c.apply.steps.map((s) => `${s.argv.join(' ')}\n${s.stdin ?? ''}`).join('\n');
    assert.match(programs, /dev eth0 /, 'eth0 still gets its program');
    for (const bad of HOSTILE) assert.ok(!programs.includes(bad), `"${bad}" written into a program`);
    const d = c.degraded.filter((x) => x.reason === 'UnsafeInterfaceName');
    assert.equal(d.length, 1);
    assert.match(
      d[0].message,
      /^fault "slow": interfaces .*"x#y".* have names with characters tc and iptables programs treat specially/,
    );
    assert.match(d[0].message, /left alone: rename it in the container/);
  });

  it('the host path never writes a bridge port with such a name', () => {
    const desired = compileHost(
      'dir-1',
      [
        {
          scenario: 'dir-1.shop',
          fault: 'split',
          receiver: { ports: ['veth1', 'x#y'], v4: true, v6: false },
          senders: { ports: ['veth2', 'a"b'], v4: true, v6: false },
          protocol: 'all',
        },
      ],
      4,
      { chain: 'DOCKER-USER' } as never,
    );
    const text = JSON.stringify(desired);
    assert.match(text, /veth1/);
    for (const bad of ['x#y', 'a\\"b']) assert.ok(!text.includes(bad), bad);
  });
});
