import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/report/finding';
import type { Report } from '../../src/core/report/report';
import { findingSummary, inspectPaths } from '../helpers/inspect-file';

/**
 * The generalisation set (tests/fixtures/make_generalise.py): privacy traps that differ from the
 * calibration set the way a real attacker's would (other sizes, Sequential names, names that do not sort in
 * data-flow order, float16 / bfloat16, the breaching library's own imprint block, traps hidden under noise,
 * a LayerNorm identity in a transformer) and honest models the calibration set does not have (larger MLPs,
 * a CNN, a GPT-2 with LayerNorm 1/0, dead ReLUs, pruning, quantised values stored as float, ternary
 * depthwise kernels). Tampered: a privacy-trap finding of warning or dangerous. Honest: none, and a verdict
 * other than dangerous.
 */
interface Expected {
  tampered: boolean;
  description: string;
  trapRows?: number[];
  latchedRows?: number[];
  rows?: number[];
  pairs?: [number, number][];
}

const DIR = join(__dirname, '..', 'fixtures', 'generalise');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;

const run = (file: string): Promise<Report> => inspectPaths([join(DIR, file)]);

const traps = (r: Report) => r.findings.filter((f) => f.category === 'privacy-trap');
const summary = findingSummary;
const one = (r: Report, id: string, tensor?: string): Finding => {
  const f = r.findings.find((x) => x.id === id && (tensor === undefined || x.evidence?.tensor === tensor));
  expect(f, `${id}${tensor ? ` on ${tensor}` : ''}\n${summary(r)}`).toBeDefined();
  return f!;
};
const units = (f: Finding) => (f.evidence!.paths as { unit: number }[]).map((p) => p.unit);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** Finding ids and evidence that are stable for a file, beyond the tampered / honest contract. */
const specific: Record<string, (r: Report, e: Expected) => void> = {
  'seq784-trap4.safetensors': (r, e) => {
    const f = one(r, 'privacy/lone-path', '0.weight');
    expect(f.severity).toBe('dangerous');
    expect(units(f)).toEqual(e.trapRows);
    expect(f.evidence!.next).toBe('2.weight');
    expect(f.evidence!.imageShape).toEqual([28, 28]);
    expect((f.evidence!.paths as { pathGain: number }[]).every((p) => p.pathGain === 1e4)).toBe(true);
  },
  'seq784-trap40.onnx': (r, e) => {
    const f = r.findings.find((x) => x.id === 'privacy/lone-path' && (x.evidence!.paths as unknown[]).length === 40)!;
    expect(f, summary(r)).toBeDefined();
    expect(units(f)).toEqual(e.trapRows);
    expect((f.evidence!.paths as { pathGain: number }[]).every((p) => Math.abs(p.pathGain - 1.2e4) < 1e-6)).toBe(true);
  },
  'rgb3072-trap.safetensors': (r, e) => {
    const f = one(r, 'privacy/lone-path', '0.weight');
    expect(units(f)).toEqual(e.trapRows);
    expect(f.evidence!.imageShape).toEqual([3, 32, 32]);
  },
  'trapped-f16.safetensors': (r, e) => expect(units(one(r, 'privacy/lone-path', 'fc1.weight'))).toEqual(e.trapRows),
  'trapped-bf16.safetensors': (r, e) => expect(units(one(r, 'privacy/lone-path', 'fc1.weight'))).toEqual(e.trapRows),
  'latched-f16.safetensors': (r, e) => expect(one(r, 'privacy/latched-rows', 'fc1.weight').evidence!.rows).toEqual(e.latchedRows),
  'latched-bf16.safetensors': (r, e) => expect(one(r, 'privacy/latched-rows', 'fc1.weight').evidence!.rows).toEqual(e.latchedRows),
  'latched3.safetensors': (r, e) => latched3(r, e),
  'latched3.pt': (r, e) => latched3(r, e),
  'imprint8.safetensors': (r, e) => {
    const f = one(r, 'privacy/imprint-layer', 'fc1.weight');
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.rows).toEqual(e.rows);
    expect(f.evidence!.ladderFit).toMatchObject({ family: 'normal', count: 8 });
  },
  'imprint100.safetensors': (r, e) => {
    const f = one(r, 'privacy/imprint-layer', 'fc1.weight');
    expect(f.evidence!.rows).toEqual(e.rows!.slice(0, 64));
    expect(1 - (f.evidence!.ladderCorrelation as number)).toBeLessThan(1e-6);
  },
  'imprint100-breaching.safetensors': (r) => {
    // constant rows (DCT mode 0) with Laplace-quantile bins and the −10 catch-all bin left out of the fit
    const f = one(r, 'privacy/imprint-layer', 'imprint.linear0.weight');
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.ladderFit).toMatchObject({ family: 'laplace', trimmed: 'high', count: 99 });
    // its read-out layer (every weight 1/gain, default-initialised biases) is a constant matrix, not a ladder
    expect(traps(r).filter((x) => x.evidence?.tensor === 'imprint.linear2.weight')).toEqual([]);
  },
  'trapweights-0.9.safetensors': (r, e) => {
    const f = one(r, 'privacy/mirrored-rows', 'fc1.weight');
    expect(f.severity).toBe('dangerous');
    const key = (p: number[]) => p.join('>');
    expect((f.evidence!.pairs as number[][]).map(key).sort()).toEqual(e.pairs!.map(key).sort());
    expect(f.evidence!.ratio as number).toBeCloseTo(-0.9, 6);
  },
  'trapped-unsorted.safetensors': (r, e) => {
    const f = one(r, 'privacy/lone-path', 'input.weight');
    expect(units(f)).toEqual(e.trapRows);
    expect(f.evidence!.next).toBe('hidden.weight');
    expect(f.evidence!.imageShape).toEqual([16, 16]);
    expect(one(r, 'privacy/lone-path', 'hidden.weight').evidence!.next).toBe('output.weight');
  },
  'trapped-noisy.safetensors': (r, e) => {
    const f = one(r, 'privacy/lone-path', 'fc1.weight');
    expect(units(f)).toEqual(e.trapRows);
    expect(r.findings.some((x) => x.id === 'weights/exact-repeats')).toBe(false);
  },
  'gpt-ln-identity.safetensors': (r) => {
    const f = one(r, 'privacy/layernorm-identity', 'transformer.h.0.ln_1.weight');
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.partner).toBe('transformer.h.0.ln_1.bias');
  },
  'pruned50.safetensors': (r) => {
    // exact zeros from pruning: at most an info/warning weight anomaly
    for (const f of r.findings.filter((x) => x.category === 'weight-anomaly')) expect(['info', 'warning']).toContain(f.severity);
  },
};

