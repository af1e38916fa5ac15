import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report/report';
import { findingSummary, inspectPaths } from '../helpers/inspect-file';

/**
 * Honest stand-ins for models from the wild (tests/fixtures/make_wild_standins.py): the Hugging Face
 * architectures and tensor names (BERT, GPT-2, Llama, ViT, ResNet, Whisper, a PEFT LoRA adapter, a
 * sentence-transformers folder, a dynamically quantised int8 model, training checkpoints) in the forms
 * people publish (safetensors, pytorch_model.bin, sharded safetensors with an index, ONNX exports, whole
 * folders). None is tampered: each must get its expected verdict (clean, or the deserved warning of a whole
 * pickled nn.Module), no finding of severity warning or above beyond the ones expected.json allows, and no
 * privacy-trap finding at all.
 */
interface Expected {
  verdict: 'clean' | 'warning';
  description: string;
  /** ids of findings ≥ warning that are deserved; ["*"]: any (the verdict still has to match) */
  allowedWarnings: string[];
}

const DIR = join(__dirname, '..', 'fixtures', 'wild');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;

const run = (entry: string): Promise<Report> => inspectPaths([join(DIR, entry)]);

const summary = findingSummary;

describe('honest stand-ins for models from the wild (tests/fixtures/make_wild_standins.py)', () => {
  it('has the files expected.json lists', () => {
    const names = Object.keys(expected);
    expect(names.length).toBeGreaterThanOrEqual(25);
    for (const n of ['bert-init', 'lora-init', 'llama', 'gpt2', 'qdyn-int8-state_dict.pt', 'trainer-checkpoint', 'whisper.onnx']) expect(names).toContain(n);
  });

  for (const [entry, e] of Object.entries(expected)) {
    it(`${entry}: ${e.verdict} (${e.description})`, async () => {
      const report = await run(entry);
      expect(report.verdict, summary(report)).toBe(e.verdict);
      expect(report.findings.filter((f) => f.category === 'privacy-trap'), summary(report)).toEqual([]);
      expect(report.findings.filter((f) => f.severity === 'error' || f.severity === 'dangerous'), summary(report)).toEqual([]);
      if (!e.allowedWarnings.includes('*')) {
        const unexpected = report.findings.filter((f) => f.severity === 'warning' && !e.allowedWarnings.includes(f.id));
        expect(unexpected, summary(report)).toEqual([]);
      }
      // an honest model is not buried under notes either
      expect(report.findings.filter((f) => f.severity === 'info').length, summary(report)).toBeLessThanOrEqual(4);
    });
  }

  it('a whole pickled nn.Module is the one deserved warning, and says which classes it loads', async () => {
    const report = await run('qdyn-int8-module.pt');
    const imports = report.findings.filter((f) => f.id === 'pickle/unknown-import').map((f) => f.title);
    expect(imports.some((t) => t.includes('torch.ao.nn.quantized.dynamic.modules.linear.Linear')), summary(report)).toBe(true);
  });
});
