import { PROBE_BATCH, PROBE_EXAMPLES_PER_KIND, PROBE_MAX_INPUT_ELEMENTS } from '../io/limits';
import { allocateTensor, isProbeDType, numberToHalfBits, type ProbeDType, type ProbeTensor, type SessionValue } from './backend';
import { Prng } from './prng';

/**
 * Probe inputs synthesised from a model's signature alone: every declared input gets a tensor of its
 * dtype and shape, symbolic dims resolved to small sizes, all values from a seeded PRNG so a run is
 * reproducible. The "primary" input (the largest float or id input) carries the probe content; the
 * others get neutral values (recurrent state zeros, masks ones, a sample rate 16 kHz).
 */

export type ProbeKind = 'image' | 'image-normalised' | 'audio' | 'tokens' | 'features' | 'noise';

/** What the primary input looks like. */
export type PrimaryKind = 'image' | 'audio' | 'tokens' | 'features';

export type InputRole = 'primary' | 'state' | 'sample-rate' | 'mask' | 'type-ids' | 'position-ids' | 'ids' | 'other';

export interface InputPlan {
  name: string;
  dtype: ProbeDType;
  /** dims with every symbolic dim resolved; the batch axis holds the examples of one run */
  dims: number[];
  batchAxis: number | null;
  role: InputRole;
}

export interface ImageLayout {
  layout: 'nchw' | 'nhwc' | 'flat';
  channels: number;
  height: number;
  width: number;
}

export interface ProbePlan {
  inputs: InputPlan[];
  primary: string;
  primaryKind: PrimaryKind;
  image: ImageLayout | null;
  /** examples per run */
  batch: number;
  kinds: ProbeKind[];
  /** token ids are drawn from [lo, hi) */
  tokenRange: [number, number];
}

export interface ProbeRun {
  kind: ProbeKind;
  /** natural-looking content (activation rates are judged on these); noise is not */
  natural: boolean;
  feeds: Record<string, ProbeTensor>;
  examples: number;
}

export interface SynthesisOptions {
  seed?: number;
  examplesPerKind?: number;
  batch?: number;
  /** side of a symbolic image dim */
  imageSize?: number;
  /** samples of a symbolic audio dim (16 kHz) */
  audioSamples?: number;
  /** tokens of a symbolic sequence dim */
  sequenceLength?: number;
  /** rows of the smallest embedding table the token input indexes: token ids stay below it */
  vocabSize?: number;
}

export class ProbePlanError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ProbePlanError';
    this.code = code;
  }
}

export const SAMPLE_RATE = 16_000;
const TOKEN_VOCAB: [number, number] = [1, 100];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

const isFloat = (d: ProbeDType) => d === 'float32' || d === 'float16' || d === 'float64';
const isInt = (d: ProbeDType) => d === 'int64' || d === 'int32';
const isSym = (d: number | string | null): boolean => typeof d !== 'number' || d < 0;

function roleByName(name: string, dtype: ProbeDType): InputRole | null {
  const n = name.toLowerCase();
  if (isInt(dtype) && /(^|[_.])(sr|sample_?rate|sampling_?rate)$/.test(n)) return 'sample-rate';
  if (/attention_mask|(^|_)mask$/.test(n)) return 'mask';
  if (/token_type_ids|segment_ids/.test(n)) return 'type-ids';
  if (/position_ids/.test(n)) return 'position-ids';
  if (/(^|[_.])(h|c|h0|c0|state|hidden|cell|cache)([_.]|$)|past_key|past_value|^past/.test(n)) return 'state';
  return null;
}

function looksLikeImage(shape: (number | string | null)[]): ImageLayout | null {
  if (shape.length !== 4) return null;
  const ch1 = shape[1];
  const ch3 = shape[3];
  if (typeof ch1 === 'number' && (ch1 === 1 || ch1 === 3) && !(typeof ch3 === 'number' && (ch3 === 1 || ch3 === 3))) return { layout: 'nchw', channels: ch1, height: 0, width: 0 };
  if (typeof ch3 === 'number' && (ch3 === 1 || ch3 === 3)) return { layout: 'nhwc', channels: ch3, height: 0, width: 0 };
  return null;
}

/** A flat feature vector of s² or 3s² values is taken to be a flattened image (MNIST-style MLPs). */
function flatImage(d: number): ImageLayout | null {
  for (const c of [1, 3]) {
    const s = Math.round(Math.sqrt(d / c));
    if (s >= 4 && s * s * c === d) return { layout: 'flat', channels: c, height: s, width: s };
  }
  return null;
}

