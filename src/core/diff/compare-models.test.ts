import { describe, expect, it } from 'vitest';
import { buildF32Safetensors } from '../../../tests/helpers/safetensors-builder';
import { assertValidReport } from '../../../tests/helpers/schema';
import { inspect } from '../inspect';
import { MemorySource } from '../io/byte-source';

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.1);

function model(edit?: (w: number[]) => void, extra?: Record<string, { shape: number[] }>) {
  const w = values(16 * 8, 1);
  edit?.(w);
  return buildF32Safetensors({ 'fc1.weight': { shape: [16, 8], values: w }, 'fc1.bias': { shape: [16], values: values(16, 2) }, ...extra });
}

async function compare(a: Uint8Array, b: Uint8Array) {
  const { report } = await inspect([new MemorySource(a, 'model.safetensors')], { reference: [new MemorySource(b, 'model.safetensors')] });
  assertValidReport(report);
  return report;
}

describe('comparison with a trusted reference', () => {
  it('identical models: every tensor the same, no finding', async () => {
    const r = await compare(model(), model());
    expect(r.reference!.counts).toMatchObject({ same: 2, changed: 0 });
    expect(r.findings).toEqual([]);
    expect(r.verdict).toBe('clean');
  });

  it('two edited rows of one tensor are a sparse edit, with the row indices', async () => {
    const r = await compare(
      model((w) => {
        w[3 * 8 + 1] = 5;
        w[11 * 8 + 7] = -5;
      }),
      model(),
    );
    const f = r.findings.find((x) => x.id === 'diff/sparse-edit')!;
    expect(f.severity).toBe('warning');
    expect(f.evidence).toMatchObject({ tensor: 'fc1.weight', changedRows: 2, rows: 16, rowIndices: [3, 11] });
    expect(r.reference!.tensors).toEqual([{ name: 'fc1.weight', status: 'changed', changedRows: 2, rows: 16, rowIndices: [3, 11] }]);
  });

  it('a tensor changed everywhere (fine-tuning) is informational only', async () => {
    const r = await compare(model((w) => w.forEach((_, i) => (w[i] += 0.01))), model());
    expect(r.findings.map((f) => f.id)).toEqual(['diff/weights-changed']);
    expect(r.verdict).toBe('clean');
  });

  it('added and reshaped tensors are architecture drift', async () => {
    const r = await compare(model(undefined, { 'trap.weight': { shape: [4, 8] } }), model());
    const f = r.findings.find((x) => x.id === 'diff/architecture-drift')!;
    expect(f.category).toBe('graph-anomaly');
    expect(r.reference!.counts.added).toBe(1);
  });
});
