/**
 * Pan/zoom arithmetic for the graph canvas, kept apart from the DOM so it is unit-tested.
 * A view maps world coordinates (the layout's) to CSS pixels: screen = world × scale + (tx, ty).
 */
export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Zoom limits: 1/2000 shows a 10,000-layer chain whole; ×4 makes 12px labels 48px. */
export const MIN_SCALE = 1 / 2000;
export const MAX_SCALE = 4;

/** Level of detail by scale: labelled boxes, plain boxes, or single dots. */
export type Detail = 'labels' | 'boxes' | 'dots';
export const LABEL_SCALE = 0.6;
export const BOX_SCALE = 0.12;

export function detailFor(scale: number): Detail {
  return scale >= LABEL_SCALE ? 'labels' : scale >= BOX_SCALE ? 'boxes' : 'dots';
}

export function clampScale(s: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
}

/** The whole of `b` centred in a width × height viewport with `pad` pixels around, never above `maxScale`. */
export function fitView(b: Bounds, width: number, height: number, pad = 24, maxScale = 1): View {
  const bw = Math.max(1, b.maxX - b.minX);
  const bh = Math.max(1, b.maxY - b.minY);
  const scale = clampScale(Math.min(maxScale, (width - 2 * pad) / bw, (height - 2 * pad) / bh));
  return { scale, tx: width / 2 - ((b.minX + b.maxX) / 2) * scale, ty: height / 2 - ((b.minY + b.maxY) / 2) * scale };
}

/**
 * The first view of a graph: fitted when that keeps boxes readable, otherwise the top of the graph at a
 * readable scale (a 10,000-node chain fitted whole is a column of dots). A graph wider than the viewport
 * is centred on `topX`, the x of its first layer (where its inputs are): the left edge of the bounds can be
 * a side branch far from where the graph starts.
 */
export function initialView(b: Bounds, width: number, height: number, readable = 1, topX?: number): View {
  const fit = fitView(b, width, height);
  if (fit.scale >= LABEL_SCALE) return fit;
  const scale = readable;
  const bw = b.maxX - b.minX;
  let tx: number;
  if (bw * scale <= width) tx = width / 2 - ((b.minX + b.maxX) / 2) * scale;
  else if (topX !== undefined && Number.isFinite(topX)) {
    // centred on the top layer, but never showing more than 24 px beyond either side of the bounds
    tx = Math.min(24 - b.minX * scale, Math.max(width - 24 - b.maxX * scale, width / 2 - topX * scale));
  } else tx = 24 - b.minX * scale;
  return { scale, tx, ty: 24 - b.minY * scale };
}

/** The mean x of a layout's first layer (its inputs, or the first ops when it has none). */
export function topLayerX(x: ArrayLike<number>, layer: ArrayLike<number>): number | undefined {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < layer.length; i++) {
    if (layer[i] !== 0) continue;
    sum += x[i];
    n++;
  }
  return n ? sum / n : undefined;
}

/** Zooms by `factor` keeping the world point under (sx, sy) where it is. */
export function zoomAt(v: View, factor: number, sx: number, sy: number): View {
  const scale = clampScale(v.scale * factor);
  const k = scale / v.scale;
  return { scale, tx: sx - (sx - v.tx) * k, ty: sy - (sy - v.ty) * k };
}

export function centerOn(v: View, wx: number, wy: number, width: number, height: number, scale = v.scale): View {
  const s = clampScale(scale);
  return { scale: s, tx: width / 2 - wx * s, ty: height / 2 - wy * s };
}

export function toWorld(v: View, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - v.tx) / v.scale, y: (sy - v.ty) / v.scale };
}

/** The world rectangle a width × height viewport shows, grown by `margin` screen pixels. */
export function visibleWorld(v: View, width: number, height: number, margin = 0): Bounds {
  return {
    minX: (-margin - v.tx) / v.scale,
    minY: (-margin - v.ty) / v.scale,
    maxX: (width + margin - v.tx) / v.scale,
    maxY: (height + margin - v.ty) / v.scale,
  };
}

/**
 * The node whose box contains the world point, or -1. Boxes are grown to at least `minScreen` pixels so
 * a dot far out is still clickable. When boxes overlap (dots), the nearest centre wins.
 */
export function hitTest(
  x: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, h: ArrayLike<number>,
  wx: number, wy: number, scale: number, minScreen = 8,
): number {
  const minWorld = minScreen / scale;
  let best = -1;
  let bestD = Infinity;
  for (let i = 0; i < x.length; i++) {
    const hw = Math.max(w[i], minWorld) / 2;
    const hh = Math.max(h[i], minWorld) / 2;
    const dx = Math.abs(wx - x[i]);
    const dy = Math.abs(wy - y[i]);
    if (dx <= hw && dy <= hh) {
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
  }
  return best;
}