export function planProbeInputs(signature: readonly SessionValue[], options: SynthesisOptions = {}): ProbePlan {
  const imageSize = options.imageSize ?? 64;
  const audioSamples = options.audioSamples ?? 512;
  const seqLen = options.sequenceLength ?? 16;
  const wantBatch = Math.max(1, options.batch ?? PROBE_BATCH);
  if (signature.length === 0) throw new ProbePlanError('no-inputs', 'the model declares no inputs');
  for (const v of signature) {
    if (!isProbeDType(v.dtype)) throw new ProbePlanError('unsupported-input', `input "${v.name}" has type ${v.dtype}, which the probes cannot synthesise`);
    if (v.shape === null) throw new ProbePlanError('unknown-rank', `input "${v.name}" has no declared shape`);
  }
  const sig = signature as (SessionValue & { dtype: ProbeDType; shape: (number | string | null)[] })[];
  // The primary input: the one with the most elements (symbolic dims counted as large) that is not a
  // named state/mask/rate input.
  const weight = (v: (typeof sig)[number]) => v.shape.reduce<number>((a, d) => a * (isSym(d) ? 64 : Math.max(1, d as number)), 1);
  const candidates = sig.filter((v) => (isFloat(v.dtype) || isInt(v.dtype)) && roleByName(v.name, v.dtype) === null);
  const pool = candidates.length ? candidates : sig.filter((v) => isFloat(v.dtype) || isInt(v.dtype));
  if (pool.length === 0) throw new ProbePlanError('unsupported-input', 'no float or integer input to carry probe content');
  const primary = pool.reduce((a, b) => (weight(b) > weight(a) ? b : a));

  let primaryKind: PrimaryKind;
  let image: ImageLayout | null = null;
  const pShape = primary.shape;
  const symLast = pShape.length > 0 && isSym(pShape[pShape.length - 1]);
  if (isInt(primary.dtype)) primaryKind = 'tokens';
  else if ((image = looksLikeImage(pShape))) primaryKind = 'image';
  else if (pShape.length >= 1 && pShape.length <= 3 && symLast) primaryKind = 'audio';
  else if (pShape.length >= 1 && !symLast && (image = flatImage(pShape[pShape.length - 1] as number))) primaryKind = 'image';
  else primaryKind = 'features';

  // Batch: a symbolic leading dim of a rank ≥ 2 primary input; its name resolves the same dim elsewhere.
  const batchParam = pShape.length >= 2 && isSym(pShape[0]) ? (pShape[0] ?? '') : null;
  const perExample = pShape.slice(batchParam !== null || pShape.length >= 2 ? 1 : 0).reduce<number>((a, d, i) => {
    if (!isSym(d)) return a * (d as number);
    if (primaryKind === 'image') return a * imageSize;
    if (primaryKind === 'audio' && i === pShape.length - 2) return a * audioSamples;
    return a * seqLen;
  }, 1);
  let batch = batchParam !== null ? wantBatch : typeof pShape[0] === 'number' && pShape.length >= 2 ? (pShape[0] as number) : 1;
  while (batch > 1 && perExample * batch > PROBE_MAX_INPUT_ELEMENTS) batch = Math.max(1, Math.floor(batch / 2));
  if (perExample * batch > PROBE_MAX_INPUT_ELEMENTS) throw new ProbePlanError('input-too-large', `input "${primary.name}" needs ${perExample} elements per example, over the ${PROBE_MAX_INPUT_ELEMENTS} limit`);

  const resolved = new Map<string, number>();
  if (batchParam !== null && typeof batchParam === 'string' && batchParam) resolved.set(batchParam, batch);
  const inputs: InputPlan[] = sig.map((v) => {
    const isPrimary = v === primary;
    const role: InputRole = isPrimary ? 'primary' : (roleByName(v.name, v.dtype) ?? (isInt(v.dtype) ? 'ids' : isFloat(v.dtype) ? 'state' : 'other'));
    let batchAxis: number | null = null;
    const dims = v.shape.map((d, axis) => {
      if (!isSym(d)) return d as number;
      if (typeof d === 'string' && d && resolved.has(d)) {
        if (resolved.get(d) === batch && d === batchParam) batchAxis = axis;
        return resolved.get(d)!;
      }
      let size: number;
      if (isPrimary && axis === 0 && batchParam !== null) {
        size = batch;
        batchAxis = 0;
      } else if (isPrimary && primaryKind === 'image') size = imageSize;
      else if (isPrimary && primaryKind === 'audio') size = audioSamples;
      else if (primaryKind === 'tokens' && (role === 'mask' || role === 'type-ids' || role === 'position-ids' || role === 'ids' || isPrimary)) size = axis === 0 && batchParam !== null ? batch : seqLen;
      else size = 1;
      if (typeof d === 'string' && d) resolved.set(d, size);
      return size;
    });
    if (isPrimary && batchAxis === null && v.shape.length >= 2 && typeof v.shape[0] === 'number') batchAxis = 0;
    return { name: v.name, dtype: v.dtype, dims, batchAxis, role };
  });
  // The primary's leading dim may have resolved through another input's identically named dim.
  const primaryPlan = inputs.find((i) => i.role === 'primary')!;
  if (primaryKind === 'image' && image && image.layout !== 'flat') {
    const d = primaryPlan.dims;
    image = image.layout === 'nchw' ? { ...image, height: d[2], width: d[3] } : { ...image, height: d[1], width: d[2] };
  }
  for (const i of inputs) {
    const n = i.dims.reduce((a, b) => a * b, 1);
    if (n > PROBE_MAX_INPUT_ELEMENTS) throw new ProbePlanError('input-too-large', `input "${i.name}" needs ${n} elements, over the ${PROBE_MAX_INPUT_ELEMENTS} limit`);
  }
  const kinds: ProbeKind[] =
    primaryKind === 'image' ? ['image', 'image-normalised', 'noise'] : primaryKind === 'audio' ? ['audio', 'noise'] : primaryKind === 'tokens' ? ['tokens'] : ['features', 'noise'];
  // token ids from 1 (0 is often padding) below 100, but never past the embedding table they index
  const vocab = options.vocabSize !== undefined && options.vocabSize >= 1 ? options.vocabSize : Infinity;
  const tokenRange: [number, number] = [Math.min(TOKEN_VOCAB[0], vocab - 1), Math.min(TOKEN_VOCAB[1], vocab)];
  return { inputs, primary: primary.name, primaryKind, image, batch: primaryPlan.batchAxis !== null ? primaryPlan.dims[primaryPlan.batchAxis] : 1, kinds, tokenRange };
}

