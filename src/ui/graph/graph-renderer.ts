import type { LayoutResult } from '../../core/graph/layout';
import { shortLabel, type ViewGraph } from '../../core/graph/view-graph';
import { detailFor, visibleWorld, type View } from '../../core/graph/viewport';

/** Fill colours by operator family (Netron's grouping), readable with white text in light and dark themes. */
const FAMILY: Record<string, string> = {
  layer: '#335c9e',
  activation: '#8a3434',
  norm: '#2f6b4a',
  pool: '#3f6b2f',
  shape: '#6b5a45',
  control: '#6a3d9a',
  constant: '#7b828c',
  custom: '#b45309',
  other: '#4a5565',
};

const FAMILY_OF: Record<string, string> = {};
const add = (family: string, ops: string) => ops.split(' ').forEach((o) => (FAMILY_OF[o] = family));
add('layer', 'Conv ConvTranspose ConvInteger Gemm MatMul MatMulInteger QLinearConv QLinearMatMul LSTM GRU RNN Attention MultiHeadAttention Einsum DeformConv');
add('activation', 'Relu Sigmoid Tanh LeakyRelu Elu Gelu FastGelu Softmax LogSoftmax HardSigmoid HardSwish PRelu Selu Celu Softplus Softsign Clip Mish ThresholdedRelu QuickGelu BiasGelu');
add('norm', 'BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LRN SimplifiedLayerNormalization SkipLayerNormalization RMSNormalization MeanVarianceNormalization Dropout');
add('pool', 'MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool RoiAlign');
add('shape', 'Reshape Transpose Concat Split Slice Gather GatherElements GatherND Squeeze Unsqueeze Flatten Shape Size Expand Tile Pad Cast CastLike Identity Resize Upsample DepthToSpace SpaceToDepth ScatterND ScatterElements Range ConstantOfShape');
add('control', 'If Loop Scan SequenceMap');
add('constant', 'Constant');

export function opFamily(opType: string, domain: string): string {
  if (domain && domain !== 'ai.onnx' && domain !== 'com.microsoft' && !FAMILY_OF[opType]) return 'custom';
  return FAMILY_OF[opType] ?? 'other';
}

interface Theme {
  text: string;
  muted: string;
  surface: string;
  surface2: string;
  border: string;
  borderStrong: string;
  accent: string;
  warn: string;
  edge: string;
}

function readTheme(el: Element): Theme {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  return {
    text: v('--text', '#1b2430'),
    muted: v('--muted', '#5b6675'),
    surface: v('--surface', '#ffffff'),
    surface2: v('--surface-2', '#eef1f5'),
    border: v('--border', '#dde2e8'),
    borderStrong: v('--border-strong', '#b7c0cc'),
    accent: v('--accent', '#2f5bd3'),
    warn: v('--warn', '#c48a00'),
    edge: v('--muted', '#5b6675'),
  };
}

const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

/**
 * Draws a laid-out graph on a Canvas 2D with viewport culling and three levels of detail (labelled
 * boxes, plain boxes, dots). Everything off screen is skipped; what is drawn is batched into one path
 * per colour, so a 10,000-node graph seen whole costs a few milliseconds per frame.
 */
export class GraphRenderer {
  private ctx: CanvasRenderingContext2D;
  private theme: Theme;
  private view: ViewGraph | null = null;
  private layout: LayoutResult | null = null;
  /** per edge: minX, minY, maxX, maxY of its polyline */
  private edgeBox = new Float64Array(0);
  private family: string[] = [];
  width = 0;
  height = 0;
  /** last frame's drawn counts, for tests and the status line */
  lastDrawn = { nodes: 0, edges: 0, ms: 0 };

  constructor(private canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('graph view: no 2D canvas context');
    this.ctx = ctx;
    this.theme = readTheme(canvas);
  }

  refreshTheme(): void {
    this.theme = readTheme(this.canvas);
  }

  resize(width: number, height: number): void {
    const dpr = globalThis.devicePixelRatio || 1;
    this.width = width;
    this.height = height;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
  }

