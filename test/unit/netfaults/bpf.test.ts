// The cls_bpf programs (netfaults/bpf.ts) run here on crafted frames by a classic-BPF interpreter
// that follows the kernel's semantics for the instructions they use. The point is the headers u32
// gets wrong: IPv4 options and IPv6 extension headers move the ports, and a later fragment has
// none. (The same programs are loaded into the real kernel by the integration tests.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXT_HEADERS, bpfProgram, type BpfInsn } from '../../../src/netfaults/bpf.js';
import { u32NodesFor, type Atom, type U32Key } from '../../../src/netfaults/match.js';

/** Classic BPF as cls_bpf runs it (linux/filter.h); out-of-bounds loads end the program with 0. */
function run(prog: BpfInsn[], pkt: Uint8Array, mark = 0): number {
  let A = 0;
  let X = 0;
  const M = new Array<number>(16).fill(0);
  const ld = (off: number, size: 1 | 2 | 4): number | undefined => {
    if (off === 0xfffff000 + 20 && size === 4) return mark >>> 0;
    if (off < 0 || off + size > pkt.length) return undefined;
    let v = 0;
    for (let i = 0; i < size; i++) v = (v << 8) | pkt[off + i];
    return v >>> 0;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc];
    let v: number | undefined;
    switch (code) {
      case 0x20:
        v = ld(k, 4);
        if (v === undefined) return 0;
        A = v;
        break;
      case 0x28:
        v = ld(k, 2);
        if (v === undefined) return 0;
        A = v;
        break;
      case 0x30:
        v = ld(k, 1);
        if (v === undefined) return 0;
        A = v;
        break;
      case 0x48:
        v = ld((X + k) >>> 0, 2);
        if (v === undefined) return 0;
        A = v;
        break;
      case 0x50:
        v = ld((X + k) >>> 0, 1);
        if (v === undefined) return 0;
        A = v;
        break;
      case 0xb1:
        v = ld(k, 1);
        if (v === undefined) return 0;
        X = (v & 0xf) * 4;
        break;
      case 0x01:
        X = k;
        break;
      case 0x60:
        A = M[k];
        break;
      case 0x02:
        M[k] = A;
        break;
      case 0x54:
        A = (A & k) >>> 0;
        break;
      case 0x04:
        A = (A + k) >>> 0;
        break;
      case 0x0c:
        A = (A + X) >>> 0;
        break;
      case 0x64:
        A = (A << k) >>> 0;
        break;
      case 0x07:
        X = A;
        break;
      case 0x87:
        A = X;
        break;
      case 0x05:
        pc += k;
        break;
      case 0x15:
        pc += A === k ? jt : jf;
        break;
      case 0x25:
        pc += A > k ? jt : jf;
        break;
      case 0x35:
        pc += A >= k ? jt : jf;
        break;
      case 0x45:
        pc += (A & k) !== 0 ? jt : jf;
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`instruction ${code} not interpreted`);
    }
  }
  throw new Error('fell off the end of the program');
}

/** u32 as the kernel evaluates its keys: 32-bit words at offsets from the network header. */
function u32Matches(keys: U32Key[], pkt: Uint8Array): boolean {
  return keys.every((key) => {
    const o = 14 + key.off;
    const w = ((pkt[o] << 24) | (pkt[o + 1] << 16) | (pkt[o + 2] << 8) | pkt[o + 3]) >>> 0;
    return (w & key.mask) >>> 0 === key.value;
  });
}

// ---------------------------------------------------------------- frames

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const u16 = (v: number) => [v >> 8, v & 0xff];
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const eth = (type: number) => [...new Array(12).fill(0), ...u16(type)];
const l4 = (sport: number, dport: number) => [...u16(sport), ...u16(dport), ...new Array(16).fill(0)];

