import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSafetensors } from '../../../../tests/helpers/safetensors-builder';
import { sourcesFromPaths } from '../../../../cli/node-source';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';
import { assertValidReport } from '../../../../tests/helpers/schema';

const FIX = join(__dirname, '../../../../tests/fixtures/safetensors');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<
  string,
  { tensors: Record<string, { dtype: string; shape: number[] }>; parameters: number }
>;
const ST_TO_OURS: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I8: 'int8', BOOL: 'bool' };

async function run(bytes: Uint8Array, name = 'm.safetensors') {
  const { report, model } = await inspect([new MemorySource(bytes, name)]);
  assertValidReport(report);
  return { report, model, ids: report.findings.map((f) => f.id) };
}

describe('safetensors written from PyTorch tensors', () => {
  for (const name of ['clean-mlp.safetensors', 'mixed-dtypes.safetensors', 'sharded']) {
    it(`${name}: names, dtypes, shapes and parameter total match what was written`, async () => {
      const { report, model } = await inspect(await sourcesFromPaths([join(FIX, name)]));
      assertValidReport(report);
      expect(report.verdict, JSON.stringify(report.findings)).toBe('clean');
      const want = expected[name];
      expect(model!.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want.tensors).sort());
      for (const t of model!.tensors) {
        expect(t.dtype).toBe(ST_TO_OURS[want.tensors[t.name].dtype]);
        expect(t.shape).toEqual(want.tensors[t.name].shape);
      }
      expect(report.model!.parameterCount).toBe(want.parameters);
      expect(report.model!.format).toBe('safetensors');
    });
  }

  it('points every tensor at its bytes without reading them', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIX, 'clean-mlp.safetensors')));
    let maxRead = 0;
    const src = new MemorySource(bytes, 'clean.safetensors');
    const read = src.read.bind(src);
    src.read = async (o, l, s) => {
      maxRead = Math.max(maxRead, o + Math.min(l, bytes.length - o));
      return read(o, l, s);
    };
    const { model } = await inspect([src], { skipStream: true });
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    // The sniff reads the first 64 KiB of this small file; the parser itself reads only the header.
    const fc2 = model!.tensors.find((t) => t.name === 'fc2.bias')!;
    expect(fc2.offset).toBe(8 + headerLen + (bytes.length - 8 - headerLen) - 16);
    expect(fc2.length).toBe(16);
    expect(maxRead).toBeLessThanOrEqual(bytes.length);
  });
});

describe('a header length that reads as a pickle PROTO opcode', () => {
  // 0x80 + 256·k (k ≤ 5) makes the file start 80 0k, as a protocol-k pickle does
  for (const k of [0, 3, 5]) {
    it(`header of ${0x80 + 256 * k} bytes: safetensors alone, clean`, async () => {
      let text = JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } });
      text += ' '.repeat(0x80 + 256 * k - text.length);
      const data = new Uint8Array(new Float32Array([0.5, -0.25, 0.125, 1]).buffer);
      const bytes = buildSafetensors({ headerText: text, data });
      expect([bytes[0], bytes[1], bytes[2]]).toEqual([0x80, k, 0]);
      const { report, ids } = await run(bytes);
      expect(ids).toEqual([]);
      expect(report.verdict).toBe('clean');
      expect(report.files[0].format).toBe('safetensors');
    });
  }
});

