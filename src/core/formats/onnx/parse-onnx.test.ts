import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../../../cli/node-source';
import { assertValidReport } from '../../../../tests/helpers/schema';
import { folderIndexOf, inspect } from '../../inspect';
import { MemorySource, type ByteSource } from '../../io/byte-source';
import { isParseError } from '../../io/errors';
import { SNIFF_BYTES } from '../../io/limits';
import type { Graph, ModelInfo } from '../../model/types';
import type { FileParse } from '../types';
import { parseOnnx, sniffOnnx, type OnnxExtra } from './parse-onnx';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'onnx');

interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  origin: string;
  offset?: number;
  length?: number;
  encoding?: string;
  file?: string;
  denseShape?: number[];
}
interface Expected {
  irVersion: number;
  producer: string;
  opsetImports: { domain: string; version: number }[];
  metadata: Record<string, string>;
  domain: string;
  modelVersion: number;
  docString: string;
  graphName: string;
  nodeCount: number;
  topNodeCount: number;
  ops: Record<string, number>;
  functions: { domain: string; name: string; nodes: number }[];
  inputs: { name: string; dtype: string; shape: { value: number | null; param?: string }[] | null }[];
  outputs: { name: string; dtype: string; shape: { value: number | null; param?: string }[] | null }[];
  initializers: string[];
  tensors: ExpectedTensor[];
  parameterCount: number;
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>;

function countNodes(g: Graph): number {
  return g.nodes.length + g.nodes.reduce((a, n) => a + (n.subgraphs ?? []).reduce((b, s) => b + countNodes(s), 0), 0);
}

function opHistogram(g: Graph, out: Record<string, number> = {}): Record<string, number> {
  for (const n of g.nodes) {
    const key = (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '') + n.opType;
    out[key] = (out[key] ?? 0) + 1;
    for (const s of n.subgraphs ?? []) opHistogram(s, out);
  }
  return out;
}

async function parseFixture(rel: string): Promise<{ parse: FileParse; sources: ByteSource[] }> {
  const root = rel.includes('/') ? join(dir, rel.split('/')[0]) : join(dir, rel);
  const sources = await sourcesFromPaths([root]);
  const name = rel.includes('/') ? rel.split('/').slice(1).join('/') : rel;
  const source = sources.find((s) => s.name === name)!;
  const head = await source.read(0, SNIFF_BYTES);
  const ctx = { name: source.name, size: source.size, head, tail: head, source, folder: folderIndexOf(sources) };
  expect(sniffOnnx(ctx)).toBe(true);
  const parse = await parseOnnx(ctx);
  for (const s of sources) await s.close();
  return { parse, sources };
}

describe('parseOnnx against python-onnx (tests/fixtures/make_onnx.py)', () => {
  for (const [rel, exp] of Object.entries(expected)) {
    it(rel, async () => {
      const { parse } = await parseFixture(rel);
      const m = parse.model as ModelInfo;
      expect(m.format).toBe('onnx');
      expect(m.formatVersion).toBe(String(exp.irVersion));
      expect(m.producer ?? '').toBe(exp.producer);
      expect(m.opsetImports).toEqual(exp.opsetImports);
      for (const [k, v] of Object.entries(exp.metadata)) expect(m.metadata[k]).toBe(v);
      if (exp.domain) expect(m.metadata['onnx:domain']).toBe(exp.domain);
      if (exp.modelVersion) expect(m.metadata['onnx:model_version']).toBe(String(exp.modelVersion));
      if (exp.docString) expect(m.metadata['onnx:doc_string']).toBe(exp.docString);
      const g = m.graph!;
      expect(g.name).toBe(exp.graphName);
      expect(g.nodes.length).toBe(exp.topNodeCount);
      expect(countNodes(g)).toBe(exp.nodeCount);
      expect(opHistogram(g)).toEqual(exp.ops);
      expect(g.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape }))).toEqual(exp.inputs);
      expect(g.outputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape }))).toEqual(exp.outputs);
      expect(g.initializers).toEqual(exp.initializers);
      const extra = parse.extra as unknown as OnnxExtra;
      expect(extra.functions.map((f) => ({ domain: f.domain, name: f.name, nodes: f.nodes.length }))).toEqual(exp.functions);

      expect(m.tensors.map((t) => t.name).sort()).toEqual(exp.tensors.map((t) => t.name).sort());
      for (const e of exp.tensors) {
        const t = m.tensors.find((x) => x.name === e.name)!;
        expect({ dtype: t.dtype, shape: t.shape, numel: t.numel, origin: t.origin }, e.name).toEqual({ dtype: e.dtype, shape: e.shape, numel: e.numel, origin: e.origin });
        if (e.offset !== undefined) expect(t.offset, `${e.name} offset`).toBe(e.offset);
        if (e.length !== undefined) expect(t.length, `${e.name} length`).toBe(e.length);
        if (e.encoding !== undefined) expect(t.encoding, `${e.name} encoding`).toBe(e.encoding);
        if (e.file !== undefined) expect(t.file).toBe(join(rel, '..', e.file).replace(/^\.\//, '').replace(/^[^/]+\//, ''));
        if (e.denseShape) expect(t.role).toBe(`sparse values of dense shape [${e.denseShape.join(', ')}]`);
      }
      expect(m.tensors.reduce((a, t) => a + t.numel, 0)).toBe(exp.parameterCount);
    });
  }

  it('reads INT64_MAX and negative ints attributes exactly (Slice ends, axes)', async () => {
    // made here rather than by python: one node with ints [-1, 2^63-1] and an int of -2^63
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int64(8);
    w.tag(7, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).fork().tag(4, WireType.LengthDelimited).string('Slice');
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('ends').tag(20, WireType.Varint).int32(7);
    w.tag(8, WireType.Varint).int64(-1).tag(8, WireType.Varint).int64('9223372036854775807').join();
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('lo').tag(20, WireType.Varint).int32(2);
    w.tag(3, WireType.Varint).int64('-9223372036854775808').join();
    w.join().join();
    const bytes = w.finish();
    const source = new MemorySource(bytes, 'slice.onnx');
    const ctx = { name: source.name, size: source.size, head: bytes, tail: bytes, source, folder: folderIndexOf([source]) };
    const m = (await parseOnnx(ctx)).model!;
    const attrs = m.graph!.nodes[0].attributes;
    expect(attrs.find((a) => a.name === 'ends')!.value).toEqual({ kind: 'ints', value: [-1, '9223372036854775807'] });
    expect(attrs.find((a) => a.name === 'lo')!.value).toEqual({ kind: 'int', value: '-9223372036854775808' });
  });

  it('gives an honest fixture a valid, clean report and external tensors that point into weights.bin', async () => {
    const sources = await sourcesFromPaths([join(dir, 'external')]);
    const { report, model } = await inspect(sources, { skipStream: true });
    assertValidReport(report);
    expect(report.findings.filter((f) => f.file === 'model.onnx')).toEqual([]);
    expect(model!.files).toEqual(['model.onnx', 'weights.bin']);
    const w = model!.tensors.find((t) => t.name === 'big.weight')!;
    expect(w).toMatchObject({ file: 'weights.bin', encoding: 'external', length: 32 * 16 * 4 });
    // the statistics pass reads external tensors from their file: same numbers as numpy wrote
    const { report: full } = await inspect(sources);
    const stats = (full.statistics ?? []) as { name: string; count: number }[];
    expect(stats.find((s) => s.name === 'big.weight')?.count).toBe(512);
  });

  it('flags the custom domain but not the model-local function', async () => {
    const custom = await parseFixture('custom_domain.onnx');
    expect(custom.parse.findings.map((f) => [f.id, f.severity, f.category])).toEqual([['onnx/custom-op', 'warning', 'custom-op']]);
    expect(custom.parse.findings[0].evidence).toMatchObject({ domain: 'com.example.custom', ops: ['FancyGelu'], nodes: 1 });
    const local = await parseFixture('local_function.onnx');
    expect(local.parse.findings).toEqual([]);
  });

  it('warns about the value-dependent If and stays quiet on the shape-dependent one', async () => {
    const cf = await parseFixture('control_flow.onnx');
    const warn = cf.parse.findings.filter((f) => f.severity !== 'info');
    expect(warn.map((f) => [f.id, f.category, f.severity])).toEqual([
      ['onnx/input-dependent-control-flow', 'graph-anomaly', 'warning'],
      ['onnx/input-dependent-control-flow', 'graph-anomaly', 'warning'],
    ]);
    expect(warn[0].evidence).toMatchObject({ node: 'outer_if', opType: 'If', input: 'x', subgraph: null });
    // the inner If branches on the loop-carried value, which starts from ReduceSum(x)
    expect(warn[1].evidence).toMatchObject({ node: 'inner_if', opType: 'If', input: 'x', subgraph: 'outer_if/loop/' });
    // the offset is the NodeProto of outer_if in the file
    const bytes = readFileSync(join(dir, 'control_flow.onnx'));
    expect(bytes.subarray(warn[0].offset!, warn[0].offset! + 1)[0]).toBe(0x0a);
    expect(bytes.indexOf(Buffer.from('outer_if'))).toBeGreaterThan(warn[0].offset!);
    const shape = await parseFixture('shape_if.onnx');
    expect(shape.parse.findings).toEqual([]);
  });
});

