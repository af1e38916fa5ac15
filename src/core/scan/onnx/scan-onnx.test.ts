import { describe, expect, it } from 'vitest';
import { folderIndexOf } from '../../inspect';
import { MemorySource } from '../../io/byte-source';
import type { Graph, OpNode, TensorInfo, ValueInfo } from '../../model/types';
import { scanOnnxDomains } from './custom-ops';
import { scanExternalData, type OnnxExternalRef } from './external-data';
import { scanGraphFlow } from './graph-flow';

const tensor = (name: string, shape = [4, 4]): TensorInfo => ({ name, dtype: 'float32', shape, numel: shape.reduce((a, b) => a * b, 1), file: '', offset: 0, length: 0, origin: 'initializer' });
const ref = (location: string, extra: [string, string][] = [], name = 'W', shape = [4, 4]): OnnxExternalRef => ({
  tensor: tensor(name, shape),
  entries: [['location', location], ...extra].map(([key, value], i) => ({ key, value, offset: 100 + i * 10 })),
  dataLocation: 1,
  offset: 90,
});

describe('scanExternalData', () => {
  const folder = folderIndexOf([new MemorySource(new Uint8Array(64), 'models/weights.bin'), new MemorySource(new Uint8Array(10), 'models/m.onnx')]);
  it.each([
    ['../../etc/passwd', ['parent']],
    ['/etc/passwd', ['absolute']],
    ['C:\\x', ['drive-letter', 'backslash']],
    ['a\\b.bin', ['backslash']],
    ['file:///etc/passwd', ['url']],
    ['', ['empty']],
    ['w\u0000.bin', ['nul']],
  ])('%j is path-traversal (%j)', (location, problems) => {
    const f = scanExternalData([ref(location)], 'models/m.onnx', folder);
    expect(f.map((x) => [x.id, x.category, x.severity, x.offset])).toEqual([['onnx/external-path-traversal', 'path-traversal', 'dangerous', 100]]);
    expect(f[0].evidence).toMatchObject({ problems });
  });
  it('resolves relative to the model folder and checks the range against the real file', () => {
    expect(scanExternalData([ref('weights.bin', [['offset', '0'], ['length', '64']])], 'models/m.onnx', folder)).toEqual([]);
    const oob = scanExternalData([ref('weights.bin', [['offset', '8'], ['length', '64']])], 'models/m.onnx', folder);
    expect(oob.map((x) => [x.id, x.severity, x.offset])).toEqual([['onnx/external-out-of-bounds', 'error', 110]]);
    expect(oob[0].evidence).toMatchObject({ file: 'models/weights.bin', offset: 8, length: 64, size: 64 });
  });
  it('reports unknown keys, bad numbers, size mismatches, missing files and the model itself', () => {
    const ids = (r: OnnxExternalRef[]) => scanExternalData(r, 'models/m.onnx', folder).map((x) => `${x.severity} ${x.id}`);
    expect(ids([ref('weights.bin', [['length', '64'], ['sha', 'x']])])).toEqual(['warning onnx/external-unknown-key']);
    expect(ids([ref('weights.bin', [['offset', '-1']])])).toEqual(['error onnx/external-bad-number']);
    expect(ids([ref('weights.bin', [['length', '60']])])).toEqual(['error onnx/external-size-mismatch']);
    expect(ids([ref('gone.bin'), ref('gone.bin', [], 'V')])).toEqual(['warning onnx/external-missing']);
    expect(ids([ref('m.onnx', [['length', '4']], 'S', [1])])).toEqual(['warning onnx/external-self']);
    expect(ids([ref('*/_ORT_MEM_ADDR_/*', [['offset', '140737488355328']])])).toEqual(['dangerous onnx/external-memory-address']);
    expect(ids([{ ...ref('x'), entries: [] }])).toEqual(['error onnx/external-no-location']);
  });
});

const vi = (name: string, dims: (number | null)[] | null): ValueInfo => ({ name, dtype: 'float32', shape: dims && dims.map((value) => ({ value })) });
const node = (opType: string, inputs: string[], outputs: string[], subgraphs?: Graph[], domain = ''): OpNode => ({ name: `${opType}_${outputs[0]}`, opType, domain, inputs, outputs, attributes: [], subgraphs });
const graph = (nodes: OpNode[], inputs: ValueInfo[], outputs: string[], initializers: string[] = []): Graph => ({ name: 'g', nodes, inputs, outputs: outputs.map((o) => vi(o, null)), initializers });

