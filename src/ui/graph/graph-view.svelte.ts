import { enclosingInitializers, resolveGraphPath, type GraphLevel, type GraphPathStep, MAX_GRAPH_DEPTH } from '../../core/graph/graph-path';
import type { LayoutResult } from '../../core/graph/layout';
import { searchViewGraph } from '../../core/graph/search-graph';
import { buildViewGraph, countOpTypes, opKey, type ViewGraph } from '../../core/graph/view-graph';
import { centerOn, fitView, initialView, topLayerX, zoomAt, type View } from '../../core/graph/viewport';
import type { Dim, Graph, ModelInfo, TensorInfo, ValueInfo } from '../../core/model/types';
import type { GraphLayoutClient } from './graph-layout-client';

/** Graphs larger than this are not laid out (the page would hold millions of boxes). */
export const MAX_VIEW_NODES = 250_000;

export interface Laid {
  /** the graph level this layout belongs to */
  graph: Graph;
  view: ViewGraph;
  layout: LayoutResult;
  ms: number;
}

/** What the details panel and the search know about a value. */
export interface ValueDescription {
  name: string;
  dtype: string | null;
  shape: string | null;
  /** 'initializer', 'constant', 'graph input', ... */
  origin: string | null;
}

export function formatDims(shape: Dim[] | null): string {
  if (shape === null) return '?';
  return `[${shape.map((d) => (d.value !== null ? String(d.value) : d.param || '?')).join(', ')}]`;
}

/**
 * State of the graph view: which level of the graph is shown (a path of subgraph steps), the search,
 * the selection, the histogram highlight, and the layouts already computed (going back up is instant).
 */
export class GraphViewState {
  path = $state.raw<GraphPathStep[]>([]);
  showInitializers = $state(false);
  query = $state('');
  matchIndex = $state(0);
  /** selected view node, -1 for none */
  selected = $state(-1);
  /** op type (histogram key) whose nodes are highlighted, or null */
  highlightOp = $state<string | null>(null);
  laid = $state.raw<Laid | null>(null);
  /** world → screen transform of the canvas */
  camera = $state.raw<View>({ scale: 1, tx: 0, ty: 0 });
  /** canvas size in CSS pixels */
  width = $state(0);
  height = $state(0);
  layoutError = $state<string | null>(null);
  layoutBusy = $state(false);

  readonly root: Graph;
  private readonly tensors: Map<string, TensorInfo>;
  private cache = new Map<string, Laid>();
  private latest = 0;

  levels: GraphLevel[] = $derived.by(() => resolveGraphPath(this.root, this.path));
  graph: Graph = $derived(this.levels[this.levels.length - 1].graph);
  view: ViewGraph = $derived.by(() => buildViewGraph(this.graph, { showInitializers: this.showInitializers, outerInitializers: enclosingInitializers(this.levels) }));
  histogram = $derived.by(() => countOpTypes(this.graph));
  /** view nodes matching the query, top to bottom once the layout is known */
  matches: number[] = $derived.by(() => {
    const hits = searchViewGraph(this.graph, this.view, this.query);
    const laid = this.laid;
    if (laid && laid.view === this.view) hits.sort((a, b) => laid.layout.y[a] - laid.layout.y[b] || laid.layout.x[a] - laid.layout.x[b]);
    return hits;
  });
  /** view nodes of the op type picked in the histogram */
  opMatches: number[] = $derived.by(() => {
    const out: number[] = [];
    if (this.highlightOp === null) return out;
    for (let v = 0; v < this.view.kinds.length; v++) {
      const op = this.view.opIndex[v];
      if (op >= 0 && opKey(this.graph.nodes[op]) === this.highlightOp) out.push(v);
    }
    return out;
  });
  /** 1 for each view node to highlight (search matches and the histogram's op type) */
  highlighted: Uint8Array = $derived.by(() => {
    const h = new Uint8Array(this.view.kinds.length);
    for (const v of this.matches) h[v] = 1;
    for (const v of this.opMatches) h[v] = 1;
    return h;
  });
  highlightCount = $derived.by(() => this.highlighted.reduce((a, b) => a + b, 0));
  currentMatch = $derived(this.matches.length ? this.matches[Math.min(this.matchIndex, this.matches.length - 1)] : -1);

  constructor(model: ModelInfo & { graph: Graph }) {
    this.root = model.graph;
    this.tensors = new Map(model.tensors.map((t) => [t.name, t]));
  }

  private key(): string {
    return `${this.path.map((s) => `${s.node}:${s.subgraph}`).join('/')}|${this.showInitializers ? 1 : 0}`;
  }

