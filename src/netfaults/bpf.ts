// Classic BPF programs for cls_bpf: the classifier for matches u32 cannot do right.
//
// u32 reads fixed offsets from the network header: `ip dport` is "the 16 bits at offset 22", true
// only when the IPv4 header has no options (IHL 5), and `ip6 protocol`/`ip6 dport` read the first
// Next Header and offset 42, wrong as soon as an extension header (hop-by-hop, destination options,
// routing, fragment) sits in between. A packet with IP options or extension headers then escapes a
// port fault, or a random packet matches it. These programs parse the headers as the stack does:
//   IPv4  X = 4 * IHL (the BPF_MSH load exists for exactly this); ports at [14 + X], skipped for
//         non-first fragments (they carry no L4 header)
//   IPv6  the Next Header chain is walked through up to EXT_HEADERS extension headers (hop-by-hop 0,
//         routing 43, destination options 60: (len + 1) * 8 bytes; fragment 44: 8 bytes, and a
//         non-first fragment has no ports); the upper-layer protocol and ports follow
// They also test the packet mark (the DNS-by-name path: iptables marks the queries, tc delays them).
//
// Offsets are from the start of the frame: cls_bpf runs classic BPF with skb->data at the link-layer
// header on egress (Ethernet on veth, macvlan and lo; on an ifb after an ingress redirect, mirred has
// pushed it back), so the IP header starts at 14. A program returns -1 (the filter's classid) or 0.
//
// Worked example — atom {family 4, cidr 10.213.0.3/32, proto tcp, dport 5432} for egress
// (golden/ports-bpf.txt), as `tc filter ... bpf bytecode "11,32 0 0 30,21 0 8 181731331,..."`:
//   ld   [30]                   32 0 0 30          destination address (14 + 16)
//   jeq  #0x0ad50003 … fail     21 0 8 181731331
//   ldb  [23]                   48 0 0 23          protocol
//   jeq  #6 … fail              21 0 6 6
//   ldh  [20]                   40 0 0 20          flags + fragment offset
//   jset #0x1fff → fail         69 4 0 8191        a later fragment has no ports
//   ldxb 4*([14]&0xf)           177 0 0 14         X = IPv4 header length
//   ldh  [x+16]                 72 0 0 16          destination port
//   jeq  #5432 … fail           21 0 1 5432        (a range: jge lo / jgt hi)
//   ret  #-1                    6 0 0 4294967295
//   ret  #0                     6 0 0 0
// The IPv6 program of the same atom is 106 instructions: the address in four words, then the
// unrolled walk (golden/ports-bpf.txt).

import { readCidr } from '../api/net.js';
import { PROTO_NUMBER, type Atom } from './match.js';
import type { MatchDirection } from './ledger.js';

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** How many IPv6 extension headers a program walks before it gives up (no match). */
export const EXT_HEADERS = 4;

const L3 = 14;
const SKF_AD_MARK = 0xfffff000 + 20;

// classic BPF opcodes (linux/filter.h)
const OP = {
  ldW: 0x20, // ld  [k]
  ldH: 0x28, // ldh [k]
  ldB: 0x30, // ldb [k]
  ldHx: 0x48, // ldh [x+k]
  ldBx: 0x50, // ldb [x+k]
  ldxMsh: 0xb1, // ldxb 4*([k]&0xf)
  ldxImm: 0x01, // ldx #k
  ldMem: 0x60, // ld M[k]
  st: 0x02, // st M[k]
  and: 0x54, // and #k
  addK: 0x04, // add #k
  addX: 0x0c, // add x
  lsh: 0x64, // lsh #k
  tax: 0x07,
  txa: 0x87,
  ja: 0x05,
  jeq: 0x15,
  jgt: 0x25,
  jge: 0x35,
  jset: 0x45,
  ret: 0x06,
} as const;

type Target = string; // a label, or 'next' (the following instruction)

interface Asm {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  label?: string;
}

/** A tiny assembler: instructions with symbolic jump targets, resolved to relative offsets. */
class Program {
  private readonly insns: Asm[] = [];
  private pendingLabel?: string;

  label(name: string): this {
    this.pendingLabel = name;
    return this;
  }

  op(code: number, k = 0, jt?: Target, jf?: Target): this {
    this.insns.push({ code, k: k >>> 0, jt, jf, label: this.pendingLabel });
    this.pendingLabel = undefined;
    return this;
  }

  /** Jump on condition: to `yes` when it holds, else to `no` ('next' falls through). */
  jmp(code: number, k: number, yes: Target, no: Target): this {
    return this.op(code, k, yes, no);
  }

  assemble(): BpfInsn[] {
    if (this.pendingLabel) throw new Error(`label ${this.pendingLabel} has no instruction`);
    const at = new Map<string, number>();
    this.insns.forEach((x, i) => x.label && at.set(x.label, i));
    const rel = (t: Target | undefined, i: number): number => {
      if (t === undefined || t === 'next') return 0;
      const to = at.get(t);
      if (to === undefined || to <= i) throw new Error(`bpf: jump to unknown or earlier label ${t}`);
      return to - i - 1;
    };
    return this.insns.map((x, i) => {
      if (x.code === OP.ja) return { code: x.code, jt: 0, jf: 0, k: rel(x.jt, i) };
      const jt = rel(x.jt, i);
      const jf = rel(x.jf, i);
      if (jt > 255 || jf > 255) throw new Error('bpf: conditional jump too far');
      return { code: x.code, jt, jf, k: x.k };
    });
  }
}