function ipv4(o: {
  src?: number[];
  dst: number[];
  proto: number;
  options?: number[];
  fragOffset?: number;
  more?: boolean;
  sport?: number;
  dport?: number;
}): Uint8Array {
  const opts = o.options ?? [];
  const ihl = 5 + opts.length / 4;
  const frag = ((o.more ? 0x2000 : 0) | (o.fragOffset ?? 0)) >>> 0;
  const hdr = [0x40 | ihl, 0, 0, 0, 0, 0, ...u16(frag), 64, o.proto, 0, 0, ...(o.src ?? [10, 213, 0, 2]), ...o.dst];
  return cat(eth(0x0800), hdr, opts, o.proto === 1 ? [8, 0, 0, 0] : l4(o.sport ?? 40000, o.dport ?? 5432));
}

/** IPv6 with extension headers [type, length-in-bytes] (fragment: 8 bytes, offset in `fragOffset`). */
function ipv6(o: {
  dst: number[];
  exts: [number, number][];
  proto: number;
  sport?: number;
  dport?: number;
  fragOffset?: number;
}) {
  const chain = [...o.exts.map((e) => e[0]), o.proto];
  const ext = o.exts.flatMap(([type, len], i) => {
    const next = chain[i + 1];
    if (type === 44) return [next, 0, ...u16((o.fragOffset ?? 0) << 3), 0, 0, 0, 1];
    return [next, len / 8 - 1, ...new Array(len - 2).fill(1)];
  });
  const hdr = [0x60, 0, 0, 0, 0, 0, chain[0], 64, ...new Array(16).fill(0xfd), ...o.dst];
  return cat(eth(0x86dd), hdr, ext, l4(o.sport ?? 40000, o.dport ?? 5432));
}

const DB4 = [10, 213, 0, 3];
const DB6 = [0xfd, 0x00, 0x02, 0x13, ...new Array(11).fill(0), 3];
const NOP_OPTIONS = [1, 1, 1, 1, 1, 1, 1, 0]; // 8 bytes: NOPs and End of Options (IHL 7)

