import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without types
import { SOURCES, compiled } from '../../../scripts/build-wasm.mjs';
import { STATS_REPEAT_SLOTS, STATS_WINDOW } from '../io/limits';
import { MemorySource } from '../io/byte-source';
import { streamSource } from '../io/stream-source';
import type { DType } from '../model/dtype';
import type { TensorInfo } from '../model/types';
import { STATS_TUNING } from './accumulator';
import { LOG_BINS, LOG_SHIFT } from './log-histogram';
import { KERNEL_LAYOUT, KERNEL_TUNING, KERNEL_WINDOW, kernelAvailable } from './stats-kernel';
import { createStatsConsumer } from './stats-consumer';
import type { TensorStats } from './types';

const ROOT = join(__dirname, '../../..');
const TABLE16 = STATS_TUNING.table16Min;
afterEach(() => {
  KERNEL_TUNING.enabled = true;
  KERNEL_TUNING.minElements = 1 << 16;
  STATS_TUNING.table16Min = TABLE16;
});

function rng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Streams `data` through a stats consumer in chunks of pseudo-random sizes (odd ones included). */
async function statsOf(data: Uint8Array, dtype: DType, shape: number[], kernel: boolean, seed: number): Promise<TensorStats> {
  KERNEL_TUNING.enabled = kernel;
  const numel = shape.reduce((a, b) => a * b, 1);
  const t: TensorInfo = { name: 'w', file: 'f', dtype, shape, numel, offset: 0, length: data.length } as TensorInfo;
  const c = createStatsConsumer([t]);
  const r = rng(seed);
  for (let o = 0; o < data.length; ) {
    const n = Math.min(data.length - o, 1 + Math.floor(r() * 400_000));
    // a copy at an odd offset of its buffer: unaligned float32 takes the decoder, not the in-place view
    const chunk = new Uint8Array(n + 1).subarray(1);
    chunk.set(data.subarray(o, o + n));
    c.update(o, r() < 0.5 ? chunk : data.subarray(o, o + n));
    o += n;
  }
  return c.results()[0];
}

/** Values of a trained-looking tensor with no zero, NaN or ±Infinity (the kernel's vector paths), rows 5 and 7 duplicating row 2. */
function clean(rows: number, cols: number, seed: number, base = 0): Float32Array {
  const r = rng(seed);
  const f = new Float32Array(rows * cols);
  for (let i = 0; i < f.length; i++) f[i] = base + 0.02 * (r() + r() + r() + r() - 2) || 1e-3;
  if (rows > 8) {
    f.copyWithin(5 * cols, 2 * cols, 3 * cols);
    f.copyWithin(7 * cols, 2 * cols, 3 * cols);
  }
  return f;
}

/** Values of a trained-looking tensor with every special planted: zeros, a zero row, NaN, ±Infinity, subnormals, repeats, duplicate rows. */
function planted(rows: number, cols: number, seed: number, base = 0): Float32Array {
  const f = clean(rows, cols, seed, base);
  const r = rng(seed + 7);
  for (let i = 0; i < 300; i++) f[Math.floor(r() * f.length)] = 100; // a planted constant in the tails
  for (let i = 0; i < 50; i++) f[Math.floor(r() * f.length)] = 0;
  for (let i = 0; i < 20; i++) f[Math.floor(r() * f.length)] = 1e-41; // subnormal
  f[Math.floor(r() * f.length)] = NaN;
  f[Math.floor(r() * f.length)] = Infinity;
  f[Math.floor(r() * f.length)] = -Infinity;
  f[f.length - 1] = -3.5; // the largest |x| at the very end
  if (rows > 8) {
    f.copyWithin(5 * cols, 2 * cols, 3 * cols); // row 5 duplicates row 2
    f.copyWithin(7 * cols, 2 * cols, 3 * cols);
    f.fill(0, 3 * cols, 4 * cols); // a zero row
  }
  return f;
}

function bf16(f: Float32Array): Uint8Array {
  const u = new Uint32Array(f.buffer);
  const h = new Uint16Array(f.length);
  for (let i = 0; i < u.length; i++) h[i] = u[i] >>> 16;
  return new Uint8Array(h.buffer);
}

