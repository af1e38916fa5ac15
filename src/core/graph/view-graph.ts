import type { Graph } from '../model/types';

/**
 * What the graph view draws for one level of a model's graph: operator nodes plus the values that enter
 * and leave it, as plain arrays so the layout can go to a worker as typed arrays.
 *
 * - `op`: an OpNode (opIndex points into graph.nodes);
 * - `input` / `output`: the graph's own inputs and outputs;
 * - `initializer`: a weight (hidden unless asked for, as Netron does: they outnumber the operators);
 * - `outer`: a value read from an enclosing graph (subgraph bodies of If / Loop / Scan), or a value that
 *   nothing produces (a damaged main graph).
 */
export type ViewNodeKind = 'op' | 'input' | 'output' | 'initializer' | 'outer';

export interface ViewGraph {
  kinds: ViewNodeKind[];
  /** text in the box: the op type, or the value's name */
  labels: string[];
  /** the node's name, or the value's name */
  names: string[];
  /** index into graph.nodes for `op` nodes, -1 otherwise */
  opIndex: Int32Array;
  widths: Float64Array;
  heights: Float64Array;
  edgeSrc: Int32Array;
  edgeDst: Int32Array;
  /** the value each edge carries */
  edgeValue: string[];
  /** view node of each op node (inverse of opIndex) */
  nodeOfOp: Int32Array;
  /** initializers left out of the view */
  hiddenInitializers: number;
}

export interface ViewGraphOptions {
  showInitializers?: boolean;
  /**
   * Initializers of the enclosing graphs: a subgraph body reading one of them treats it as a weight
   * (hidden with the others) rather than as an outer value.
   */
  outerInitializers?: ReadonlySet<string>;
}

/** Box metrics shared by the layout and the renderer (a 12px monospace font: ~7.2px per character). */
export const CHAR_WIDTH = 7.2;
export const OP_HEIGHT = 28;
export const VALUE_HEIGHT = 22;
/** Value names longer than this are cut in the box (the details panel shows them whole). */
export const MAX_LABEL_CHARS = 28;

export function labelWidth(label: string, kind: ViewNodeKind): number {
  const chars = Math.min(label.length, MAX_LABEL_CHARS);
  return Math.max(kind === 'op' ? 56 : 40, Math.ceil(chars * CHAR_WIDTH) + 20);
}

export function shortLabel(label: string): string {
  return label.length > MAX_LABEL_CHARS ? label.slice(0, MAX_LABEL_CHARS - 1) + '…' : label;
}

export function buildViewGraph(graph: Graph, options: ViewGraphOptions = {}): ViewGraph {
  const show = options.showInitializers ?? false;
  const kinds: ViewNodeKind[] = [];
  const labels: string[] = [];
  const names: string[] = [];
  const ops: number[] = [];
  const add = (kind: ViewNodeKind, label: string, name: string, op = -1) => {
    kinds.push(kind);
    labels.push(label);
    names.push(name);
    ops.push(op);
    return kinds.length - 1;
  };

  const initializers = new Set(graph.initializers);
  /** the view node that produces each value name */
  const producer = new Map<string, number>();
  /** initializer names (own or outer) that were left out */
  const hidden = new Set<string>();
  const isWeight = (name: string) => initializers.has(name) || (options.outerInitializers?.has(name) ?? false);

  for (const vi of graph.inputs) {
    // IR < 4 lists every initializer among the inputs too: it is a weight, not something to feed
    if (initializers.has(vi.name) || producer.has(vi.name)) continue;
    producer.set(vi.name, add('input', vi.name, vi.name));
  }
  const nodeOfOp = new Int32Array(graph.nodes.length);
  for (let i = 0; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    nodeOfOp[i] = add('op', node.opType || '?', node.name, i);
  }
  for (let i = 0; i < graph.nodes.length; i++) {
    for (const out of graph.nodes[i].outputs) if (out && !producer.has(out)) producer.set(out, nodeOfOp[i]);
  }

  const src: number[] = [];
  const dst: number[] = [];
  const val: string[] = [];
  const edgeKeys = new Set<string>();
  const connect = (value: string, to: number) => {
    let from = producer.get(value);
    if (from === undefined) {
      if (isWeight(value)) {
        if (!show) {
          hidden.add(value);
          return;
        }
        from = add('initializer', value, value);
      } else {
        from = add('outer', value, value);
      }
      producer.set(value, from);
    }
    if (from === to) return;
    const key = `${from}\u0000${to}\u0000${value}`;
    if (edgeKeys.has(key)) return;
    edgeKeys.add(key);
    src.push(from);
    dst.push(to);
    val.push(value);
  };
  for (let i = 0; i < graph.nodes.length; i++) {
    for (const input of graph.nodes[i].inputs) if (input) connect(input, nodeOfOp[i]);
  }
  for (const vo of graph.outputs) {
    const o = add('output', vo.name, vo.name);
    connect(vo.name, o);
  }

  const n = kinds.length;
  const widths = new Float64Array(n);
  const heights = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    widths[v] = labelWidth(labels[v], kinds[v]);
    heights[v] = kinds[v] === 'op' ? OP_HEIGHT : VALUE_HEIGHT;
  }
  return {
    kinds,
    labels,
    names,
    opIndex: Int32Array.from(ops),
    widths,
    heights,
    edgeSrc: Int32Array.from(src),
    edgeDst: Int32Array.from(dst),
    edgeValue: val,
    nodeOfOp,
    hiddenInitializers: hidden.size,
  };
}

/** Op types of one graph level by count, most frequent first (ties by name). */
export function countOpTypes(graph: Graph): { opType: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const node of graph.nodes) {
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([opType, count]) => ({ opType, count })).sort((a, b) => b.count - a.count || (a.opType < b.opType ? -1 : a.opType > b.opType ? 1 : 0));
}

/** The histogram key of a node (what countOpTypes counts it under). */
export function opKey(node: { opType: string; domain: string }): string {
  return node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
}
