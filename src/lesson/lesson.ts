/**
 * The privacy-backdoor lesson end to end, framework-free: pretrain an honest model, plant data traps,
 * fine-tune on the user's drawing, read the drawing back from the weights, and write both models as
 * safetensors for the inspector. Every number comes from the real computation; the UI only shows it.
 */
import { accuracy, createMlp, forward, sgdStep, train, type Batch, type Mlp } from './mlp';
import { plantTraps, retrainAroundTraps, type Trap } from './plant-traps';
import { createRng } from './prng';
import { writeSafetensors } from './safetensors-writer';
import { maxAbsError, maxPreActivation, firingRate, readUnit } from './steal';
import { CLASS_COUNT, makeDataset, OUTPUTS, PIXELS, SPARE_LOGIT } from './synthetic-data';

export const LESSON_CONFIG = {
  hidden: 64,
  pretrain: { samples: 3000, epochs: 4, batchSize: 32, lr: 0.1 },
  /** how many of the 64 hidden units become traps */
  traps: 48,
  /** each trap fires on about 1 in 1000 natural images */
  tailFraction: 0.001,
  /** samples the attacker uses to estimate the distribution of w·x */
  calibrationSamples: 4000,
  /** the trap's single outgoing weight into the spare logit */
  amplification: 10_000,
  /** the attacker's repair training with the traps frozen */
  repair: { epochs: 2, batchSize: 32, lr: 0.1 },
  /** the victim's fine-tuning step: the drawing plus 31 other private images, plain SGD */
  fineTune: { batchSize: 32, lr: 0.5 },
  testSamples: 1000,
  /** fresh natural images used to measure firing rates (never seen by anyone's training) */
  probeSamples: 2000,
  /** a recovered image within this max-abs error of the drawing counts as an exact copy */
  exactTolerance: 1e-4,
  seeds: { data: 1, test: 2, init: 3, order: 4, calibration: 5, traps: 13, repair: 9, privateData: 8, probe: 7 },
} as const;

export type LessonConfig = typeof LESSON_CONFIG;

export interface Pretrained {
  model: Mlp;
  losses: number[];
  testAccuracy: number;
  test: Batch;
  /** the public data it was trained on (the attacker's calibration and repair data come from the same source) */
  data: Batch;
}

export function pretrainModel(cfg: LessonConfig = LESSON_CONFIG): Pretrained {
  const data = makeDataset(cfg.pretrain.samples, createRng(cfg.seeds.data));
  const test = makeDataset(cfg.testSamples, createRng(cfg.seeds.test));
  const init = createMlp(PIXELS, cfg.hidden, OUTPUTS, createRng(cfg.seeds.init));
  const { model, losses } = train(init, data, { ...cfg.pretrain, rng: createRng(cfg.seeds.order) });
  return { model, losses, testAccuracy: accuracy(model, test), test, data };
}

export interface Tampered {
  model: Mlp;
  traps: Trap[];
  testAccuracy: number;
  /** fraction of fresh natural images on which at least one trap fires */
  naturalTrapRate: number;
  /** per trap, fraction of fresh natural images on which it fires */
  trapRates: number[];
}

export function tamperModel(pre: Pretrained, cfg: LessonConfig = LESSON_CONFIG, trapSeed: number = cfg.seeds.traps): Tampered {
  const calibration = makeDataset(cfg.calibrationSamples, createRng(cfg.seeds.calibration));
  const planted = plantTraps(pre.model, calibration, { count: cfg.traps, tailFraction: cfg.tailFraction, amplification: cfg.amplification, spareLogit: SPARE_LOGIT, rng: createRng(trapSeed) });
  const repaired = retrainAroundTraps(planted, pre.data, { ...cfg.repair, rng: createRng(cfg.seeds.repair) });
  const probe = makeDataset(cfg.probeSamples, createRng(cfg.seeds.probe));
  const { pre: acts } = forward(repaired.model, probe.xs, probe.n);
  let any = 0;
  for (let k = 0; k < probe.n; k++) if (repaired.traps.some((t) => acts[k * cfg.hidden + t.unit] > 0)) any++;
  return {
    model: repaired.model,
    traps: repaired.traps,
    testAccuracy: accuracy(repaired.model, pre.test),
    naturalTrapRate: any / probe.n,
    trapRates: repaired.traps.map((t) => firingRate(repaired.model, t.unit, probe.xs, probe.n)),
  };
}

/** The victim's private batch: the drawing first, then other private images the attacker never sees. */
export function privateBatch(drawing: Float32Array, label: number, cfg: LessonConfig = LESSON_CONFIG): Batch {
  const B = cfg.fineTune.batchSize;
  const others = makeDataset(B - 1, createRng(cfg.seeds.privateData));
  const xs = new Float32Array(B * PIXELS);
  xs.set(drawing, 0);
  xs.set(others.xs, PIXELS);
  const ys = new Int32Array(B);
  ys[0] = label;
  ys.set(others.ys, 1);
  return { n: B, xs, ys };
}

