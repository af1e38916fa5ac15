import { describe, expect, it } from 'vitest';
import { tensorValues } from './backend';
import { ProbePlanError, SAMPLE_RATE, planProbeInputs, synthesizeProbes } from './synthesize-inputs';

describe('planProbeInputs', () => {
  it('plans an NCHW image input with symbolic batch and spatial dims', () => {
    const plan = planProbeInputs([{ name: 'x', dtype: 'float32', shape: ['N', 3, 'H', 'W'] }], { imageSize: 32, batch: 4 });
    expect(plan.primaryKind).toBe('image');
    expect(plan.image).toEqual({ layout: 'nchw', channels: 3, height: 32, width: 32 });
    expect(plan.inputs[0].dims).toEqual([4, 3, 32, 32]);
    expect(plan.batch).toBe(4);
    expect(plan.kinds).toEqual(['image', 'image-normalised', 'noise']);
  });

  it('plans an NHWC image, a flat 16×16 image and a plain feature vector', () => {
    expect(planProbeInputs([{ name: 'img', dtype: 'float32', shape: [1, 28, 28, 1] }]).image).toEqual({ layout: 'nhwc', channels: 1, height: 28, width: 28 });
    const flat = planProbeInputs([{ name: 'input', dtype: 'float32', shape: ['batch', 256] }]);
    expect(flat.image).toEqual({ layout: 'flat', channels: 1, height: 16, width: 16 });
    expect(planProbeInputs([{ name: 'f', dtype: 'float32', shape: ['batch', 37] }]).primaryKind).toBe('features');
  });

  it('synthesises every input of a stateful audio model (Silero VAD signature)', () => {
    const plan = planProbeInputs([
      { name: 'input', dtype: 'float32', shape: ['batch', 'sequence'] },
      { name: 'sr', dtype: 'int64', shape: [] },
      { name: 'h', dtype: 'float32', shape: [2, 'batch', 64] },
      { name: 'c', dtype: 'float32', shape: [2, 'batch', 64] },
    ], { batch: 3 });
    expect(plan.primaryKind).toBe('audio');
    expect(plan.inputs.map((i) => [i.name, i.role, i.dims])).toEqual([
      ['input', 'primary', [3, 512]],
      ['sr', 'sample-rate', []],
      ['h', 'state', [2, 3, 64]],
      ['c', 'state', [2, 3, 64]],
    ]);
    const runs = synthesizeProbes(plan, { examplesPerKind: 6 });
    expect(runs.map((r) => r.kind)).toEqual(['audio', 'audio', 'noise', 'noise']);
    expect(runs[0].feeds.sr.data).toEqual(new BigInt64Array([BigInt(SAMPLE_RATE)]));
    expect([...tensorValues(runs[0].feeds.h)].every((v) => v === 0)).toBe(true);
    const audio = tensorValues(runs[0].feeds.input);
    expect(Math.max(...audio.map(Math.abs))).toBeLessThan(1.1);
    expect(Math.max(...audio.map(Math.abs))).toBeGreaterThan(0.01);
  });

  it('plans token inputs with masks of ones', () => {
    const plan = planProbeInputs([
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'seq'] },
    ], { batch: 2, sequenceLength: 5 });
    expect(plan.primaryKind).toBe('tokens');
    const [run] = synthesizeProbes(plan, { examplesPerKind: 2 });
    expect(run.feeds.input_ids.dims).toEqual([2, 5]);
    const ids = [...tensorValues(run.feeds.input_ids)];
    expect(ids.every((v) => Number.isInteger(v) && v >= 1 && v < 100)).toBe(true);
    expect([...tensorValues(run.feeds.attention_mask)]).toEqual(new Array(10).fill(1));
  });

  it('refuses inputs it cannot synthesise, with a code', () => {
    expect(() => planProbeInputs([{ name: 's', dtype: 'string', shape: [1] }])).toThrow(ProbePlanError);
    try {
      planProbeInputs([{ name: 'x', dtype: 'float32', shape: [1, 3, 100000, 100000] }]);
      expect.unreachable();
    } catch (e) {
      expect((e as ProbePlanError).code).toBe('input-too-large');
    }
  });
});

describe('synthesizeProbes', () => {
  const plan = planProbeInputs([{ name: 'x', dtype: 'float32', shape: ['N', 3, 'H', 'W'] }], { imageSize: 16, batch: 4 });

  it('is reproducible for a seed and differs between seeds', () => {
    const a = synthesizeProbes(plan, { seed: 1, examplesPerKind: 8 });
    const b = synthesizeProbes(plan, { seed: 1, examplesPerKind: 8 });
    const c = synthesizeProbes(plan, { seed: 2, examplesPerKind: 8 });
    expect(a.length).toBe(6);
    expect(a[0].feeds.x.data).toEqual(b[0].feeds.x.data);
    expect(a[0].feeds.x.data).not.toEqual(c[0].feeds.x.data);
  });

  it('keeps images in [0, 1], normalised images around 0, and images smooth', () => {
    const runs = synthesizeProbes(plan, { seed: 3, examplesPerKind: 4 });
    const img = tensorValues(runs.find((r) => r.kind === 'image')!.feeds.x);
    const norm = tensorValues(runs.find((r) => r.kind === 'image-normalised')!.feeds.x);
    const noise = tensorValues(runs.find((r) => r.kind === 'noise')!.feeds.x);
    expect(Math.min(...img)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...img)).toBeLessThanOrEqual(1);
    expect(Math.min(...norm)).toBeLessThan(0);
    // neighbouring pixels of a smooth picture differ far less than those of uniform noise (E|Δ| = 1/3)
    const meanStep = (v: Float64Array) => {
      let s = 0;
      for (let i = 1; i < 16; i++) s += Math.abs(v[i] - v[i - 1]);
      return s / 15;
    };
    expect(meanStep(img)).toBeLessThan(0.1);
    expect(meanStep(noise)).toBeGreaterThan(0.2);
  });
});

describe('token ids', () => {
  it('stay below the vocabulary the planner is given, from 1 when it allows', () => {
    const sig = [{ name: 'input_ids', dtype: 'int64' as const, shape: ['batch', 'seq'] }];
    const wide = planProbeInputs(sig);
    expect(wide.tokenRange).toEqual([1, 100]);
    const small = planProbeInputs(sig, { vocabSize: 50 });
    expect(small.tokenRange).toEqual([1, 50]);
    for (const run of synthesizeProbes(small, { seed: 3 })) {
      const ids = Array.from(run.feeds.input_ids.data as BigInt64Array, Number);
      expect(Math.max(...ids)).toBeLessThan(50);
    }
    expect(planProbeInputs(sig, { vocabSize: 1 }).tokenRange).toEqual([0, 1]);
  });
});