function latched3(r: Report, e: Expected): void {
  const f = one(r, 'privacy/latched-rows', 'fc1.weight');
  expect(f.severity).toBe('dangerous');
  expect(f.evidence!.rows).toEqual(e.latchedRows);
  // every trap keeps its lone path: the one SGD step that fired a trap left its other outgoing weights
  // at ~1e-3, under 2^-10 of the path's 100
  expect(sorted(units(one(r, 'privacy/lone-path', 'fc1.weight')))).toEqual(e.trapRows);
}

describe('generalisation set (tests/fixtures/make_generalise.py)', () => {
  it('has the files expected.json lists, tampered and honest', () => {
    const entries = Object.values(expected);
    expect(entries.filter((e) => e.tampered).length).toBeGreaterThanOrEqual(15);
    expect(entries.filter((e) => !e.tampered).length).toBeGreaterThanOrEqual(14);
    for (const name of Object.keys(specific)) expect(Object.keys(expected)).toContain(name);
  });

  for (const [file, e] of Object.entries(expected)) {
    it(`${file}: ${e.tampered ? 'tampered' : 'honest'} (${e.description})`, async () => {
      const report = await run(file);
      const found = traps(report);
      if (e.tampered) {
        expect(found.some((f) => f.severity === 'warning' || f.severity === 'dangerous'), summary(report)).toBe(true);
      } else {
        expect(found, summary(report)).toEqual([]);
        expect(report.verdict, summary(report)).not.toBe('dangerous');
      }
      specific[file]?.(report, e);
    });
  }
});
