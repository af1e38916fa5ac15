import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../core/io/byte-source';
import type { TensorInfo } from '../../core/model/types';
import type { Finding } from '../../core/report/finding';
import type { TensorStats } from '../../core/stats/types';
import { oddityScore, rankTensors } from './anomaly-rank';
import { readTensorRows, rowLayoutOf } from './read-rows';
import { flaggedRowGroups, imageShapeFor, level, rowToImage } from './row-image';
import { formatPercent, formatStat } from './stat-format';

const CAL = join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'calibration');

function stats(name: string, over: Partial<TensorStats> = {}): TensorStats {
  return {
    name, file: 'm.safetensors', dtype: 'float32', shape: [4, 4], count: 16, complete: true, finite: 16, min: -1, max: 1, mean: 0, std: 0.5,
    absMax: 1, absMaxIndex: 0, kurtosis: 0, zeros: 0, nan: 0, posInf: 0, negInf: 0, subnormal: 0, firstNonFinite: null, median: 0, mad: 0.3,
    robustSigma: 0.45, histogram: null, log2Histogram: [], repeats: [], matrix: null, ...over,
  };
}

const finding = (id: string, severity: Finding['severity'], tensor: string, evidence: Record<string, unknown> = {}): Finding => ({
  id, category: 'privacy-trap', severity, title: id, detail: '', evidence: { tensor, ...evidence },
});

describe('formatStat', () => {
  it('prints 5 significant digits, exponents outside [1e-3, 1e5), and marks absent and non-finite values', () => {
    expect(formatStat(-1.6523654797712608)).toBe('-1.6524');
    expect(formatStat(9.502075850025756)).toBe('9.5021');
    expect(formatStat(-100.08878326416016)).toBe('-100.09');
    expect(formatStat(1554.930533517526)).toBe('1554.9');
    expect(formatStat(123456.7)).toBe('1.2346e+5');
    expect(formatStat(0.0002531602298651313)).toBe('2.5316e-4');
    expect(formatStat(1e-40)).toBe('1e-40');
    expect(formatStat(0)).toBe('0');
    expect(formatStat(null)).toBe('—');
    expect(formatStat(NaN)).toBe('NaN');
    expect(formatStat(-Infinity)).toBe('−∞');
    expect(formatPercent(1624, 8192)).toBe('19.8 %');
    expect(formatPercent(0, 10)).toBe('0 %');
    expect(formatPercent(3, 100_000)).toBe('3.0e-3 %');
  });
});

describe('rankTensors', () => {
  it('ranks by severity, then findings at that severity, then statistical oddity', () => {
    const all = [
      stats('a', { kurtosis: 600, absMax: 100, robustSigma: 0.06, zeros: 4 }),
      stats('b', { kurtosis: 50 }),
      stats('c'),
      stats('d', { nan: 2, posInf: 1 }),
    ];
    const findings = [finding('privacy/latched-rows', 'dangerous', 'b'), finding('privacy/lone-path', 'dangerous', 'b'), finding('privacy/lone-path', 'dangerous', 'a'), finding('weights/correlation-trap', 'info', 'a'), finding('x/unnamed', 'warning', 'zz')];
    findings[4].evidence = {};
    const r = rankTensors(all, findings);
    expect(r.map((x) => x.name)).toEqual(['b', 'a', 'd', 'c']);
    expect(r[0]).toMatchObject({ severity: 'dangerous', worstCount: 2, reasons: ['privacy/latched-rows', 'privacy/lone-path', 'kurtosis 50'] });
    expect(r[1].findings.map((f) => f.id)).toEqual(['privacy/lone-path', 'weights/correlation-trap']);
    expect(r[1].outlierRatio).toBeCloseTo(100 / 0.06, 9);
    expect(r[1].zerosFraction).toBe(0.25);
    expect(r[2]).toMatchObject({ severity: null, nonFinite: 3 });
    expect(r[2].score).toBeGreaterThan(r[1].score);
    expect(r[3].score).toBe(0);
  });

  it('lists a tensor a finding names even without statistics, and scores each oddity from 0', () => {
    const r = rankTensors([], [finding('weights/non-finite', 'warning', 'lost')]);
    expect(r).toEqual([expect.objectContaining({ name: 'lost', severity: 'warning', shape: null, score: 0 })]);
    const base = { nonFinite: 0, kurtosis: 3, outlierRatio: 5, zerosFraction: 0.001, duplicateRows: 0 };
    expect(oddityScore(base)).toBe(0);
    expect(oddityScore({ ...base, duplicateRows: 10 })).toBe(2);
    expect(oddityScore({ ...base, kurtosis: 100 })).toBeCloseTo(1, 12);
    expect(oddityScore({ ...base, outlierRatio: 1000 })).toBeCloseTo(2, 12);
  });
});