describe('safetensors checks (THREATS.md §4)', () => {
  const t = (dtype: string, shape: number[], a: number, b: number) => ({ dtype, shape, data_offsets: [a, b] as [number, number] });

  it('header length of 2^62 is a ParseError at offset 0', async () => {
    const { report, ids } = await run(buildSafetensors({ header: { a: t('F32', [1], 0, 4) }, dataSize: 4, headerLength: 1n << 62n }));
    expect(ids).toEqual(['safetensors/header-too-large']);
    expect(report.findings[0].offset).toBe(0);
    expect(report.verdict).toBe('error');
  });

  it('header longer than the file is out of bounds', async () => {
    const bytes = buildSafetensors({ header: { a: t('F32', [1], 0, 4) }, dataSize: 4 });
    new DataView(bytes.buffer).setBigUint64(0, 5000n, true);
    expect((await run(bytes)).ids).toEqual(['safetensors/header-out-of-bounds']);
  });

  it('overlapping tensors', async () => {
    const { ids, report } = await run(buildSafetensors({ header: { a: t('F32', [2], 0, 8), b: t('F32', [2], 4, 12) }, dataSize: 12 }));
    expect(ids).toContain('safetensors/overlap');
    const f = report.findings.find((x) => x.id === 'safetensors/overlap')!;
    expect(f.evidence).toMatchObject({ tensors: ['a', 'b'] });
  });

  it('a tensor ending past the data section', async () => {
    const { ids, report } = await run(buildSafetensors({ header: { a: t('F32', [4], 0, 16) }, dataSize: 8 }));
    expect(ids).toContain('safetensors/out-of-bounds');
    expect(report.verdict).toBe('error');
  });

  it('shape that disagrees with its byte span', async () => {
    const { ids, report } = await run(buildSafetensors({ header: { a: t('F32', [3], 0, 8) }, dataSize: 8 }));
    expect(ids).toEqual(['safetensors/size-mismatch']);
    expect(report.findings[0].evidence).toMatchObject({ expectedBytes: 12, spanBytes: 8 });
  });

  it('a shape whose element count overflows 2^53 is a size mismatch, not a crash', async () => {
    const { ids } = await run(buildSafetensors({ header: { a: t('F32', [2 ** 30, 2 ** 30, 2 ** 30], 0, 8) }, dataSize: 8 }));
    expect(ids).toEqual(['safetensors/size-mismatch']);
  });

  it('gaps and trailing bytes', async () => {
    const { ids } = await run(buildSafetensors({ header: { a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) }, dataSize: 16 }));
    expect(ids).toContain('safetensors/gap');
    expect(ids).toContain('safetensors/trailing-bytes');
  });

  it('duplicate keys, unknown dtypes, non-string metadata and unknown keys', async () => {
    const text = '{"__metadata__":{"a":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"Q9","shape":[1],"data_offsets":[4,8]},"z":{"dtype":"U8","shape":[1],"data_offsets":[8,9],"extra":"hi"}}';
    const { ids } = await run(buildSafetensors({ headerText: text, dataSize: 9 }));
    expect(ids).toEqual(expect.arrayContaining(['safetensors/duplicate-key', 'safetensors/bad-metadata', 'safetensors/unknown-dtype', 'safetensors/unknown-key']));
  });

  it('invalid JSON is a ParseError with the offset of the damage', async () => {
    const { report } = await run(buildSafetensors({ headerText: '{"a": {"dtype": "F32",, }', dataSize: 0 }));
    expect(report.findings[0].id).toBe('safetensors/bad-json');
    expect(report.findings[0].offset).toBe(8 + 22);
  });

  it('a __proto__ key cannot touch a prototype', async () => {
    const text = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { model } = await run(buildSafetensors({ headerText: text, dataSize: 4 }));
    expect(model!.tensors.map((x) => x.name)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it('every dtype of the format maps to its element size', async () => {
    const cases: [string, number][] = [['BOOL', 1], ['U8', 1], ['I8', 1], ['I16', 2], ['U16', 2], ['F16', 2], ['BF16', 2], ['I32', 4], ['U32', 4], ['F32', 4], ['F64', 8], ['I64', 8], ['U64', 8], ['F8_E4M3', 1], ['F8_E5M2', 1]];
    let off = 0;
    const header: Record<string, ReturnType<typeof t>> = {};
    for (const [d, size] of cases) {
      header[d] = t(d, [3], off, off + 3 * size);
      off += 3 * size;
    }
    const { report } = await run(buildSafetensors({ header, dataSize: off }));
    expect(report.verdict).toBe('clean');
    expect(report.model!.parameterCount).toBe(3 * cases.length);
  });
});

describe('sharded index (THREATS.md §4)', () => {
  it('flags shards missing from the folder and tensors absent from their shard', async () => {
    const shard = buildSafetensors({ header: { a: t0('F32', [1], 0, 4) }, dataSize: 4 });
    const index = JSON.stringify({ metadata: { total_size: 8 }, weight_map: { a: 's1.safetensors', b: 's1.safetensors', c: 's2.safetensors' } });
    const { report } = await inspect([new MemorySource(new TextEncoder().encode(index), 'model.safetensors.index.json'), new MemorySource(shard, 's1.safetensors')]);
    assertValidReport(report);
    const ids = report.findings.map((f) => f.id);
    expect(ids).toContain('safetensors-index/missing-shard');
    expect(ids).toContain('safetensors-index/tensor-missing');
    expect(report.findings.find((f) => f.id === 'safetensors-index/tensor-missing')!.evidence).toMatchObject({ tensors: ['b'] });
  });

  it('flags tensors a shard holds but the index maps elsewhere, and a wrong total_size', async () => {
    const shard = buildSafetensors({ header: { a: t0('F32', [1], 0, 4), hidden: t0('F32', [1], 4, 8) }, dataSize: 8 });
    const index = JSON.stringify({ metadata: { total_size: 4 }, weight_map: { a: 's1.safetensors' } });
    const { report } = await inspect([new MemorySource(new TextEncoder().encode(index), 'm.index.json'), new MemorySource(shard, 's1.safetensors')]);
    const ids = report.findings.map((f) => f.id);
    expect(ids).toContain('safetensors-index/tensor-unlisted');
    expect(ids).toContain('safetensors-index/total-size');
  });
});

function t0(dtype: string, shape: number[], a: number, b: number) {
  return { dtype, shape, data_offsets: [a, b] as [number, number] };
}

describe('safetensors: what JSON allows but the reference loader (serde) refuses', () => {
  const bom = (text: string, dataSize: number) => {
    const hb = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]);
    const out = new Uint8Array(8 + hb.length + dataSize);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    return out;
  };

  it('a byte-order mark before "{" is still safetensors, and a ParseError at the header start', async () => {
    const { report, ids } = await run(bom('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4));
    expect(ids).toEqual(['safetensors/bad-json']);
    expect(report.findings[0]).toMatchObject({ severity: 'error', category: 'malformed', offset: 8 });
    expect(report.verdict).toBe('error');
  });

  it('whole numbers written as floats (16.0, 1.6e1) are invalid offsets and shapes', async () => {
    for (const [text, id, value] of [
      ['{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16.0]}}', 'safetensors/bad-offsets', '16.0'],
      ['{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,1.6e1]}}', 'safetensors/bad-offsets', '1.6e1'],
      ['{"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', 'safetensors/bad-shape', '4.0'],
    ] as const) {
      const { report } = await run(buildSafetensors({ headerText: text, dataSize: 16 }));
      const f = report.findings.find((x) => x.id === id);
      expect(f, text).toMatchObject({ severity: 'error', category: 'malformed', offset: 8, evidence: { tensor: 'a' } });
      expect(f!.title).toContain(value);
      expect(report.verdict).toBe('error');
    }
  });

  it('a float in an extra key is only the unknown key (loaders ignore it)', async () => {
    const { report, ids } = await run(buildSafetensors({ headerText: '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"scale":0.5}}', dataSize: 16 }));
    expect(ids).toEqual(['safetensors/unknown-key']);
    expect(report.verdict).toBe('warning');
  });

  it('a lone surrogate escape is a bad-utf8 ParseError at the escape', async () => {
    const text = '{"a\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { report, ids } = await run(buildSafetensors({ headerText: text, dataSize: 4 }));
    expect(ids).toEqual(['safetensors/bad-utf8']);
    expect(report.findings[0]).toMatchObject({ severity: 'error', category: 'malformed', offset: 8 + text.indexOf('\\ud800') });
  });

  it('a surrogate pair escape is fine', async () => {
    const { report } = await run(buildSafetensors({ headerText: '{"a\\ud83d\\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', dataSize: 4 }));
    expect(report.verdict).toBe('clean');
  });
});