describe('bounded memory on a model over 2 GB', () => {
  /** A 3 GiB ModelProto whose raw_data is virtual: reads of it are counted, never stored. */
  class VirtualSource implements ByteSource {
    readonly name = 'huge.onnx';
    readonly size: number;
    bytesRead = 0;
    constructor(
      readonly prefix: Uint8Array,
      readonly hole: number,
      readonly suffix: Uint8Array,
    ) {
      this.size = prefix.length + hole + suffix.length;
    }
    async read(offset: number, length: number): Promise<Uint8Array> {
      const end = Math.min(this.size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      this.bytesRead += out.length;
      for (let i = offset; i < end; i++) {
        if (i < this.prefix.length) out[i - offset] = this.prefix[i];
        else if (i >= this.prefix.length + this.hole) out[i - offset] = this.suffix[i - this.prefix.length - this.hole];
        else i = Math.min(end, this.prefix.length + this.hole) - 1; // zeros in the hole
      }
      return out;
    }
  }
  it('skips 3 GiB of raw_data with a few ranged reads and points the tensor at it', async () => {
    const L = 3 * 2 ** 30;
    const tensorHead = new BinaryWriter().tag(1, WireType.Varint).int64(1024).tag(1, WireType.Varint).int64(L / 4 / 1024).tag(2, WireType.Varint).int32(1).tag(8, WireType.LengthDelimited).string('huge').tag(9, WireType.LengthDelimited).uint32(L).finish();
    const rest = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('x').tag(1, WireType.LengthDelimited).string('huge').tag(2, WireType.LengthDelimited).string('y').tag(4, WireType.LengthDelimited).string('MatMul').join()
      .tag(11, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('x').join()
      .tag(12, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('y').join()
      .finish();
    const initializerLen = tensorHead.length + L;
    const initTag = new BinaryWriter().tag(5, WireType.LengthDelimited).uint32(initializerLen).finish();
    const graphLen = initTag.length + initializerLen + rest.length;
    const modelHead = new BinaryWriter().tag(1, WireType.Varint).int64(8).tag(7, WireType.LengthDelimited).uint32(graphLen).finish();
    const opset = new BinaryWriter().tag(8, WireType.LengthDelimited).fork().tag(2, WireType.Varint).int64(17).join().finish();
    const prefix = new Uint8Array([...modelHead, ...initTag, ...tensorHead]);
    const source = new VirtualSource(prefix, L, new Uint8Array([...rest, ...opset]));
    const head = await source.read(0, SNIFF_BYTES);
    const ctx = { name: source.name, size: source.size, head, tail: head, source, folder: folderIndexOf([source]) };
    expect(sniffOnnx(ctx)).toBe(true);
    source.bytesRead = 0;
    const p = await parseOnnx(ctx);
    const t = p.model!.tensors[0];
    expect(t).toMatchObject({ name: 'huge', dtype: 'float32', shape: [1024, L / 4 / 1024], numel: L / 4, offset: prefix.length, length: L, encoding: 'raw', origin: 'initializer' });
    expect(p.model!.graph!.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    expect(p.model!.opsetImports).toEqual([{ domain: '', version: 17 }]);
    expect(p.findings).toEqual([]);
    // two 1 MiB windows: one at the start, one after the hole
    expect(source.bytesRead).toBeLessThan(3 * 1024 * 1024);
  });
});

describe('sniffOnnx', () => {
  const ctx = (head: Uint8Array, size = head.length) => ({ name: 'x', size, head, tail: head });
  it('accepts every fixture and rejects other formats and random bytes', () => {
    const enc = new TextEncoder();
    const safetensors = new Uint8Array([0x48, 0x01, 0, 0, 0, 0, 0, 0, ...enc.encode('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')]);
    expect(sniffOnnx(ctx(safetensors))).toBe(false);
    expect(sniffOnnx(ctx(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0])))).toBe(false);
    expect(sniffOnnx(ctx(new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e])))).toBe(false);
    expect(sniffOnnx(ctx(enc.encode('{"architectures": ["Bert"]}')))).toBe(false);
    expect(sniffOnnx(ctx(enc.encode('# README\nBuilt with ONNX\n')))).toBe(false);
    // 5 000 random heads of 4 KB: none passes (a tag walk over 4 KB of noise fails almost at once)
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    let passed = 0;
    for (let k = 0; k < 5_000; k++) {
      const b = new Uint8Array(4096);
      for (let i = 0; i < b.length; i++) b[i] = rand();
      if (sniffOnnx(ctx(b, 1 << 20))) passed++;
    }
    expect(passed).toBe(0);
  });
  it('keeps a truncated model recognisable so the parser can say where it ends', () => {
    const bytes = readFileSync(join(dir, 'mlp.onnx'));
    const cut = new Uint8Array(bytes.subarray(0, 600));
    expect(sniffOnnx(ctx(cut))).toBe(true);
  });
});

describe('parseOnnx structural errors', () => {
  const run = async (bytes: Uint8Array) => {
    const source = new MemorySource(bytes, 'm.onnx');
    return parseOnnx({ name: 'm.onnx', size: bytes.length, head: bytes, tail: bytes, source, folder: folderIndexOf([source]) });
  };
  it('reports a truncated file at the byte where the graph would end', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'mlp.onnx')));
    const e = await run(bytes.subarray(0, 600)).catch((x: unknown) => x);
    expect(isParseError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('bad-length');
    // the graph field's tag: ir_version (2 bytes), producer name and version, then 0x3a
    expect(bytes[(e as { offset: number }).offset]).toBe(0x3a);
  });
  it('rejects a varint longer than 10 bytes and a group wire type with their offsets', async () => {
    const e1 = await run(new Uint8Array([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).catch((x: unknown) => x);
    expect(e1).toMatchObject({ code: 'bad-varint', offset: 1 });
    const e2 = await run(new Uint8Array([0x08, 0x07, 0x3b, 0x00])).catch((x: unknown) => x);
    expect(e2).toMatchObject({ code: 'bad-wire-type', offset: 2 });
  });
});