  /** Lays out the current level (from the cache when it was shown before). Stale answers are dropped. */
  async relayout(client: GraphLayoutClient): Promise<void> {
    const view = this.view;
    const graph = this.graph;
    const key = this.key();
    const id = ++this.latest;
    this.layoutError = null;
    const cached = this.cache.get(key);
    if (cached && cached.view.kinds.length === view.kinds.length) {
      // same level and options: reuse the layout; adopt the new (equal) view object so identity checks hold
      this.laid = { ...cached, view };
      return;
    }
    if (view.kinds.length > MAX_VIEW_NODES) {
      this.laid = null;
      this.layoutError = `This graph level has ${view.kinds.length.toLocaleString('en-US')} nodes; the view draws at most ${MAX_VIEW_NODES.toLocaleString('en-US')}.`;
      return;
    }
    this.laid = null;
    this.layoutBusy = true;
    try {
      const { result, ms } = await client.layout(view);
      if (id !== this.latest) return;
      const laid = { graph, view, layout: result, ms };
      this.cache.set(key, laid);
      this.laid = laid;
    } catch (e) {
      if (id === this.latest) this.layoutError = e instanceof Error ? e.message : String(e);
    } finally {
      if (id === this.latest) this.layoutBusy = false;
    }
  }

  /** Shows the current layout as it is first seen: fitted if readable, else its top. */
  resetCamera(): void {
    const laid = this.laid;
    if (laid && this.width > 0) this.camera = initialView(laid.layout.bounds, this.width, this.height, 1, topLayerX(laid.layout.x, laid.layout.layer));
  }

  fit(): void {
    const laid = this.laid;
    if (laid && this.width > 0) this.camera = fitView(laid.layout.bounds, this.width, this.height);
  }

  zoomBy(factor: number, sx = this.width / 2, sy = this.height / 2): void {
    this.camera = zoomAt(this.camera, factor, sx, sy);
  }

  pan(dx: number, dy: number): void {
    const c = this.camera;
    this.camera = { scale: c.scale, tx: c.tx + dx, ty: c.ty + dy };
  }

  /** Centres view node `v`, zooming in far enough for its label to be read. */
  centerNode(v: number): void {
    const laid = this.laid;
    if (!laid || v < 0 || v >= laid.layout.x.length) return;
    this.camera = centerOn(this.camera, laid.layout.x[v], laid.layout.y[v], this.width, this.height, Math.max(this.camera.scale, 1));
  }

  openSubgraph(opIndex: number, subgraph: number): void {
    if (this.path.length >= MAX_GRAPH_DEPTH) return;
    this.path = [...this.path, { node: opIndex, subgraph }];
    this.resetLevel();
  }

  /** Goes back up to level `depth` (0 = the main graph). */
  goTo(depth: number): void {
    if (depth >= this.path.length) return;
    this.path = this.path.slice(0, depth);
    this.resetLevel();
  }

  private resetLevel(): void {
    this.selected = -1;
    this.matchIndex = 0;
    this.highlightOp = null;
  }

  setShowInitializers(show: boolean): void {
    if (show === this.showInitializers) return;
    this.showInitializers = show;
    // view node numbers change with the initializers shown: drop what points at them
    this.selected = -1;
    this.matchIndex = 0;
  }

  setQuery(q: string): void {
    this.query = q;
    this.matchIndex = 0;
  }

  /** Moves to the next (or previous) match; returns the view node to centre on, or -1. */
  step(dir: 1 | -1): number {
    const n = this.matches.length;
    if (!n) return -1;
    this.matchIndex = (((Math.min(this.matchIndex, n - 1) + dir) % n) + n) % n;
    return this.matches[this.matchIndex];
  }

  toggleOp(op: string): void {
    this.highlightOp = this.highlightOp === op ? null : op;
  }

  /** dtype, shape and origin of a value, from the model's tensors or the ValueInfo of any level shown. */
  describeValue(name: string): ValueDescription {
    const t = this.tensors.get(name);
    if (t) return { name, dtype: t.dtype, shape: `[${t.shape.join(', ')}]`, origin: t.origin ?? 'tensor' };
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const g = this.levels[i].graph;
      const io: [ValueInfo[], string][] = [[g.inputs, 'graph input'], [g.outputs, 'graph output']];
      for (const [list, origin] of io) {
        const vi = list.find((v) => v.name === name);
        if (vi) return { name, dtype: vi.dtype, shape: formatDims(vi.shape), origin: i === this.levels.length - 1 ? origin : `${origin} of an enclosing graph` };
      }
    }
    return { name, dtype: null, shape: null, origin: null };
  }
}
