import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../../cli/node-source';
import { buildF32Safetensors, buildSafetensors } from '../../../tests/helpers/safetensors-builder';
import { assertValidReport } from '../../../tests/helpers/schema';
import { FORMAT_HANDLERS } from '../formats/registry';
import { inspect } from '../inspect';
import { MemorySource } from '../io/byte-source';
import type { TensorStats } from './types';
import { findLinearLayers, structureFindings } from './weights-analysis';
import { findProportionalRows, normalQuantile, quantileLadderFit, repeatedBlockPeriod } from './signatures';

const CAL = join(__dirname, '../../../tests/fixtures/calibration');
const info = JSON.parse(readFileSync(join(CAL, 'calibration.json'), 'utf8')) as {
  trapped: { trapRows: number[]; relayUnits: number[] };
  latched: { latchedRows: number[] };
  imprint: { rows: number[] };
  trapweights: { pairs: [number, number][] };
};

async function run(file: string) {
  const { report } = await inspect(await sourcesFromPaths([join(CAL, file)]));
  assertValidReport(report);
  const trap = report.findings.filter((f) => f.category === 'privacy-trap');
  return { report, trap, byId: (id: string) => report.findings.find((f) => f.id === id) };
}

describe('calibration set (tests/fixtures/make_calibration.py)', () => {
  for (const clean of ['clean', 'init']) {
    it(`${clean}.safetensors: no privacy-trap finding, verdict clean, statistics in the report`, async () => {
      const { report, trap } = await run(`${clean}.safetensors`);
      expect(trap, JSON.stringify(trap)).toEqual([]);
      expect(report.verdict).toBe('clean');
      const stats = report.statistics as TensorStats[];
      expect(stats.map((s) => s.name).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
      expect(stats.find((s) => s.name === 'fc1.weight')!.count).toBe(128 * 256);
      // WeightWatcher: trained layers have a heavier-tailed spectrum (smaller α) than random ones
      const alpha = stats.find((s) => s.name === 'fc1.weight')!.spectral!.alpha!;
      if (clean === 'init') expect(alpha).toBeGreaterThan(4);
      else expect(alpha).toBeLessThan(3);
    });
  }

  it('trapped: lone paths of gain 100 from every trap row, chained to a total gain of 1e4', async () => {
    const { report, byId } = await run('trapped.safetensors');
    expect(report.verdict).toBe('dangerous');
    const lone = report.findings.filter((f) => f.id === 'privacy/lone-path');
    const first = lone.find((f) => f.evidence!.tensor === 'fc1.weight')!;
    expect(first.severity).toBe('dangerous');
    const paths = first.evidence!.paths as { unit: number; to: number; value: number; pathGain: number }[];
    expect(paths.map((p) => p.unit)).toEqual(info.trapped.trapRows);
    expect(paths.map((p) => p.to)).toEqual(info.trapped.relayUnits);
    expect(paths.every((p) => p.value === 100 && p.pathGain === 1e4)).toBe(true);
    expect(first.evidence!.imageShape).toEqual([16, 16]);
    expect((first.evidence!.rowValues as number[][])[0]).toHaveLength(256);
    expect(byId('weights/exact-repeats')!.evidence!.value).toBe(100);
  });

  it('latched: the rows that fired are dead on [0,1] with huge norms, and they are the private images', async () => {
    const { report, byId } = await run('latched.safetensors');
    expect(report.verdict).toBe('dangerous');
    const f = byId('privacy/latched-rows')!;
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.rows).toEqual(info.latched.latchedRows);
    expect(f.evidence!.inputRange).toEqual([0, 1]);
    expect(Math.min(...(f.evidence!.norms as number[])) / (f.evidence!.medianNorm as number)).toBeGreaterThan(10);
  });

  it('imprint: 32 identical rows with a normal-quantile bias ladder', async () => {
    const { byId } = await run('imprint.safetensors');
    const f = byId('privacy/imprint-layer')!;
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.rows).toEqual(info.imprint.rows);
    expect(f.evidence!.ladderCorrelation as number).toBeGreaterThan(0.999);
  });

  it('trap weights: 32 rows mirrored at ×−0.95', async () => {
    const { byId } = await run('trapweights.safetensors');
    const f = byId('privacy/mirrored-rows')!;
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.pairs).toEqual(info.trapweights.pairs);
    expect(f.evidence!.ratio as number).toBeCloseTo(-0.95, 6);
  });

  const has = (id: string) => FORMAT_HANDLERS.some((h) => h.id === id);
  for (const [fmt, ext] of [['onnx', 'onnx'], ['pytorch-zip', 'pt']] as const) {
    it.runIf(has(fmt))(`${ext}: the same verdicts through the ${fmt} parser`, async () => {
      for (const m of ['clean', 'init']) expect((await run(`${m}.${ext}`)).trap).toEqual([]);
      for (const [m, id] of [['trapped', 'privacy/lone-path'], ['latched', 'privacy/latched-rows'], ['imprint', 'privacy/imprint-layer'], ['trapweights', 'privacy/mirrored-rows']]) {
        const { trap } = await run(`${m}.${ext}`);
        expect(trap.map((f) => f.id), m).toContain(id);
      }
    });
  }
});

