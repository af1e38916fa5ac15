import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import type { ParseContext } from '../types';
import { npzHandler, sniffNpz } from './parse-npz';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'archive');
function ctxOf(name: string): ParseContext {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
}

describe('npz handler', () => {
  it('numpy.savez: arrays with offsets that address the values numpy wrote', async () => {
    const ctx = ctxOf('npz-honest.npz');
    expect(sniffNpz(ctx)).toBe(true);
    const p = await npzHandler.parse(ctx);
    expect(p.findings).toEqual([]);
    const w = p.model!.tensors.find((t) => t.name === 'weights')!;
    expect([w.dtype, w.shape, w.length, w.encoding]).toEqual(['float32', [3, 4], 48, 'raw']);
    const values = new Float32Array((await ctx.source.read(w.offset, w.length)).slice().buffer);
    expect([...values]).toEqual([...Array(12).keys()]);
    const b = p.model!.tensors.find((t) => t.name === 'bias')!;
    expect([b.dtype, b.shape, b.length]).toEqual(['float64', [4], 32]);
  });
  it('numpy.savez_compressed: deflated members are listed without file offsets', async () => {
    const p = await npzHandler.parse(ctxOf('npz-honest-compressed.npz'));
    expect(p.model!.tensors.map((t) => [t.name, t.shape, t.offset, t.encoding])).toEqual([['weights', [3, 4], -1, 'deflate']]);
  });
  it('an object array is reported and its pickle scanned', async () => {
    const p = await npzHandler.parse(ctxOf('npz-object-array-evil.npz'));
    expect(p.model!.tensors[0]).toMatchObject({ name: 'labels', dtype: 'object', shape: [1] });
    expect(p.findings.map((f) => f.id)).toEqual(expect.arrayContaining(['npy/object-array', 'pickle/dangerous-call']));
  });
});
