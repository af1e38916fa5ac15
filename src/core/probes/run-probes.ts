import type { ByteSource } from '../io/byte-source';
import { isAbortError, isParseError, throwIfAborted } from '../io/errors';
import { PROBE_MAX_MODEL_BYTES, PROBE_MAX_RUNS } from '../io/limits';
import type { ModelInfo } from '../model/types';
import type { Finding } from '../report/finding';
import { LayerAccumulator, findSweepLayers, stackSweepLayers, sweepFindings } from './activation-sweep';
import { NoBackendError, errorText, now, openSession, tensorValues, type BackendFactory, type ExternalDataFile, type InferenceSession, type ProbeTensor, type SessionValue } from './backend';
import { runLatchTest } from './latch-test';
import { forwardStack, stackFromOnnx, stackFromTensors, type MlpStack } from './mlp-stack';
import { appendGraphOutputs, readOnnxProbeView, type OnnxProbeView } from './onnx-edit';
import { ProbePlanError, planProbeInputs, synthesizeProbes, type ProbePlan, type ProbeRun, type SynthesisOptions } from './synthesize-inputs';
import { classOutput, runTriggerSweep, triggerFindings } from './trigger-sweep';
import { BACKEND_AGREEMENT_TOLERANCE, PROBE_REPORT_SCHEMA, type FlaggedUnit, type LatchReport, type ProbeCheck, type ProbeLatency, type ProbeReport } from './types';

export interface ProbeProgress {
  phase: 'load' | 'basic' | 'sweep' | 'trigger' | 'latch' | 'done';
  done: number;
  total: number;
}

export interface ProbeOptions extends SynthesisOptions {
  signal?: AbortSignal;
  onProgress?: (e: ProbeProgress) => void;
  /** try this backend first (e.g. 'wasm' to skip WebGPU) */
  preferredBackend?: string;
  /** each part can be switched off; all run by default */
  sweep?: boolean;
  trigger?: boolean;
  latch?: boolean;
  /** latch test: SGD step size and input box */
  learningRate?: number;
  inputRange?: [number, number];
  /** runs of the model over the whole suite */
  maxRuns?: number;
  /** images stamped per patch in the trigger sweep (default 32) */
  triggerExamples?: number;
}

const DEFAULT_SEED = 0x7a3b;

function emptyReport(seed: number): ProbeReport {
  return {
    schema: PROBE_REPORT_SCHEMA, status: 'skipped', reason: null, file: null, mode: null, seed, backend: null, latency: [], inputs: [], probeKinds: [],
    checks: [], layers: [], flaggedUnits: [], latch: null, trigger: null, findings: [], durationMs: 0,
  };
}

function latencyOf(backend: string, what: 'create' | 'run', ms: number[], batch: number): ProbeLatency {
  const s = [...ms].sort((a, b) => a - b);
  const med = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { backend, what, count: s.length, medianMs: round(med), minMs: round(s[0]), maxMs: round(s[s.length - 1]), batch };
}
const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The file to run: the ONNX model among the model's files (its external-data files are listed too).
 * A ModelProto starts with ir_version (field 1, varint: byte 0x08) in every exporter we know, so such
 * files are tried first.
 */
