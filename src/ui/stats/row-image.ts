import type { Finding, Severity } from '../../core/report/finding';
import { tensorOf } from './anomaly-rank';

/**
 * Rows of a first layer drawn as the inputs they multiply. After a data trap fired, a latched row *is* a
 * private training input (THREATS.md §7: Δw = −ηg·x), so drawing it is how the theft becomes visible.
 */

/** Input sizes that are pictures, as [h, w] (grey) or [c, h, w] (PyTorch's channel-first flatten). */
export const IMAGE_SHAPES: Readonly<Record<number, readonly number[]>> = {
  256: [16, 16],
  784: [28, 28],
  1024: [32, 32],
  3072: [3, 32, 32],
  4096: [64, 64],
};

const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function isShape(x: unknown): x is number[] {
  return Array.isArray(x) && (x.length === 2 || x.length === 3) && x.every((d) => Number.isInteger(d) && d > 0);
}

/** The picture a row of `inputSize` values is: a finding's `imageShape` when it fits, else the table. */
export function imageShapeFor(inputSize: number, hint?: unknown): number[] | null {
  if (isShape(hint) && product(hint) === inputSize && (hint.length === 2 || hint[0] === 3 || hint[2] === 3)) return [...hint];
  const s = IMAGE_SHAPES[inputSize];
  return s ? [...s] : null;
}

/** Rows of one tensor that one finding names, with what its evidence carries. */
export interface RowGroup {
  findingId: string;
  severity: Severity;
  title: string;
  rows: number[];
  inputSize: number | null;
  imageShape: number[] | null;
  /** the first rows' values, copied into the evidence when the finding was made (a report keeps them) */
  rowValues: number[][] | null;
}

const ints = (x: unknown): number[] => (Array.isArray(x) ? x.filter((v): v is number => Number.isInteger(v) && v >= 0) : []);

/** Row groups of the findings that name `tensor` and list rows, most severe first (findings are sorted). */
export function flaggedRowGroups(findings: readonly Finding[], tensor: string): RowGroup[] {
  const out: RowGroup[] = [];
  for (const f of findings) {
    if (tensorOf(f) !== tensor || !f.evidence) continue;
    const rows = ints(f.evidence.rows);
    if (!rows.length) continue;
    const inputSize = typeof f.evidence.inputSize === 'number' ? f.evidence.inputSize : null;
    const rv = f.evidence.rowValues;
    const rowValues = Array.isArray(rv) && rv.every((r) => Array.isArray(r)) ? (rv as number[][]) : null;
    out.push({
      findingId: f.id,
      severity: f.severity,
      title: f.title,
      rows,
      inputSize,
      imageShape: inputSize !== null ? imageShapeFor(inputSize, f.evidence.imageShape) : null,
      rowValues,
    });
  }
  return out;
}

export interface RowImage {
  width: number;
  height: number;
  /** RGBA, row-major, opaque */
  data: Uint8ClampedArray;
  /** of the values as stored (before any sign flip), finite values only */
  min: number;
  max: number;
  /** drawn as −row: its largest magnitudes were negative */
  flipped: boolean;
}

/** The grey (or channel) level of `v` in a row normalised to [lo, hi]; a constant row is mid-grey. */
export function level(v: number, lo: number, hi: number): number {
  if (!(hi > lo)) return 128;
  return Math.round((255 * (v - lo)) / (hi - lo));
}

/**
 * Draws one row. Normalised per row (min → black, max → white) because a latched row is the input times a
 * large, unknown factor. With `orient: 'auto'` a row whose largest magnitudes are clearly negative
 * (|min| > 2·|max|) is negated first: a data trap writes Δw = −ηg·x, so the input often arrives with its sign flipped. NaN and ±Inf
 * are drawn magenta.
 */
export function rowToImage(values: ArrayLike<number>, shape: readonly number[], orient: 'auto' | 'as-is' = 'auto'): RowImage {
  const n = product(shape);
  if (values.length < n) throw new RangeError(`row has ${values.length} values, a ${shape.join('×')} image needs ${n}`);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min > max) min = max = 0;
  // only a clear majority of magnitude decides: a symmetric (untouched) row is drawn as stored
  const flipped = orient === 'auto' && Math.abs(min) > 2 * Math.abs(max);
  const s = flipped ? -1 : 1;
  const lo = flipped ? -max : min;
  const hi = flipped ? -min : max;
  const channels = shape.length === 3 ? 3 : 1;
  const chw = shape.length === 3 && shape[0] === 3;
  const height = shape.length === 3 ? (chw ? shape[1] : shape[0]) : shape[0];
  const width = shape.length === 3 ? (chw ? shape[2] : shape[1]) : shape[1];
  const data = new Uint8ClampedArray(width * height * 4);
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    const o = p * 4;
    let bad = false;
    for (let c = 0; c < 3; c++) {
      const v = channels === 1 ? values[p] : chw ? values[c * plane + p] : values[p * 3 + c];
      if (!Number.isFinite(v)) bad = true;
      data[o + c] = level(s * v, lo, hi);
    }
    if (bad) {
      data[o] = 255;
      data[o + 1] = 0;
      data[o + 2] = 255;
    }
    data[o + 3] = 255;
  }
  return { width, height, data, min, max, flipped };
}

/**
 * The rows a privacy-trap finding's evidence carries values for, ready to draw (null when its input is no
 * picture). The findings list shows them inline; the report keeps them, so this works from the history.
 */
export function evidenceImages(f: Finding): { shape: number[]; rows: { row: number; values: number[] }[]; total: number } | null {
  if (f.category !== 'privacy-trap' || !f.evidence) return null;
  const g = flaggedRowGroups([f], typeof f.evidence.tensor === 'string' ? f.evidence.tensor : '')[0];
  if (!g?.imageShape || !g.rowValues || g.inputSize === null) return null;
  const rows = g.rowValues.flatMap((values, i) => (g.rows[i] !== undefined && values.length === g.inputSize ? [{ row: g.rows[i], values }] : []));
  return rows.length ? { shape: g.imageShape, rows, total: g.rows.length } : null;
}