/** Kernel and JavaScript results agree: moments to rounding, everything else exactly (±0 alike). */
function expectSame(k: TensorStats, js: TensorStats): void {
  for (const key of ['mean', 'std', 'kurtosis'] as const) {
    const a = k[key];
    const b = js[key];
    if (b === null) expect(a, key).toBeNull();
    else expect(Math.abs(a! - b), key).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(b), js.std ?? 0, 1e-30));
  }
  const strip = (s: TensorStats) => JSON.parse(JSON.stringify({ ...s, mean: 0, std: 0, kurtosis: 0 }));
  expect(strip(k)).toEqual(strip(js));
}

describe('statistics kernel (WebAssembly SIMD)', () => {
  it('is the committed compilation of stats-kernel.wat (run `npm run build:wasm` after editing it)', async () => {
    for (const s of SOURCES) expect(readFileSync(join(ROOT, s.out), 'utf8'), s.out).toBe(await compiled(s));
  });

  it('shares its layout with the JavaScript accumulator', () => {
    expect(kernelAvailable()).toBe(true);
    expect(KERNEL_WINDOW).toBe(STATS_WINDOW);
    expect(LOG_BINS).toBe(8192); // HIST: 4 × 8192 int32
    expect(LOG_SHIFT).toBe(19); // bin = bits >>> 19 in the kernel
    expect(STATS_REPEAT_SLOTS).toBe(4096); // slot = (bits · φ) >>> 20
    expect(KERNEL_LAYOUT.KEYS - KERNEL_LAYOUT.HIST).toBe(4 * LOG_BINS * 4);
    expect(KERNEL_LAYOUT.WIN - KERNEL_LAYOUT.COUNTS).toBe(STATS_REPEAT_SLOTS * 4);
    expect(KERNEL_LAYOUT.TAB16 - KERNEL_LAYOUT.WIN).toBe(KERNEL_WINDOW * 4);
  });

  const cases: [string, DType, number[], (seed: number) => Uint8Array][] = [
    ['float32 matrix', 'float32', [300, 700], (s) => new Uint8Array(planted(300, 700, s).buffer)],
    ['float32 matrix without zeros or specials', 'float32', [500, 1001], (s) => new Uint8Array(clean(500, 1001, s).buffer)],
    ['bfloat16 matrix without zeros or specials, exact table', 'bfloat16', [600, 999], (s) => bf16(clean(600, 999, s))],
    ['float32 vector', 'float32', [200_003], (s) => new Uint8Array(planted(1, 200_003, s).buffer)],
    ['float32 narrow matrix (odd columns)', 'float32', [70_001, 3], (s) => new Uint8Array(planted(70_001, 3, s).buffer)],
    ['float32 matrix wider than the tracked columns', 'float32', [2, 70_000], (s) => new Uint8Array(planted(2, 70_000, s).buffer)],
    ['float32 far from zero (the centred second pass)', 'float32', [400, 333], (s) => new Uint8Array(planted(400, 333, s, 1000).buffer)],
    ['float32 conv kernel viewed as a matrix', 'float32', [64, 32, 3, 3], (s) => new Uint8Array(planted(64, 288, s).buffer)],
    ['bfloat16 matrix, general path', 'bfloat16', [300, 500], (s) => bf16(planted(300, 500, s))],
    ['bfloat16 matrix, exact table', 'bfloat16', [700, 401], (s) => bf16(planted(700, 401, s))],
    ['bfloat16 vector, exact table', 'bfloat16', [300_001], (s) => bf16(planted(1, 300_001, s))],
    ['float16 matrix', 'float16', [256, 300], (s) => {
      const r = rng(s);
      const h = new Uint16Array(256 * 300);
      for (let i = 0; i < h.length; i++) h[i] = Math.floor(r() * 65536);
      return new Uint8Array(h.buffer);
    }],
    ['int8 matrix', 'int8', [400, 200], (s) => {
      const r = rng(s);
      return Uint8Array.from({ length: 80_000 }, () => Math.floor(r() * 256));
    }],
  ];

  for (const [what, dtype, shape, make] of cases) {
    it(`gives the JavaScript loops' results: ${what}`, async () => {
      STATS_TUNING.table16Min = what.includes('exact table') ? 0 : Infinity;
      for (const seed of [1, 2]) {
        const data = make(seed);
        const js = await statsOf(data, dtype, shape, false, seed);
        KERNEL_TUNING.minElements = 0;
        const k = await statsOf(data, dtype, shape, true, seed);
        expect(k.count).toBe(data.length / (dtype === 'float32' ? 4 : dtype === 'int8' ? 1 : 2));
        expectSame(k, js);
        if (what.includes('without zeros')) {
          expect(k.zeros + k.nan + k.posInf + k.negInf).toBe(0);
          expect(k.matrix!.duplicateRowGroups[0]).toEqual([2, 5, 7]);
        }
        if (dtype === 'float32' && shape[0] === 300) {
          // the planted structure is there, so the comparison above compared something
          expect(k.nan).toBe(1);
          expect(k.posInf + k.negInf).toBe(2);
          expect(k.subnormal).toBeGreaterThan(0);
          expect(k.matrix!.zeroRows).toBe(1);
          expect(k.matrix!.duplicateRowGroups[0]).toEqual([2, 5, 7]);
          expect(k.repeats[0].value).toBe(100);
          expect(k.absMax).toBe(100);
        }
      }
    });
  }

  it('reuses its instances across the tensors of a file and still gives the JavaScript loops\' results', async () => {
    STATS_TUNING.table16Min = 0;
    const parts = [bf16(planted(700, 401, 3)), new Uint8Array(clean(300, 1001, 4).buffer), new Uint8Array(planted(1, 90_001, 5).buffer), bf16(clean(500, 300, 6))];
    const specs: [DType, number[]][] = [['bfloat16', [700, 401]], ['float32', [300, 1001]], ['float32', [90_001]], ['bfloat16', [500, 300]]];
    const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    const tensors: TensorInfo[] = [];
    let at = 0;
    specs.forEach(([dtype, shape], i) => {
      data.set(parts[i], at);
      tensors.push({ name: `t${i}`, file: 'f', dtype, shape, numel: shape.reduce((a, b) => a * b, 1), offset: at, length: parts[i].length } as TensorInfo);
      at += parts[i].length;
    });
    const run = async (kernel: boolean) => {
      KERNEL_TUNING.enabled = kernel;
      const c = createStatsConsumer(tensors);
      await streamSource(new MemorySource(data, 'f'), [c], { chunkSize: 100_003 });
      return c.results();
    };
    const js = await run(false);
    KERNEL_TUNING.minElements = 0;
    // twice: the second pass takes every instance from the pool the first one filled
    for (let pass = 0; pass < 2; pass++) {
      const k = await run(true);
      for (let i = 0; i < tensors.length; i++) expectSame(k[i], js[i]);
    }
    expect(js[1].matrix!.duplicateRowGroups[0]).toEqual([2, 5, 7]);
  });

  it('is used for large tensors and matches NumPy on the calibration fixture', async () => {
    KERNEL_TUNING.minElements = 0;
    const CAL = join(ROOT, 'tests/fixtures/calibration');
    const bytes = new Uint8Array(readFileSync(join(CAL, 'stats-tensors.safetensors')));
    const expected = JSON.parse(readFileSync(join(CAL, 'stats-expected.json'), 'utf8')) as Record<string, Record<string, number | null>>;
    const { parseSafetensors } = await import('../formats/safetensors/parse-safetensors');
    const source = new MemorySource(bytes, 'stats.safetensors');
    const p = await parseSafetensors({ name: source.name, size: source.size, head: bytes.subarray(0, 65536), tail: bytes, source, folder: { get: () => undefined, paths: () => [] } });
    const tensors = p.model!.tensors;
    const c = createStatsConsumer(tensors);
    await streamSource(source, [c], { chunkSize: 4093 });
    let checked = 0;
    for (const s of c.results()) {
      const w = expected[s.name];
      if (!w || s.skipped) continue;
      for (const k of ['count', 'finite', 'nan', 'posInf', 'negInf', 'zeros', 'min', 'max', 'absMax'] as const) {
        if (k in w) expect(s[k], `${s.name}.${k}`).toBe(w[k]);
      }
      if (typeof w.std === 'number') expect(Math.abs(s.std! - w.std), `${s.name}.std`).toBeLessThanOrEqual(1e-9 * Math.max(w.std, 1e-30));
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });
});
