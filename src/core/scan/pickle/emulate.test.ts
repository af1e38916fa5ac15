import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { emulatePickle, emulatePickleSource, measureValue, type PickleEmulation } from './emulate';
import { disassemblePickle, formatDisassembly } from './disassemble';
import { formatValue, strOf, type PickleValue } from './value';

const hostile = (name: string) => new Uint8Array(readFileSync(join(__dirname, '../../../../tests/fixtures/hostile/pickle', name)));
const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (Uint8Array | number[] | string)[]) => {
  const bs = parts.map((p) => (typeof p === 'string' ? Uint8Array.from(p, (c) => c.charCodeAt(0)) : Uint8Array.from(p)));
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
};
/** SHORT_BINUNICODE */
const sbu = (s: string) => cat([0x8c, enc(s).length], enc(s));

function dictOf(v: PickleValue): Record<string, PickleValue> {
  expect(v.kind).toBe('dict');
  const out: Record<string, PickleValue> = {};
  if (v.kind === 'dict') for (const [k, x] of v.entries) out[strOf(k)!] = x;
  return out;
}

describe('emulatePickle: values', () => {
  it('rebuilds the dict pickle.dumps wrote (protocol 4, FRAME, MEMOIZE)', () => {
    const em = emulatePickle(hostile('honest-dict-of-lists.pkl'));
    expect(em.pickles).toHaveLength(1);
    expect(em.pickles[0]).toMatchObject({ protocol: 4, stopped: true, region: 'stream', start: 0 });
    expect(em.anomalies).toEqual([]);
    expect(em.imports).toEqual([]);
    const d = dictOf(em.pickles[0].value!);
    expect(formatValue(d.a)).toBe('[1, 2, 3]');
    expect(formatValue(d.b)).toBe("['x', 'y']");
    expect(formatValue(d.c)).toBe("{'d': (1.5, None)}");
    expect(em.opcodesUsed).toContain('FRAME');
    expect(em.opcodesUsed).toContain('MEMOIZE');
  });

  it('reads protocol-0 text opcodes the way CPython does', () => {
    const em = emulatePickle(hostile('honest-protocol0'));
    // pickle.dumps([{"k": "v"}, 3, 2.5], protocol=0)
    expect(formatValue(em.pickles[0].value!)).toBe("[{'k': 'v'}, 3, 2.5]");
    expect(em.pickles[0].protocol).toBeNull();
    const p0 = emulatePickle(cat("(I01\nI00\nL123456789012345678901234567890L\nS'a\\x41\\n'\nVcaf\\u00e9\nF-0.5\nt."));
    expect(formatValue(p0.pickles[0].value!)).toBe("(True, False, 123456789012345678901234567890, 'aA\\n', 'café', -0.5)");
  });

  it('decodes LONG1 two’s complement and BINFLOAT big-endian', () => {
    const em = emulatePickle(cat([0x80, 2, 0x8a, 2, 0x00, 0x80, 0x8a, 1, 0xff, 0x47], [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], [0x87, 0x2e]));
    expect(formatValue(em.pickles[0].value!)).toBe('(-32768, -1, 1.5)');
  });

  it('shares memoised values by reference and never copies them', () => {
    const em = emulatePickle(hostile('expansion-bomb.pkl'));
    const root = em.pickles[0].value!;
    expect(root.kind).toBe('tuple');
    if (root.kind === 'tuple') expect(root.items[0]).toBe(root.items[1]);
    expect(measureValue(root, 2 ** 50).size).toBe(2 ** 41 - 1);
    expect(measureValue(root, 2 ** 50).depth).toBe(41);
    const bomb = em.anomalies.find((a) => a.code === 'expansion-bomb');
    expect(bomb?.offset).toBe(0);
  });
});

