import { describe, expect, it } from 'vitest';
import { buildF32Safetensors } from '../../../../tests/helpers/safetensors-builder';
import { assertValidReport } from '../../../../tests/helpers/schema';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';
import type { TensorInfo } from '../../model/types';
import { configMismatches } from './config-dims';
import { classifyWeightFile, twinWeightSets } from './weight-sets';
import { tiedNames } from './weight-twins';

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.1);
const tensors = (edit?: (w: number[]) => void) => {
  const w = values(16 * 8, 1);
  edit?.(w);
  return { 'fc1.weight': { shape: [16, 8], values: w }, 'fc1.bias': { shape: [16], values: values(16, 2) } };
};

async function scan(files: Record<string, Uint8Array>) {
  const { report } = await inspect(Object.entries(files).map(([name, bytes]) => new MemorySource(bytes, name)));
  assertValidReport(report);
  return report;
}

describe('weight file names', () => {
  it('classifies transformers, PEFT and diffusers weight names', () => {
    expect(classifyWeightFile('model.safetensors')).toMatchObject({ role: 'model', format: 'safetensors', shard: null, variant: null });
    expect(classifyWeightFile('sub/pytorch_model-00002-of-00003.bin')).toMatchObject({ dir: 'sub', format: 'pytorch', shard: { index: 2, of: 3 } });
    expect(classifyWeightFile('model.fp16.safetensors')).toMatchObject({ variant: 'fp16' });
    expect(classifyWeightFile('adapter_model.bin')).toMatchObject({ role: 'adapter', format: 'pytorch' });
    expect(classifyWeightFile('tf_model.h5')).toMatchObject({ format: 'tensorflow' });
    expect(classifyWeightFile('flax_model.msgpack')).toMatchObject({ format: 'flax' });
    for (const n of ['model.bin', 'pytorch_model.safetensors', 'training_args.bin', 'model-00003-of-00002.safetensors', 'optimizer.pt']) expect(classifyWeightFile(n)).toBeNull();
  });

  it('groups copies of one model by folder, role and variant; the safetensors set first', () => {
    const groups = twinWeightSets([
      'pytorch_model.bin', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json',
      'adapter_model.safetensors', 'model.fp16.safetensors', 'other/model.safetensors', 'config.json',
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0].map((s) => s.label)).toEqual(['model-*-of-00002.safetensors', 'pytorch_model.bin']);
    expect(groups[0][0].missingShards).toEqual([]);
    const g = twinWeightSets(['adapter_model.bin', 'adapter_model.safetensors', 'model-00001-of-00003.safetensors', 'model.safetensors']);
    expect(g.map((x) => x.map((s) => s.label))).toEqual([['adapter_model.safetensors', 'adapter_model.bin'], ['model.safetensors', 'model-*-of-00003.safetensors']]);
    expect(g[1][1].missingShards).toEqual([2, 3]);
  });
});

describe('tied tensors', () => {
  const t = (name: string, offset: number): TensorInfo => ({ name, dtype: 'float32', shape: [4, 2], numel: 8, file: 'pytorch_model.bin', offset, length: 32 });
  it('a name only one copy lists that shares storage with a common tensor is a tied copy', () => {
    const own = [t('embed.weight', 100), t('lm_head.weight', 100), t('extra.weight', 200)];
    expect([...tiedNames(['lm_head.weight', 'extra.weight'], own, new Set(['embed.weight']))]).toEqual([['lm_head.weight', 'embed.weight']]);
  });
});

