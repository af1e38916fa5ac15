import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf as hfGguf } from '@huggingface/gguf';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import type { ParseContext } from '../types';
import { escapeInvalidUtf8, parseGguf } from './parse-gguf';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'gguf');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, {
  size: number; version: number; alignment: number; dataStart: number; headerEnd: number; kvCount: number;
  tensors: { name: string; ne: number[]; type: number; offset: number; length: number }[];
  shapes: Record<string, number[]>; dtypes: Record<string, string>;
}>;

export function ctxOf(bytes: Uint8Array, name = 'm.gguf'): ParseContext {
  const source = new MemorySource(bytes, name);
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source, folder: { get: () => undefined, paths: () => [] } };
}

describe('parseGguf', () => {
  for (const [file, exp] of Object.entries(expected)) {
    it(`${file}: tensors, offsets and metadata as written per the spec`, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, file)));
      const p = await parseGguf(ctxOf(bytes, file));
      expect(p.findings).toEqual([]);
      expect(p.formatVersion).toBe(String(exp.version));
      expect(p.extra).toMatchObject({ alignment: exp.alignment, dataStart: exp.dataStart, headerEnd: exp.headerEnd, kvCount: exp.kvCount });
      const tensors = p.model!.tensors;
      expect(tensors.map((t) => t.name)).toEqual(exp.tensors.map((t) => t.name));
      for (const [i, t] of exp.tensors.entries()) {
        expect(tensors[i]).toMatchObject({ dtype: exp.dtypes[t.name], shape: exp.shapes[t.name], offset: t.offset, length: t.length, file });
        expect(tensors[i].numel).toBe(t.ne.reduce((a, b) => a * b, 1));
      }
      const md = p.model!.metadata;
      expect(md['tokenizer.ggml.tokens']).toBe('[1000 strings]');
      expect(md['tokenizer.ggml.token_type']).toBe('[1000 int32]');
      expect(md['test.small_ints']).toBe('[-3, 0, 7]');
      expect(md['test.nested']).toBe('[2 arrays]');
      expect(md['test.i64']).toBe(String(-(2 ** 40)));
      expect(md['test.u64']).toBe((2n ** 60n).toString());
      expect(md['test.i8']).toBe('-5');
      expect(md['tokenizer.ggml.add_bos_token']).toBe('true');
      expect(md['llama.context_length']).toBe('4096');
      expect(md['tokenizer.chat_template']).toContain('<|im_start|>');
    });

    it(`${file}: agrees with @huggingface/gguf (an independent reader)`, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, file)));
      const ref = await hfGguf(join(dir, file), { allowLocalFile: true });
      const p = await parseGguf(ctxOf(bytes, file));
      expect(p.model!.tensors.map((t) => [t.name, [...t.shape].reverse(), t.offset])).toEqual(
        ref.tensorInfos.map((t) => [t.name, t.shape.map(Number), Number(t.offset) + Number(ref.tensorDataOffset)]),
      );
      expect(p.extra!.dataStart).toBe(Number(ref.tensorDataOffset));
      const refMd = ref.metadata as unknown as Record<string, unknown>;
      expect(String(refMd['general.name'])).toBe(p.model!.metadata['general.name']);
      expect(Number(refMd['llama.context_length'])).toBe(Number(p.model!.metadata['llama.context_length']));
    });
  }

  const tiny = () => new Uint8Array(readFileSync(join(dir, 'tiny-v3.gguf')));
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

  it('rejects v1 and big-endian files with their own codes', async () => {
    const b = tiny();
    dv(b).setUint32(4, 1, true);
    await expect(parseGguf(ctxOf(b))).rejects.toMatchObject({ code: 'unsupported-version', offset: 4 });
    dv(b).setUint32(4, 3, false);
    await expect(parseGguf(ctxOf(b))).rejects.toMatchObject({ code: 'big-endian' });
  });

  it('rejects counts the file cannot hold before allocating anything', async () => {
    const b = tiny();
    dv(b).setBigUint64(8, 2n ** 40n, true);
    await expect(parseGguf(ctxOf(b))).rejects.toMatchObject({ code: 'count-exceeds-file', offset: 8 });
    const c = tiny();
    dv(c).setBigUint64(16, 100000n, true);
    await expect(parseGguf(ctxOf(c))).rejects.toMatchObject({ code: 'count-exceeds-file' });
  });

  it('rejects a string length past the end of the file at its offset', async () => {
    const b = tiny();
    dv(b).setBigUint64(24, 2n ** 50n, true); // length of the first key
    await expect(parseGguf(ctxOf(b))).rejects.toMatchObject({ code: 'string-exceeds-file', offset: 24 });
  });

  it('reports a truncated file as truncated, not as a crash', async () => {
    const b = tiny().subarray(0, expected['tiny-v3.gguf'].headerEnd - 10);
    await expect(parseGguf(ctxOf(b))).rejects.toMatchObject({ code: 'truncated', format: 'gguf' });
  });
});