async function pickOnnxSource(model: ModelInfo | null, sources: readonly ByteSource[], signal?: AbortSignal): Promise<ByteSource | null> {
  if (!model || model.format !== 'onnx') return null;
  const own = sources.filter((s) => model.files.includes(s.name));
  const pool = own.length ? own : sources;
  const firstByte = await Promise.all(pool.map(async (s) => (await s.read(0, 1, signal))[0]));
  return pool.find((_, i) => firstByte[i] === 0x08) ?? pool[0] ?? null;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

async function externalDataFor(view: OnnxProbeView, file: ByteSource, sources: readonly ByteSource[], signal?: AbortSignal): Promise<ExternalDataFile[] | string> {
  const locations = new Set<string>();
  for (const t of view.tensors.values()) if (t.external && t.location !== undefined) locations.add(t.location);
  const out: ExternalDataFile[] = [];
  let total = file.size;
  for (const loc of locations) {
    // Only plain relative paths inside the model folder are ever read (THREATS.md §3).
    if (!loc || loc.startsWith('/') || loc.includes('\\') || /^[a-zA-Z]:/.test(loc) || loc.split('/').includes('..')) return `external data location "${loc}" is not a plain relative path`;
    const src = sources.find((s) => s.name === dirOf(file.name) + loc);
    if (!src) return `external data file "${loc}" was not given`;
    total += src.size;
    if (total > PROBE_MAX_MODEL_BYTES) return `model and external data exceed ${PROBE_MAX_MODEL_BYTES} bytes`;
    out.push({ path: loc, data: await src.read(0, src.size, signal) });
  }
  return out;
}

/** Examples of a run's primary input, one flat Float32Array each (for the latch test and the TS sweep). */
function primaryExamples(plan: ProbePlan, run: ProbeRun): Float32Array[] {
  const t = run.feeds[plan.primary];
  const v = tensorValues(t);
  const per = v.length / run.examples;
  return Array.from({ length: run.examples }, (_, e) => Float32Array.from(v.subarray(e * per, (e + 1) * per)));
}

function sameOutputs(a: Record<string, ProbeTensor>, b: Record<string, ProbeTensor>): { same: boolean; maxDiff: number; output: string | null } {
  let maxDiff = 0;
  let worst: string | null = null;
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    if (!tb || tb.data.length !== ta.data.length) return { same: false, maxDiff: Infinity, output: name };
    const va = tensorValues(ta);
    const vb = tensorValues(tb);
    for (let i = 0; i < va.length; i++) {
      if (Number.isNaN(va[i]) && Number.isNaN(vb[i])) continue;
      const d = Math.abs(va[i] - vb[i]);
      if (!(d <= 1e-5 * Math.max(1, Math.abs(va[i])))) {
        if (!(d <= maxDiff)) {
          maxDiff = Number.isNaN(d) ? Infinity : d;
          worst = name;
        }
      }
    }
  }
  return { same: worst === null, maxDiff, output: worst };
}

/** Largest difference between two backends' outputs, relative to max(1, |value|). */
export function compareOutputs(a: Record<string, ProbeTensor>, b: Record<string, ProbeTensor>, tolerance: number): { agree: boolean; maxDiff: number; output: string | null } {
  let maxDiff = 0;
  let worst: string | null = null;
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    if (!tb || tb.data.length !== ta.data.length) return { agree: false, maxDiff: Infinity, output: name };
    const va = tensorValues(ta);
    const vb = tensorValues(tb);
    for (let i = 0; i < va.length; i++) {
      if (Number.isNaN(va[i]) && Number.isNaN(vb[i])) continue;
      const d = Math.abs(va[i] - vb[i]) / Math.max(1, Math.abs(va[i]));
      if (!(d <= maxDiff)) {
        maxDiff = Number.isNaN(d) ? Infinity : d;
        worst = name;
      }
    }
  }
  return { agree: maxDiff <= tolerance, maxDiff, output: worst };
}

function latchFindings(latch: LatchReport, file: string | null): Finding[] {
  if (!latch.latched.length) return [];
  const layers = [...new Set(latch.latched.map((u) => u.layer))];
  const top = [...latch.latched].sort((a, b) => b.ratio - a.ratio)[0];
  return [{
    id: 'probe/latched-unit',
    category: 'privacy-trap',
    severity: 'dangerous',
    title: `${latch.latched.length} unit${latch.latched.length > 1 ? 's' : ''} latch shut after one simulated fine-tuning step`,
    detail:
      `One simulated SGD step (η = ${latch.learningRate}) on a single synthetic canary moved the bias of ${latch.latched.length} unit${latch.latched.length > 1 ? 's' : ''} in ${layers.map((l) => `"${l}"`).join(', ')} ` +
      `by up to ${top.ratio >= 100 ? top.ratio.toFixed(0) : top.ratio.toFixed(1)}× the layer's median step, after which no input in [${latch.inputRange.join(', ')}] can make ${latch.latched.length > 1 ? 'them' : 'it'} fire again. ` +
      'That is how a privacy backdoor captures a training example: the step writes the example into the unit\'s weights (Δw = −ηg·x, Δb = −ηg) and freezes it there for the attacker to read back (Feng & Tramèr, ICML 2024).',
    ...(file ? { file } : {}),
    evidence: {
      layers,
      units: latch.latched.map((u) => ({ layer: u.layer, unit: u.unit, canary: u.canary, biasStep: u.biasStep, ratio: Number(u.ratio.toFixed(1)), reachBefore: u.reachBefore, reachAfter: u.reachAfter })).slice(0, 64),
      learningRate: latch.learningRate,
      activation: latch.activation,
    },
  }];
}

