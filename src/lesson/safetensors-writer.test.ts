import { describe, expect, it } from 'vitest';
import { inspect } from '../core/inspect';
import { MemorySource } from '../core/io/byte-source';
import { modelToSafetensors } from './lesson';
import { createMlp } from './mlp';
import { createRng } from './prng';
import { writeSafetensors } from './safetensors-writer';

describe('writeSafetensors', () => {
  it('round-trips a lesson model through the real parser: names, shapes, dtype, offsets, values', async () => {
    const m = createMlp(256, 64, 10, createRng(1));
    for (let j = 0; j < 64; j++) m.b1[j] = -j / 10;
    const bytes = modelToSafetensors(m, { lesson: 'clean' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    // the header is padded so the data section starts on an 8-byte boundary
    expect((8 + headerLength) % 8).toBe(0);
    const { report, model } = await inspect([new MemorySource(bytes, 'lesson.safetensors')]);
    expect(report.files[0]).toMatchObject({ name: 'lesson.safetensors', format: 'safetensors', size: bytes.length });
    expect(report.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['fc1.weight', 'float32', [64, 256]],
      ['fc1.bias', 'float32', [64]],
      ['fc2.weight', 'float32', [10, 64]],
      ['fc2.bias', 'float32', [10]],
    ]);
    expect(report.model).toMatchObject({ format: 'safetensors', tensorCount: 4, parameterCount: 64 * 256 + 64 + 10 * 64 + 10, parametersByDtype: { float32: 17098 } });
    expect(report.model!.metadata).toEqual({ format: 'pt', lesson: 'clean' });
    expect(report.findings.filter((f) => f.category === 'malformed')).toEqual([]);
    // the parser's offsets point at exactly our floats
    const view = new DataView(bytes.buffer);
    for (const [name, arr] of [['fc1.weight', m.w1], ['fc1.bias', m.b1], ['fc2.weight', m.w2]] as const) {
      const t = model!.tensors.find((x) => x.name === name)!;
      expect(t.length).toBe(arr.byteLength);
      for (const i of [0, 1, arr.length - 1]) expect(view.getFloat32(t.offset + 4 * i, true)).toBe(arr[i]);
    }
  });

  it('rejects a shape that disagrees with the data', () => {
    expect(() => writeSafetensors([{ name: 'x', shape: [2, 3], data: new Float32Array(5) }])).toThrow(/holds 6 values, data has 5/);
  });
});
