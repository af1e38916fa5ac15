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

describe('keras: second-round hostile configs', () => {
  const hostile = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hostile', 'gen-formats', 'keras');
  const ctxAt = (name: string): ParseContext => {
    const bytes = new Uint8Array(readFileSync(join(hostile, name)));
    return { name, size: bytes.length, head: bytes.subarray(0, 65536), tail: bytes.subarray(Math.max(0, bytes.length - 65536)), source: new MemorySource(bytes, name), folder: { get: () => undefined, paths: () => [] } };
  };
  const loc = { file: 'm.keras', where: 'config.json' };
  const ids = (fs: { id: string; severity: string; category: string }[]) => fs.map((f) => `${f.severity} ${f.category} ${f.id}`);

  it('flags TFOpLambda layers that reach outside the tensor computation, not arithmetic ones', () => {
    const layer = (fn: string) => ({ class_name: 'Functional', config: { layers: [{ class_name: 'TFOpLambda', config: { name: 'op', function: fn } }] } });
    for (const fn of ['io.write_file', 'tf.io.read_file', 'py_function', 'compat.v1.py_func', 'numpy_function', 'print', 'raw_ops.WriteFile', 'compat.v1.io.gfile.GFile'])
      expect(ids(scanKerasConfig(layer(fn), loc)), fn).toEqual(['dangerous code-execution keras/tf-op']);
    for (const fn of ['math.multiply', '__operators__.add', 'nn.relu', 'reshape', 'compat.v1.shape', 'math.reduce_mean'])
      expect(scanKerasConfig(layer(fn), loc), fn).toEqual([]);
  });
  it('flags func_load references and dotted registered names', () => {
    const cfg = { module: 'keras.layers', class_name: 'Dense', config: { activation: { module: 'keras.src.utils.python_utils', class_name: 'function', config: 'func_load', registered_name: 'function' } }, registered_name: null };
    expect(ids(scanKerasConfig(cfg, loc))).toEqual(['dangerous code-execution keras/dangerous-reference']);
    expect(ids(scanKerasConfig({ module: null, class_name: 'Dense', config: {}, registered_name: 'os.system' }, loc))).toEqual(['warning code-execution keras/custom-object']);
    expect(scanKerasConfig({ module: 'keras', class_name: 'Functional', config: {}, registered_name: 'Functional' }, loc)).toEqual([]);
  });
  it('scans every config.json member (zipfile loads the last) and reports code members', async () => {
    const dup = await kerasHandler.parse(ctxAt('duplicate-config.keras'));
    expect(ids(dup.findings)).toContain('dangerous code-execution keras/lambda');
    const py = await kerasHandler.parse(ctxAt('python-member.keras'));
    expect(ids(py.findings)).toEqual(['warning code-execution keras/code-member']);
    expect(py.findings[0].evidence).toMatchObject({ members: ['assets/custom_layers.py'] });
  });
});
