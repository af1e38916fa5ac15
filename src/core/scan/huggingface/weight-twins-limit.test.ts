import { describe, expect, it, vi } from 'vitest';
import { buildF32Safetensors } from '../../../../tests/helpers/safetensors-builder';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';

// a limit of 256 bytes stands in for the 4 GiB one: the copies below are ~600 bytes each
vi.mock('../../io/limits', async (original) => ({ ...(await original<typeof import('../../io/limits')>()), TWIN_COMPARE_MAX_BYTES: 256 }));

describe('weight twins over the size limit', () => {
  it('are not read again: an info note says so, and a difference between them goes unjudged', async () => {
    const w = Array.from({ length: 128 }, (_, i) => Math.sin(i) * 0.1);
    const edited = [...w];
    edited[5] += 1;
    const { report } = await inspect([
      new MemorySource(buildF32Safetensors({ 'fc1.weight': { shape: [16, 8], values: w } }), 'model.safetensors'),
      new MemorySource(buildF32Safetensors({ 'fc1.weight': { shape: [16, 8], values: edited } }), 'model-00001-of-00001.safetensors'),
    ]);
    const f = report.findings.filter((x) => x.id.startsWith('huggingface/weight-twins'));
    expect(f.map((x) => [x.id, x.severity])).toEqual([['huggingface/weight-twins-not-compared', 'info']]);
    expect(f[0].evidence).toMatchObject({ limit: 256 });
  });
});