  setData(view: ViewGraph, layout: LayoutResult, graphNodes: { opType: string; domain: string }[]): void {
    this.view = view;
    this.layout = layout;
    const m = view.edgeSrc.length;
    const box = new Float64Array(m * 4);
    const { edgeOffsets, points } = layout;
    for (let e = 0; e < m; e++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let k = edgeOffsets[e]; k < edgeOffsets[e + 1]; k++) {
        const px = points[2 * k];
        const py = points[2 * k + 1];
        if (px < x0) x0 = px;
        if (px > x1) x1 = px;
        if (py < y0) y0 = py;
        if (py > y1) y1 = py;
      }
      box[4 * e] = x0;
      box[4 * e + 1] = y0;
      box[4 * e + 2] = x1;
      box[4 * e + 3] = y1;
    }
    this.edgeBox = box;
    this.family = view.kinds.map((k, v) => (k === 'op' ? opFamily(graphNodes[view.opIndex[v]].opType, graphNodes[view.opIndex[v]].domain) : k));
  }

  draw(v: View, highlighted: Uint8Array | null, selected: number, current: number): void {
    const t0 = performance.now();
    const { ctx, theme } = this;
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.surface;
    ctx.fillRect(0, 0, this.width, this.height);
    const view = this.view;
    const layout = this.layout;
    if (!view || !layout) return;
    ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.tx, dpr * v.ty);
    const vis = visibleWorld(v, this.width, this.height, 8);
    const detail = detailFor(v.scale);
    const px = 1 / v.scale;
    const { x, y, edgeOffsets, points } = layout;
    const { widths: w, heights: h } = view;

    // edges: one path; curves when boxes are readable, straight segments otherwise
    ctx.beginPath();
    let edges = 0;
    const box = this.edgeBox;
    const m = view.edgeSrc.length;
    for (let e = 0; e < m; e++) {
      if (box[4 * e + 2] < vis.minX || box[4 * e] > vis.maxX || box[4 * e + 3] < vis.minY || box[4 * e + 1] > vis.maxY) continue;
      const k0 = edgeOffsets[e];
      const k1 = edgeOffsets[e + 1];
      if (k1 - k0 < 2) continue;
      edges++;
      ctx.moveTo(points[2 * k0], points[2 * k0 + 1]);
      for (let k = k0 + 1; k < k1; k++) {
        const ax = points[2 * k - 2];
        const ay = points[2 * k - 1];
        const bx = points[2 * k];
        const by = points[2 * k + 1];
        if (detail === 'dots' || ax === bx) ctx.lineTo(bx, by);
        else {
          const my = (ay + by) / 2;
          ctx.bezierCurveTo(ax, my, bx, my, bx, by);
        }
      }
    }
    ctx.strokeStyle = theme.edge;
    ctx.globalAlpha = detail === 'dots' ? 0.5 : 0.8;
    ctx.lineWidth = detail === 'labels' ? Math.max(1, px) : px;
    ctx.stroke();
    ctx.globalAlpha = 1;

    // arrowheads into the target box
    if (detail === 'labels') {
      ctx.beginPath();
      for (let e = 0; e < m; e++) {
        const k1 = edgeOffsets[e + 1];
        if (k1 - edgeOffsets[e] < 2) continue;
        const ex = points[2 * k1 - 2];
        const ey = points[2 * k1 - 1];
        if (ex < vis.minX || ex > vis.maxX || ey < vis.minY || ey > vis.maxY) continue;
        const dir = ey >= points[2 * k1 - 3] ? 1 : -1;
        ctx.moveTo(ex, ey);
        ctx.lineTo(ex - 4, ey - 7 * dir);
        ctx.lineTo(ex + 4, ey - 7 * dir);
        ctx.closePath();
      }
      ctx.fillStyle = theme.edge;
      ctx.fill();
    }

    // nodes, culled, batched by fill colour
    const n = view.kinds.length;
    const visible: number[] = [];
    for (let i = 0; i < n; i++) {
      const hw = w[i] / 2;
      const hh = h[i] / 2;
      if (x[i] + hw < vis.minX || x[i] - hw > vis.maxX || y[i] + hh < vis.minY || y[i] - hh > vis.maxY) continue;
      visible.push(i);
    }
    const fillOf = (i: number): string => {
      const f = this.family[i];
      if (f === 'input' || f === 'output') return theme.surface2;
      if (f === 'initializer' || f === 'outer') return theme.surface;
      return FAMILY[f] ?? FAMILY.other;
    };
    const groups = new Map<string, number[]>();
    for (const i of visible) {
      const c = fillOf(i);
      let g = groups.get(c);
      if (!g) groups.set(c, (g = []));
      g.push(i);
    }
    if (detail === 'dots') {
      const s = Math.max(3 * px, 0);
      for (const [color, list] of groups) {
        ctx.beginPath();
        for (const i of list) ctx.rect(x[i] - Math.max(s, w[i] / 2) / 2, y[i] - Math.max(s, h[i]) / 2, Math.max(s, w[i] / 2), Math.max(s, h[i]));
        ctx.fillStyle = this.family[list[0]] === 'input' || this.family[list[0]] === 'output' ? theme.accent : color;
        ctx.fill();
      }
    } else {
      const r = detail === 'labels' ? 5 : 0;
      for (const [color, list] of groups) {
        ctx.beginPath();
        for (const i of list) {
          const k = view.kinds[i];
          const rr = k === 'input' || k === 'output' ? h[i] / 2 : r;
          if (rr > 0) ctx.roundRect(x[i] - w[i] / 2, y[i] - h[i] / 2, w[i], h[i], rr);
          else ctx.rect(x[i] - w[i] / 2, y[i] - h[i] / 2, w[i], h[i]);
        }
        ctx.fillStyle = color;
        ctx.fill();
      }
      // outlines of the value boxes: solid for graph inputs/outputs, dashed for weights and outer values
      ctx.lineWidth = Math.max(1, px);
      for (const dashed of [false, true]) {
        ctx.beginPath();
        for (const i of visible) {
          const k = view.kinds[i];
          if (k === 'op' || (k === 'initializer' || k === 'outer') !== dashed) continue;
          ctx.roundRect(x[i] - w[i] / 2, y[i] - h[i] / 2, w[i], h[i], k === 'input' || k === 'output' ? h[i] / 2 : 3);
        }
        ctx.setLineDash(dashed ? [4, 3] : []);
        ctx.strokeStyle = theme.borderStrong;
        ctx.stroke();
      }
      ctx.setLineDash([]);
      if (detail === 'labels') {
        ctx.font = FONT;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        for (const i of visible) {
          const k = view.kinds[i];
          ctx.fillStyle = k === 'op' ? '#ffffff' : k === 'input' || k === 'output' ? theme.text : theme.muted;
          ctx.fillText(shortLabel(view.labels[i]), x[i], y[i] + 0.5);
        }
      }
    }

    // highlights on top: rings that stay visible at every zoom level
    const ring = (i: number, color: string, width: number) => {
      const pad = 3 * px;
      const ww = Math.max(w[i], 6 * px) + 2 * pad;
      const hh = Math.max(h[i], 6 * px) + 2 * pad;
      ctx.beginPath();
      ctx.roundRect(x[i] - ww / 2, y[i] - hh / 2, ww, hh, 6 * px);
      ctx.strokeStyle = color;
      ctx.lineWidth = width * px;
      ctx.stroke();
    };
    if (highlighted) {
      ctx.beginPath();
      const pad = 3 * px;
      for (let i = 0; i < n; i++) {
        if (!highlighted[i]) continue;
        if (x[i] + w[i] < vis.minX || x[i] - w[i] > vis.maxX || y[i] + h[i] < vis.minY || y[i] - h[i] > vis.maxY) continue;
        const ww = Math.max(w[i], 6 * px) + 2 * pad;
        const hh = Math.max(h[i], 6 * px) + 2 * pad;
        ctx.rect(x[i] - ww / 2, y[i] - hh / 2, ww, hh);
      }
      ctx.strokeStyle = theme.warn;
      ctx.lineWidth = 2.5 * px;
      ctx.stroke();
    }
    if (current >= 0 && current < n) ring(current, theme.warn, 4);
    if (selected >= 0 && selected < n) ring(selected, theme.accent, 3);
    this.lastDrawn = { nodes: visible.length, edges, ms: performance.now() - t0 };
  }
}
