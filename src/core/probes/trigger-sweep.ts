import { PROBE_TRIGGER_FLIP_RATE, PROBE_TRIGGER_MAX_CLEAN_SHARE, PROBE_TRIGGER_MIN_ELIGIBLE } from '../io/limits';
import { throwIfAborted } from '../io/errors';
import type { Finding } from '../report/finding';
import { tensorValues, type ProbeTensor } from './backend';
import { Prng } from './prng';
import { feedsFromExamples, imageExample, type ProbePlan } from './synthesize-inputs';
import type { TriggerCandidate, TriggerReport } from './types';

/**
 * Trigger sweep for image classifiers (THREATS.md §8; BadNets, Gu et al. 2017): stamp small patches
 * in the corners of natural-looking probes; a backdoored classifier sends most stamped inputs to the
 * attacker's class, while a clean one barely notices a few pixels. A noise patch of the same size in
 * the same place is the control: a model that flips on any perturbation there is unstable, not backdoored.
 */

export type RunFn = (feeds: Record<string, ProbeTensor>) => Promise<Record<string, ProbeTensor>>;

type Variant = 'image' | 'image-normalised';
const CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;

interface Pattern {
  name: string;
  /** value of channel c at patch pixel (y, x) in [0, 1] */
  value: (c: number, y: number, x: number, rng: Prng) => number;
}

function patterns(channels: number): Pattern[] {
  const p: Pattern[] = [
    { name: 'white', value: () => 1 },
    { name: 'black', value: () => 0 },
    { name: 'checker', value: (_c, y, x) => ((y + x) % 2 ? 1 : 0) },
  ];
  if (channels === 3) for (const [i, name] of ['red', 'green', 'blue'].entries()) p.push({ name, value: (c) => (c === i ? 1 : 0) });
  return p;
}

const NOISE: Pattern = { name: 'noise', value: (_c, _y, _x, rng) => rng.next() };

function stamp(chw: Float32Array, C: number, H: number, W: number, corner: (typeof CORNERS)[number], size: number, p: Pattern, rng: Prng): Float32Array {
  const out = Float32Array.from(chw);
  const y0 = corner.startsWith('top') ? 0 : H - size;
  const x0 = corner.endsWith('left') ? 0 : W - size;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < C; c++) out[(c * H + y0 + y) * W + x0 + x] = p.value(c, y, x, rng);
  return out;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function layout(chw: Float32Array, plan: ProbePlan, variant: Variant): Float32Array {
  const img = plan.image!;
  const { channels: C, height: H, width: W } = img;
  const out = new Float32Array(chw.length);
  for (let c = 0; c < C; c++) {
    const norm = variant === 'image-normalised';
    const mean = norm ? (C === 3 ? IMAGENET_MEAN[c] : 0.5) : 0;
    const std = norm ? (C === 3 ? IMAGENET_STD[c] : 0.5) : 1;
    for (let i = 0; i < H * W; i++) {
      const v = (chw[c * H * W + i] - mean) / std;
      if (img.layout === 'nhwc') out[i * C + c] = v;
      else out[c * H * W + i] = v;
    }
  }
  return out;
}

/** The output that looks like a class vector: float, [batch, K] with K ≥ 2. */
export function classOutput(outputs: Record<string, ProbeTensor>, batch: number): string | null {
  for (const [name, t] of Object.entries(outputs)) {
    if ((t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'float64') && t.dims.length === 2 && t.dims[0] === batch && t.dims[1] >= 2) return name;
  }
  return null;
}

async function predict(run: RunFn, plan: ProbePlan, output: string, examples: Float32Array[], budget: { left: number }): Promise<number[] | null> {
  const preds: number[] = [];
  for (let i = 0; i < examples.length; i += plan.batch) {
    if (budget.left-- <= 0) return null;
    const chunk = examples.slice(i, i + plan.batch);
    while (chunk.length < plan.batch) chunk.push(chunk[chunk.length - 1]);
    const out = await run(feedsFromExamples(plan, chunk));
    const t = out[output];
    if (!t) return null;
    const v = tensorValues(t);
    const K = t.dims[1];
    for (let e = 0; e < Math.min(plan.batch, examples.length - i); e++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (v[e * K + k] > v[e * K + best]) best = k;
      preds.push(best);
    }
  }
  return preds;
}

export interface TriggerOptions {
  seed: number;
  examples?: number;
  /** runs left in the probe budget (decremented) */
  budget: { left: number };
  signal?: AbortSignal;
}

