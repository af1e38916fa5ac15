import { describe, expect, it } from 'vitest';
import { sniffPickle } from './parse-pickle';

const enc = new TextEncoder();
const ctx = (bytes: Uint8Array) => ({ name: 'x', size: bytes.length, head: bytes, tail: bytes.subarray(Math.max(0, bytes.length - 16)) });
const bin = (...parts: (string | number[])[]) => {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === 'string' ? enc.encode(p) : p));
  return new Uint8Array(out);
};
const su = (s: string) => [0x8c, s.length, ...enc.encode(s)];

describe('sniffPickle: streams without PROTO (CPython never requires it)', () => {
  it('recognises a protocol-4 stream starting with SHORT_BINUNICODE', () => {
    expect(sniffPickle(ctx(bin(su('os'), su('system'), [0x93], su('id'), [0x85], 'R.')))).toBe(true);
  });
  it('recognises a stream starting with FRAME', () => {
    const body = bin(su('builtins'), su('exec'), [0x93], su('x=1'), [0x85], 'R.');
    const frame = bin([0x95, body.length, 0, 0, 0, 0, 0, 0, 0]);
    expect(sniffPickle(ctx(new Uint8Array([...frame, ...body])))).toBe(true);
  });
  it('recognises a protocol-0 stream starting with PERSID', () => {
    expect(sniffPickle(ctx(bin("Pos.system\n(S'id'\ntR.")))).toBe(true);
  });
  it('recognises a stream starting with SHORT_BINBYTES', () => {
    expect(sniffPickle(ctx(bin([0x43, 1, 0x78], '0', 'cos\nsystem\n(S\'id\'\ntR.')))).toBe(true);
  });
  it('still rejects prose and random bytes', () => {
    expect(sniffPickle(ctx(bin('Please read the README first.')))).toBe(false);
    expect(sniffPickle(ctx(bin([0x8c, 0xff, 0x01, 0x02, 0x2e])))).toBe(false);
  });
});
