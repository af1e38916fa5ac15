import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../formats/safetensors/parse-safetensors';
import { MemorySource } from '../io/byte-source';
import { streamSource } from '../io/stream-source';
import type { TensorInfo } from '../model/types';
import { streamFile } from '../stream-file';
import { decodeTensorBytes } from './decode';
import { computeTensorStatsFromSource, createStatsConsumer } from './stats-consumer';
import type { TensorStats } from './types';

const CAL = join(__dirname, '../../../tests/fixtures/calibration');
const bytes = new Uint8Array(readFileSync(join(CAL, 'stats-tensors.safetensors')));
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface Expected {
  count: number; finite: number; nan: number; posInf: number; negInf: number; zeros: number; subnormal: number;
  min?: number; max?: number; mean?: number; std?: number; kurtosis?: number | null; median?: number; mad?: number;
  absMax?: number; absMaxIndex?: number; values?: Num[]; first?: Num[];
  matrix?: {
    rows: number; cols: number; rowNormsMin: number; rowNormsMax: number; rowNormsMedian: number; rowNormsArgmax: number;
    colNormsMin: number; colNormsMax: number; rowNorms: number[] | null; zeroRows: number; zeroCols: number;
    singleNonZeroCols: number; singleNonZeroColIndices: number[]; duplicateRows: number; duplicateRowGroups: number[][];
  };
}
const expected = JSON.parse(readFileSync(join(CAL, 'stats-expected.json'), 'utf8')) as Record<string, Expected>;
const num = (v: Num): number => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

async function tensorsOf(data: Uint8Array, name = 'stats.safetensors'): Promise<TensorInfo[]> {
  const source = new MemorySource(data, name);
  const p = await parseSafetensors({ name, size: data.length, head: data.subarray(0, 65536), tail: data.subarray(Math.max(0, data.length - 65536)), source, folder: { get: () => undefined, paths: () => [] } });
  return p.model!.tensors;
}