describe('weight twins in a folder', () => {
  it('single and sharded safetensors that agree: info only', async () => {
    const all = tensors();
    const r = await scan({
      'model.safetensors': buildF32Safetensors(all),
      'model-00001-of-00002.safetensors': buildF32Safetensors({ 'fc1.weight': all['fc1.weight'] }),
      'model-00002-of-00002.safetensors': buildF32Safetensors({ 'fc1.bias': all['fc1.bias'] }),
    });
    expect(r.findings.map((f) => f.id)).toEqual(['huggingface/weight-twins-agree']);
    expect(r.verdict).toBe('clean');
  });

  it('a value changed in one copy is dangerous; the changed rows are named', async () => {
    const r = await scan({ 'model.safetensors': buildF32Safetensors(tensors()), 'model.fp32.safetensors': buildF32Safetensors(tensors()), 'model-00001-of-00001.safetensors': buildF32Safetensors(tensors((w) => (w[9 * 8 + 3] += 1e-3))) });
    const f = r.findings.find((x) => x.id === 'huggingface/weight-twins-differ')!;
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.tensors).toMatchObject([{ name: 'fc1.weight', changedRows: 1, rowIndices: [9] }]);
    expect(r.verdict).toBe('dangerous');
  });

  it('a missing shard: tensors only one copy has are not judged, the rest are compared', async () => {
    const all = tensors();
    const r = await scan({ 'model.safetensors': buildF32Safetensors(all), 'model-00001-of-00002.safetensors': buildF32Safetensors({ 'fc1.weight': all['fc1.weight'] }) });
    expect(r.findings.map((f) => f.id).sort()).toEqual(['huggingface/weight-twins-agree', 'huggingface/weight-twins-not-compared']);
  });

  it('a reshaped tensor is a tensor-set warning', async () => {
    const a = tensors();
    const r = await scan({ 'adapter_model.safetensors': buildF32Safetensors(a), 'adapter_model-00001-of-00001.safetensors': buildF32Safetensors({ ...a, 'fc1.weight': { shape: [8, 16], values: a['fc1.weight'].values } }) });
    const f = r.findings.find((x) => x.id === 'huggingface/weight-twins-tensor-sets')!;
    expect(f.severity).toBe('warning');
    expect(f.evidence!.reshaped).toMatchObject([{ name: 'fc1.weight', shape: [8, 16], refShape: [16, 8] }]);
  });

  it('one weight file: no twin finding', async () => {
    const r = await scan({ 'model.safetensors': buildF32Safetensors(tensors()) });
    expect(r.findings).toEqual([]);
  });
});

describe('config.json against the weights', () => {
  const t = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'float32', shape, numel: shape.reduce((p, q) => p * q, 1), file: 'model.safetensors', offset: 0, length: 0 });
  const llama = [t('model.embed_tokens.weight', [64, 16]), t('model.layers.0.mlp.up_proj.weight', [32, 16]), t('model.layers.1.mlp.up_proj.weight', [32, 16]), t('lm_head.weight', [64, 16])];
  it('agreeing sizes: nothing', () => {
    expect(configMismatches({ vocab_size: 64, hidden_size: 16, num_hidden_layers: 2 }, llama)).toEqual([]);
  });
  it('vocab_size, hidden_size and layer count mismatches', () => {
    expect(configMismatches({ vocab_size: 65, hidden_size: 32, num_hidden_layers: 3 }, llama).map((m) => [m.key, m.declared, m.found])).toEqual([
      ['vocab_size', 65, 64],
      ['hidden_size', 32, 16],
      ['num_hidden_layers', 3, 2],
    ]);
  });
  it('GPT-2 names (wte, h.N, n_embd, n_layer)', () => {
    const gpt2 = [t('wte.weight', [50, 8]), t('h.0.attn.c_attn.weight', [8, 24]), t('h.1.attn.c_attn.weight', [8, 24]), t('h.2.attn.c_attn.weight', [8, 24])];
    expect(configMismatches({ vocab_size: 50, n_embd: 8, n_layer: 3 }, gpt2)).toEqual([]);
    expect(configMismatches({ vocab_size: 50, n_embd: 8, n_layer: 2 }, gpt2).map((m) => m.key)).toEqual(['n_layer']);
  });
  it('uncertain cases are skipped: separate embedding width, several stacks, nested configs, MTP layers', () => {
    expect(configMismatches({ vocab_size: 64, hidden_size: 32, embedding_size: 16 }, llama)).toEqual([]);
    const encdec = [t('encoder.block.0.x', [2, 2]), t('decoder.block.0.x', [2, 2]), t('decoder.block.1.x', [2, 2])];
    expect(configMismatches({ num_hidden_layers: 5 }, encdec)).toEqual([]);
    expect(configMismatches({ vocab_size: 10, text_config: {} }, llama)).toEqual([]);
    const mtp = [...llama, t('model.layers.2.eh_proj.weight', [16, 32])];
    expect(configMismatches({ num_hidden_layers: 2, num_nextn_predict_layers: 1 }, mtp)).toEqual([]);
  });
});
