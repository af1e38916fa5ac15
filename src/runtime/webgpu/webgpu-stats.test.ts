import { describe, expect, it } from 'vitest';
import { cpuReduce } from '../../core/stats/reduce';
import { runWebGpuSelfTest, selectStatsBackend, selfTestVector } from './webgpu-stats';

describe('statistics backend selection (Node: no WebGPU)', () => {
  it('falls back to the CPU and says why', async () => {
    const c = await selectStatsBackend();
    expect(c.backend.name).toBe('cpu');
    expect(c.fallbackReason).toMatch(/navigator\.gpu/);
    expect((await selectStatsBackend({ preferCpu: true })).fallbackReason).toBe('CPU requested');
  });

  it('the self-test runs on the CPU path and reports agreement', async () => {
    const r = await runWebGpuSelfTest(1 << 16);
    expect(r).toMatchObject({ backend: 'cpu', adapter: null, countsMatch: true, binsMatch: true, minMaxMatch: true, ok: true, maxRelError: 0 });
  });

  it('the CPU reduction counts the planted specials of the self-test vector exactly', () => {
    const n = 1 << 20;
    const r = cpuReduce(selfTestVector(n));
    // later plants overwrite earlier ones (zeros, NaN, +Inf, −Inf, subnormals, in that order)
    const owner = new Map<number, string>();
    const plant = (start: number, step: number, kind: string) => {
      for (let i = start; i < n; i += step) owner.set(i, kind);
    };
    plant(0, 997, 'zeros');
    plant(5, 100_003, 'nan');
    plant(7, 200_003, 'posInf');
    plant(9, 300_007, 'negInf');
    plant(11, 50_021, 'subnormal');
    const count = (k: string) => [...owner.values()].filter((x) => x === k).length;
    for (const k of ['zeros', 'nan', 'posInf', 'negInf', 'subnormal'] as const) expect(r[k], k).toBe(count(k));
    expect(r.logBins.reduce((a, b) => a + b, 0)).toBe(r.finite);
  });
});