function behaviourFinding(id: string, title: string, detail: string, file: string | null, evidence: Record<string, unknown>): Finding {
  return { id, category: 'behaviour', severity: 'warning', title, detail, ...(file ? { file } : {}), evidence };
}

/** Signature for the planner: the runtime's view, with shapes filled from the graph where the runtime has none. */
function signatureOf(session: InferenceSession, view: OnnxProbeView, model: ModelInfo | null): SessionValue[] {
  return session.inputs.map((i) => {
    if (i.shape && i.shape.length) return i;
    const g = model?.graph?.inputs.find((v) => v.name === i.name);
    if (g?.shape) return { ...i, shape: g.shape.map((d) => d.value ?? d.param ?? null) };
    const v = view.inputs.find((x) => x.name === i.name);
    return v?.shape ? { ...i, shape: v.shape } : i;
  });
}

/**
 * Rows of the smallest embedding table a graph input indexes directly (Gather of a 2-D initializer by
 * that input), or undefined: token ids past it make an honest model fail to run.
 */
export function vocabularyOf(model: ModelInfo | null): number | undefined {
  const g = model?.graph;
  if (!g) return undefined;
  const inputs = new Set(g.inputs.map((v) => v.name));
  const tensors = new Map(model!.tensors.map((t) => [t.name, t]));
  let rows: number | undefined;
  for (const n of g.nodes) {
    if (n.opType !== 'Gather' || !inputs.has(n.inputs[1] ?? '')) continue;
    const table = tensors.get(n.inputs[0] ?? '');
    if (table && table.shape.length === 2 && table.shape[0] > 0) rows = Math.min(rows ?? Infinity, table.shape[0]);
  }
  return rows;
}

/**
 * Runs the canary probe suite on one model (THREATS.md §8) and returns plain results for
 * Report.probes. ONNX models run on the injected runtime (basic behaviour, activation sweep, trigger
 * sweep, and the latch test when the graph is an MLP); weight-only files whose tensors form a
 * Linear/ReLU stack are simulated in TypeScript (activation sweep and latch test). Never throws for a
 * model that misbehaves: failures become findings; only an abort propagates.
 */
export async function runProbes(model: ModelInfo | null, sources: readonly ByteSource[], backendFactory: BackendFactory | null, options: ProbeOptions = {}): Promise<ProbeReport> {
  const seed = options.seed ?? DEFAULT_SEED;
  const t0 = now();
  const report = emptyReport(seed);
  const budget = { left: options.maxRuns ?? PROBE_MAX_RUNS };
  const progress = (phase: ProbeProgress['phase'], done: number, total: number) => options.onProgress?.({ phase, done, total });
  try {
    const onnx = await pickOnnxSource(model, sources, options.signal);
    if (onnx) await probeOnnx(report, onnx, model, sources, backendFactory, options, budget);
    else if (model && model.tensors.length) await probeWeights(report, model, sources, options);
    else report.reason = 'no model to probe';
  } catch (e) {
    if (isAbortError(e)) throw e;
    report.status = 'failed';
    report.reason = `the probes stopped with an error: ${errorText(e)}`;
    report.findings.push({ id: 'probe/internal-error', category: 'behaviour', severity: 'warning', title: 'The probes could not finish', detail: `${report.reason}. Behaviour was not fully checked.`, ...(report.file ? { file: report.file } : {}) });
  }
  if (report.status === 'skipped' && report.reason) {
    report.findings.push({ id: 'probe/skipped', category: 'behaviour', severity: 'info', title: 'Behaviour probes did not run', detail: `No canary probes ran: ${report.reason}.`, ...(report.file ? { file: report.file } : {}) });
  }
  progress('done', 1, 1);
  report.durationMs = round(now() - t0);
  return report;
}

