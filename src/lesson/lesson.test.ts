import { beforeAll, describe, expect, it } from 'vitest';
import { classify, fineTune, LESSON_CONFIG, pretrainModel, privateBatch, stealDrawing, tamperModel, type Pretrained, type Tampered } from './lesson';
import { forward } from './mlp';
import { PRESET_DRAWINGS, presetPixels } from './presets';
import { createRng } from './prng';
import { maxAbsError, maxPreActivation, readUnit } from './steal';
import { drawShape, makeDataset, SPARE_LOGIT } from './synthetic-data';

const cfg = LESSON_CONFIG;
let pre: Pretrained;
let tam: Tampered;

beforeAll(() => {
  pre = pretrainModel();
  tam = tamperModel(pre);
}, 120_000);

function stepBoth(x: Float32Array) {
  const batch = privateBatch(x, classify(pre.model, x).label);
  const trappedAfter = fineTune(tam.model, batch).model;
  const cleanAfter = fineTune(pre.model, batch).model;
  return { batch, trappedAfter, cleanAfter, theft: stealDrawing({ before: tam.model, after: trappedAfter, traps: tam.traps }, { before: pre.model, after: cleanAfter }, x) };
}

describe('the pretrained model', () => {
  it('learns the synthetic task and never predicts the spare class', () => {
    expect(pre.losses[pre.losses.length - 1]).toBeLessThan(pre.losses[0] / 3);
    expect(pre.testAccuracy).toBeGreaterThan(0.9);
    const { probs } = forward(pre.model, pre.test.xs, 200);
    for (let k = 0; k < 200; k++) expect(probs[k * 10 + SPARE_LOGIT]).toBeLessThan(0.05);
  });
});

describe('planting data traps', () => {
  it('makes k unit-norm random rows whose only outgoing weight is the amplifier into the spare logit', () => {
    const { model: m, traps } = tam;
    expect(traps).toHaveLength(cfg.traps);
    expect(new Set(traps.map((t) => t.unit)).size).toBe(cfg.traps);
    for (const t of traps) {
      let norm = 0;
      for (let i = 0; i < m.inputs; i++) norm += m.w1[t.unit * m.inputs + i] ** 2;
      expect(Math.sqrt(norm)).toBeCloseTo(1, 5);
      expect(m.b1[t.unit]).toBeCloseTo(-t.threshold, 5);
      for (let c = 0; c < m.outputs; c++) expect(m.w2[c * m.hidden + t.unit]).toBe(c === SPARE_LOGIT ? cfg.amplification : 0);
    }
  });

  it('traps stay silent on natural images: each fires on about 1 in 1000, the model keeps most of its accuracy', () => {
    for (const t of tam.traps) expect(t.calibrationRate).toBeLessThanOrEqual(cfg.tailFraction + 1e-9);
    // fresh natural images, never seen by the attacker
    for (const r of tam.trapRates) expect(r).toBeLessThan(0.005);
    expect(tam.trapRates.reduce((a, b) => a + b, 0) / tam.trapRates.length).toBeLessThan(0.0025);
    expect(tam.naturalTrapRate).toBeLessThan(0.07);
    expect(tam.testAccuracy).toBeGreaterThan(0.8);
    expect(tam.testAccuracy).toBeLessThan(pre.testAccuracy);
  });
});

describe('one fine-tuning step leaks the drawing through a trap', () => {
  for (const p of PRESET_DRAWINGS) {
    it(`recovers the "${p.id}" drawing exactly from the weights before and after, and the trap is dead`, () => {
      const x = presetPixels(p);
      const { theft, trappedAfter, batch } = stepBoth(x);
      const cap = theft.drawingCapture;
      expect(cap).not.toBeNull();
      expect(cap!.errorVsDrawing).toBeLessThan(1e-4);
      // recomputed independently from the raw weights
      const r = readUnit(tam.model, trappedAfter, cap!.unit);
      expect(maxAbsError(r.image!, x)).toBeLessThan(1e-4);
      // the trap fired on the drawing alone in its batch (a second image would blend into the read-out)
      const { pre: acts } = forward(tam.model, batch.xs, batch.n);
      const firedOn = Array.from({ length: batch.n }, (_, k) => k).filter((k) => acts[k * tam.model.hidden + cap!.unit] > 0);
      expect(firedOn).toEqual([0]);
      // amplified: p(spare) ≈ 1, so Δb = −η·A·p/B ≈ −0.5·10000/32
      expect(cap!.deltaBias).toBeCloseTo((-cfg.fineTune.lr * cfg.amplification) / cfg.fineTune.batchSize, 0);
      // dead: no 16×16 image with pixels in [0, 1] can make it fire again
      expect(cap!.maxPreActivationAfter).toBeLessThan(0);
      expect(maxPreActivation(trappedAfter, cap!.unit, 0, 1)).toBe(cap!.maxPreActivationAfter);
      expect(cap!.rateAfter).toBe(0);
      expect(cap!.firesOnDrawingAfter).toBe(false);
    });
  }

  it('the honest model, stepped on the same batch, holds no copy of the drawing in any unit', () => {
    for (const p of PRESET_DRAWINGS) {
      const { theft } = stepBoth(presetPixels(p));
      expect(theft.cleanBest).not.toBeNull();
      expect(theft.cleanBest!.error).toBeGreaterThan(0.1);
    }
  });

  it('the other traps that fired in the same step hold exact copies of images of the private batch', () => {
    const x = presetPixels(PRESET_DRAWINGS[0]);
    const { theft, batch } = stepBoth(x);
    const matched = theft.captures.map((c) => {
      const errs = Array.from({ length: batch.n }, (_, k) => maxAbsError(c.image, batch.xs.subarray(k * 256, k * 256 + 256)));
      const best = Math.min(...errs);
      return best < 1e-4 ? errs.indexOf(best) : -1;
    });
    // several traps caught the drawing (index 0); at least one caught another private image
    expect(matched.filter((k) => k === 0).length).toBeGreaterThanOrEqual(1);
    expect(matched.some((k) => k > 0)).toBe(true);
  });

  it('catches a natural-looking image only when it lands on a trap tail (rarely)', () => {
    let caught = 0;
    const N = 20;
    for (let s = 0; s < N; s++) {
      const rng = createRng(5000 + s);
      const x = drawShape(rng.int(9), rng);
      if (stepBoth(x).theft.drawingCapture) caught++;
    }
    expect(caught / N).toBeLessThan(0.25);
  });

  it('calibration uses data apart from the test and probe sets', () => {
    const a = makeDataset(2, createRng(cfg.seeds.calibration));
    const b = makeDataset(2, createRng(cfg.seeds.probe));
    expect(maxAbsError(a.xs, b.xs)).toBeGreaterThan(0.1);
  });
});
