import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../formats/safetensors/parse-safetensors';
import { MemorySource } from '../io/byte-source';
import { PROBE_DORMANT_RATE } from '../io/limits';
import type { ModelInfo } from '../model/types';
import { reachBounds, runLatchTest } from './latch-test';
import { stackFromTensors, type MlpStack } from './mlp-stack';
import { runProbes } from './run-probes';

/** Weight-only probing (no runtime): MLP stacks read from safetensors, simulated in TypeScript. */

async function load(path: string): Promise<{ model: ModelInfo; source: MemorySource }> {
  const bytes = new Uint8Array(readFileSync(new URL(`../../../tests/fixtures/${path}`, import.meta.url)));
  const source = new MemorySource(bytes, path.split('/').pop()!);
  const head = bytes.subarray(0, 64 * 1024);
  const parse = await parseSafetensors({ name: source.name, size: source.size, head, tail: head, source, folder: { get: () => undefined, paths: () => [source.name] } });
  return { model: parse.model!, source };
}

const calibration = JSON.parse(readFileSync(new URL('../../../tests/fixtures/calibration/calibration.json', import.meta.url), 'utf8'));
const probesInfo = JSON.parse(readFileSync(new URL('../../../tests/fixtures/probes/probes.json', import.meta.url), 'utf8'));

describe('stackFromTensors', () => {
  it('reads fc1 → fc2 from safetensors with decoded values', async () => {
    const { model, source } = await load('probes/mlp-trapped.safetensors');
    const stack = (await stackFromTensors(model, [source]))!;
    expect(stack.layers.map((l) => [l.name, l.in, l.out])).toEqual([['fc1', 256, 64], ['fc2', 64, 10]]);
    expect(stack.layers[1].weight[9 * 64 + 3]).toBe(100);
  });

  it('orders fc2 before fc10 and refuses tensors that do not chain', async () => {
    const { model, source } = await load('calibration/clean.safetensors');
    expect((await stackFromTensors(model, [source]))!.layers.map((l) => l.name)).toEqual(['fc1', 'fc2', 'fc3']);
    const broken: ModelInfo = { ...model, tensors: model.tensors.filter((t) => t.name !== 'fc2.weight') };
    expect(await stackFromTensors(broken, [source])).toBeNull();
  });
});

describe('reachBounds', () => {
  it('bounds a hand-made ReLU stack exactly at the box vertices', () => {
    const stack: MlpStack = {
      source: 'tensors',
      layers: [
        { name: 'a', weightName: 'a.weight', biasName: 'a.bias', in: 2, out: 2, weight: Float32Array.from([1, -2, -1, -1]), bias: Float32Array.from([0.5, 0.25]) },
        { name: 'b', weightName: 'b.weight', biasName: 'b.bias', in: 2, out: 2, weight: Float32Array.from([2, 1, -1, 0]), bias: Float32Array.from([-4, 0]) },
        { name: 'c', weightName: 'c.weight', biasName: 'c.bias', in: 2, out: 2, weight: Float32Array.from([1, 1, 1, 1]), bias: Float32Array.from([0, 0]) },
      ],
    };
    const bounds = reachBounds(stack, [0, 1]);
    // hidden layers only: the logits of the last layer have no ReLU to die behind
    expect(bounds).toHaveLength(2);
    const [l1, l2] = bounds;
    // unit 0: x0 − 2·x1 + 0.5 ≤ 1.5 ; unit 1: −x0 − x1 + 0.25 ≤ 0.25
    expect([...l1]).toEqual([1.5, 0.25]);
    // layer b unit 0: 2·1.5 + 1·0.25 − 4 = −0.75 → dead on the whole box
    expect(l2[0]).toBeCloseTo(-0.75, 12);
  });
});

describe('latch test', () => {
  it('latches every planted trap of the probes fixture and nothing in the clean one', async () => {
    const trapped = await load('probes/mlp-trapped.safetensors');
    const r = runLatchTest((await stackFromTensors(trapped.model, [trapped.source]))!, []);
    expect(r.latched.map((u) => u.unit)).toEqual(probesInfo.mlpTrapped.trapUnits);
    for (const u of r.latched) {
      expect(u.layer).toBe('fc1');
      expect(u.ratio).toBeGreaterThanOrEqual(100);
      expect(u.biasStep).toBeLessThan(0);
      expect(u.reachBefore).toBeGreaterThan(0);
      expect(u.reachAfter).toBeLessThanOrEqual(0);
    }
    const clean = await load('probes/mlp-clean.safetensors');
    expect(runLatchTest((await stackFromTensors(clean.model, [clean.source]))!, []).latched).toEqual([]);
  });

  it('finds the calibration traps and their relays, and spares the other implants', async () => {
    const t = await load('calibration/trapped.safetensors');
    const r = runLatchTest((await stackFromTensors(t.model, [t.source]))!, []);
    expect(r.latched.filter((u) => u.layer === 'fc1').map((u) => u.unit)).toEqual(calibration.trapped.trapRows);
    expect(r.latched.filter((u) => u.layer === 'fc2').map((u) => u.unit)).toEqual(calibration.trapped.relayUnits);
    for (const name of ['clean', 'init', 'imprint', 'trapweights']) {
      const m = await load(`calibration/${name}.safetensors`);
      expect(runLatchTest((await stackFromTensors(m.model, [m.source]))!, []).latched, name).toEqual([]);
    }
  });
});

describe('runProbes on weight-only files', () => {
  it('flags the trapped safetensors MLP as a privacy trap and passes the clean one', async () => {
    const trapped = await load('probes/mlp-trapped.safetensors');
    const r = await runProbes(trapped.model, [trapped.source], null, { seed: 1 });
    expect(r.status).toBe('ran');
    expect(r.mode).toBe('weights');
    expect(r.backend?.name).toBe('typescript');
    expect(r.latch?.activation).toBe('relu (assumed)');
    const ids = r.findings.map((f) => `${f.category}:${f.severity}:${f.id}`);
    expect(ids).toContain('privacy-trap:dangerous:probe/latched-unit');
    const latched = r.findings.find((f) => f.id === 'probe/latched-unit')!;
    expect((latched.evidence!.units as { unit: number }[]).map((u) => u.unit)).toEqual(probesInfo.mlpTrapped.trapUnits);
    // the activation sweep sees the dormant, high-gain units too
    expect(r.layers).toHaveLength(1);
    expect(r.layers[0].units).toBe(64);
    expect(r.layers[0].rateHistogram.reduce((a, b) => a + b, 0)).toBe(64);
    for (const u of r.flaggedUnits) {
      expect(probesInfo.mlpTrapped.trapUnits).toContain(u.unit);
      expect(u.rate).toBeLessThanOrEqual(PROBE_DORMANT_RATE);
      expect(u.gain!).toBeGreaterThan(50);
    }
    expect(r.flaggedUnits.length).toBeGreaterThanOrEqual(4);

    const clean = await load('probes/mlp-clean.safetensors');
    const c = await runProbes(clean.model, [clean.source], null, { seed: 1 });
    expect(c.status).toBe('ran');
    expect(c.findings).toEqual([]);
    expect(c.flaggedUnits).toEqual([]);
    expect(c.latch!.latched).toEqual([]);
  });

  it('says why it skipped a file whose weights are not an MLP', async () => {
    const { model, source } = await load('calibration/stats-tensors.safetensors');
    const r = await runProbes(model, [source], null);
    expect(r.status).toBe('skipped');
    expect(r.findings.map((f) => [f.id, f.severity, f.category])).toEqual([['probe/skipped', 'info', 'behaviour']]);
  });
});