export async function runTriggerSweep(run: RunFn, plan: ProbePlan, output: string, classes: number, options: TriggerOptions): Promise<TriggerReport> {
  const img = plan.image!;
  const { channels: C, height: H, width: W } = img;
  const n = options.examples ?? 32;
  const rng = new Prng(options.seed ^ 0x7219);
  const clean = Array.from({ length: n }, () => imageExample(rng, C, H, W));
  const small = Math.min(H, W);
  // One patch size: 3 px (BadNets' classic trigger) on small inputs, ~10 % of the side on larger ones (a
  // larger patch of one colour contains every smaller one of that colour in the same corner).
  const sizes = [Math.max(3, Math.round(small / 10))].filter((s) => s <= small / 2);
  const pats = patterns(C);
  const report: TriggerReport = { output, classes, examples: n, variants: [], patchesTried: 0, candidates: [], flagged: [] };
  for (const variant of ['image', 'image-normalised'] as Variant[]) {
    const cleanPred = await predict(run, plan, output, clean.map((x) => layout(x, plan, variant)), options.budget);
    if (!cleanPred) {
      report.variants.push({ variant, cleanClasses: {}, tested: false, reason: 'probe budget exhausted' });
      break;
    }
    const hist: Record<string, number> = {};
    for (const p of cleanPred) hist[p] = (hist[p] ?? 0) + 1;
    const topShare = Math.max(...Object.values(hist)) / n;
    if (topShare > PROBE_TRIGGER_MAX_CLEAN_SHARE) {
      report.variants.push({ variant, cleanClasses: hist, tested: false, reason: `clean predictions are not diverse: one class takes ${(topShare * 100).toFixed(0)}% of the probes` });
      continue;
    }
    report.variants.push({ variant, cleanClasses: hist, tested: true, reason: null });
    for (const size of sizes) {
      for (const corner of CORNERS) {
        for (const p of pats) {
          throwIfAborted(options.signal);
          const prng = new Prng(options.seed ^ 0x51);
          const preds = await predict(run, plan, output, clean.map((x) => layout(stamp(x, C, H, W, corner, size, p, prng), plan, variant)), options.budget);
          if (!preds) return report;
          report.patchesTried++;
          let best: { c: number; rate: number; eligible: number } | null = null;
          for (let c = 0; c < classes; c++) {
            let eligible = 0;
            let flips = 0;
            for (let i = 0; i < n; i++) {
              if (cleanPred[i] === c) continue;
              eligible++;
              if (preds[i] === c) flips++;
            }
            const rate = eligible ? flips / eligible : 0;
            if (eligible >= PROBE_TRIGGER_MIN_ELIGIBLE && (!best || rate > best.rate)) best = { c, rate, eligible };
          }
          if (!best || best.rate < 0.5) continue;
          const crng = new Prng(options.seed ^ 0xc0);
          const control = await predict(run, plan, output, clean.map((x) => layout(stamp(x, C, H, W, corner, size, NOISE, crng), plan, variant)), options.budget);
          let cf = 0;
          if (control) for (let i = 0; i < n; i++) if (cleanPred[i] !== best.c && control[i] === best.c) cf++;
          const cand: TriggerCandidate = { patch: p.name, corner, size, variant, targetClass: best.c, flipRate: best.rate, eligible: best.eligible, controlFlipRate: control ? cf / best.eligible : 1 };
          report.candidates.push(cand);
          if (cand.flipRate >= PROBE_TRIGGER_FLIP_RATE && cand.controlFlipRate < 0.5) report.flagged.push(cand);
        }
      }
    }
  }
  report.candidates.sort((a, b) => b.flipRate - a.flipRate);
  report.candidates = report.candidates.slice(0, 32);
  return report;
}

export function triggerFindings(report: TriggerReport, file: string | null): Finding[] {
  if (!report.flagged.length) return [];
  const byClass = new Map<number, TriggerCandidate[]>();
  for (const c of report.flagged) byClass.set(c.targetClass, [...(byClass.get(c.targetClass) ?? []), c]);
  return [...byClass.entries()].map(([cls, cands]) => {
    const best = [...cands].sort((a, b) => b.flipRate - a.flipRate)[0];
    return {
      id: 'probe/trigger-patch',
      category: 'behaviour',
      severity: 'warning',
      title: `A small patch sends most inputs to class ${cls}`,
      detail:
        `Stamping a ${best.size}×${best.size} ${best.patch} patch in the ${best.corner} corner of ${report.examples} synthetic images moved ${(best.flipRate * 100).toFixed(0)}% of those not already in class ${cls} to class ${cls} ` +
        `(a noise patch in the same place: ${(best.controlFlipRate * 100).toFixed(0)}%), while the clean images were spread over several classes. ` +
        'A trigger that overrides the image is the signature of a backdoored classifier (BadNets).',
      ...(file ? { file } : {}),
      evidence: { targetClass: cls, patches: cands.map((c) => ({ patch: c.patch, corner: c.corner, size: c.size, variant: c.variant, flipRate: Number(c.flipRate.toFixed(3)), controlFlipRate: Number(c.controlFlipRate.toFixed(3)) })) },
    } satisfies Finding;
  });
}