export function fineTune(model: Mlp, batch: Batch, cfg: LessonConfig = LESSON_CONFIG): { model: Mlp; loss: number } {
  return sgdStep(model, batch, cfg.fineTune.lr);
}

/** The class the model predicts for one image. */
export function classify(model: Mlp, x: Float32Array): { label: number; probs: number[] } {
  const { probs } = forward(model, x, 1);
  let best = 0;
  for (let c = 1; c < model.outputs; c++) if (probs[c] > probs[best]) best = c;
  return { label: best, probs: Array.from(probs) };
}

export interface Capture {
  unit: number;
  /** Δw / Δb: what the attacker reads from this unit */
  image: Float64Array;
  deltaBias: number;
  /** max |recovered − drawing| over the pixels */
  errorVsDrawing: number;
  /** the largest pre-activation the unit can reach on any image with pixels in [0, 1], after the step */
  maxPreActivationAfter: number;
  /** fraction of fresh natural images that fire it, before and after the step */
  rateBefore: number;
  rateAfter: number;
  /** does the drawing itself still fire it after the step */
  firesOnDrawingAfter: boolean;
}

export interface Theft {
  /** every trap whose bias moved: everything the attacker got from this fine-tuning step */
  captures: Capture[];
  /** the capture closest to the drawing (what we show the user), or null when no trap fired on it */
  drawingCapture: Capture | null;
  /** the clean model, stepped on the same batch: its unit whose Δw/Δb is closest to the drawing */
  cleanBest: { unit: number; image: Float64Array; error: number } | null;
}

/** The attacker's read-out over the trap units, plus the same read-out over every unit of the clean model. */
export function stealDrawing(
  trapped: { before: Mlp; after: Mlp; traps: readonly Trap[] },
  clean: { before: Mlp; after: Mlp },
  drawing: Float32Array,
  cfg: LessonConfig = LESSON_CONFIG,
): Theft {
  const probe = makeDataset(cfg.probeSamples, createRng(cfg.seeds.probe));
  const captures: Capture[] = [];
  for (const t of trapped.traps) {
    const r = readUnit(trapped.before, trapped.after, t.unit);
    if (!r.image) continue;
    const err = maxAbsError(r.image, drawing);
    captures.push({
      unit: t.unit,
      image: r.image,
      deltaBias: r.deltaBias,
      errorVsDrawing: err,
      maxPreActivationAfter: maxPreActivation(trapped.after, t.unit, 0, 1),
      rateBefore: firingRate(trapped.before, t.unit, probe.xs, probe.n),
      rateAfter: firingRate(trapped.after, t.unit, probe.xs, probe.n),
      firesOnDrawingAfter: firingRate(trapped.after, t.unit, drawing, 1) > 0,
    });
  }
  const best = captures.reduce<Capture | null>((b, c) => (b === null || c.errorVsDrawing < b.errorVsDrawing ? c : b), null);
  let cleanBest: Theft['cleanBest'] = null;
  for (let j = 0; j < clean.before.hidden; j++) {
    const r = readUnit(clean.before, clean.after, j);
    if (!r.image) continue;
    const error = maxAbsError(r.image, drawing);
    if (!cleanBest || error < cleanBest.error) cleanBest = { unit: j, image: r.image, error };
  }
  return { captures, drawingCapture: best && best.errorVsDrawing < 0.05 ? best : null, cleanBest };
}

/** The model as a PyTorch user would download it: fc1/fc2 weights and biases, float32 safetensors. */
export function modelToSafetensors(m: Mlp, metadata: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(
    [
      { name: 'fc1.weight', shape: [m.hidden, m.inputs], data: m.w1 },
      { name: 'fc1.bias', shape: [m.hidden], data: m.b1 },
      { name: 'fc2.weight', shape: [m.outputs, m.hidden], data: m.w2 },
      { name: 'fc2.bias', shape: [m.outputs], data: m.b2 },
    ],
    { format: 'pt', ...metadata },
  );
}

/** ‖w_j‖ for every hidden unit: the strip the lesson draws to show the first layer. */
export function rowNorms(m: Mlp): Float64Array {
  const out = new Float64Array(m.hidden);
  for (let j = 0; j < m.hidden; j++) {
    let s = 0;
    for (let i = 0; i < m.inputs; i++) s += m.w1[j * m.inputs + i] ** 2;
    out[j] = Math.sqrt(s);
  }
  return out;
}

export { CLASS_COUNT };
