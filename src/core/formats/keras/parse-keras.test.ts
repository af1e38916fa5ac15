import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { hdf5Handler } from '../hdf5/parse-hdf5';
import type { ParseContext } from '../types';
import { kerasHandler, sniffKeras } from './parse-keras';
import { scanKerasConfig } from './scan-keras-config';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'keras');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { tensors: Record<string, { shape: number[]; offset: number }>; kerasVersion: string }>;

function ctxOf(name: string): ParseContext {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
}

describe('keras handler', () => {
  for (const f of ['dense.keras', 'dense-deflated.keras']) {
    it(`${f}: weights as h5py lists them, with file offsets when stored`, async () => {
      const ctx = ctxOf(f);
      expect(sniffKeras(ctx)).toBe(true);
      const p = await kerasHandler.parse(ctx);
      expect(p.findings).toEqual([]);
      expect(p.formatVersion).toBe('3.4.1');
      const exp = expected[f].tensors;
      expect(p.model!.tensors.map((t) => t.name).sort()).toEqual(Object.keys(exp).sort());
      for (const t of p.model!.tensors) {
        expect(t.shape).toEqual(exp[t.name].shape);
        expect(t.offset).toBe(exp[t.name].offset);
        expect(t.dtype).toBe('float32');
      }
      if (f === 'dense.keras') {
        // the offset really addresses the weights: read them back and compare with the h5 member bytes
        const t = p.model!.tensors.find((x) => x.name === 'layers/dense/vars/0')!;
        const bytes = await ctx.source.read(t.offset, t.length);
        expect(new Float32Array(bytes.slice().buffer).every(Number.isFinite)).toBe(true);
        expect(t.length).toBe(8 * 4 * 4);
      }
    });
  }

  it('legacy.h5: model_config read, weights listed with h5py offsets', async () => {
    const p = await hdf5Handler.parse(ctxOf('legacy.h5'));
    expect(p.findings).toEqual([]);
    expect(p.formatVersion).toBe('keras 2.13.1');
    const exp = expected['legacy.h5'].tensors;
    for (const t of p.model!.tensors) expect([t.shape, t.offset]).toEqual([exp[t.name].shape, exp[t.name].offset]);
    expect(p.model!.tensors.length).toBe(Object.keys(exp).length);
  });
});

describe('scanKerasConfig', () => {
  const where = { file: 'm.keras', where: 'config.json' };
  it('flags a Keras 3 Lambda once, with the names inside its bytecode', () => {
    const code = btoa(String.fromCharCode(0xe3, 0, 0) + '\u00da\u0002os\u00da\u0006system');
    const cfg = { module: 'keras.layers', class_name: 'Lambda', config: { name: 'evil', function: { class_name: '__lambda__', config: { code, defaults: null, closure: null } } }, registered_name: null };
    const f = scanKerasConfig(cfg, where);
    expect(f.map((x) => [x.id, x.severity, x.category])).toEqual([['keras/lambda', 'dangerous', 'code-execution']]);
    expect(f[0].evidence!.names).toEqual(expect.arrayContaining(['system']));
  });
  it('flags modules outside Keras, custom registered objects, get_file and enable_unsafe_deserialization', () => {
    const ids = (c: unknown) => scanKerasConfig(c as never, where).map((x) => x.id);
    expect(ids({ module: 'os', class_name: 'system', config: 'id', registered_name: null })).toEqual(['keras/foreign-module']);
    expect(ids({ module: 'keras.layers', class_name: 'Dense', config: {}, registered_name: 'acme>Evil' })).toEqual(['keras/custom-object']);
    expect(ids({ module: 'keras.utils', class_name: 'get_file', config: {} })).toEqual(['keras/dangerous-reference']);
    expect(ids({ layers: ['keras.config.enable_unsafe_deserialization'] })).toEqual(['keras/dangerous-reference']);
    expect(ids({ module: 'keras_hub.src.models', class_name: 'GemmaBackbone', registered_name: 'keras_hub>GemmaBackbone' })).toEqual([]);
  });
});
