import type { ByteSource } from '../../core/io/byte-source';
import { byteSizeOf, DTYPES } from '../../core/model/dtype';
import type { TensorInfo } from '../../core/model/types';
import { readTensorValues } from '../../core/stats/read-tensor';
import { statsSkipReason } from '../../core/stats/stats-consumer';

/**
 * Reads single units of a weight matrix by range, for drawing them: a row of [out, in] weights is read
 * alone (a few KB from a file of any size); a unit stored as a column ([in, out], ONNX MatMul) needs the
 * whole tensor, bounded by ROW_READ_MAX_ELEMENTS.
 */

/** Largest tensor read whole to gather a column or an unaligned row (64 MB of float32). */
export const ROW_READ_MAX_ELEMENTS = 16 * 1024 * 1024;

export interface RowLayout {
  /** 'rows': unit u is row u of [shape[0], rest]; 'cols': unit u is column u of a 2-D [in, out] tensor */
  layout: 'rows' | 'cols';
  units: number;
  /** values per unit (the layer's input size) */
  size: number;
}

/**
 * How a tensor's units are laid out, given the input size a finding reports (or, with none, rows of the
 * tensor viewed as [shape[0], rest], as the statistics do). Null when the input size fits neither.
 */
export function rowLayoutOf(shape: readonly number[], inputSize: number | null): RowLayout | null {
  if (shape.length < 2 || shape[0] <= 0) return null;
  const numel = shape.reduce((a, b) => a * b, 1);
  const rest = numel / shape[0];
  if (inputSize === null || inputSize === rest) return { layout: 'rows', units: shape[0], size: rest };
  if (shape.length === 2 && shape[0] === inputSize) return { layout: 'cols', units: shape[1], size: shape[0] };
  return null;
}

/** Values of units `units` of `t` (see rowLayoutOf), decoded to float32, keyed by unit index. */
export async function readTensorRows(source: ByteSource, t: TensorInfo, layout: RowLayout, units: readonly number[], signal?: AbortSignal): Promise<Map<number, Float32Array>> {
  const reason = statsSkipReason(t);
  if (reason) throw new RangeError(`tensor "${t.name}": ${reason}`);
  const out = new Map<number, Float32Array>();
  const wanted = [...new Set(units)].filter((u) => Number.isInteger(u) && u >= 0 && u < layout.units);
  if (!wanted.length) return out;
  const { size } = layout;
  const info = DTYPES[t.dtype];
  // a row starts on a byte (and block) boundary when its element offset does
  const aligned = (u: number) => (info.blockSize ? (u * size) % info.blockSize === 0 && size % info.blockSize === 0 : (u * size * info.bits) % 8 === 0 && (size * info.bits) % 8 === 0);
  if (layout.layout === 'rows' && wanted.every(aligned)) {
    for (const u of wanted) {
      const start = byteSizeOf(t.dtype, u * size);
      const length = byteSizeOf(t.dtype, size);
      if (start === null || length === null) throw new RangeError(`tensor "${t.name}": row ${u} does not start on a byte boundary`);
      const row: TensorInfo = { name: `${t.name}[${u}]`, dtype: t.dtype, shape: [size], numel: size, file: t.file, offset: t.offset + start, length };
      out.set(u, await readTensorValues(source, row, size, signal));
    }
    return out;
  }
  const all = await readTensorValues(source, t, ROW_READ_MAX_ELEMENTS, signal);
  for (const u of wanted) {
    if (layout.layout === 'rows') out.set(u, all.slice(u * size, (u + 1) * size));
    else {
      const col = new Float32Array(size);
      for (let i = 0; i < size; i++) col[i] = all[i * layout.units + u];
      out.set(u, col);
    }
  }
  return out;
}
