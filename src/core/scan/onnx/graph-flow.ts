import type { Graph, OpNode, ValueInfo } from '../../model/types';
import type { Finding } from '../../report/finding';

/**
 * Graph backdoors (THREATS.md §3; HiddenLayer's "ShadowLogic", 2024; Langford et al., "Architectural
 * Neural Backdoors from First Principles", IEEE S&P 2025) put the trigger check in the graph: a
 * comparison of input *values* against a pattern drives an If/Where that swaps the output. This check
 * follows value dependence from the graph inputs to every If/Loop condition and every comparison, and
 * from them to the graph outputs.
 *
 * To stay quiet on ordinary models:
 * - `Shape` and `Size` cut value dependence: control flow on a tensor's shape (dynamic-shape handling,
 *   common in exported transformers) is not input-value dependent;
 * - inputs that hold one element (rank 0, or fixed dims multiplying to 1) are configuration switches
 *   that a caller sets on purpose (Silero VAD's `sr` sample rate): control flow on them is `info`;
 * - graph inputs that are also initializers (IR < 4 exports list weights as inputs) are weights;
 * - plain comparisons (attention masks, clamps) are `info`, shown but never a warning.
 * Only an If/Loop whose condition depends on the values of a multi-element input and whose result reaches a
 * graph output is a `warning`.
 */

const DATA = 1;
const SCALAR = 2;
const SHAPE_ONLY = new Set(['Shape', 'Size']);
const COMPARISONS = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Where']);
const STANDARD = new Set(['', 'ai.onnx']);
/** fixpoint passes over one graph: one suffices for a topologically sorted graph, more only for hostile orderings */
const MAX_PASSES = 8;
/** warnings listed one by one; the rest are counted */
const MAX_LISTED = 20;

export interface GraphFlowInput {
  file: string;
  graph: Graph;
  nodeOffsets?: ReadonlyMap<OpNode, number>;
  maxDepth: number;
}

interface Taint {
  flags: number;
  /** a graph input the value depends on (a multi-element one when there is one) */
  source: string;
}

class Scope {
  readonly own = new Map<string, Taint>();
  constructor(readonly parent: Scope | null) {}
  get(name: string): Taint | undefined {
    for (let s: Scope | null = this; s; s = s.parent) {
      const t = s.own.get(name);
      if (t) return t;
    }
    return undefined;
  }
}

interface Hit {
  node: OpNode;
  kind: 'control-flow' | 'comparison';
  taint: Taint;
  path: string;
}

function isScalarInput(v: ValueInfo): boolean {
  if (!v.shape) return false;
  let n = 1;
  for (const d of v.shape) {
    if (d.value === null) return false;
    n *= d.value;
  }
  return n <= 1;
}

function merge(a: Taint | undefined, b: Taint | undefined): Taint | undefined {
  if (!a) return b;
  if (!b) return a;
  const flags = a.flags | b.flags;
  return { flags, source: a.flags & DATA ? a.source : b.flags & DATA ? b.source : a.source };
}

/** Names a graph reads that it does not define (outer-scope references of a subgraph), at any depth. */
function freeNames(g: Graph, depth: number, maxDepth: number, cache: WeakMap<Graph, Set<string>>): Set<string> {
  const hit = cache.get(g);
  if (hit) return hit;
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers]);
  for (const n of g.nodes) for (const o of n.outputs) defined.add(o);
  const free = new Set<string>();
  cache.set(g, free);
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !defined.has(i)) free.add(i);
    if (depth < maxDepth) for (const sg of n.subgraphs ?? []) for (const i of freeNames(sg, depth + 1, maxDepth, cache)) if (!defined.has(i)) free.add(i);
  }
  return free;
}

function nodeReads(n: OpNode, depth: number, maxDepth: number, cache: WeakMap<Graph, Set<string>>): string[] {
  const reads = n.inputs.filter((i) => i !== '');
  if (depth < maxDepth) for (const sg of n.subgraphs ?? []) reads.push(...freeNames(sg, depth + 1, maxDepth, cache));
  return reads;
}

function label(n: OpNode): string {
  return n.name || `${n.opType} → ${n.outputs[0] ?? '?'}`;
}

