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
 *
 * Trigger checks (`onnx/input-trigger-check`, `warning`). A trigger detector looks at a few *raw* input values
 * (a patch, one element), judges them with a weight-free function (a comparison with a constant key, or a
 * distance to it reduced to a number) and mixes that judgement into the network's real computation (Where
 * over the logits, logits + 1e4·gate). The rule follows that data flow, not particular operators:
 * - RAW: input values moved or transformed element by element (Reshape, Cast, Sub/Div by a constant, Clip…);
 * - REGION: a RAW value of which a part was selected (Slice, Gather/Split on the data operand);
 * - VERDICT: a REGION passed through a comparison or a reduction (Equal/Less…, ReduceSum/Min…, ArgMax);
 *   element-wise arithmetic keeps it a VERDICT (relu(1 − k·dist) is still the verdict on the patch);
 * - anything that mixes with learned weights (Conv, MatMul, Gemm, Softmax, …) is none of these.
 * A node that combines a VERDICT with a value computed by the network from input values (DATA, none of the
 * above), and whose result reaches a graph output, is the trigger switching the output. Honest graphs compare
 * whole raw inputs (padding and attention masks: RAW, never a VERDICT), post-process computed values
 * (top-k, NMS thresholds, argmax: not RAW) or select parts of the input without judging them (crops,
 * channel splits: REGION feeding Conv).
 */

const DATA = 1;
const SCALAR = 2;
const SHAPE_ONLY = new Set(['Shape', 'Size']);
const COMPARISONS = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Where']);
/** levels of the trigger-check lattice (see above) */
const RAW = 1;
const REGION = 2;
const VERDICT = 3;
/** ops that move values or change them element by element with constants: the level passes through */
const ELEMENTWISE = new Set([
  'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Cast', 'CastLike', 'Expand', 'Tile', 'Concat',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Abs', 'Neg', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Erf', 'Sign', 'Floor', 'Ceil', 'Round',
  'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Min', 'Max', 'Not', 'And', 'Or', 'Xor',
]);
/** ops that select part of their first (data) operand */
const SELECT = new Set(['Slice', 'Gather', 'GatherElements', 'GatherND', 'Split', 'Compress']);
/** ops that turn a region into a judgement on it */
const JUDGE = new Set([
  'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'IsNaN', 'IsInf',
  'ReduceSum', 'ReduceMin', 'ReduceMax', 'ReduceMean', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp', 'ArgMax', 'ArgMin',
]);
/** bound on subgraph and function-body analyses for one model (hostile nesting cannot multiply the work without bound) */
const MAX_BODY_ANALYSES = 4096;
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
  /** model-local functions: calls to them are followed into their bodies */
  functions?: readonly FlowFunction[];
}