describe('rows as images', () => {
  it('knows the image input sizes and prefers a fitting imageShape from evidence', () => {
    expect(imageShapeFor(256)).toEqual([16, 16]);
    expect(imageShapeFor(784)).toEqual([28, 28]);
    expect(imageShapeFor(3072)).toEqual([3, 32, 32]);
    expect(imageShapeFor(4096)).toEqual([64, 64]);
    expect(imageShapeFor(100)).toBeNull();
    expect(imageShapeFor(100, [10, 10])).toEqual([10, 10]);
    expect(imageShapeFor(256, [10, 10])).toEqual([16, 16]);
    expect(imageShapeFor(3072, [32, 32, 3])).toEqual([32, 32, 3]);
  });

  it('normalises a row to [0, 255], flips a negative row, and draws channel-first colour', () => {
    const v = Float32Array.from({ length: 16 }, (_, i) => 0 - i * 10);
    const img = rowToImage(v, [4, 4]);
    expect(img).toMatchObject({ width: 4, height: 4, min: -150, max: 0, flipped: true });
    expect([img.data[0], img.data[1], img.data[2], img.data[3]]).toEqual([0, 0, 0, 255]);
    expect(img.data[15 * 4]).toBe(255);
    expect(img.data[5 * 4]).toBe(level(50, 0, 150));
    const asIs = rowToImage(v, [4, 4], 'as-is');
    expect(asIs.flipped).toBe(false);
    expect(asIs.data[0]).toBe(255);
    const rgb = new Float32Array(12);
    rgb[0] = 1; // red plane, pixel 0
    rgb[4 + 1] = 1; // green plane, pixel 1
    rgb[8 + 2] = 1; // blue plane, pixel 2
    const c = rowToImage(rgb, [3, 2, 2]);
    expect(Array.from(c.data.slice(0, 12))).toEqual([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    const bad = rowToImage([NaN, 1, 2, 3], [2, 2]);
    expect(Array.from(bad.data.slice(0, 4))).toEqual([255, 0, 255, 255]);
    expect(rowToImage([2, 2, 2, 2], [2, 2]).data[0]).toBe(128);
  });

  it('groups the rows each finding names, with the evidence values', () => {
    const f = [
      finding('privacy/latched-rows', 'dangerous', 'fc1.weight', { rows: [100, 102], inputSize: 256, imageShape: [16, 16], rowValues: [[1], [2]] }),
      finding('weights/correlation-trap', 'info', 'fc1.weight', { row: 3 }),
      finding('privacy/lone-path', 'dangerous', 'fc2.weight', { rows: [1], inputSize: 128, imageShape: null }),
    ];
    expect(flaggedRowGroups(f, 'fc1.weight')).toEqual([{ findingId: 'privacy/latched-rows', severity: 'dangerous', title: 'privacy/latched-rows', rows: [100, 102], inputSize: 256, imageShape: [16, 16], rowValues: [[1], [2]] }]);
    expect(flaggedRowGroups(f, 'fc2.weight')[0]).toMatchObject({ rows: [1], imageShape: null, rowValues: null });
  });
});

describe('readTensorRows', () => {
  it('reads single rows by range, and columns of an [in, out] tensor, equal to the whole tensor', async () => {
    const bytes = readFileSync(join(CAL, 'latched.safetensors'));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const [s, e] = header['fc1.weight'].data_offsets as [number, number];
    const t: TensorInfo = { name: 'fc1.weight', dtype: 'float32', shape: [128, 256], numel: 32768, file: 'latched.safetensors', offset: 8 + n + s, length: e - s };
    const whole = new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + t.length));
    let reads = 0;
    const src = new MemorySource(new Uint8Array(bytes), 'latched.safetensors');
    const counting = { name: src.name, size: src.size, read: (o: number, l: number) => (reads++, src.read(o, l)) };
    const layout = rowLayoutOf(t.shape, 256)!;
    expect(layout).toEqual({ layout: 'rows', units: 128, size: 256 });
    const rows = await readTensorRows(counting, t, layout, [100, 109, 100, 500]);
    expect([...rows.keys()]).toEqual([100, 109]);
    expect(reads).toBe(2);
    expect(Array.from(rows.get(109)!)).toEqual(Array.from(whole.subarray(109 * 256, 110 * 256)));
    const asCols = { ...t, shape: [256, 128] };
    const cl = rowLayoutOf(asCols.shape, 256)!;
    expect(cl).toEqual({ layout: 'cols', units: 128, size: 256 });
    const cols = await readTensorRows(src, asCols, cl, [7]);
    expect(cols.get(7)![3]).toBe(whole[3 * 128 + 7]);
    expect(rowLayoutOf([128, 256], 100)).toBeNull();
    await expect(readTensorRows(src, { ...t, offset: -1 }, layout, [0])).rejects.toThrow(/not addressable/);
  });
});