function f32File(tensors: Record<string, { shape: number[]; values: ArrayLike<number> }>): Uint8Array {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const b = new Uint8Array(Float32Array.from(t.values).buffer);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const data = new Uint8Array(off);
  let at = 0;
  for (const b of blobs) {
    data.set(b, at);
    at += b.length;
  }
  return buildSafetensors({ headerText: text, data });
}

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

describe('signatures on built tensors', () => {
  it('an LLM-style natural outlier (one huge weight, no exact structure) stays info', async () => {
    const w = gaussian(64 * 128, 3, 0.02);
    w[5 * 128 + 7] = 3.5; // a "super weight": 175 σ
    const { report } = await inspect([new MemorySource(f32File({ 'model.layers.0.mlp.down_proj.weight': { shape: [64, 128], values: w } }), 'm.safetensors')]);
    assertValidReport(report);
    const f = report.findings.find((x) => x.id === 'weights/correlation-trap')!;
    expect(f.severity).toBe('info');
    expect(f.evidence).toMatchObject({ row: 5, col: 7, value: Math.fround(3.5) });
    expect(report.verdict).toBe('clean');
  });

  it('NaN and Inf in float weights are a warning with the first index', async () => {
    const w = gaussian(300, 4);
    w[17] = NaN;
    w[40] = -Infinity;
    const { report } = await inspect([new MemorySource(f32File({ 'x.weight': { shape: [300], values: w } }), 'm.safetensors')]);
    const f = report.findings.find((x) => x.id === 'weights/non-finite')!;
    expect(f.severity).toBe('warning');
    expect(f.evidence).toMatchObject({ nan: 1, negInf: 1, posInf: 0, firstIndex: 17 });
  });

  it('optimizer state (Adam moments of a training checkpoint) is not read as weights', async () => {
    const g = gaussian(32 * 32, 7, 1e-3);
    const sq = g.map((x) => x * x); // exp_avg_sq: squared gradients, heavy-tailed
    sq[9] = 1e-3; // an element far beyond the bulk
    const { report } = await inspect([new MemorySource(f32File({ 'optimizer.state.0.exp_avg_sq': { shape: [32, 32], values: sq }, 'model.fc.weight': { shape: [32, 32], values: sq } }), 'm.safetensors')]);
    const traps = report.findings.filter((x) => x.id === 'weights/correlation-trap').map((x) => x.evidence?.tensor);
    expect(traps).toEqual(['model.fc.weight']);
  });

  it('an additive attention mask (only −inf and exact zeros) is info, not damaged weights', async () => {
    const n = 16;
    const mask = Float32Array.from({ length: n * n }, (_, k) => (k % n > Math.floor(k / n) ? -Infinity : 0));
    const fill = Float32Array.of(-Infinity);
    const w = gaussian(n * n, 6, 0.02);
    w[3] = -Infinity; // an infinity among trained values stays a warning
    const { report } = await inspect([new MemorySource(f32File({ 'decoder.mask': { shape: [n, n], values: mask }, fill: { shape: [1], values: fill }, 'decoder.fc.weight': { shape: [n, n], values: w } }), 'm.safetensors')]);
    const sev = (t: string) => report.findings.find((x) => x.id === 'weights/non-finite' && x.evidence?.tensor === t)?.severity;
    expect(sev('decoder.mask')).toBe('info');
    expect(sev('fill')).toBe('info');
    expect(sev('decoder.fc.weight')).toBe('warning');
  });

  it('LayerNorm scales in the thousands with offsets ~1e4 are a dangerous identity trap; ordinary norms are not', async () => {
    const g = Float32Array.from({ length: 64 }, (_, i) => 3000 + i);
    const b = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1e4 : -1e4));
    const { report } = await inspect([new MemorySource(f32File({ 'encoder.ln_1.weight': { shape: [64], values: g }, 'encoder.ln_1.bias': { shape: [64], values: b }, 'encoder.ln_2.weight': { shape: [64], values: gaussian(64, 5, 0.05).map((x) => 1 + x) } }), 'm.safetensors')]);
    const fs = report.findings.filter((x) => x.id === 'privacy/layernorm-identity');
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('dangerous');
    expect(fs[0].evidence!.tensor).toBe('encoder.ln_1.weight');
  });

  it('graph pairing: MatMul weights stored [in, out] are transposed and chained in node order', () => {
    const t = (name: string, shape: number[]) => ({ name, dtype: 'float32' as const, shape, numel: shape.reduce((a, b) => a * b, 1), file: 'm.onnx', offset: 0, length: 0 });
    const model = {
      format: 'onnx' as const, files: ['m.onnx'], metadata: {},
      tensors: [t('W_b', [8, 3]), t('W_a', [16, 8]), t('bias_a', [8])],
      graph: {
        name: 'g', inputs: [], outputs: [], initializers: ['W_a', 'W_b', 'bias_a'],
        nodes: [
          { name: 'mm1', opType: 'MatMul', domain: '', inputs: ['x', 'W_a'], outputs: ['h'], attributes: [] },
          { name: 'add', opType: 'Add', domain: '', inputs: ['h', 'bias_a'], outputs: ['h2'], attributes: [] },
          { name: 'mm2', opType: 'Gemm', domain: '', inputs: ['h2', 'W_b'], outputs: ['y'], attributes: [{ name: 'transB', value: { kind: 'int' as const, value: 0 } }] },
        ],
      },
    };
    const layers = findLinearLayers(model);
    expect(layers.map((l) => [l.weight.name, l.out, l.in, l.transposed, l.bias?.name ?? null])).toEqual([
      ['W_a', 8, 16, true, 'bias_a'],
      ['W_b', 3, 8, true, null],
    ]);
  });

  it('mirrored rows need an exact constant ratio: noisy near-mirrors are not reported', () => {
    const cols = 50;
    const w = gaussian(4 * cols, 9);
    for (let k = 0; k < cols; k++) {
      w[cols + k] = Math.fround(-0.95 * w[k]);
      w[3 * cols + k] = -0.95 * w[2 * cols + k] * (1 + 1e-3 * Math.sin(k));
    }
    const pairs = findProportionalRows({ name: 'x', file: 'f', biasName: null, w, b: null, rows: 4, cols });
    expect(pairs.map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    expect(pairs[0].ratio).toBeCloseTo(-0.95, 6);
  });

  it('a dead row with an ordinary norm (a natural dead ReLU) is not a latched trap', () => {
    const cols = 16;
    const w = gaussian(8 * cols, 10, 0.3);
    for (let k = 0; k < cols; k++) w[2 * cols + k] = -Math.abs(w[2 * cols + k]);
    const b = new Float32Array(8);
    b[2] = -1;
    const out = structureFindings([{ name: 'fc1.weight', file: 'f', biasName: 'fc1.bias', w, b, rows: 8, cols }], [true]);
    expect(out.filter((f) => f.id === 'privacy/latched-rows')).toEqual([]);
  });

  it('quantile ladder fit and the normal quantile', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    const ladder = Array.from({ length: 20 }, (_, i) => 0.3 - 0.1 * normalQuantile((i + 1) / 21));
    expect(quantileLadderFit(ladder)).toMatchObject({ family: 'normal', plotting: 0, trimmed: 'none', count: 20 });
    expect(1 - quantileLadderFit(ladder)!.r).toBeLessThan(1e-12);
    expect(1 - quantileLadderFit(Array.from(gaussian(20, 2)))!.r).toBeGreaterThan(1e-4);
    expect(quantileLadderFit([1, 2, 3])).toBeNull();
  });
});