async function statsWithChunk(chunkSize: number): Promise<Map<string, TensorStats>> {
  const tensors = await tensorsOf(bytes);
  const c = createStatsConsumer(tensors);
  await streamSource(new MemorySource(bytes, 'stats.safetensors'), [c], { chunkSize });
  return new Map(c.results().map((s) => [s.name, s]));
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('decoders against values PyTorch / NumPy wrote', () => {
  it('decodes every plain dtype of the fixture bit-exactly (float32 of the stored value)', async () => {
    const tensors = await tensorsOf(bytes);
    let checked = 0;
    for (const t of tensors) {
      const want = expected[t.name].values ?? expected[t.name].first!;
      const got = decodeTensorBytes(t.dtype, bytes.subarray(t.offset, t.offset + t.length));
      expect(got.length, t.name).toBe(t.numel);
      for (let i = 0; i < want.length; i++) expect(Object.is(got[i], Math.fround(num(want[i]))) || (Number.isNaN(got[i]) && want[i] === 'NaN'), `${t.name}[${i}] = ${got[i]}, want ${want[i]}`).toBe(true);
      checked++;
    }
    expect(checked).toBe(16);
  });

  it('decodes through an unaligned buffer the same as an aligned one', async () => {
    const t = (await tensorsOf(bytes)).find((x) => x.name === 'normal')!;
    const shifted = new Uint8Array(t.length + 1).subarray(1);
    shifted.set(bytes.subarray(t.offset, t.offset + t.length));
    const a = decodeTensorBytes('float32', bytes.subarray(t.offset, t.offset + t.length));
    const b = decodeTensorBytes('float32', shifted);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('decodes the 8-bit float formats as the OCP FP8 spec and ml_dtypes define them', () => {
    const d = (dt: Parameters<typeof decodeTensorBytes>[0], b: number[]) => Array.from(decodeTensorBytes(dt, Uint8Array.from(b)));
    // e4m3fn: max 448 (0x7E), min subnormal 2^-9, 0x7F NaN, no infinity
    expect(d('float8_e4m3fn', [0x7e, 0x01, 0x38, 0xb8, 0x08, 0x80])).toEqual([448, 2 ** -9, 1, -1, 2 ** -6, -0]);
    expect(d('float8_e4m3fn', [0x7f, 0xff]).every(Number.isNaN)).toBe(true);
    // e5m2: max 57344 (0x7B), 0x7C = +inf, min subnormal 2^-16
    expect(d('float8_e5m2', [0x7b, 0x7c, 0xfc, 0x01, 0x3c])).toEqual([57344, Infinity, -Infinity, 2 ** -16, 1]);
    expect(Number.isNaN(d('float8_e5m2', [0x7d])[0])).toBe(true);
    // fnuz: bias one higher, 0x80 is the only NaN, no infinity, 0x7F is a finite maximum
    expect(d('float8_e4m3fnuz', [0x7f, 0x01, 0x40])).toEqual([240, 2 ** -10, 1]);
    expect(d('float8_e5m2fnuz', [0x7f, 0x01, 0x40])).toEqual([57344, 2 ** -17, 1]);
    expect(Number.isNaN(d('float8_e4m3fnuz', [0x80])[0]) && Number.isNaN(d('float8_e5m2fnuz', [0x80])[0])).toBe(true);
    expect(d('int4', [0x8f, 0x71])).toEqual([-1, -8, 1, 7]);
    expect(d('uint4', [0x8f])).toEqual([15, 8]);
  });
});

describe('streaming statistics against NumPy', () => {
  for (const chunk of [7, 4093, 65536, 1 << 20]) {
    it(`chunk size ${chunk}: counts exact, moments within 1e-9 relative, MAD within 2 %`, async () => {
      const stats = await statsWithChunk(chunk);
      expect(stats.size).toBe(16);
      for (const [name, want] of Object.entries(expected)) {
        const s = stats.get(name)!;
        expect(s.complete, name).toBe(true);
        expect(s.skipped, name).toBeUndefined();
        for (const k of ['count', 'finite', 'nan', 'posInf', 'negInf', 'zeros', 'subnormal'] as const) expect(s[k], `${name}.${k}`).toBe(want[k]);
        expect(s.min, name).toBe(want.min);
        expect(s.max, name).toBe(want.max);
        expect(s.absMax, name).toBe(want.absMax);
        expect(s.absMaxIndex, name).toBe(want.absMaxIndex);
        expect(rel(s.mean!, want.mean!), `${name}.mean ${s.mean} vs ${want.mean}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(want.std! / want.mean!)));
        expect(rel(s.std!, want.std!), `${name}.std`).toBeLessThan(1e-9);
        if (want.kurtosis !== null) expect(Math.abs(s.kurtosis! - want.kurtosis!), `${name}.kurtosis`).toBeLessThan(1e-7 * Math.max(1, Math.abs(want.kurtosis!)));
        // median and MAD come from the log-linear histogram: error bounded by one sub-bin (2^-4 relative)
        const scale = Math.abs(want.median!) + want.mad!;
        expect(Math.abs(s.median! - want.median!), `${name}.median ${s.median} vs ${want.median}`).toBeLessThanOrEqual(scale / 16 + 1e-12);
        expect(Math.abs(s.mad! - want.mad!), `${name}.mad ${s.mad} vs ${want.mad}`).toBeLessThanOrEqual(scale / 16 + 1e-12);
        const h = s.histogram!;
        expect(h.counts.length).toBe(64);
        expect(Math.abs(h.counts.reduce((a, b) => a + b, 0) + h.below + h.above - want.finite), `${name} histogram total`).toBeLessThanOrEqual(66);
      }
    });
  }

  it('MAD of smooth float32 data is within 1 % of NumPy (the histogram interpolates well)', async () => {
    const stats = await statsWithChunk(1 << 20);
    for (const name of ['normal', 'bf16', 'heavy']) {
      const s = stats.get(name)!;
      expect(rel(s.mad!, expected[name].mad!), `${name} ${s.mad} vs ${expected[name].mad}`).toBeLessThan(0.01);
    }
  });

  it('matrix view: row/column norms, zero rows and columns, single-entry columns, duplicate rows', async () => {
    for (const chunk of [13, 1 << 20]) {
      const stats = await statsWithChunk(chunk);
      for (const name of ['normal', 'bf16', 'f16', 'i8']) {
        const m = stats.get(name)!.matrix!;
        const w = expected[name].matrix!;
        expect([m.rows, m.cols]).toEqual([w.rows, w.cols]);
        expect(rel(m.rowNorms!.max, w.rowNormsMax)).toBeLessThan(1e-12);
        expect(rel(m.rowNorms!.median, w.rowNormsMedian)).toBeLessThan(1e-12);
        expect(m.rowNorms!.top[0].index).toBe(w.rowNormsArgmax);
        expect(rel(m.colNorms!.max, w.colNormsMax)).toBeLessThan(1e-12);
        expect(m.zeroRows).toBe(w.zeroRows);
        expect(m.zeroCols).toBe(w.zeroCols);
        expect(m.singleNonZeroCols).toBe(w.singleNonZeroCols);
        expect(m.singleNonZeroColIndices).toEqual(w.singleNonZeroColIndices);
        expect(m.duplicateRows, name).toBe(w.duplicateRows);
        expect(m.duplicateRowGroups, name).toEqual(w.duplicateRowGroups);
        if (w.rowNorms) m.rowNorms!.values!.forEach((v, i) => expect(rel(v, w.rowNorms![i]) < 1e-12 || v === w.rowNorms![i]).toBe(true));
      }
      const n = stats.get('normal')!.matrix!;
      expect(n.zeroRowIndices).toEqual([7]);
      expect(n.zeroColIndices).toEqual([3]);
      expect(n.duplicateRowGroups).toEqual([[0, 10, 20]]);
      expect(stats.get('normal')!.firstNonFinite).toBe(5 * 257 + 9);
    }
  });

  it('streamFile hashes and computes statistics in the same pass; stats: false switches them off', async () => {
    const tensors = await tensorsOf(bytes);
    const on = await streamFile(new MemorySource(bytes, 'stats.safetensors'), { tensors, chunkSize: 100_003 });
    expect(on.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(on.stats!.map((s) => s.name)).toEqual(tensors.map((t) => t.name));
    expect(on.stats!.find((s) => s.name === 'heavy')!.count).toBe(5000);
    const off = await streamFile(new MemorySource(bytes, 'stats.safetensors'), { tensors, stats: false });
    expect(off.sha256).toBe(on.sha256);
    expect(off.stats).toBeUndefined();
  });

  it('computeTensorStatsFromSource gives the same numbers as the shared pass', async () => {
    const tensors = await tensorsOf(bytes);
    const all = await statsWithChunk(1 << 20);
    for (const t of tensors.slice(0, 4)) {
      const s = await computeTensorStatsFromSource(new MemorySource(bytes, 'stats.safetensors'), t, { chunkSize: 999 });
      const ref = all.get(t.name)!;
      // window boundaries differ, so moments may differ in the last bits
      for (const k of ['mean', 'std', 'kurtosis'] as const) expect(rel(s[k]!, ref[k]!)).toBeLessThan(1e-10);
      // repeats are lower bounds whose 3σ gate depends on where windows fall: compare the rest exactly
      expect({ ...s, mean: 0, std: 0, kurtosis: 0, repeats: [] }).toEqual({ ...ref, mean: 0, std: 0, kurtosis: 0, repeats: [] });
    }
  });

  it('a file cut short marks the tensor incomplete and lists unreached tensors as skipped, without throwing', async () => {
    const tensors = await tensorsOf(bytes);
    const cut = bytes.subarray(0, tensors[0].offset + 1000);
    const c = createStatsConsumer(tensors);
    await streamSource(new MemorySource(cut, 'stats.safetensors'), [c], { chunkSize: 333 });
    const r = c.results();
    expect(r[0].complete).toBe(false);
    expect(r[0].count).toBe(250);
    expect(r.slice(1).every((s) => s.skipped !== undefined && s.count === 0)).toBe(true);
  });

  it('statistics are JSON round-trippable and bounded in size', async () => {
    const stats = [...(await statsWithChunk(1 << 20)).values()];
    const json = JSON.stringify(stats);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(stats)));
    for (const s of stats) expect(JSON.stringify(s).length).toBeLessThan(20_000);
  });
});