async function probeOnnx(report: ProbeReport, file: ByteSource, model: ModelInfo | null, sources: readonly ByteSource[], factory: BackendFactory | null, options: ProbeOptions, budget: { left: number }): Promise<void> {
  const { signal } = options;
  report.file = file.name;
  report.mode = 'runtime';
  if (file.size > PROBE_MAX_MODEL_BYTES) {
    report.reason = `the model is ${file.size} bytes, over the ${PROBE_MAX_MODEL_BYTES}-byte limit for running it in the page`;
    return;
  }
  options.onProgress?.({ phase: 'load', done: 0, total: 1 });
  const bytes = await file.read(0, file.size, signal);
  let view: OnnxProbeView;
  try {
    view = readOnnxProbeView(bytes);
  } catch (e) {
    if (!isParseError(e)) throw e;
    report.reason = `the file could not be read as an ONNX model (${errorText(e)})`;
    return;
  }
  const stack = options.latch === false ? null : stackFromOnnx(view);
  const latchFrom = (runs: ProbeRun[], plan: ProbePlan | null) => {
    if (!stack) return;
    options.onProgress?.({ phase: 'latch', done: 0, total: 1 });
    const probes = plan ? runs.filter((r) => r.kind === 'image' || r.kind === 'features').flatMap((r) => primaryExamples(plan, r)).filter((x) => x.length === stack.layers[0].in) : [];
    report.latch = runLatchTest(stack, probes, { learningRate: options.learningRate, inputRange: options.inputRange, signal });
    report.findings.push(...latchFindings(report.latch, file.name));
  };
  if (!factory) {
    report.mode = 'weights';
    report.reason = 'no inference runtime was given; only the weights were simulated';
    latchFrom([], null);
    if (report.latch) report.status = 'ran';
    return;
  }
  const ext = await externalDataFor(view, file, sources, signal);
  if (typeof ext === 'string') {
    report.reason = ext;
    return;
  }
  const candidates = await factory();
  let opened;
  try {
    opened = await openSession(candidates, bytes, { externalData: ext, signal }, options.preferredBackend);
  } catch (e) {
    if (!(e instanceof NoBackendError)) throw e;
    report.status = 'failed';
    report.reason = e.message;
    report.backend = { name: 'none', fallbackReason: null, failures: e.failures };
    report.findings.push(behaviourFinding('probe/load-failed', 'The model could not be loaded by the inference runtime', `onnxruntime could not create a session for "${file.name}": ${e.failures.map((f) => `${f.name}: ${f.reason}`).join('; ')}. Its behaviour was not checked; a model that its own runtime rejects may be damaged or use operators the page cannot run.`, file.name, { failures: e.failures }));
    latchFrom([], null);
    return;
  }
  const { session } = opened;
  report.backend = { name: opened.backend, fallbackReason: opened.fallbackReason, failures: opened.failures };
  report.latency.push(latencyOf(opened.backend, 'create', [opened.createMs], 0));
  try {
    let plan: ProbePlan;
    try {
      plan = planProbeInputs(signatureOf(session, view, model), { vocabSize: vocabularyOf(model), ...options });
    } catch (e) {
      if (!(e instanceof ProbePlanError)) throw e;
      report.reason = `no probe inputs could be synthesised: ${e.message}`;
      latchFrom([], null);
      if (report.latch) report.status = 'ran';
      return;
    }
    let runs = synthesizeProbes(plan, options);
    // ---- basic behaviour: runs, finite, deterministic
    const runMs: number[] = [];
    const outputsOf: Record<string, ProbeTensor>[] = [];
    let failure: string | null = null;
    const nonFinite = new Map<string, { count: number; kinds: Set<string> }>();
    for (let i = 0; i < runs.length; i++) {
      throwIfAborted(signal);
      options.onProgress?.({ phase: 'basic', done: i, total: runs.length });
      const t = now();
      let out: Record<string, ProbeTensor>;
      try {
        budget.left--;
        out = await session.run(runs[i].feeds);
      } catch (e) {
        // Free dims that the graph does not really allow (a batch it cannot take, a sequence longer than
        // a fixed position table): fall back to one example per run, then to sequences of one token.
        let retried: { plan: ProbePlan; runs: ProbeRun[]; out: Record<string, ProbeTensor> } | null = null;
        for (const relax of i === 0 ? [{ batch: 1 }, { batch: 1, sequenceLength: 1 }] : []) {
          try {
            const p = planProbeInputs(signatureOf(session, view, model), { vocabSize: vocabularyOf(model), ...options, ...relax });
            const r = synthesizeProbes(p, options);
            retried = { plan: p, runs: r, out: await session.run(r[0].feeds) };
            break;
          } catch {
            // the next relaxation, or the first error stands
          }
        }
        if (!retried) {
          failure = errorText(e);
          break;
        }
        ({ plan, runs, out } = retried);
      }
      runMs.push(now() - t);
      outputsOf.push(out);
      for (const [name, tensor] of Object.entries(out)) {
        if (!['float32', 'float16', 'float64'].includes(tensor.dtype)) continue;
        const v = tensorValues(tensor);
        let bad = 0;
        for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) bad++;
        if (bad) {
          const e = nonFinite.get(name) ?? { count: 0, kinds: new Set<string>() };
          e.count += bad;
          e.kinds.add(runs[i].kind);
          nonFinite.set(name, e);
        }
      }
    }
    report.inputs = plan.inputs.map((i) => ({ name: i.name, dtype: i.dtype, dims: i.dims, role: i.role }));
    const kinds = [...new Set(runs.map((r) => r.kind))];
    report.probeKinds = kinds.map((k) => ({ kind: k, examples: runs.filter((r) => r.kind === k).reduce((a, r) => a + r.examples, 0), natural: k !== 'noise' }));
    if (runMs.length) report.latency.push(latencyOf(opened.backend, 'run', runMs, plan.batch));
    const checks: ProbeCheck[] = [];
    checks.push({ id: 'runs', passed: failure === null, detail: failure === null ? `${outputsOf.length} runs of ${plan.batch} example${plan.batch > 1 ? 's' : ''} on ${opened.backend}` : `run ${outputsOf.length + 1} failed: ${failure}` });
    if (failure !== null) {
      report.findings.push(behaviourFinding('probe/run-failed', 'The model fails on synthetic inputs of its own declared shape', `Running "${file.name}" on ${opened.backend} with inputs that match its declared signature (${report.inputs.map((i) => `${i.name} ${i.dtype}[${i.dims.join('×')}]`).join(', ')}) failed: ${failure}.`, file.name, { error: failure, inputs: report.inputs, backend: opened.backend }));
    }
    checks.push({ id: 'finite', passed: nonFinite.size === 0, detail: nonFinite.size === 0 ? 'every float output was finite' : [...nonFinite].map(([n, e]) => `${n}: ${e.count} non-finite values (${[...e.kinds].join(', ')})`).join('; ') });
    if (nonFinite.size) {
      report.findings.push(behaviourFinding('probe/non-finite-output', 'The model outputs NaN or infinity on ordinary inputs', `On synthetic probes, ${[...nonFinite].map(([n, e]) => `output "${n}" held ${e.count} non-finite values (probe kinds: ${[...e.kinds].join(', ')})`).join('; ')}. Healthy models stay finite on inputs in range; NaN/Inf can come from damaged or tampered weights.`, file.name, { outputs: Object.fromEntries([...nonFinite].map(([n, e]) => [n, { count: e.count, kinds: [...e.kinds] }])) }));
    }
    if (outputsOf.length) {
      const firstOfKind = kinds.map((k) => runs.findIndex((r) => r.kind === k)).filter((i) => i >= 0 && i < outputsOf.length).slice(0, 3);
      let diff: { same: boolean; maxDiff: number; output: string | null } = { same: true, maxDiff: 0, output: null };
      for (const i of firstOfKind) {
        budget.left--;
        const again = await session.run(runs[i].feeds);
        const d = sameOutputs(outputsOf[i], again);
        if (!d.same) {
          diff = d;
          break;
        }
      }
      // Cross-check the accelerated backend against WASM on the first probe: the same model must give the
      // same outputs within tolerance wherever it runs (a disagreement is the runtime's, so it is a check,
      // not a finding about the model).
      const wasm = opened.backend !== 'wasm' ? candidates.backends.find((b) => b.name === 'wasm') : undefined;
      if (wasm) {
        try {
          const ref = await wasm.createSession(bytes, { externalData: ext, signal });
          try {
            budget.left--;
            const out = await ref.run(runs[0].feeds);
            const d = compareOutputs(outputsOf[0], out, BACKEND_AGREEMENT_TOLERANCE);
            checks.push({ id: 'backend-agreement', passed: d.agree, detail: `${opened.backend} vs wasm on the first probe: largest difference ${d.maxDiff.toExponential(2)}${d.output ? ` (output "${d.output}")` : ''}, tolerance ${BACKEND_AGREEMENT_TOLERANCE} relative` });
          } finally {
            await ref.release();
          }
        } catch (e) {
          checks.push({ id: 'backend-agreement', passed: false, detail: `the wasm reference session failed: ${errorText(e)}` });
        }
      }
      checks.push({ id: 'deterministic', passed: diff.same, detail: diff.same ? `${firstOfKind.length} repeated run${firstOfKind.length > 1 ? 's' : ''} gave the same outputs` : `output "${diff.output}" changed by up to ${diff.maxDiff} on the same input` });
      if (!diff.same) {
        report.findings.push(behaviourFinding('probe/non-deterministic', 'The same input gives different outputs', `Running the same probe twice changed output "${diff.output}" by up to ${diff.maxDiff}. Inference of a plain model is deterministic; input-independent randomness or hidden state in a graph deserves a look.`, file.name, { output: diff.output, maxDiff: diff.maxDiff }));
      }
    }
    report.checks = checks;
    report.status = 'ran';
    if (failure !== null) {
      latchFrom(runs, plan);
      return;
    }

    // ---- activation sweep on a copy of the graph that also outputs every Relu's input
    if (options.sweep !== false) {
      const specs = findSweepLayers(view);
      if (specs.length) {
        const edited = appendGraphOutputs(view, specs.map((s) => ({ name: s.name, elemType: s.elemType })));
        let sweepSession: InferenceSession | null = null;
        try {
          sweepSession = (await openSession({ backends: candidates.backends.filter((b) => b.name === opened.backend), unavailable: [] }, edited, { externalData: ext, signal })).session;
        } catch (e) {
          if (isAbortError(e)) throw e;
          report.checks.push({ id: 'runs', passed: true, detail: `activation sweep skipped: the copy with exposed activations did not load (${errorText(e)})` });
        }
        if (sweepSession) {
          try {
            const accs = specs.map((s) => new LayerAccumulator(s));
            const fetches = specs.map((s) => s.name);
            for (let i = 0; i < runs.length && budget.left > 0; i++) {
              throwIfAborted(signal);
              options.onProgress?.({ phase: 'sweep', done: i, total: runs.length });
              budget.left--;
              const out = await sweepSession.run(runs[i].feeds, fetches);
              accs.forEach((a) => {
                const t = out[a.spec.name];
                if (t) a.add(runs[i].kind, runs[i].natural, tensorValues(t), t.dims);
              });
            }
            collectSweep(report, accs, file.name);
          } finally {
            await sweepSession.release();
          }
        }
      }
    }

    // ---- trigger sweep for image classifiers
    if (options.trigger !== false && plan.image && outputsOf.length) {
      const out = classOutput(outputsOf[0], plan.batch);
      if (out) {
        options.onProgress?.({ phase: 'trigger', done: 0, total: 1 });
        report.trigger = await runTriggerSweep((feeds) => session.run(feeds, [out]), plan, out, outputsOf[0][out].dims[1], { seed: report.seed, budget, signal, examples: options.triggerExamples });
        report.findings.push(...triggerFindings(report.trigger, file.name));
      }
    }
    latchFrom(runs, plan);
  } finally {
    await session.release();
  }
}