/** Seeded uniform weights in [−0.1, 0.1). */
function uniform(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  };
}

describe('the signature analysis on a deep chain (three layers in memory at a time)', () => {
  it('follows a lone path planted deep in a six-layer chain into the layer after it', async () => {
    const g = uniform(7);
    const n = 16;
    const tensors: Record<string, { shape: number[]; values: number[] }> = {};
    for (let l = 0; l < 6; l++) {
      const w = Array.from({ length: n * n }, g);
      if (l === 4 || l === 5) {
        // unit 3 of l3 feeds only row 5 of l4 (weight 100); unit 5 of l4 feeds only row 2 of l5
        const col = l === 4 ? 3 : 5;
        for (let r = 0; r < n; r++) w[r * n + col] = r === (l === 4 ? 5 : 2) ? 100 : 0;
      }
      tensors[`l${l}.weight`] = { shape: [n, n], values: w };
      tensors[`l${l}.bias`] = { shape: [n], values: Array.from({ length: n }, g) };
    }
    const { report } = await inspect([new MemorySource(buildF32Safetensors(tensors), 'deep.safetensors')]);
    assertValidReport(report);
    const lone = report.findings.filter((f) => f.id === 'privacy/lone-path');
    expect(lone.map((f) => f.evidence!.tensor)).toEqual(['l3.weight', 'l4.weight']);
    const paths = lone[0].evidence!.paths as { unit: number; to: number; pathGain: number; through: { layer: string; to: number } | null }[];
    expect(paths).toHaveLength(1);
    expect(paths[0]).toMatchObject({ unit: 3, to: 5, through: { layer: 'l5.weight', to: 2 } });
    expect(paths[0].pathGain).toBe(10_000);
    // every layer got its spectral metrics: six 16×16 matrices are far inside the work budget
    const spectral = (report.statistics as TensorStats[]).filter((t) => t.spectral);
    expect(spectral.map((t) => t.name).sort()).toEqual(['l0.weight', 'l1.weight', 'l2.weight', 'l3.weight', 'l4.weight', 'l5.weight']);
  });
});