describe('parseGguf: chat templates that are not strings', () => {
  it('reports a template key stored as an array instead of passing it unchecked', async () => {
    const f = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'gen-formats', 'gguf', 'template-as-array.gguf');
    const p = await parseGguf(ctxOf(new Uint8Array(readFileSync(f)), 'template-as-array.gguf'));
    const t = p.findings.filter((x) => x.id === 'gguf/template-not-string');
    expect(t.map((x) => [x.category, x.severity])).toEqual([['template-injection', 'warning']]);
    expect(t[0].evidence).toMatchObject({ key: 'tokenizer.chat_template', type: 'array' });
  });
});

describe('parseGguf: strings that are not UTF-8', () => {
  const str = (b: number[]) => { const o = new Uint8Array(8 + b.length); new DataView(o.buffer).setBigUint64(0, BigInt(b.length), true); o.set(b, 8); return [...o]; };
  const u32 = (n: number) => { const o = new Uint8Array(4); new DataView(o.buffer).setUint32(0, n, true); return [...o]; };
  const u64 = (n: number) => { const o = new Uint8Array(8); new DataView(o.buffer).setBigUint64(0, BigInt(n), true); return [...o]; };
  const ascii = (s: string) => [...new TextEncoder().encode(s)];
  /** GGUF v3: the given string KVs, one f32 tensor [8] at offset 0, 32 bytes of data */
  const file = (keys: number[][], tensorName = ascii('t')) => {
    const b = [...ascii('GGUF'), ...u32(3), ...u64(1), ...u64(keys.length)];
    for (const k of keys) b.push(...str(k), ...u32(8), ...str(ascii('v')));
    b.push(...str(tensorName), ...u32(1), ...u64(8), ...u32(0), ...u64(0));
    while (b.length % 32) b.push(0);
    return new Uint8Array([...b, ...new Uint8Array(32)]);
  };

  it('escapes invalid bytes as \\xNN and leaves valid UTF-8 alone', () => {
    expect(escapeInvalidUtf8(new TextEncoder().encode('héllo 😀'))).toBeNull();
    expect(escapeInvalidUtf8(new Uint8Array([0x61, 0xff, 0xc3, 0xa9, 0xed, 0xa0, 0x80]))).toEqual({ text: 'a\\xffé\\xed\\xa0\\x80', firstBad: 1 });
  });

  it('reports a key with invalid bytes at the bad byte, as a warning', async () => {
    const p = await parseGguf(ctxOf(file([[...ascii('general.na'), 0xff, ...ascii('me')]])));
    expect(p.findings.map((f) => [f.id, f.severity, f.category, f.offset])).toEqual([['gguf/bad-utf8', 'warning', 'malformed', 24 + 8 + 10]]);
    expect(p.model!.metadata).toHaveProperty(['general.na\\xffme'], 'v');
  });

  it('keeps two keys that differ only in invalid bytes distinct (no false duplicate)', async () => {
    const p = await parseGguf(ctxOf(file([[0x78, 0xff], [0x78, 0xfe]])));
    expect(p.findings.map((f) => f.id)).toEqual(['gguf/bad-utf8', 'gguf/bad-utf8']);
    expect(Object.keys(p.model!.metadata)).toEqual(['x\\xff', 'x\\xfe']);
  });

  it('reports a tensor name with invalid bytes', async () => {
    const p = await parseGguf(ctxOf(file([ascii('a.b')], [...ascii('blk.'), 0xc3])));
    expect(p.findings.map((f) => [f.id, f.severity])).toEqual([['gguf/bad-utf8', 'warning']]);
    expect(p.model!.tensors[0].name).toBe('blk.\\xc3');
  });
});