function collectSweep(report: ProbeReport, accs: LayerAccumulator[], file: string | null): void {
  const flagged: FlaggedUnit[] = [];
  for (const a of accs) {
    const r = a.finish();
    if (!r) continue;
    report.layers.push(r.layer);
    flagged.push(...r.flagged);
  }
  report.flaggedUnits = flagged;
  report.findings.push(...sweepFindings(flagged, file));
}

/** Weight-only files: an MLP stack simulated in TypeScript (sweep + latch), no runtime involved. */
async function probeWeights(report: ProbeReport, model: ModelInfo, sources: readonly ByteSource[], options: ProbeOptions): Promise<void> {
  report.mode = 'weights';
  report.file = model.files[0] ?? null;
  const stack: MlpStack | null = await stackFromTensors(model, sources, options.signal);
  if (!stack) {
    report.reason = 'the model is not ONNX and its weights do not form a Linear/ReLU stack that can be simulated';
    return;
  }
  report.file = model.tensors.find((t) => t.name === stack.layers[0].weightName)?.file ?? report.file;
  const d = stack.layers[0].in;
  const plan = planProbeInputs([{ name: 'input', dtype: 'float32', shape: ['batch', d] }], options);
  const runs = synthesizeProbes(plan, options);
  report.backend = { name: 'typescript', fallbackReason: null, failures: [] };
  report.inputs = plan.inputs.map((i) => ({ name: i.name, dtype: i.dtype, dims: i.dims, role: i.role }));
  report.probeKinds = plan.kinds.map((k) => ({ kind: k, examples: runs.filter((r) => r.kind === k).reduce((a, r) => a + r.examples, 0), natural: k !== 'noise' }));
  const specs = stackSweepLayers(stack);
  const accs = specs.map((s) => new LayerAccumulator(s));
  let nonFinite = 0;
  const ms: number[] = [];
  for (const run of runs) {
    throwIfAborted(options.signal);
    const xs = primaryExamples(plan, run);
    const t = now();
    const pres = xs.map((x) => forwardStack(stack, x));
    ms.push(now() - t);
    for (const p of pres) for (const v of p[p.length - 1]) if (!Number.isFinite(v)) nonFinite++;
    accs.forEach((a, l) => {
      const units = stack.layers[l].out;
      const flat = new Float64Array(pres.length * units);
      pres.forEach((p, e) => flat.set(p[l], e * units));
      a.add(run.kind, run.natural, flat, [pres.length, units]);
    });
  }
  report.latency.push(latencyOf('typescript', 'run', ms, plan.batch));
  report.checks = [
    { id: 'runs', passed: true, detail: `${runs.length} simulated runs of the ${stack.layers.map((l) => l.name).join(' → ')} stack (ReLU assumed between layers)` },
    { id: 'finite', passed: nonFinite === 0, detail: nonFinite ? `${nonFinite} non-finite logits` : 'every logit was finite' },
  ];
  if (nonFinite) report.findings.push(behaviourFinding('probe/non-finite-output', 'The simulated model outputs NaN or infinity on ordinary inputs', `A forward pass of the weights on synthetic probes gave ${nonFinite} non-finite logits.`, report.file, { count: nonFinite }));
  collectSweep(report, accs, report.file);
  if (options.latch !== false) {
    const probes = runs.filter((r) => r.kind === 'image' || r.kind === 'features').flatMap((r) => primaryExamples(plan, r));
    report.latch = runLatchTest(stack, probes, { learningRate: options.learningRate, inputRange: options.inputRange, signal: options.signal, activationAssumed: true });
    report.findings.push(...latchFindings(report.latch, report.file));
  }
  report.status = 'ran';
}

