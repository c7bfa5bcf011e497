// Issue 10, items 7 and 8 on this host's kernel (no sch_netem): dns drop/refuse by name against
// Docker's embedded resolver (checked with nslookup inside the container), sourcePorts /
// destinationPorts as separate matches (checked with nc over IPv4 and IPv6), bandwidth ceil and
// peakrate (checked with timed transfers: a lower bound on the time only, which load cannot break).
// Scenario files, the in-process controller, the real engine and kernel; networks in 10.220.0.0/16.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { dockerStatus, eventually } from './lib.js';
import { ECHO, addrOf, editFile, fixture, injected, noneActive, nsenter, pidOf, scenarioYaml } from './fault-lib.js';

/** nslookup against Docker's embedded resolver, inside the container: answered, refused or silent. */
async function lookup(container: string, name: string): Promise<'answered' | 'failed'> {
  // busybox nslookup: exit 0 with an "Address" line for the name; non-zero when refused or silent
  const r = await dockerStatus('exec', container, 'timeout', '8', 'nslookup', name, '127.0.0.11');
  return r.code === 0 && /Address:?\s+10\.220\./.test(r.stdout) ? 'answered' : 'failed';
}

/** Counter of a rule carrying `comment` in the namespace's filter INPUT (how many packets it hit). */
async function ruleHits(pid: number, comment: string): Promise<number> {
  const out = await nsenter(pid, 'iptables', '-w', '5', '-t', 'filter', '-L', 'FAULTLINE-INPUT', '-v', '-x', '-n');
  return out
    .split('\n')
    .filter((l) => l.includes(comment))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
}

test(
  'dns refuse by name, then drop all: nslookup against 127.0.0.11 fails for exactly the named names, and answers again after',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.220.1.0/24',
        [{ name: 'client' }, { name: 'db' }, { name: 'web' }],
        ['{ name: nodb, targets: { names: [client] }, dns: { action: refuse, names: [db] } }'],
      ),
    );
    const f = await injected(fx.file, 'nodb');
    assert.deepEqual(
      f.targets!.map((x) => [x.container, x.mechanism]),
      [['client', 'iptables']],
    );
    const client = fx.dn('client');
    const pid = await pidOf(client);
    // The kernel holds the REJECTs for the name "db" on the resolver's address, nothing else of ours.
    const save = (await nsenter(pid, 'iptables-save', '-t', 'filter')).split('\n');
    const ours = save.filter((l) => l.includes(`faultline:${fx.key('nodb')}`));
    assert.ok(ours.length >= 2, `REJECT rules for db: ${ours.join('\n')}`);
    assert.ok(ours.every((l) => l.includes('-d 127.0.0.11/32') && l.includes('|02646200|') && l.includes('REJECT')));

    const hitsBefore = await ruleHits(pid, fx.key('nodb'));
    assert.equal(await lookup(client, 'db'), 'failed', 'db is refused');
    assert.equal(await lookup(client, `${fx.name}_db`), 'answered', 'a name that only contains db is not matched');
    assert.equal(await lookup(client, 'web'), 'answered', 'web is answered');
    assert.ok((await ruleHits(pid, fx.key('nodb'))) > hitsBefore, 'the refusal was the rule (its counter moved)');
    // another container is not a target: it resolves db
    assert.equal(await lookup(fx.dn('web'), 'db'), 'answered');

    await editFile(fx.file, '{ action: refuse, names: [db] }', '{ action: drop }');
    await injected(fx.file, 'nodb');
    assert.equal(await lookup(client, 'web'), 'failed', 'every query dropped');
    assert.equal(await lookup(client, 'db'), 'failed');

    await editFile(fx.file, / {2}faults:\n.*\n/, '');
    await noneActive(fx.file);
    await eventually(
      async () => (await nsenter(pid, 'iptables-save')).split('\n').every((l) => !l.includes('faultline:')),
      'no faultline rule left in the client',
    );
    assert.equal(await lookup(client, 'db'), 'answered');
    assert.equal(await lookup(client, 'web'), 'answered');
  },
);

/** One TCP exchange with an echo server: "hello" back means connected and served. */
async function echoes(from: string, ip: string, port: number): Promise<boolean> {
  const r = await dockerStatus('exec', from, 'sh', '-c', 'echo hello | nc -w 2 "$0" "$1"', ip, String(port));
  return r.stdout.includes('hello');
}