describe('emulatePickle: imports and calls', () => {
  it('resolves STACK_GLOBAL from the values in overwritten memo slots, not from neighbouring strings', () => {
    const bytes = hostile('stack-global-memo.bin');
    const em = emulatePickle(bytes);
    expect(em.imports).toHaveLength(1);
    const imp = em.imports[0];
    expect(imp).toMatchObject({ module: 'os', name: 'system', op: 'STACK_GLOBAL', plain: true });
    expect(bytes[imp.offset]).toBe(0x93);
    // the operands are the strings PUT second into slots 0 and 1 ('os', 'system'), not the decoys
    expect(imp.operandOffsets!.map((o) => new TextDecoder().decode(bytes.subarray(o, o + 2)))).toEqual(['os', 'sy']);
    expect(em.calls).toHaveLength(1);
    expect(formatValue(em.calls[0].value)).toBe("os.system('id')");
    expect(bytes[em.calls[0].offset]).toBe(0x52); // REDUCE
  });

  it('records INST, OBJ and NEWOBJ as calls with their opcode', () => {
    expect(emulatePickle(hostile('subprocess-inst.pkl')).calls.map((c) => [c.op, formatValue(c.value)])).toEqual([['INST', "subprocess.check_output('id')"]]);
    expect(emulatePickle(hostile('obj-eval.pth')).calls.map((c) => [c.op, formatValue(c.value)])).toEqual([['OBJ', "builtins.eval('1')"]]);
    expect(emulatePickle(hostile('newobj-popen.pt')).calls.map((c) => [c.op, formatValue(c.value)])).toEqual([['NEWOBJ', "subprocess.Popen('id')"]]);
  });

  it('marks a STACK_GLOBAL whose operands are not plain strings', () => {
    const em = emulatePickle(hostile('computed-import.bin'));
    const imp = em.imports.find((i) => i.op === 'STACK_GLOBAL')!;
    expect(imp.plain).toBe(false);
    expect(imp.module).toBe("<builtins.str('os')>");
  });

  it('keeps what it saw before a break and finds a pickle hidden after it', () => {
    const bytes = hostile('payload-after-break.bin');
    const em = emulatePickle(bytes);
    const bad = em.anomalies.find((a) => a.code === 'invalid-opcode')!;
    expect(bytes[bad.offset]).toBe(0xff);
    expect(em.pickles.map((p) => [p.region, p.stopped])).toEqual([
      ['stream', false],
      ['after-break', true],
    ]);
    expect(em.pickles[1].start).toBe(bad.offset + 1);
    expect(em.imports.map((i) => [i.module, i.name, i.region])).toEqual([['os', 'system', 'after-break']]);
  });

  it('reports the payload of a stream that breaks after it', () => {
    const em = emulatePickle(hostile('broken-after-payload.pkl'));
    expect(em.calls.map((c) => formatValue(c.value))).toEqual(["os.system('id')"]);
    expect(em.pickles[0].stopped).toBe(false);
  });

  it('emulates every pickle after STOP as trailing data, and legacy layouts as one stream', () => {
    const em = emulatePickle(hostile('second-pickle-after-stop.pkl'));
    expect(em.pickles.map((p) => p.region)).toEqual(['stream', 'after-stop']);
    expect(em.anomalies.map((a) => a.code)).toEqual(['trailing-data']);
    expect(em.anomalies[0].offset).toBe(em.pickles[1].start);
    const legacy = emulatePickle(hostile('legacy-payload-third.pt'), { maxPickles: 5, scanTrailing: false });
    expect(legacy.pickles.map((p) => [p.region, p.stopped])).toEqual(Array(5).fill(['stream', true]));
    expect(legacy.anomalies).toEqual([]);
    expect(legacy.imports.filter((i) => i.module === 'os').map((i) => i.pickle)).toEqual([2]);
  });

  it('steps over the raw array bytes joblib writes after a NumpyArrayWrapper', () => {
    const em = emulatePickle(hostile('joblib-array.pkl'));
    expect(em.anomalies).toEqual([]);
    expect(em.pickles).toHaveLength(1);
    const d = dictOf(em.pickles[0].value!);
    expect(formatValue(d.w, { maxChars: 40 })).toMatch(/^joblib\.numpy_pickle\.NumpyArrayWrapper\(\)/);
    const obj = emulatePickle(hostile('joblib-object-payload.pkl'));
    expect(obj.pickles.map((p) => [p.region, p.stopped])).toEqual([
      ['stream', true],
      ['joblib-object-array', true],
    ]);
    expect(obj.imports.find((i) => i.module === 'os')?.region).toBe('joblib-object-array');
  });
});