describe('scanGraphFlow', () => {
  const branch = (out: string, from: string) => graph([node('Identity', [from], [out])], [], [out]);
  const run = (g: Graph) => scanGraphFlow({ file: 'm.onnx', graph: g, maxDepth: 8 }).map((f) => `${f.severity} ${f.id}`);
  it('warns on a Loop whose trip count comes from input values, not from its shape', () => {
    const body = graph([node('Identity', ['c'], ['c2']), node('Identity', ['v'], ['v2'])], [vi('i', []), vi('c', []), vi('v', [1])], ['c2', 'v2']);
    const values = graph([node('ReduceMax', ['x'], ['m']), node('Cast', ['m'], ['n']), node('Loop', ['n', '', 'x'], ['y'], [body])], [vi('x', [null, 3])], ['y']);
    expect(run(values)).toEqual(['warning onnx/input-dependent-control-flow']);
    const shape = graph([node('Shape', ['x'], ['s']), node('Gather', ['s', 'k0'], ['n']), node('Loop', ['n', '', 'x'], ['y'], [body])], [vi('x', [null, 3])], ['y'], ['k0']);
    expect(run(shape)).toEqual([]);
  });
  it('ignores branches that reach no output and inputs that are initializers', () => {
    const dead = graph([node('Greater', ['x', 'k'], ['c']), node('If', ['c'], ['z'], [branch('a', 'x'), branch('b', 'x')]), node('Relu', ['x'], ['y'])], [vi('x', [2, 2])], ['y'], ['k']);
    expect(run(dead)).toEqual([]);
    const weightInput = graph([node('Greater', ['w', 'k'], ['c']), node('If', ['c'], ['y'], [branch('a', 'w'), branch('b', 'w')])], [vi('w', [2, 2]), vi('x', [2, 2])], ['y'], ['w', 'k']);
    expect(run(weightInput)).toEqual([]);
  });
  it('treats a single-element input as a switch (info) and a Where on input values as info', () => {
    const sw = graph([node('Equal', ['sr', 'k'], ['c']), node('If', ['c'], ['y'], [branch('a', 'x'), branch('b', 'x')])], [vi('x', [2, 2]), vi('sr', [1])], ['y'], ['k']);
    expect(run(sw)).toEqual(['info onnx/control-flow-on-scalar-input', 'info onnx/input-dependent-comparison']);
    const where = graph([node('Less', ['x', 'k'], ['c']), node('Where', ['c', 'x', 'k'], ['y'])], [vi('x', [2, 2])], ['y'], ['k']);
    expect(run(where)).toEqual(['info onnx/input-dependent-comparison']);
  });
  it('terminates on a cyclic (hostile) graph', () => {
    const cyclic = graph([node('Add', ['x', 'b'], ['a']), node('Greater', ['a', 'x'], ['b']), node('If', ['b'], ['y'], [branch('p', 'a'), branch('q', 'a')])], [vi('x', [4])], ['y']);
    expect(run(cyclic)).toContain('warning onnx/input-dependent-control-flow');
  });
});

describe('scanOnnxDomains', () => {
  it('names each custom domain once with its ops, and skips local functions and standard domains', () => {
    const g = graph([node('Conv', [], ['a']), node('FusedGemm', [], ['b'], undefined, 'com.microsoft'), node('A', [], ['c'], undefined, 'x.y'), node('B', [], ['d'], undefined, 'x.y'), node('Swish', [], ['e'], undefined, 'local')], [], []);
    const f = scanOnnxDomains({ file: 'm.onnx', graphs: [g], functions: [{ domain: 'local', name: 'Swish', nodes: [] }], opsetImports: [{ domain: 'x.y', version: 1 }, { domain: 'local', version: 1 }, { domain: 'z', version: 2 }], maxDepth: 4 });
    expect(f.map((x) => [x.id, x.evidence?.domain])).toEqual([['onnx/custom-op', 'x.y'], ['onnx/custom-opset', 'z']]);
    expect(f[0].evidence).toMatchObject({ ops: ['A', 'B'], nodes: 2 });
  });
});

describe('scanExternalData: locations other readers resolve out of the folder', () => {
  const folder = folderIndexOf([new MemorySource(new Uint8Array(64), 'models/weights.bin'), new MemorySource(new Uint8Array(10), 'models/m.onnx')]);
  it.each([
    ['%2e%2e/%2e%2e/etc/passwd', ['percent-encoded']],
    ['..%2fetc%2fpasswd', ['percent-encoded']],
    ['file:/etc/passwd', ['url-scheme']],
    ['https:attacker.example/x.bin', ['url-scheme']],
    ['CON', ['device']],
    ['data/com1.bin', ['device']],
    ['NUL. ', ['device']],
    ['\uff0e\uff0e\uff0fetc\uff0fpasswd', ['lookalike']],
  ])('%j is path-traversal (%j)', (location, problems) => {
    const f = scanExternalData([ref(location)], 'models/m.onnx', folder);
    expect(f.map((x) => [x.id, x.category, x.severity])).toEqual([['onnx/external-path-traversal', 'path-traversal', 'dangerous']]);
    expect(f[0].evidence).toMatchObject({ problems });
  });
  it.each(['model.onnx.data', 'weights/w0.bin', 'console.bin', 'com10.bin', 'auxiliary.bin', 'v2.1%20final.bin'])('%j is an ordinary name', (location) => {
    const f = scanExternalData([ref(location)], 'models/m.onnx', folder);
    expect(f.map((x) => x.id)).toEqual(['onnx/external-missing']);
  });
  it('checks every location entry, not only the last one loaders keep', () => {
    const f = scanExternalData([ref('../../etc/passwd', [['location', 'weights.bin'], ['length', '64']])], 'models/m.onnx', folder);
    expect(f.map((x) => [x.id, x.category, x.severity])).toEqual([
      ['onnx/external-duplicate-key', 'malformed', 'warning'],
      ['onnx/external-path-traversal', 'path-traversal', 'dangerous'],
    ]);
    expect(f[1].evidence).toMatchObject({ location: '../../etc/passwd', problems: ['parent'] });
  });
});