for (const family of ['IPv4', 'IPv6'] as const) {
  test(
    `sourcePorts and destinationPorts are separate matches (${family}): the same port blocks replies or requests`,
    { timeout: 300_000 },
    async (t) => {
      const fx = await fixture(t, { hostRules: 'off' });
      const v6 = family === 'IPv6';
      await writeFile(
        fx.file,
        scenarioYaml(
          fx.name,
          '10.220.2.0/24',
          [{ name: 'client' }, { name: 'server', command: ECHO }],
          // ingress on the client, sourcePorts 7: the server's answers from port 7 are dropped
          ['{ name: cut, targets: { names: [client] }, blackhole: {}, direction: ingress, sourcePorts: ["7"] }'],
          v6 ? 'fd22:a10::/64' : undefined,
        ),
      );
      await injected(fx.file, 'cut');
      const client = fx.dn('client');
      const server = await addrOf(fx.dn('server'), v6);
      await eventually(async () => echoes(client, server, 9), 'port 9 echoes');
      assert.equal(await echoes(client, server, 7), false, 'answers from port 7 are dropped');

      // destinationPorts 7 on the client's ingress: nothing goes to the client's port 7, so the
      // connection to the server's port 7 works again
      await editFile(fx.file, 'sourcePorts', 'destinationPorts');
      await injected(fx.file, 'cut');
      assert.equal(await echoes(client, server, 7), true, 'port 7 echoes with destinationPorts');

      // egress (tc, flower / cls_bpf) with destinationPorts 7: the request to port 7 vanishes
      await editFile(fx.file, 'direction: ingress', 'direction: egress');
      const f = await injected(fx.file, 'cut');
      assert.match(f.targets![0].mechanism ?? '', /blackhole|tc|flower|bpf/);
      assert.equal(await echoes(client, server, 7), false, 'requests to port 7 vanish on egress');
      assert.equal(await echoes(client, server, 9), true, 'port 9 still echoes');
      // what matched on the client's eth0: a filter of ours on port 7 (flower or bpf)
      const filters = await nsenter(await pidOf(client), 'tc', 'filter', 'show', 'dev', 'eth0');
      assert.match(filters, /flower|bpf/, filters);
      if (filters.includes('flower')) assert.match(filters, /dst_port 7\b/);
    },
  );
}

/** Seconds a download of /tmp/www/blob from `server` took in `client` (busybox wget). */
async function download(client: string, server: string): Promise<{ s: number; bytes: number }> {
  const t0 = performance.now();
  const r = await dockerStatus('exec', client, 'sh', '-c', 'wget -q -O - "http://$0:8080/blob" | wc -c', server);
  const s = (performance.now() - t0) / 1000;
  if (process.env.IT_LOG) console.error(`download ${s.toFixed(2)} s at ${new Date().toISOString()}`);
  assert.equal(r.code, 0, r.stderr);
  return { s, bytes: Number(r.stdout.trim()) };
}

const BLOB = 1024 * 1024;
const HTTPD = [
  'sh',
  '-c',
  `mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/blob bs=1024 count=${BLOB / 1024} 2>/dev/null && exec httpd -f -p 8080 -h /tmp/www`,
];

test(
  'bandwidth ceil and peakrate: a transfer never goes faster than ceil, a burst never faster than peakrate (timed wget, lower bounds)',
  { timeout: 300_000 },
  async (t) => {
    const fx = await fixture(t);
    await writeFile(
      fx.file,
      scenarioYaml(
        fx.name,
        '10.220.3.0/24',
        [{ name: 'client' }, { name: 'server', command: HTTPD }],
        ['{ name: slow, targets: { names: [server] }, bandwidth: { rate: 2mbit, ceil: 4mbit } }'],
      ),
    );
    const f = await injected(fx.file, 'slow');
    assert.match(f.targets![0].mechanism ?? '', /htb/);
    const pid = await pidOf(fx.dn('server'));
    const classes = await nsenter(pid, 'tc', 'class', 'show', 'dev', 'eth0');
    assert.match(classes, /rate 2Mbit ceil 4Mbit/, classes);
    const server = await addrOf(fx.dn('server'));
    const client = fx.dn('client');
    await eventually(
      async () =>
        (await dockerStatus('exec', client, 'wget', '-q', '-O', '/dev/null', `http://${server}:8080/blob`)).code === 0,
      'httpd serves',
    );
    const a = await download(client, server);
    assert.equal(a.bytes, BLOB);
    // 1 MiB at most at 4 Mbit/s: at least 2.1 s (the class's cburst lets a few kB through early)
    const floor = ((BLOB * 8) / 4e6) * 0.9;
    assert.ok(a.s >= floor, `1 MiB took ${a.s.toFixed(2)} s, ceil 4mbit allows no less than ${floor.toFixed(2)} s`);

    // …and it went faster than rate: the leaf borrowed from its parent (the kernel's own count)
    const stats = await nsenter(pid, 'tc', '-s', 'class', 'show', 'dev', 'eth0');
    const borrowed = [...stats.matchAll(/borrowed: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(borrowed > 0, `an htb leaf borrowed above its rate: ${stats}`);

    // tbf with a 2 MB bucket: without peakrate the whole blob would leave at once; with it, at
    // 8 Mbit/s at most
    await editFile(fx.file, '{ rate: 2mbit, ceil: 4mbit }', '{ rate: 1mbit, burst: 2mb, peakrate: 8mbit, mtu: 1514b }');
    const g = await injected(fx.file, 'slow');
    assert.match(g.targets![0].mechanism ?? '', /tbf/);
    const qd = await nsenter(pid, 'tc', 'qdisc', 'show', 'dev', 'eth0');
    assert.match(qd, /peakrate 8Mbit/, qd);
    const b = await download(client, server);
    assert.equal(b.bytes, BLOB);
    const pfloor = ((BLOB * 8) / 8e6) * 0.9;
    assert.ok(b.s >= pfloor, `took ${b.s.toFixed(2)} s, the peak bucket allows no less than ${pfloor.toFixed(2)} s`);
  },
);