interface Taint {
  flags: number;
  /** a graph input the value depends on (a multi-element one when there is one) */
  source: string;
  /** RAW, REGION or VERDICT; absent when the value went through learned computation */
  level?: number;
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
  kind: 'control-flow' | 'comparison' | 'trigger';
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

/** A model-local function with its formal parameters (ModelProto.functions), called by (domain, name). */
export interface FlowFunction {
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  nodes: OpNode[];
}

interface Ctx {
  maxDepth: number;
  cache: WeakMap<Graph, Set<string>>;
  functions: ReadonlyMap<string, FlowFunction>;
  /** hits by node and kind: bodies analysed again with more taint replace their earlier hits */
  hits: Map<OpNode, Map<Hit['kind'], Hit>>;
  budget: { left: number };
}

function record(ctx: Ctx, h: Hit): void {
  let m = ctx.hits.get(h.node);
  if (!m) ctx.hits.set(h.node, (m = new Map()));
  m.set(h.kind, h);
}

function tkey(t: Taint | undefined): string {
  return t ? `${t.flags}.${t.level ?? '-'}` : '';
}

/** Trigger-check level of a standard node's output (see the header): undefined once learned computation mixes in. */
function levelOf(n: OpNode, scope: Scope): number | undefined {
  const ins = n.inputs.map((i) => (i ? scope.get(i) : undefined));
  if (SELECT.has(n.opType)) {
    const d = ins[0];
    // input-dependent indices (an embedding lookup of token ids) select weights, not input values
    if (!d || d.level === undefined || ins.slice(1).some((t) => t)) return undefined;
    return Math.max(d.level, REGION);
  }
  let lv = 0;
  for (const t of ins) {
    if (!t) continue;
    if (t.level === undefined || !(t.flags & DATA)) return undefined;
    lv = Math.max(lv, t.level);
  }
  if (!lv) return undefined;
  if (ELEMENTWISE.has(n.opType)) return lv;
  if (JUDGE.has(n.opType)) return lv >= REGION ? VERDICT : lv;
  return undefined;
}

function bodyGraph(f: FlowFunction): Graph {
  const v = (name: string): ValueInfo => ({ name, dtype: 'float32', shape: null });
  return { name: f.name, nodes: f.nodes, inputs: f.inputs.map(v), outputs: f.outputs.map(v), initializers: [] };
}

/**
 * Taints of a control-flow node's or a function call's outputs, from its bodies: If → either branch's k-th
 * output, Loop → body output k+1 (after the condition), Scan and functions → body output k.
 */
function bodyOutputs(n: OpNode, fn: FlowFunction | undefined, scope: Scope, depth: number, reaches: boolean, path: string, ctx: Ctx): (Taint | undefined)[] {
  const bodies = fn ? [bodyGraph(fn)] : (n.subgraphs ?? []);
  let all: Taint | undefined;
  for (const i of n.inputs) if (i) all = merge(all, scope.get(i));
  const outs: (Taint | undefined)[] = n.outputs.map(() => undefined);
  for (const sg of bodies) {
    // a function body sees only its parameters; a subgraph also sees the enclosing scopes
    const child = new Scope(fn ? null : scope);
    sg.inputs.forEach((v, k) => {
      // Loop body: (iteration_num, condition, loop-carried...) ↔ node inputs (M, cond, v_initial...);
      // Scan body and functions: node-input order; other graph attributes: any node input
      let t: Taint | undefined;
      if (n.opType === 'Loop' && !fn) t = k === 0 ? undefined : merge(scope.get(n.inputs[k] ?? ''), k >= 2 ? all : undefined);
      else if (n.opType === 'Scan' || fn) t = scope.get(n.inputs[k] ?? '');
      else t = all;
      if (t) child.own.set(v.name, t);
    });
    analyse(sg, child, depth + 1, reaches, `${path}${label(n)}/`, ctx);
    const shift = n.opType === 'Loop' && !fn ? 1 : 0;
    const mapped = n.opType === 'If' || n.opType === 'Loop' || n.opType === 'Scan' || fn;
    if (!mapped) continue;
    n.outputs.forEach((_, k) => {
      const t = child.get(sg.outputs[k + shift]?.name ?? '');
      if (!t) return;
      const o = outs[k];
      outs[k] = o ? { flags: o.flags | t.flags, source: merge(o, t)!.source, level: o.level !== undefined && t.level !== undefined ? Math.max(o.level, t.level) : undefined } : t;
    });
  }
  return outs;
}

function analyse(g: Graph, scope: Scope, depth: number, outerReaches: boolean, path: string, ctx: Ctx): void {
  const { maxDepth, cache } = ctx;
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
  // forward value dependence on the inputs; bodies are analysed when the taint they see changes
  const bodies = new Map<OpNode, { sig: string; outs: (Taint | undefined)[] }>();
  for (let pass = 0, changed = true; changed && pass < MAX_PASSES; pass++) {
    changed = false;
    for (const n of g.nodes) {
      if (SHAPE_ONLY.has(n.opType) && STANDARD.has(n.domain)) continue;
      const reads = nodeReads(n, depth, maxDepth, cache);
      let generic: Taint | undefined;
      for (const r of reads) generic = merge(generic, scope.get(r));
      const fn = STANDARD.has(n.domain) ? undefined : ctx.functions.get(`${n.domain}\u0000${n.opType}`);
      let outs: (Taint | undefined)[];
      if ((n.subgraphs?.length || fn) && depth < maxDepth) {
        const sig = reads.map((r) => tkey(scope.get(r))).join('|');
        let b = bodies.get(n);
        if ((!b || b.sig !== sig) && ctx.budget.left-- > 0) {
          const reaches = outerReaches && n.outputs.some((o) => reach.has(o));
          b = { sig, outs: bodyOutputs(n, fn, scope, depth, reaches, path, ctx) };
          bodies.set(n, b);
        }
        outs = n.outputs.map((_, k) => {
          const m = b?.outs[k];
          if (!generic) return m;
          return { flags: generic.flags | (m?.flags ?? 0), source: merge(generic, m)!.source, level: m?.level };
        });
      } else {
        if (!generic) continue;
        const level = STANDARD.has(n.domain) ? levelOf(n, scope) : undefined;
        outs = n.outputs.map(() => ({ ...generic!, level }));
      }
      n.outputs.forEach((o, k) => {
        const t = outs[k];
        if (!o || !t) return;
        const old = scope.own.get(o);
        if (!old || (old.flags | t.flags) !== old.flags || old.level !== t.level) {
          scope.own.set(o, { ...merge(old, t)!, level: t.level });
          changed = true;
        }
      });
    }
  }
  for (const n of g.nodes) {
    const reaches = outerReaches && n.outputs.some((o) => reach.has(o));
    if (!STANDARD.has(n.domain) || !reaches) continue;
    let cond: Taint | undefined;
    if (n.opType === 'If') cond = scope.get(n.inputs[0] ?? '');
    else if (n.opType === 'Loop') cond = merge(n.inputs[0] ? scope.get(n.inputs[0]) : undefined, n.inputs[1] ? scope.get(n.inputs[1]) : undefined);
    if (cond) record(ctx, { node: n, kind: 'control-flow', taint: cond, path });
    else if (COMPARISONS.has(n.opType)) {
      let t: Taint | undefined;
      for (const i of n.opType === 'Where' ? n.inputs.slice(0, 1) : n.inputs) if (i) t = merge(t, scope.get(i));
      if (t) record(ctx, { node: n, kind: 'comparison', taint: t, path });
    }
    if (n.subgraphs?.length) continue;
    // the trigger's verdict meets the network's own computation on the way to an output
    const ins = n.inputs.map((i) => (i ? scope.get(i) : undefined));
    const verdict = ins.find((t) => t?.level === VERDICT);
    if (verdict && ins.some((t) => t && t.flags & DATA && t.level === undefined)) record(ctx, { node: n, kind: 'trigger', taint: verdict, path });
  }
}

export function scanGraphFlow(input: GraphFlowInput): Finding[] {
  const { graph, file } = input;
  const weights = new Set(graph.initializers);
  const root = new Scope(null);
  for (const v of graph.inputs) {
    if (weights.has(v.name)) continue;
    root.own.set(v.name, isScalarInput(v) ? { flags: SCALAR, source: v.name } : { flags: DATA, source: v.name, level: RAW });
  }
  const functions = new Map((input.functions ?? []).map((f) => [`${f.domain}\u0000${f.name}`, f] as const));
  const ctx: Ctx = { maxDepth: input.maxDepth, cache: new WeakMap(), functions, hits: new Map(), budget: { left: MAX_BODY_ANALYSES } };
  analyse(graph, root, 0, true, '', ctx);
  // bodies are analysed while their parent is, so inner hits come first: list the outer ones first
  const depthOf = (h: Hit) => h.path.split('/').length;
  const hits = [...ctx.hits.values()].flatMap((m) => [...m.values()]).sort((a, b) => depthOf(a) - depthOf(b));

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
  hits
    .filter((h) => h.kind === 'trigger')
    .slice(0, MAX_LISTED)
    .forEach((h) => {
      out.push({
        id: 'onnx/input-trigger-check',
        category: 'graph-anomaly',
        severity: 'warning',
        title: `${h.node.opType} "${label(h.node).slice(0, 80)}" mixes a check on a few raw values of input "${h.taint.source.slice(0, 80)}" into the output`,
        detail: `${h.node.opType} node "${label(h.node).slice(0, 120)}"${h.path ? ` (inside ${h.path.slice(0, -1).slice(0, 120)})` : ''} combines the network's output path with a value computed without any learned layer from a part of graph input "${h.taint.source.slice(0, 120)}" (a Slice or Gather of its values) and then judged by a comparison or a reduction — a patch compared with a constant key, or one element tested against a threshold. That is how an architectural backdoor recognises its trigger and switches the logits; ordinary models pass their inputs through learned layers before deciding anything. Look at what the selected values are compared with.`,
        file,
        offset: input.nodeOffsets?.get(h.node),
        evidence: { node: h.node.name, opType: h.node.opType, input: h.taint.source, subgraph: h.path || null },
      });
    });
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
