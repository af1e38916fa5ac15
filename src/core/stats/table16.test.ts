import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../formats/safetensors/parse-safetensors';
import { MemorySource } from '../io/byte-source';
import { streamSource } from '../io/stream-source';
import type { TensorInfo } from '../model/types';
import { STATS_TUNING } from './accumulator';
import { createStatsConsumer } from './stats-consumer';
import type { TensorStats } from './types';

const CAL = join(__dirname, '../../../tests/fixtures/calibration');
const bytes = new Uint8Array(readFileSync(join(CAL, 'stats-tensors.safetensors')));
const expected = JSON.parse(readFileSync(join(CAL, 'stats-expected.json'), 'utf8')) as Record<string, Record<string, unknown> & { matrix?: Record<string, unknown> }>;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
const DEFAULT = STATS_TUNING.table16Min;
afterEach(() => {
  STATS_TUNING.table16Min = DEFAULT;
});

async function run(data: Uint8Array, tensors: TensorInfo[], chunk: number): Promise<TensorStats[]> {
  const c = createStatsConsumer(tensors);
  await streamSource(new MemorySource(data, tensors[0].file), [c], { chunkSize: chunk });
  return c.results();
}

describe('bfloat16 through the exact 65536-entry table', () => {
  it('matches the NumPy values of the fixture (bf16 matrix and bf16 specials) at any chunk size', async () => {
    const source = new MemorySource(bytes, 'stats.safetensors');
    const p = await parseSafetensors({ name: source.name, size: source.size, head: bytes.subarray(0, 65536), tail: bytes, source, folder: { get: () => undefined, paths: () => [] } });
    const tensors = p.model!.tensors;
    STATS_TUNING.table16Min = 0;
    for (const chunk of [7, 4093, 1 << 20]) {
      const byName = new Map((await run(bytes, tensors, chunk)).map((s) => [s.name, s]));
      for (const name of ['bf16', 'bf16_special']) {
        const s = byName.get(name)!;
        const w = expected[name] as Record<string, number | null>;
        for (const k of ['count', 'finite', 'nan', 'posInf', 'negInf', 'zeros', 'subnormal', 'min', 'max', 'absMax', 'absMaxIndex'] as const) expect(s[k], `${name}.${k}`).toBe(w[k]);
        expect(rel(s.mean!, w.mean!), `${name}.mean`).toBeLessThan(1e-9 * Math.max(1, Math.abs(w.std! / w.mean!)));
        expect(rel(s.std!, w.std!), `${name}.std`).toBeLessThan(1e-9);
        if (w.kurtosis !== null) expect(Math.abs(s.kurtosis! - w.kurtosis!), `${name}.kurtosis`).toBeLessThan(1e-7 * Math.max(1, Math.abs(w.kurtosis!)));
        const scale = Math.abs(w.median!) + w.mad!;
        expect(Math.abs(s.median! - w.median!)).toBeLessThanOrEqual(scale / 16 + 1e-12);
      }
      const m = byName.get('bf16')!.matrix!;
      const wm = expected.bf16.matrix as Record<string, unknown>;
      expect(m.duplicateRowGroups).toEqual(wm.duplicateRowGroups);
      expect(m.singleNonZeroColIndices).toEqual(wm.singleNonZeroColIndices);
      expect(rel(m.rowNorms!.max, wm.rowNormsMax as number)).toBeLessThan(1e-12);
    }
  });

  it('gives the general path\'s results on a large bfloat16 matrix with planted values (moments to 1e-9, the rest exactly)', async () => {
    const rows = 700;
    const cols = 600;
    const f = new Float32Array(rows * cols);
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < f.length; i++) f[i] = 0.02 * (rnd() + rnd() + rnd() + rnd() - 2);
    for (let i = 0; i < 500; i++) f[(i * 7919) % f.length] = 100; // a planted constant
    f[12345] = NaN;
    f[23456] = -Infinity;
    f.copyWithin(5 * cols, 2 * cols, 3 * cols); // row 5 duplicates row 2
    const u = new Uint32Array(f.buffer);
    const h = new Uint16Array(f.length);
    for (let i = 0; i < h.length; i++) h[i] = u[i] >>> 16;
    const data = new Uint8Array(h.buffer);
    const t = { name: 'w', file: 'w.safetensors', dtype: 'bfloat16', shape: [rows, cols], numel: rows * cols, offset: 0, length: data.length } as TensorInfo;
    STATS_TUNING.table16Min = Infinity;
    const [general] = await run(data, [t], 1 << 20);
    STATS_TUNING.table16Min = 0;
    const [table] = await run(data, [t], 99_999);
    for (const k of ['mean', 'std', 'kurtosis'] as const) expect(rel(table[k]!, general[k]!), k).toBeLessThan(1e-9);
    expect({ ...table, mean: 0, std: 0, kurtosis: 0, repeats: [] }).toEqual({ ...general, mean: 0, std: 0, kurtosis: 0, repeats: [] });
    expect(table.matrix!.duplicateRowGroups).toEqual([[2, 5]]);
    // exact counts: the planted value is found with its full count
    expect(table.repeats[0].value).toBe(100);
    expect(table.repeats[0].count).toBe(f.filter((x) => x === 100).length);
  });
});