describe('emulatePickle: structure', () => {
  it('flags a second PROTO, EXT opcodes and FRAME lengths that disagree with the opcodes', () => {
    const codes = (e: PickleEmulation) => e.anomalies.map((a) => [a.code, a.offset]);
    expect(codes(emulatePickle(hostile('proto-repeated.pkl')))).toEqual([['proto-repeated', 3]]);
    expect(codes(emulatePickle(hostile('ext-opcode.pkl')))).toEqual([['ext-opcode', 2]]);
    // FRAME of 3 bytes at 2..13; the BINUNICODE at 12 runs past its end at 14
    expect(codes(emulatePickle(hostile('frame-mismatch.pkl')))).toEqual([['frame-mismatch', 12]]);
    const build = hostile('build-on-class.pkl');
    expect(codes(emulatePickle(build))).toEqual([['build-on-global', 43]]);
    expect(build[43]).toBe(0x62); // BUILD
  });

  it('never allocates a declared length: BINBYTES8 of 2^60 bytes is a truncation at its offset', () => {
    const em = emulatePickle(cat([0x80, 4, 0x8e], [0, 0, 0, 0, 0, 0, 0, 0x10], '.'));
    expect(em.anomalies.map((a) => [a.code, a.offset])).toEqual([['truncated', 2]]);
  });

  it('reports stack underflow and empty memo reads instead of failing', () => {
    const em = emulatePickle(cat([0x80, 2, 0x52, 0x68, 9, 0x2e]));
    expect(em.anomalies.map((a) => [a.code, a.offset])).toEqual([
      ['stack-underflow', 2],
      ['stack-underflow', 2],
      ['missing-memo', 3],
    ]);
  });

  it('gives the same result in small windows as in memory (resumable machine)', async () => {
    for (const name of ['honest-dict-of-lists.pkl', 'stack-global-memo.bin', 'payload-after-break.bin', 'joblib-array.pkl', 'nested-base64.bin', 'honest-protocol0']) {
      const bytes = hostile(name);
      const mem = emulatePickle(bytes);
      for (const window of [16, 37, 100]) {
        const win = await emulatePickleSource(new MemorySource(bytes), { window });
        expect(win.imports, `${name} @${window}`).toEqual(mem.imports);
        expect(win.anomalies, `${name} @${window}`).toEqual(mem.anomalies);
        expect(win.pickles.map((p) => [p.start, p.end, p.stopped]), `${name} @${window}`).toEqual(mem.pickles.map((p) => [p.start, p.end, p.stopped]));
        expect(win.pickles.map((p) => p.value && formatValue(p.value))).toEqual(mem.pickles.map((p) => p.value && formatValue(p.value)));
      }
    }
  });

  it('offsets are absolute when the bytes start inside a file', () => {
    const em = emulatePickle(hostile('os-system.pkl'), { baseOffset: 1000 });
    expect(em.imports[0].offset).toBe(1002);
    expect(em.pickles[0].start).toBe(1000);
  });
});

describe('disassemblePickle', () => {
  it('lists the program around an offset with the emulator’s notes', () => {
    const bytes = hostile('os-system.pkl');
    const em = emulatePickle(bytes);
    const d = disassemblePickle(bytes, { emulation: em, around: em.calls[0].offset, context: 2 });
    expect(d.lines.map((l) => l.op)).toEqual(['BINUNICODE', 'TUPLE', 'REDUCE', 'STOP']);
    expect(d.before).toBe(true);
    expect(d.lines[2]).toMatchObject({ offset: em.calls[0].offset, note: "call os.system('echo pwned')" });
    const full = formatDisassembly(disassemblePickle(bytes, { emulation: em, context: 20 }));
    expect(full).toContain('GLOBAL           os system   ← import os.system');
    expect(full.split('\n')).toHaveLength(7);
  });

  it('ends with an INVALID line at a broken opcode', () => {
    const d = disassemblePickle(hostile('broken-after-payload.pkl'), { context: 50 });
    expect(d.lines[d.lines.length - 1]).toMatchObject({ op: 'INVALID', arg: '0xff', offset: 23 });
  });
});
