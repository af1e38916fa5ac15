import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report/report';
import { findingSummary, inspectPaths } from '../helpers/inspect-file';

/**
 * Hugging Face folders that hold the same weights twice (tests/fixtures/make_hf_twins.py): honest twins
 * (same float32 weights; float16 safetensors beside a float32 .bin; sharded safetensors beside a single
 * .bin), a .bin with one row of one tensor replaced, a .bin with an extra tensor, and a config.json whose
 * vocab_size disagrees with the embedding.
 */
const DIR = join(__dirname, '..', 'fixtures', 'hf-twins');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, { verdict: string; tensor?: string; rows?: number[] }>;

const run = (name: string): Promise<Report> => inspectPaths([join(DIR, name)]);
const ids = (r: Report) => r.findings.map((f) => f.id);
const one = (r: Report, id: string) => {
  const f = r.findings.find((x) => x.id === id);
  expect(f, `${id}\n${findingSummary(r)}`).toBeDefined();
  return f!;
};

describe('Hugging Face folders with two copies of the weights', () => {
  it.each(Object.keys(expected))('%s: verdict as expected', async (name) => {
    const r = await run(name);
    expect(r.verdict, findingSummary(r)).toBe(expected[name].verdict);
  });

  it('honest twins agree: an info note, no twin warning', async () => {
    const r = await run('honest');
    const f = one(r, 'huggingface/weight-twins-agree');
    expect(f.severity).toBe('info');
    expect(f.evidence).toMatchObject({ same: 21, recast: 0 });
    expect(ids(r).filter((i) => i.startsWith('huggingface/') && i !== 'huggingface/weight-twins-agree')).toEqual([]);
  });

  it('float16 safetensors beside a float32 .bin: precision note only', async () => {
    const r = await run('honest-f16');
    expect(one(r, 'huggingface/weight-twins-precision').severity).toBe('info');
    expect(r.findings.filter((f) => f.id.startsWith('huggingface/')).every((f) => f.severity === 'info')).toBe(true);
  });

  it('sharded safetensors + single .bin that agree are compared as two sets', async () => {
    const r = await run('sharded');
    const f = one(r, 'huggingface/weight-twins-agree');
    expect(f.evidence!.first).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(f.evidence!.second).toEqual(['pytorch_model.bin']);
    expect(ids(r)).not.toContain('huggingface/weight-twins-differ');
  });

  it('one row of one tensor differs in the .bin: dangerous, with the row', async () => {
    const r = await run('row-differs');
    const f = one(r, 'huggingface/weight-twins-differ');
    expect(f.severity).toBe('dangerous');
    expect(f.category).toBe('integrity');
    expect(f.file).toBe('pytorch_model.bin');
    const t = (f.evidence!.tensors as { name: string; changedRows: number; rowIndices: number[] }[]);
    expect(t.map((x) => x.name)).toEqual([expected['row-differs'].tensor]);
    expect(t[0].rowIndices).toEqual(expected['row-differs'].rows);
    expect(t[0].changedRows).toBe(1);
  });

  it('an extra tensor in the .bin: tensor sets differ, a warning', async () => {
    const r = await run('extra-tensor');
    const f = one(r, 'huggingface/weight-twins-tensor-sets');
    expect(f.severity).toBe('warning');
    expect(f.evidence!.onlyInSecond).toEqual([expected['extra-tensor'].tensor]);
    expect(f.evidence!.onlyInFirst).toEqual([]);
    expect(ids(r)).not.toContain('huggingface/weight-twins-differ');
  });

  it('config.json vocab_size disagrees with the embedding rows: a warning', async () => {
    const r = await run('wrong-vocab');
    const f = one(r, 'huggingface/config-weights-mismatch');
    expect(f.severity).toBe('warning');
    expect(f.evidence).toMatchObject({ key: 'vocab_size', declared: 100, found: 64, tensor: 'model.embed_tokens.weight' });
    expect(r.findings.filter((x) => x.id === 'huggingface/config-weights-mismatch')).toHaveLength(1);
  });

  it('honest configs agree with their weights', async () => {
    for (const name of ['honest', 'honest-f16', 'sharded', 'row-differs', 'extra-tensor']) {
      expect(ids(await run(name))).not.toContain('huggingface/config-weights-mismatch');
    }
  });
});
