import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspect } from '../inspect';
import { MemorySource } from '../io/byte-source';
import { probeHook } from './probe-hook';
import type { ProbeReport } from './types';

const source = (p: string) => new MemorySource(new Uint8Array(readFileSync(new URL(`../../../tests/fixtures/${p}`, import.meta.url))), p.split('/').pop()!);

describe('inspect with the probes hook', () => {
  it('is probe-free by default', async () => {
    const { report } = await inspect([source('probes/mlp-trapped.safetensors')], { skipStream: true });
    expect(report.probes).toBeNull();
    expect(report.findings.filter((f) => f.id.startsWith('probe/'))).toEqual([]);
  });

  it('puts the probe report into Report.probes and its findings into the verdict', async () => {
    const { report } = await inspect([source('probes/mlp-trapped.safetensors')], { skipStream: true, probes: probeHook(null, { seed: 3 }) });
    const probes = report.probes as unknown as ProbeReport;
    expect(probes.schema).toBe('tamperscope.probes/1');
    expect(probes.status).toBe('ran');
    expect(probes.file).toBe('mlp-trapped.safetensors');
    expect(probes.latch!.latched.length).toBe(6);
    const f = report.findings.find((x) => x.id === 'probe/latched-unit')!;
    expect(f).toMatchObject({ category: 'privacy-trap', severity: 'dangerous', file: 'mlp-trapped.safetensors' });
    expect(report.verdict).toBe('dangerous');
    // plain data: survives JSON unchanged
    expect(JSON.parse(JSON.stringify(report.probes))).toEqual(report.probes);
  });
});
