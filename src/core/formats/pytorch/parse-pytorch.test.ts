import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../../../cli/node-source';
import { assertValidReport } from '../../../../tests/helpers/schema';
import { inspect } from '../../inspect';
import { MemorySource } from '../../io/byte-source';
import type { TensorInfo } from '../../model/types';
import { parsePytorchLegacy } from './parse-pytorch-legacy';

const dir = join(__dirname, '../../../../tests/fixtures/pytorch');
interface ExpectedTensor { name: string; dtype: string; shape: number[]; stride: number[]; storageOffset: number; numel: number; contiguous: boolean; elementSize: number; first: number | boolean; offset: number; storageKey: string }
interface Expected { kind: string; tensors: ExpectedTensor[]; parameterCount: number; parametersByDtype?: Record<string, number>; storagesEnd?: number }
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>;

/** The element at a tensor's offset, decoded by dtype (what statistics will read). */
function elementAt(bytes: Uint8Array, t: TensorInfo): number | boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + t.offset);
  switch (t.dtype) {
    case 'float32': return dv.getFloat32(0, true);
    case 'float64': return dv.getFloat64(0, true);
    case 'float16': {
      const h = dv.getUint16(0, true);
      const e = (h >> 10) & 31, m = h & 1023, sign = h >> 15 ? -1 : 1;
      return sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
    }
    case 'bfloat16': return new DataView(new Uint32Array([dv.getUint16(0, true) << 16]).buffer).getFloat32(0, true);
    case 'int8': return dv.getInt8(0);
    case 'int64': return Number(dv.getBigInt64(0, true));
    case 'bool': return dv.getUint8(0) !== 0;
    default: throw new Error(`no decoder for ${t.dtype}`);
  }
}

async function run(name: string) {
  const { report, model } = await inspect(await sourcesFromPaths([join(dir, name)]), { skipStream: true });
  assertValidReport(report);
  return { report, model: model!, bytes: new Uint8Array(readFileSync(join(dir, name))) };
}

describe('PyTorch checkpoints written by torch 1.13', () => {
  for (const name of ['state-dict.pt', 'state-dict-legacy.pth', 'dtypes-views.pt', 'dtypes-views-legacy.pth', 'whole-module.pt', 'scripted.pt']) {
    it(`${name}: tensors, dtypes, shapes, strides and absolute offsets match torch`, async () => {
      const exp = expected[name];
      const { report, model, bytes } = await run(name);
      expect(report.files[0].format).toBe(exp.kind);
      expect(model.format).toBe(exp.kind);
      expect(model.tensors.map((t) => t.name)).toEqual(exp.tensors.map((t) => t.name));
      for (const [i, t] of model.tensors.entries()) {
        const e = exp.tensors[i];
        expect({ dtype: t.dtype, shape: t.shape, stride: t.stride, storageOffset: t.storageOffset, numel: t.numel, offset: t.offset }, t.name).toEqual({
          dtype: e.dtype, shape: e.shape, stride: e.stride, storageOffset: e.storageOffset, numel: e.numel, offset: e.offset,
        });
        expect(t.encoding, t.name).toBe(e.contiguous ? 'raw' : 'other');
        if (e.contiguous) expect(t.length).toBe(e.numel * e.elementSize);
        const v = elementAt(bytes, t);
        if (typeof e.first === 'number') expect(v as number, t.name).toBeCloseTo(e.first, 6);
        else expect(v).toBe(e.first);
      }
      expect(report.model!.parameterCount).toBe(exp.parameterCount);
      if (exp.parametersByDtype) expect(report.model!.parametersByDtype).toEqual(exp.parametersByDtype);
    });
  }

  it('state dicts are clean and reported as plain (weights_only) checkpoints', async () => {
    for (const name of ['state-dict.pt', 'state-dict-legacy.pth', 'dtypes-views.pt', 'dtypes-views-legacy.pth']) {
      const { report } = await run(name);
      expect(report.verdict, name).toBe('clean');
      expect(report.findings.map((f) => f.id), name).toEqual(['pickle/plain-state-dict']);
    }
  });

  it('marks views that share a storage and views that are not contiguous', async () => {
    const { model } = await run('dtypes-views.pt');
    const byName = new Map(model.tensors.map((t) => [t.name, t]));
    expect(byName.get('transposed')!.origin).toContain('non-contiguous view (stride [1, 6])');
    expect(byName.get('row2')!.origin).toContain('shares storage "5"');
    expect(byName.get('cols')!.length).toBe((3 * 6 + 1 + 1) * 4); // span of a [4,2] view with stride [6,1]
  });

  it('a whole pickled module imports its classes: unknown-import warnings, no code execution', async () => {
    const { report } = await run('whole-module.pt');
    expect(report.verdict).toBe('warning');
    expect(report.findings.every((f) => f.category === 'unknown-import' && f.severity === 'warning')).toBe(true);
    expect(report.findings.map((f) => f.evidence?.import).sort()).toEqual([
      'torch.nn.modules.activation.ReLU', 'torch.nn.modules.container.Sequential', 'torch.nn.modules.linear.Linear',
    ]);
  });

  it('a TorchScript archive is recognised and warns that its code runs when loaded', async () => {
    const { report } = await run('scripted.pt');
    expect(report.verdict).toBe('warning');
    expect(report.findings.map((f) => [f.id, f.category, f.severity])).toEqual([['torchscript/code', 'code-execution', 'warning']]);
    expect((report.findings[0].evidence!.code as string[]).length).toBe(10);
  });

  it('legacy: the storages end exactly where torch wrote the last byte, and raw bytes are never emulated', async () => {
    for (const name of ['state-dict-legacy.pth', 'dtypes-views-legacy.pth']) {
      const bytes = new Uint8Array(readFileSync(join(dir, name)));
      const src = new MemorySource(bytes, name);
      const p = await parsePytorchLegacy({ name, size: bytes.length, head: bytes, tail: bytes, source: src, folder: { get: () => undefined, paths: () => [] } });
      expect((p.extra as { storagesEnd: number }).storagesEnd).toBe(expected[name].storagesEnd);
      // a storage count that disagrees with its persistent id is an error at the count's offset
      const broken = bytes.slice();
      const pickleEnd = (p.extra as { pickleEnd: number }).pickleEnd;
      broken[pickleEnd] ^= 1;
      const q = await parsePytorchLegacy({ name, size: broken.length, head: broken, tail: broken, source: new MemorySource(broken, name), folder: { get: () => undefined, paths: () => [] } });
      expect(q.findings.find((f) => f.id === 'pytorch-legacy/storage-size-mismatch')?.offset).toBe(pickleEnd);
    }
  });
});