function analyse(g: Graph, scope: Scope, depth: number, maxDepth: number, outerReaches: boolean, path: string, cache: WeakMap<Graph, Set<string>>, hits: Hit[]): void {
  // values that flow to this graph's outputs (reverse walk to a fixpoint)
  const reach = new Set(g.outputs.map((o) => o.name));
  for (let pass = 0, changed = true; changed && pass < MAX_PASSES; pass++) {
    changed = false;
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const n = g.nodes[i];
      if (!n.outputs.some((o) => reach.has(o))) continue;
      for (const r of nodeReads(n, depth, maxDepth, cache)) {
        if (!reach.has(r)) {
          reach.add(r);
          changed = true;
        }
      }
    }
  }
  // forward value dependence on the inputs
  for (let pass = 0, changed = true; changed && pass < MAX_PASSES; pass++) {
    changed = false;
    for (const n of g.nodes) {
      if (SHAPE_ONLY.has(n.opType) && STANDARD.has(n.domain)) continue;
      let t: Taint | undefined;
      for (const r of nodeReads(n, depth, maxDepth, cache)) t = merge(t, scope.get(r));
      if (!t) continue;
      for (const o of n.outputs) {
        if (!o) continue;
        const old = scope.own.get(o);
        if (!old || (old.flags | t.flags) !== old.flags) {
          scope.own.set(o, merge(old, t)!);
          changed = true;
        }
      }
    }
  }
  for (const n of g.nodes) {
    const reaches = outerReaches && n.outputs.some((o) => reach.has(o));
    if (STANDARD.has(n.domain)) {
      let cond: Taint | undefined;
      if (n.opType === 'If') cond = scope.get(n.inputs[0] ?? '');
      else if (n.opType === 'Loop') cond = merge(n.inputs[0] ? scope.get(n.inputs[0]) : undefined, n.inputs[1] ? scope.get(n.inputs[1]) : undefined);
      if (cond && reaches) hits.push({ node: n, kind: 'control-flow', taint: cond, path });
      else if (COMPARISONS.has(n.opType) && reaches) {
        let t: Taint | undefined;
        for (const i of n.opType === 'Where' ? n.inputs.slice(0, 1) : n.inputs) if (i) t = merge(t, scope.get(i));
        if (t) hits.push({ node: n, kind: 'comparison', taint: t, path });
      }
    }
    if (depth >= maxDepth || !n.subgraphs?.length) continue;
    let all: Taint | undefined;
    for (const i of n.inputs) if (i) all = merge(all, scope.get(i));
    for (const sg of n.subgraphs) {
      const child = new Scope(scope);
      sg.inputs.forEach((v, k) => {
        // Loop body: (iteration_num, condition, loop-carried...) ↔ node inputs (M, cond, v_initial...);
        // Scan body: state and scan inputs in node-input order; other graph attributes: any node input
        let t: Taint | undefined;
        if (n.opType === 'Loop') t = k === 0 ? undefined : merge(scope.get(n.inputs[k] ?? ''), k >= 2 ? all : undefined);
        else if (n.opType === 'Scan') t = scope.get(n.inputs[k] ?? '');
        else t = all;
        if (t) child.own.set(v.name, t);
      });
      analyse(sg, child, depth + 1, maxDepth, reaches, `${path}${label(n)}/`, cache, hits);
    }
  }
}

export function scanGraphFlow(input: GraphFlowInput): Finding[] {
  const { graph, file } = input;
  const weights = new Set(graph.initializers);
  const root = new Scope(null);
  for (const v of graph.inputs) {
    if (weights.has(v.name)) continue;
    root.own.set(v.name, { flags: isScalarInput(v) ? SCALAR : DATA, source: v.name });
  }
  const hits: Hit[] = [];
  analyse(graph, root, 0, input.maxDepth, true, '', new WeakMap(), hits);

  const out: Finding[] = [];
  const warnings = hits.filter((h) => h.kind === 'control-flow' && h.taint.flags & DATA);
  warnings.slice(0, MAX_LISTED).forEach((h) => {
    out.push({
      id: 'onnx/input-dependent-control-flow',
      category: 'graph-anomaly',
      severity: 'warning',
      title: `${h.node.opType} "${label(h.node).slice(0, 80)}" branches on the values of input "${h.taint.source.slice(0, 80)}"`,
      detail: `The ${h.node.opType === 'If' ? 'condition' : 'trip count or condition'} of ${h.node.opType} node "${label(h.node).slice(0, 120)}"${h.path ? ` (inside ${h.path.slice(0, -1).slice(0, 120)})` : ''} is computed from the values of graph input "${h.taint.source.slice(0, 120)}", and its result reaches a model output. Ordinary networks compute the same function for every input; a branch on input values is how a graph backdoor switches to the attacker's output when it sees its trigger. Look at what the branches compute.`,
      file,
      offset: input.nodeOffsets?.get(h.node),
      evidence: { node: h.node.name, opType: h.node.opType, input: h.taint.source, subgraph: h.path || null },
    });
  });
  if (warnings.length > MAX_LISTED) {
    out.push({
      id: 'onnx/input-dependent-control-flow',
      category: 'graph-anomaly',
      severity: 'warning',
      title: `${warnings.length - MAX_LISTED} more input-dependent branches`,
      detail: `Besides the ${MAX_LISTED} listed, ${warnings.length - MAX_LISTED} more If/Loop nodes branch on input values and reach an output.`,
      file,
      evidence: { count: warnings.length - MAX_LISTED },
    });
  }
  const infoGroups: [string, string, Hit[]][] = [
    ['onnx/control-flow-on-scalar-input', 'control flow on single-value inputs', hits.filter((h) => h.kind === 'control-flow' && !(h.taint.flags & DATA))],
    ['onnx/input-dependent-comparison', 'comparisons of input values that reach an output', hits.filter((h) => h.kind === 'comparison')],
  ];
  for (const [id, what, group] of infoGroups) {
    if (!group.length) continue;
    const inputs = [...new Set(group.map((h) => h.taint.source))];
    out.push({
      id,
      category: 'graph-anomaly',
      severity: 'info',
      title: `${group.length} ${what}`,
      detail:
        id === 'onnx/control-flow-on-scalar-input'
          ? `${group.length} If/Loop node(s) branch on single-value inputs (${inputs.slice(0, 5).join(', ')}), such as a sample rate or a length: a switch the caller sets on purpose, shown for completeness.`
          : `${group.length} comparison or Where node(s) depend on the values of inputs (${inputs.slice(0, 5).join(', ')}) and reach an output. Masks and clamps do this in ordinary models; a trigger check does too. Shown for review, not as a risk.`,
      file,
      offset: input.nodeOffsets?.get(group[0].node),
      evidence: { nodes: group.slice(0, 50).map((h) => `${h.path}${label(h.node)}`), inputs: inputs.slice(0, 20), count: group.length },
    });
  }
  return out;
}