/** A range check of the 16-bit value in A: [lo, hi] → continue, else `fail`. */
function range(p: Program, lo: number, hi: number): void {
  if (lo === hi) p.jmp(OP.jeq, lo, 'next', 'fail');
  else {
    if (lo > 0) p.jmp(OP.jge, lo, 'next', 'fail');
    if (hi < 65535) p.jmp(OP.jgt, hi, 'fail', 'next');
  }
}

/**
 * The program for one atom, with the peer on the side `direction` implies (egress: destination).
 * The atom's family decides the program (a filter of protocol ip or ipv6 runs it).
 */
export function bpfProgram(atom: Atom, direction: MatchDirection): BpfInsn[] {
  const p = new Program();
  if (atom.mark) {
    p.op(OP.ldW, SKF_AD_MARK).op(OP.and, atom.mark);
    p.jmp(OP.jeq, atom.mark, 'next', 'fail');
  }
  const ports = atom.sport || atom.dport;
  const side = direction === 'egress' ? 'dst' : 'src';
  if (atom.family === 4) {
    if (atom.cidr) {
      const c = readCidr(atom.cidr)!;
      if (c.prefix > 0) {
        const mask = c.prefix === 32 ? 0xffffffff : (0xffffffff << (32 - c.prefix)) >>> 0;
        p.op(OP.ldW, L3 + (side === 'src' ? 12 : 16));
        if (mask !== 0xffffffff) p.op(OP.and, mask);
        p.jmp(OP.jeq, Number(c.network) & mask, 'next', 'fail');
      }
    }
    if (atom.proto || ports) {
      p.op(OP.ldB, L3 + 9);
      protoCheck(p, atom);
    }
    if (ports) {
      p.op(OP.ldH, L3 + 6).jmp(OP.jset, 0x1fff, 'fail', 'next');
      p.op(OP.ldxMsh, L3);
      portChecks(p, atom);
    }
  } else {
    if (atom.cidr) {
      const c = readCidr(atom.cidr)!;
      const base = L3 + (side === 'src' ? 8 : 24);
      for (let w = 0; w < 4; w++) {
        const bits = Math.min(32, Math.max(0, c.prefix - 32 * w));
        if (bits === 0) break;
        const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
        const word = Number((c.network >> BigInt(32 * (3 - w))) & 0xffffffffn);
        p.op(OP.ldW, base + 4 * w);
        if (mask !== 0xffffffff) p.op(OP.and, mask);
        p.jmp(OP.jeq, (word & mask) >>> 0, 'next', 'fail');
      }
    }
    if (atom.proto || ports) {
      // A = Next Header, X = offset of the header it names (from the start of the IPv6 header)
      p.op(OP.ldB, L3 + 6).op(OP.ldxImm, 40);
      for (let i = 0; i < EXT_HEADERS; i++) {
        const ext = `ext${i}`;
        const frag = `frag${i}`;
        const next = i + 1 < EXT_HEADERS ? `hdr${i + 1}` : 'upper';
        if (i > 0) p.label(`hdr${i}`);
        p.jmp(OP.jeq, 0, ext, 'next');
        p.jmp(OP.jeq, 60, ext, 'next');
        p.jmp(OP.jeq, 43, ext, 'next');
        p.jmp(OP.jeq, 44, frag, 'next');
        p.op(OP.ja, 0, 'upper');
        // hop-by-hop, destination options, routing: (Hdr Ext Len + 1) * 8 bytes
        p.label(ext).op(OP.ldBx, L3).op(OP.st, 0);
        p.op(OP.ldBx, L3 + 1)
          .op(OP.addK, 1)
          .op(OP.lsh, 3)
          .op(OP.addX)
          .op(OP.tax)
          .op(OP.ldMem, 0);
        p.op(OP.ja, 0, next);
        // fragment: 8 bytes; a non-first fragment carries no upper-layer header
        p.label(frag);
        if (ports) p.op(OP.ldHx, L3 + 2).jmp(OP.jset, 0xfff8, 'fail', 'next');
        p.op(OP.ldBx, L3).op(OP.st, 0).op(OP.txa).op(OP.addK, 8).op(OP.tax).op(OP.ldMem, 0);
        if (i + 1 < EXT_HEADERS) p.op(OP.ja, 0, next);
      }
      p.label('upper');
      protoCheck(p, atom);
      if (ports) portChecks(p, atom);
    }
  }
  p.op(OP.ret, 0xffffffff);
  p.label('fail').op(OP.ret, 0);
  return p.assemble();
}

/** A holds the upper-layer protocol: the atom's, or tcp/udp when it has ports and no protocol. */
function protoCheck(p: Program, atom: Atom): void {
  if (atom.proto) p.jmp(OP.jeq, PROTO_NUMBER[atom.proto][atom.family], 'next', 'fail');
  else {
    p.jmp(OP.jeq, 6, 'l4', 'next');
    p.jmp(OP.jeq, 17, 'l4', 'fail');
    p.label('l4');
  }
}

/** X holds the offset of the L4 header from the IP header: source port at [14+X], destination at [16+X]. */
function portChecks(p: Program, atom: Atom): void {
  if (atom.sport) {
    p.op(OP.ldHx, L3);
    range(p, atom.sport[0], atom.sport[1]);
  }
  if (atom.dport) {
    p.op(OP.ldHx, L3 + 2);
    range(p, atom.dport[0], atom.dport[1]);
  }
}

/** tc's bytecode argument: "N,code jt jf k,..." (decimal). */
export function bpfBytecode(insns: BpfInsn[]): string {
  return `${insns.length},${insns.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k}`).join(',')}`;
}

/** The read-back signature of a bpf filter (parseTcFilters gives the same for what it reads). */
export function bpfSig(insns: BpfInsn[]): string {
  return `bpf:${insns.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k}`).join(',')}`;
}