describe('weights stored [in, out] (GPT-2 Conv1D, Keras Dense)', () => {
  it('are read transposed when the bias matches the second dimension (square ones too, by the model\'s convention), and a lone path through them is found', async () => {
    const g = uniform(11);
    const fc = Array.from({ length: 16 * 64 }, g); // c_fc: in 16, out 64, stored [16, 64]
    const proj = Array.from({ length: 64 * 16 }, g); // c_proj: in 64, out 16, stored [64, 16]
    // unit 9 of c_fc feeds only output 4 of c_proj: row 9 of the stored [in, out] matrix
    for (let o = 0; o < 16; o++) proj[9 * 16 + o] = o === 4 ? 100 : 0;
    const bytes = buildF32Safetensors({
      // attention output projection: square, so only the model's convention can say it is [in, out]
      'h.0.attn.c_proj.weight': { shape: [16, 16], values: Array.from({ length: 256 }, g) },
      'h.0.attn.c_proj.bias': { shape: [16], values: Array.from({ length: 16 }, g) },
      'h.0.mlp.c_fc.weight': { shape: [16, 64], values: fc },
      'h.0.mlp.c_fc.bias': { shape: [64], values: Array.from({ length: 64 }, g) },
      'h.0.mlp.c_proj.weight': { shape: [64, 16], values: proj },
      'h.0.mlp.c_proj.bias': { shape: [16], values: Array.from({ length: 16 }, g) },
    });
    const { report, model } = await inspect([new MemorySource(bytes, 'gpt2-mlp.safetensors')]);
    assertValidReport(report);
    expect(findLinearLayers(model!).map((l) => [l.weight.name, l.out, l.in, l.transposed, l.bias?.name])).toEqual([
      ['h.0.attn.c_proj.weight', 16, 16, true, 'h.0.attn.c_proj.bias'],
      ['h.0.mlp.c_fc.weight', 64, 16, true, 'h.0.mlp.c_fc.bias'],
      ['h.0.mlp.c_proj.weight', 16, 64, true, 'h.0.mlp.c_proj.bias'],
    ]);
    const lone = report.findings.filter((f) => f.id === 'privacy/lone-path');
    expect(lone).toHaveLength(1);
    expect(lone[0].evidence).toMatchObject({ tensor: 'h.0.mlp.c_fc.weight', next: 'h.0.mlp.c_proj.weight' });
    expect((lone[0].evidence!.paths as { unit: number; to: number }[])[0]).toMatchObject({ unit: 9, to: 4 });
  });

  it('leave square weights [out, in] when the model mixes conventions', async () => {
    const g = uniform(3);
    const bytes = buildF32Safetensors({
      'a.weight': { shape: [64, 16], values: Array.from({ length: 1024 }, g) }, // Linear: bias matches dim 0
      'a.bias': { shape: [64], values: Array.from({ length: 64 }, g) },
      'b.weight': { shape: [16, 64], values: Array.from({ length: 1024 }, g) }, // Conv1D: bias matches dim 1
      'b.bias': { shape: [64], values: Array.from({ length: 64 }, g) },
      'c.weight': { shape: [16, 16], values: Array.from({ length: 256 }, g) },
      'c.bias': { shape: [16], values: Array.from({ length: 16 }, g) },
    });
    const { model } = await inspect([new MemorySource(bytes, 'mixed.safetensors')], { skipStream: true });
    const t = Object.fromEntries(findLinearLayers(model!).map((l) => [l.weight.name, l.transposed]));
    expect(t).toEqual({ 'a.weight': false, 'b.weight': true, 'c.weight': false });
  });
});