// ---------- content generators (one example each, values in [0, 1] unless noted) ----------

/** Smooth blobs of random colour over a gradient, CHW, in [0, 1]. */
export function imageExample(rng: Prng, channels: number, height: number, width: number): Float32Array {
  const out = new Float32Array(channels * height * width);
  const angle = rng.uniform(0, 2 * Math.PI);
  const gAmp = rng.uniform(0.05, 0.5);
  const base = Array.from({ length: channels }, () => rng.uniform(0, 0.3));
  const blobs = Array.from({ length: rng.int(1, 5) }, () => ({
    cy: rng.uniform(0, height),
    cx: rng.uniform(0, width),
    s: Math.max(0.5, rng.uniform(0.05, 0.25) * Math.min(height, width)),
    colour: Array.from({ length: channels }, () => rng.uniform(0.2, 1)),
  }));
  const ca = Math.cos(angle) / Math.max(1, width);
  const sa = Math.sin(angle) / Math.max(1, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = gAmp * ((ca * x + sa * y) * 0.5 + 0.5);
      const per: number[] = new Array(channels).fill(0);
      for (const b of blobs) {
        const e = Math.exp(-((y - b.cy) ** 2 + (x - b.cx) ** 2) / (2 * b.s * b.s));
        for (let c = 0; c < channels; c++) per[c] += b.colour[c] * e;
      }
      for (let c = 0; c < channels; c++) {
        const v = base[c] + g + per[c] + 0.02 * (rng.next() - 0.5);
        out[(c * height + y) * width + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

/** Sines of random pitch plus a little noise, 16 kHz, amplitude well inside [-1, 1]. */
export function audioExample(rng: Prng, samples: number): Float32Array {
  const out = new Float32Array(samples);
  const tones = Array.from({ length: rng.int(1, 4) }, () => ({ f: rng.uniform(80, 4000), a: rng.uniform(0.05, 0.3), p: rng.uniform(0, 2 * Math.PI) }));
  const noise = rng.uniform(0.001, 0.02);
  for (let i = 0; i < samples; i++) {
    let v = 0;
    for (const t of tones) v += t.a * Math.sin((2 * Math.PI * t.f * i) / SAMPLE_RATE + t.p);
    out[i] = v + noise * rng.normal();
  }
  return out;
}

/** A smooth random walk in [0, 1]: natural-ish values for a feature vector of unknown meaning. */
export function featuresExample(rng: Prng, n: number): Float32Array {
  const out = new Float32Array(n);
  let v = rng.next();
  for (let i = 0; i < n; i++) {
    v = Math.min(1, Math.max(0, v + 0.1 * rng.normal()));
    out[i] = v;
  }
  return out;
}

function writeValues(t: ProbeTensor, at: number, values: ArrayLike<number>): void {
  const d = t.data;
  if (t.dtype === 'float16') for (let i = 0; i < values.length; i++) (d as Uint16Array)[at + i] = numberToHalfBits(values[i]);
  else if (d instanceof BigInt64Array || d instanceof BigUint64Array) for (let i = 0; i < values.length; i++) d[at + i] = BigInt(Math.round(values[i]));
  else for (let i = 0; i < values.length; i++) (d as Float32Array)[at + i] = values[i];
}

/** Copies one example into slot `e` of the batch axis (axis 0, or a later axis for state tensors). */
function writeExample(t: ProbeTensor, batchAxis: number | null, e: number, values: ArrayLike<number>): void {
  if (batchAxis === null || batchAxis === 0) {
    writeValues(t, e * values.length, values);
    return;
  }
  const outer = t.dims.slice(0, batchAxis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(batchAxis + 1).reduce((a, b) => a * b, 1);
  const b = t.dims[batchAxis];
  for (let o = 0; o < outer; o++) writeValues(t, (o * b + e) * inner, Array.prototype.slice.call(values, o * inner, (o + 1) * inner));
}

function toLayout(chw: Float32Array, img: ImageLayout, normalise: boolean): Float32Array {
  const { channels: C, height: H, width: W } = img;
  const out = new Float32Array(chw.length);
  for (let c = 0; c < C; c++) {
    const mean = normalise ? (C === 3 ? IMAGENET_MEAN[c] : 0.5) : 0;
    const std = normalise ? (C === 3 ? IMAGENET_STD[c] : 0.5) : 1;
    for (let i = 0; i < H * W; i++) {
      const v = (chw[c * H * W + i] - mean) / std;
      if (img.layout === 'nhwc') out[i * C + c] = v;
      else out[c * H * W + i] = v;
    }
  }
  return out;
}

/** One example of the primary input for `kind`, laid out as the input wants it (without the batch dim). */
export function primaryExample(rng: Prng, plan: ProbePlan, kind: ProbeKind, elements: number): Float32Array {
  if ((kind === 'image' || kind === 'image-normalised') && plan.image) {
    const img = plan.image;
    return toLayout(imageExample(rng, img.channels, img.height, img.width), img, kind === 'image-normalised');
  }
  if (kind === 'audio') return audioExample(rng, elements);
  if (kind === 'features') return featuresExample(rng, elements);
  if (kind === 'tokens') return Float32Array.from({ length: elements }, () => rng.int(plan.tokenRange[0], plan.tokenRange[1]));
  if (plan.primaryKind === 'audio') return Float32Array.from({ length: elements }, () => rng.uniform(-1, 1));
  return Float32Array.from({ length: elements }, () => rng.next());
}

function fillNeutral(t: ProbeTensor, plan: InputPlan): void {
  const n = t.data.length;
  if (plan.role === 'sample-rate') writeValues(t, 0, new Array(n).fill(SAMPLE_RATE));
  else if (plan.role === 'mask') writeValues(t, 0, new Array(n).fill(1));
  else if (plan.role === 'position-ids') {
    const len = t.dims[t.dims.length - 1] || 1;
    writeValues(t, 0, Array.from({ length: n }, (_, i) => i % len));
  } else if (plan.role === 'ids' && plan.dtype !== 'bool') writeValues(t, 0, new Array(n).fill(1));
  // state, type ids, bool flags and anything else: zeros (already)
}

/** Builds the probe runs of every kind the plan names, from one seed. */
export function synthesizeProbes(plan: ProbePlan, options: SynthesisOptions = {}): ProbeRun[] {
  const seed = options.seed ?? 0x7a3b;
  const perKind = Math.max(1, options.examplesPerKind ?? PROBE_EXAMPLES_PER_KIND);
  const runs: ProbeRun[] = [];
  const primaryPlan = plan.inputs.find((i) => i.role === 'primary')!;
  const exampleElements = primaryPlan.dims.reduce((a, b) => a * b, 1) / plan.batch;
  plan.kinds.forEach((kind, k) => {
    const rng = new Prng(seed ^ Math.imul(k + 1, 0x9e3779b1));
    for (let done = 0; done < perKind; done += plan.batch) {
      const feeds: Record<string, ProbeTensor> = {};
      for (const ip of plan.inputs) {
        const t = allocateTensor(ip.dtype, ip.dims);
        if (ip.role === 'primary') for (let e = 0; e < plan.batch; e++) writeExample(t, ip.batchAxis, e, primaryExample(rng, plan, kind, exampleElements));
        else fillNeutral(t, ip);
        feeds[ip.name] = t;
      }
      runs.push({ kind, natural: kind !== 'noise', feeds, examples: plan.batch });
    }
  });
  return runs;
}

/** Feeds whose primary input holds exactly the given examples (each already laid out), neutral elsewhere. */
export function feedsFromExamples(plan: ProbePlan, examples: readonly Float32Array[]): Record<string, ProbeTensor> {
  const feeds: Record<string, ProbeTensor> = {};
  for (const ip of plan.inputs) {
    const t = allocateTensor(ip.dtype, ip.dims);
    if (ip.role === 'primary') examples.slice(0, plan.batch).forEach((x, e) => writeExample(t, ip.batchAxis, e, x));
    else fillNeutral(t, ip);
    feeds[ip.name] = t;
  }
  return feeds;
}
