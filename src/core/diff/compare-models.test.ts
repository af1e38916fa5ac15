import { describe, expect, it } from 'vitest';
import { buildF32Safetensors, buildSafetensors } from '../../../tests/helpers/safetensors-builder';
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

  /** bfloat16 by truncation: the top half of each float32 (within one bfloat16 ulp of the value). */
  function bf16(tensors: Record<string, { shape: number[]; values: number[] }>): Uint8Array {
    const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
    const parts: number[] = [];
    for (const [name, t] of Object.entries(tensors)) {
      header[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [parts.length, parts.length + t.values.length * 2] };
      const f = new Float32Array(t.values);
      const u = new Uint8Array(f.buffer);
      for (let i = 0; i < f.length; i++) parts.push(u[i * 4 + 2], u[i * 4 + 3]);
    }
    return buildSafetensors({ header, data: new Uint8Array(parts) });
  }
  const w = values(16 * 8, 1);
  const b = values(16, 2);

  it('a float32 → bfloat16 re-save is a precision note, not architecture drift', async () => {
    const r = await compare(bf16({ 'fc1.weight': { shape: [16, 8], values: w }, 'fc1.bias': { shape: [16], values: b } }), model());
    expect(r.findings.map((f) => `${f.id}:${f.severity}`)).toEqual(['diff/precision-changed:info']);
    expect(r.verdict).toBe('clean');
  });

  it('a re-save in another precision does not hide an edited row', async () => {
    const edited = [...w];
    edited[4 * 8 + 2] = 3;
    const r = await compare(bf16({ 'fc1.weight': { shape: [16, 8], values: edited }, 'fc1.bias': { shape: [16], values: b } }), model());
    expect(r.findings.find((f) => f.id === 'diff/sparse-edit')?.evidence).toMatchObject({ tensor: 'fc1.weight', changedRows: 1, rowIndices: [4] });
    expect(r.verdict).toBe('warning');
  });

  it('two tensors of one shape swapped are reported as a swap', async () => {
    const a = values(16 * 16, 3);
    const c = values(16 * 16, 4);
    const mk = (x: number[], y: number[]) => buildF32Safetensors({ 'l0.weight': { shape: [16, 16], values: x }, 'l1.weight': { shape: [16, 16], values: y } });
    const r = await compare(mk(c, a), mk(a, c));
    expect(r.findings.find((f) => f.id === 'diff/tensors-swapped')?.evidence).toEqual({ tensors: ['l0.weight', 'l1.weight'] });
    expect(r.findings.map((f) => f.id)).not.toContain('diff/tensor-replaced');
    expect(r.verdict).toBe('warning');
  });

  it('a tensor replaced by an unrelated one of the same shape is flagged; a fine-tuned one is not', async () => {
    const a = values(16 * 16, 3);
    const other = Array.from({ length: 256 }, (_, i) => Math.cos(i * 1.91 + 7) * 0.1);
    const mk = (x: number[]) => buildF32Safetensors({ 'l0.weight': { shape: [16, 16], values: x } });
    const replaced = await compare(mk(other), mk(a));
    const f = replaced.findings.find((x) => x.id === 'diff/tensor-replaced')!;
    expect(f.severity).toBe('warning');
    expect(Math.abs((f.evidence as { cosine: number }).cosine)).toBeLessThan(0.5);
    const tuned = await compare(mk(a.map((v, i) => v + 0.005 * Math.sin(i * 2.3))), mk(a));
    expect(tuned.findings.map((x) => x.id)).toEqual(['diff/weights-changed']);
  });

  it('a renamed tensor names the reference tensor whose bytes it holds', async () => {
    const renamed = buildF32Safetensors({ 'fc1.weight': { shape: [16, 8], values: w }, 'classifier.bias': { shape: [16], values: b } });
    const r = await compare(renamed, model());
    expect(r.findings.find((f) => f.id === 'diff/tensor-renamed')?.evidence).toEqual({ tensor: 'classifier.bias', reference: 'fc1.bias' });
    expect(r.findings.map((f) => f.id)).toContain('diff/architecture-drift');
  });
});

describe('tensors whose bytes are not their elements in order', () => {
  /** a version-1 .npy of big-endian float32 [4, 2] (encoding 'other' in TensorInfo) */
  const npyBE = (vals: number[]) => {
    let header = "{'descr': '>f4', 'fortran_order': False, 'shape': (4, 2), }";
    header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
    const out = new Uint8Array(10 + header.length + vals.length * 4);
    out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
    out.set(new TextEncoder().encode(header), 10);
    const dv = new DataView(out.buffer);
    vals.forEach((v, i) => dv.setFloat32(10 + header.length + i * 4, v, false));
    return out;
  };
  it('are reported as not compared, not as changed rows of the wrong layout', async () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    const { report } = await inspect([new MemorySource(npyBE(a.map((x, i) => (i === 3 ? 9 : x))), 'w.npy')], { reference: [new MemorySource(npyBE(a), 'w.npy')] });
    assertValidReport(report);
    expect(report.reference!.counts).toMatchObject({ changed: 0 });
    expect(report.findings.filter((f) => f.id === 'diff/sparse-edit')).toEqual([]);
  });
});