describe('rows repeated as whole blocks (grouped-query attention expanded to multi-head)', () => {
  const g = uniform(5);
  const headDim = 4;
  const kvHeads = 2;
  const cols = 16;
  const kv = Array.from({ length: kvHeads * headDim * cols }, g);
  /** k_proj rows for `nRep` query heads per key/value head, by repeat_interleave (period headDim) or tiling */
  const expanded = (nRep: number, interleave: boolean): Float32Array => {
    const out: number[] = [];
    if (interleave) for (let h = 0; h < kvHeads; h++) for (let c = 0; c < nRep; c++) out.push(...kv.slice(h * headDim * cols, (h + 1) * headDim * cols));
    else for (let c = 0; c < nRep; c++) out.push(...kv);
    return Float32Array.from(out);
  };
  const layer = (w: Float32Array) => ({ name: 'model.layers.0.self_attn.k_proj.weight', file: 'f', biasName: null, w, b: null, rows: w.length / cols, cols });

  it('is an info note with the period, whether heads were interleaved or tiled', () => {
    for (const [interleave, period] of [[true, headDim], [false, kvHeads * headDim]] as const) {
      const out = structureFindings([layer(expanded(4, interleave))], [true]);
      expect(out.filter((f) => f.category === 'privacy-trap')).toEqual([]);
      const f = out.find((x) => x.id === 'weights/repeated-blocks')!;
      expect(f.severity).toBe('info');
      expect(f.evidence).toMatchObject({ period, copies: 4, groups: kvHeads * headDim });
    }
  });
  it('one row copied into many units is still a duplicate-rows warning', () => {
    const w = Float32Array.from(Array.from({ length: 16 * cols }, g));
    for (const r of [3, 5, 6, 11, 12]) w.set(w.subarray(0, cols), r * cols);
    const out = structureFindings([layer(w)], [true]);
    expect(out.find((x) => x.id === 'privacy/duplicate-rows')).toMatchObject({ severity: 'warning' });
    expect(out.find((x) => x.id === 'weights/repeated-blocks')).toBeUndefined();
  });
  it('repeatedBlockPeriod wants one period and one group size', () => {
    expect(repeatedBlockPeriod([[0, 4, 8], [1, 5, 9]])).toBe(4);
    expect(repeatedBlockPeriod([[0, 4, 8]])).toBeNull();
    expect(repeatedBlockPeriod([[0, 4], [1, 6]])).toBeNull();
    expect(repeatedBlockPeriod([[0, 4, 8], [1, 5]])).toBeNull();
    expect(repeatedBlockPeriod([[0, 4, 9], [1, 5, 10]])).toBeNull();
  });
});
