import type { Graph, OpNode, OpsetImport } from '../../model/types';
import type { Finding } from '../../report/finding';

/**
 * Operator domains whose kernels ship with the ONNX spec or with onnxruntime itself, so running them
 * needs no native code from outside:
 * - `""` / `ai.onnx`: the default ONNX operator set; `ai.onnx.ml`: ONNX-ML; `ai.onnx.training` and
 *   `ai.onnx.preview.training`: the ONNX training operators;
 * - `com.microsoft`, `com.microsoft.nchwc`, `com.microsoft.experimental`, `com.ms.internal.nhwc`:
 *   onnxruntime's contrib and layout-optimised kernels (onnxruntime/core/graph/constants.h);
 * - `org.pytorch.aten`: the ATen fallback onnxruntime implements for PyTorch exports.
 * Anything else is a custom operator: loading the model requires registering a native library that
 * provides it (THREATS.md §3), a code-execution path outside the model file.
 */
export const STANDARD_ONNX_DOMAINS: ReadonlySet<string> = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'ai.onnx.training',
  'ai.onnx.preview.training',
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.microsoft.experimental',
  'com.ms.internal.nhwc',
  'org.pytorch.aten',
]);

/** A model-local function (ModelProto.functions): its body is in the model, so calling it needs no native code. */
export interface OnnxLocalFunction {
  domain: string;
  name: string;
  overload?: string;
  nodes: OpNode[];
}

export interface DomainScanInput {
  file: string;
  graphs: readonly Graph[];
  functions: readonly OnnxLocalFunction[];
  opsetImports: readonly OpsetImport[];
  nodeOffsets?: ReadonlyMap<OpNode, number>;
  /** depth bound of the subgraph walk (the parser enforces a smaller one) */
  maxDepth: number;
}

/** Every node of the graphs, their subgraphs at any depth and the local functions' bodies. */
export function* walkNodes(graphs: readonly Graph[], maxDepth: number): Generator<OpNode> {
  const stack: { g: Graph; depth: number }[] = graphs.map((g) => ({ g, depth: 0 }));
  while (stack.length) {
    const { g, depth } = stack.pop()!;
    for (const n of g.nodes) {
      yield n;
      if (depth < maxDepth) for (const sg of n.subgraphs ?? []) stack.push({ g: sg, depth: depth + 1 });
    }
  }
}

/**
 * `custom-op` findings: one per non-standard domain used by nodes (anywhere, including subgraphs and
 * function bodies) with its operator names, and one per non-standard opset_import that no local
 * function defines.
 */
export function scanOnnxDomains(input: DomainScanInput): Finding[] {
  const local = new Set(input.functions.map((f) => `${f.domain}\u0000${f.name}`));
  const localDomains = new Set(input.functions.map((f) => f.domain));
  const used = new Map<string, { ops: Map<string, number>; first: OpNode }>();
  const functionGraphs: Graph[] = input.functions.map((f) => ({ name: f.name, nodes: f.nodes, inputs: [], outputs: [], initializers: [] }));
  for (const n of walkNodes([...input.graphs, ...functionGraphs], input.maxDepth)) {
    if (STANDARD_ONNX_DOMAINS.has(n.domain)) continue;
    if (local.has(`${n.domain}\u0000${n.opType}`)) continue;
    let u = used.get(n.domain);
    if (!u) used.set(n.domain, (u = { ops: new Map(), first: n }));
    u.ops.set(n.opType, (u.ops.get(n.opType) ?? 0) + 1);
  }
  const out: Finding[] = [];
  for (const [domain, { ops, first }] of used) {
    const names = [...ops.keys()];
    const count = [...ops.values()].reduce((a, b) => a + b, 0);
    out.push({
      id: 'onnx/custom-op',
      category: 'custom-op',
      severity: 'warning',
      title: `Custom operator domain "${domain.slice(0, 80)}": ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`,
      detail: `${count} node(s) use operators from "${domain.slice(0, 120)}", which neither ONNX nor onnxruntime provides. Running the model needs a native library that implements ${names.slice(0, 10).map((o) => `"${o.slice(0, 60)}"`).join(', ')}${names.length > 10 ? ' and more' : ''}: that library runs with your privileges.`,
      file: input.file,
      offset: input.nodeOffsets?.get(first),
      evidence: { domain, ops: names.slice(0, 100), nodes: count },
    });
  }
  for (const o of input.opsetImports) {
    if (STANDARD_ONNX_DOMAINS.has(o.domain) || used.has(o.domain) || localDomains.has(o.domain)) continue;
    out.push({
      id: 'onnx/custom-opset',
      category: 'custom-op',
      severity: 'warning',
      title: `Imports the non-standard operator set "${o.domain.slice(0, 80)}"`,
      detail: `The model declares opset "${o.domain.slice(0, 120)}" version ${o.version}, which neither ONNX nor onnxruntime provides and no function in the model defines. A runtime asked to load it looks for a custom-op library.`,
      file: input.file,
      evidence: { domain: o.domain, version: o.version },
    });
  }
  return out;
}