describe('scanGraphFlow trigger checks', () => {
  const run = (g: Graph, functions?: Parameters<typeof scanGraphFlow>[0]['functions']) => scanGraphFlow({ file: 'm.onnx', graph: g, maxDepth: 8, functions }).filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.id}`);
  const net = [node('Conv', ['x', 'W'], ['h']), node('Gemm', ['h', 'F'], ['logits'])];
  const consts = ['W', 'F', 'key', 'eps', 'target', 's', 'e'];
  const patch = [node('Slice', ['x', 's', 'e'], ['p']), node('Sub', ['p', 'key'], ['d']), node('Abs', ['d'], ['a']), node('ReduceSum', ['a'], ['dist'])];
  it('warns when a patch-vs-key distance selects the logits with Where', () => {
    const g = graph([...net, ...patch, node('Less', ['dist', 'eps'], ['trig']), node('Where', ['trig', 'target', 'logits'], ['y'])], [vi('x', [1, 1, 8, 8])], ['y'], consts);
    expect(run(g)).toEqual(['warning onnx/input-trigger-check']);
  });
  it('warns on arithmetic-only gating (logits + big · relu(1 − k·dist))', () => {
    const g = graph([...net, ...patch, node('Mul', ['dist', 'k'], ['m']), node('Sub', ['one', 'm'], ['g0']), node('Relu', ['g0'], ['g']), node('Mul', ['g', 'big'], ['boost']), node('Add', ['logits', 'boost'], ['y'])], [vi('x', [1, 1, 8, 8])], ['y'], [...consts, 'k', 'one', 'big']);
    expect(run(g)).toEqual(['warning onnx/input-trigger-check']);
  });
  it('follows a Loop body output and a local function body', () => {
    const body = graph([node('Identity', ['c'], ['c2']), ...patch, node('Less', ['dist', 'eps'], ['t'])], [vi('i', []), vi('c', [])], ['c2', 't']);
    const loop = graph([...net, node('Loop', ['n', 'true'], ['trig'], [body]), node('Where', ['trig', 'target', 'logits'], ['y'])], [vi('x', [1, 1, 8, 8])], ['y'], [...consts, 'n', 'true']);
    expect(run(loop)).toEqual(['warning onnx/input-trigger-check']);
    const fn = { domain: 'local', name: 'Match', inputs: ['x'], outputs: ['t'], nodes: [...patch, node('Less', ['dist', 'eps'], ['t'])] };
    const call = graph([...net, node('Match', ['x'], ['trig'], undefined, 'local'), node('Where', ['trig', 'target', 'logits'], ['y'])], [vi('x', [1, 1, 8, 8])], ['y'], consts);
    expect(run(call, [fn])).toEqual(['warning onnx/input-trigger-check']);
    expect(run(call)).toEqual([]);
  });
  it('stays quiet on masks, embeddings, crops and post-processing', () => {
    // padding mask from the whole input: RAW, never a verdict
    const pad = graph([node('Gather', ['E', 'ids'], ['h']), node('MatMul', ['h', 'W'], ['s']), node('Equal', ['ids', 'zero'], ['m']), node('Where', ['m', 'ninf', 's'], ['y'])], [vi('ids', [1, 8])], ['y'], ['E', 'W', 'zero', 'ninf']);
    // a crop normalised and fed to a Conv; a per-image standardisation of the crop
    const crop = graph([node('Slice', ['x', 's', 'e'], ['c']), node('ReduceMean', ['c'], ['mu']), node('Sub', ['c', 'mu'], ['z']), node('Conv', ['z', 'W'], ['y'])], [vi('x', [1, 3, 8, 8])], ['y'], ['W', 's', 'e']);
    // top-k threshold on computed scores
    const det = graph([node('Conv', ['x', 'W'], ['p']), node('Slice', ['p', 's', 'e'], ['sc']), node('Greater', ['sc', 't'], ['k']), node('Where', ['k', 'sc', 'zero'], ['y'])], [vi('x', [1, 3, 8, 8])], ['y'], ['W', 's', 'e', 't', 'zero']);
    for (const g of [pad, crop, det]) expect(run(g)).toEqual([]);
  });
});