describe('cls_bpf programs on crafted frames', () => {
  const toDb: Atom = { family: 4, cidr: '10.213.0.3/32', proto: 'tcp', dport: [5432, 5432] };
  const prog = bpfProgram(toDb, 'egress');
  const u32 = u32NodesFor(toDb, 'egress')[0].keys;

  it('IPv4: the port is found behind IP options, where u32 reads the wrong bytes', () => {
    const plain = ipv4({ dst: DB4, proto: 6 });
    const withOpts = ipv4({ dst: DB4, proto: 6, options: NOP_OPTIONS });
    assert.equal(run(prog, plain), 0xffffffff);
    assert.equal(run(prog, withOpts), 0xffffffff);
    assert.equal(u32Matches(u32, plain), true);
    assert.equal(u32Matches(u32, withOpts), false, 'u32 reads the options where the ports are expected');
  });

  it('IPv4: another port, address or protocol does not match; neither does a later fragment', () => {
    assert.equal(run(prog, ipv4({ dst: DB4, proto: 6, dport: 5433 })), 0);
    assert.equal(run(prog, ipv4({ dst: [10, 213, 0, 4], proto: 6 })), 0);
    assert.equal(run(prog, ipv4({ dst: DB4, proto: 17 })), 0);
    assert.equal(run(prog, ipv4({ dst: DB4, proto: 6, fragOffset: 185 })), 0, 'offset ≠ 0: no L4 header');
    assert.equal(run(prog, ipv4({ dst: DB4, proto: 6, more: true })), 0xffffffff, 'the first fragment has the ports');
  });

  it('IPv4: port ranges are compared, not split into blocks', () => {
    const p = bpfProgram({ family: 4, proto: 'udp', sport: [8000, 8100], dport: [1024, 65535] }, 'ingress');
    const f = (sport: number, dport: number) =>
      run(p, ipv4({ dst: DB4, proto: 17, sport, dport, options: NOP_OPTIONS }));
    assert.deepEqual(
      [f(7999, 2000), f(8000, 2000), f(8100, 2000), f(8101, 2000), f(8050, 1023), f(8050, 65535)],
      [0, 0xffffffff, 0xffffffff, 0, 0, 0xffffffff],
    );
  });

  it('IPv6: hop-by-hop, routing, destination options and a first fragment are walked to the port', () => {
    const p6 = bpfProgram({ family: 6, cidr: 'fd00:213::3/128', proto: 'tcp', dport: [5432, 5432] }, 'egress');
    const u32v6 = u32NodesFor({ family: 6, cidr: 'fd00:213::3/128', proto: 'tcp', dport: [5432, 5432] }, 'egress')[0]
      .keys;
    const plain = ipv6({ dst: DB6, exts: [], proto: 6 });
    const hbh = ipv6({
      dst: DB6,
      exts: [
        [0, 8],
        [43, 24],
        [60, 16],
        [44, 8],
      ],
      proto: 6,
    });
    assert.equal(run(p6, plain), 0xffffffff);
    assert.equal(run(p6, hbh), 0xffffffff);
    assert.equal(u32Matches(u32v6, plain), true);
    assert.equal(u32Matches(u32v6, hbh), false, 'u32 reads Next Header 0 (hop-by-hop) as the protocol');
    assert.equal(run(p6, ipv6({ dst: DB6, exts: [[44, 8]], proto: 6, fragOffset: 100 })), 0, 'a later fragment');
    assert.equal(run(p6, ipv6({ dst: DB6, exts: [[60, 8]], proto: 6, dport: 80 })), 0);
    assert.equal(run(p6, ipv6({ dst: [...DB6.slice(0, 15), 4], exts: [], proto: 6 })), 0);
  });

  it(`IPv6: more than ${EXT_HEADERS} extension headers is no match (the walk is unrolled)`, () => {
    const p6 = bpfProgram({ family: 6, proto: 'tcp', dport: [5432, 5432] }, 'egress');
    const exts = (n: number) => Array.from({ length: n }, (): [number, number] => [60, 8]);
    assert.equal(run(p6, ipv6({ dst: DB6, exts: exts(EXT_HEADERS), proto: 6 })), 0xffffffff);
    assert.equal(run(p6, ipv6({ dst: DB6, exts: exts(EXT_HEADERS + 1), proto: 6 })), 0);
  });

  it('IPv6 protocol without ports (icmpv6 behind a hop-by-hop header, as MLD sends it)', () => {
    const p6 = bpfProgram({ family: 6, proto: 'icmp' }, 'egress');
    const mld = cat(
      eth(0x86dd),
      [0x60, 0, 0, 0, 0, 0, 0, 1, ...new Array(32).fill(0xff)],
      [58, 0, 5, 2, 0, 0, 1, 0],
      [130, 0, 0, 0],
    );
    assert.equal(run(p6, mld), 0xffffffff);
    assert.equal(run(p6, ipv6({ dst: DB6, exts: [], proto: 6 })), 0);
  });

  it('a mark: every bit of the atom must be set (DNS queries marked by name)', () => {
    const p = bpfProgram({ family: 4, cidr: '127.0.0.11/32', mark: 0x30000 }, 'egress');
    const q = ipv4({ dst: [127, 0, 0, 11], proto: 17, dport: 41345 });
    assert.deepEqual(
      [run(p, q, 0), run(p, q, 0x10000), run(p, q, 0x30000), run(p, q, 0x830000)],
      [0, 0, 0xffffffff, 0xffffffff],
    );
    assert.equal(run(p, ipv4({ dst: [127, 0, 0, 1], proto: 17 }), 0x30000), 0);
  });

  it('a prefix: the masked word is compared (10.213.0.0/16, source for ingress)', () => {
    const p = bpfProgram({ family: 4, cidr: '10.213.0.0/16' }, 'ingress');
    assert.equal(run(p, ipv4({ src: [10, 213, 9, 9], dst: [1, 2, 3, 4], proto: 1 })), 0xffffffff);
    assert.equal(run(p, ipv4({ src: [10, 214, 0, 1], dst: DB4, proto: 1 })), 0);
  });

  it('short frames end the program without a match (no read past the end)', () => {
    assert.equal(run(prog, bytes(...eth(0x0800), 0x45, 0, 0, 0)), 0);
  });
});
