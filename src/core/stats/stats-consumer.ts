import { STATS_WINDOW, STREAM_CHUNK } from '../io/limits';
import { readChunks, type ByteSource } from '../io/byte-source';
import type { ChunkConsumer } from '../io/stream-source';
import { byteSizeOf } from '../model/dtype';
import type { TensorInfo } from '../model/types';
import { TensorAccumulator } from './accumulator';
import { decoderFor, type Decoder } from './decode';
import type { TensorStats } from './types';

/** Tensors per file that get statistics; the rest are listed as skipped (bounds memory and report size). */
export const STATS_MAX_TENSORS_PER_FILE = 100_000;

export interface StatsConsumer extends ChunkConsumer {
  /** Statistics of every tensor given, in the order given (unfinished ones marked `complete: false`). */
  results(): TensorStats[];
}

interface Active {
  acc: TensorAccumulator;
  dec: Decoder;
  start: number;
  end: number;
  /** bytes of the tensor consumed so far (including the partial unit in `carry`) */
  seen: number;
  carry: Uint8Array;
  carried: number;
  slot: number;
}

function skipped(t: TensorInfo, reason: string): TensorStats {
  return {
    name: t.name, file: t.file, dtype: t.dtype, shape: [...t.shape], count: 0, complete: false, skipped: reason,
    finite: 0, min: null, max: null, mean: null, std: null, absMax: null, absMaxIndex: null, kurtosis: null,
    zeros: 0, nan: 0, posInf: 0, negInf: 0, subnormal: 0, firstNonFinite: null, median: null, mad: null,
    robustSigma: null, histogram: null, log2Histogram: [], repeats: [], matrix: null,
  };
}

/** Why a tensor gets no statistics from a plain pass over its file, or null when it does. */
export function statsSkipReason(t: TensorInfo): string | null {
  if (t.encoding && t.encoding !== 'raw' && t.encoding !== 'external') return `bytes are ${t.encoding}-encoded`;
  if (t.offset < 0) return 'bytes are not addressable in the file';
  if (!decoderFor(t.dtype)) return `dtype ${t.dtype} has no decoder`;
  if (t.numel === 0) return 'empty tensor';
  if (t.stride && t.stride.length === t.shape.length) {
    // PyTorch views: only contiguous row-major ones are read in place
    let expect = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      if (t.shape[i] !== 1 && t.stride[i] !== expect) return 'non-contiguous view';
      expect *= t.shape[i];
    }
  }
  return null;
}

/**
 * A consumer for the shared streaming pass (DESIGN.md "Pipeline") that computes TensorStats for every
 * tensor of `tensors` whose bytes [offset, offset+length) lie in the streamed file. Chunks must arrive in
 * order; tensors and elements may straddle chunk boundaries (a partial element or block is carried over).
 * Tensors may overlap (a hostile file): each is accumulated on its own.
 */
export function createStatsConsumer(tensors: readonly TensorInfo[]): StatsConsumer {
  const out: (TensorStats | null)[] = tensors.map(() => null);
  const order: number[] = [];
  tensors.forEach((t, i) => {
    if (i >= STATS_MAX_TENSORS_PER_FILE) {
      out[i] = skipped(t, `more than ${STATS_MAX_TENSORS_PER_FILE} tensors in one file`);
      return;
    }
    const reason = statsSkipReason(t);
    if (reason) out[i] = skipped(t, reason);
    else order.push(i);
  });
  order.sort((a, b) => tensors[a].offset - tensors[b].offset);
  let next = 0;
  let active: Active[] = [];
  const scratch = new Float32Array(STATS_WINDOW);
  const scratchBits = new Int32Array(scratch.buffer);

  function decodeUnits(a: Active, bytes: Uint8Array, units: number): void {
    const dec = a.dec;
    // fast path: aligned float32 is used in place, no copy
    if (dec.dtype === 'float32' && bytes.byteOffset % 4 === 0) {
      const all = new Float32Array(bytes.buffer, bytes.byteOffset, units);
      const bits = new Int32Array(bytes.buffer, bytes.byteOffset, units);
      for (let i = 0; i < units; i += STATS_WINDOW) {
        const n = Math.min(STATS_WINDOW, units - i);
        a.acc.push(all.subarray(i, i + n), bits.subarray(i, i + n), n);
      }
      return;
    }
    if (a.acc.table16) {
      // bfloat16 table path: the raw 16-bit patterns are counted, nothing is decoded (unless a matrix)
      let h: Uint16Array;
      if (bytes.byteOffset % 2 === 0) h = new Uint16Array(bytes.buffer, bytes.byteOffset, units);
      else {
        h = new Uint16Array(units);
        new Uint8Array(h.buffer).set(bytes.subarray(0, units * 2));
      }
      for (let i = 0; i < units; i += STATS_WINDOW) {
        const n = Math.min(STATS_WINDOW, units - i);
        a.acc.push16(h.subarray(i, i + n), scratch, scratchBits, n);
      }
      return;
    }
    // decoded straight into the kernel's window when the tensor has one
    const w = a.acc.window;
    const out = w?.v ?? scratch;
    const outBits = w?.u ?? scratchBits;
    const perWindow = Math.max(1, Math.floor(STATS_WINDOW / dec.unitElements));
    for (let u = 0; u < units; u += perWindow) {
      const k = Math.min(perWindow, units - u);
      dec.decode(bytes.subarray(u * dec.unitBytes, (u + k) * dec.unitBytes), k, out, 0);
      const n = k * dec.unitElements;
      a.acc.push(out, outBits, n);
    }
  }

  function feed(a: Active, bytes: Uint8Array): void {
    const ub = a.dec.unitBytes;
    let p = 0;
    if (a.carried > 0) {
      const take = Math.min(ub - a.carried, bytes.length);
      a.carry.set(bytes.subarray(0, take), a.carried);
      a.carried += take;
      p = take;
      if (a.carried < ub) return;
      decodeUnits(a, a.carry, 1);
      a.carried = 0;
    }
    const units = Math.floor((bytes.length - p) / ub);
    if (units > 0) decodeUnits(a, bytes.subarray(p, p + units * ub), units);
    p += units * ub;
    if (p < bytes.length) {
      a.carry.set(bytes.subarray(p), 0);
      a.carried = bytes.length - p;
    }
  }

  function finish(a: Active, complete: boolean): void {
    out[a.slot] = a.acc.finish(complete && a.acc.index === tensors[a.slot].numel);
  }

  return {
    update(offset: number, bytes: Uint8Array): void {
      const chunkEnd = offset + bytes.length;
      while (next < order.length && tensors[order[next]].offset < chunkEnd) {
        const slot = order[next++];
        const t = tensors[slot];
        const dec = decoderFor(t.dtype)!;
        // a tensor that starts before this chunk was missed (chunks out of order or a partial pass)
        const start = t.offset;
        if (start < offset) {
          out[slot] = skipped(t, 'its bytes were not streamed from the start');
          continue;
        }
        // read no more than the shape needs, even when the declared span is longer
        const need = byteSizeOf(t.dtype, t.numel) ?? t.length;
        active.push({ acc: new TensorAccumulator(t), dec, start, end: start + Math.min(t.length, need), seen: 0, carry: new Uint8Array(dec.unitBytes), carried: 0, slot });
      }
      if (active.length === 0) return;
      const still: Active[] = [];
      for (const a of active) {
        const s = Math.max(a.start + a.seen, offset);
        const e = Math.min(a.end, chunkEnd);
        if (e > s) {
          feed(a, bytes.subarray(s - offset, e - offset));
          a.seen += e - s;
        }
        if (a.start + a.seen >= a.end) finish(a, true);
        else still.push(a);
      }
      active = still;
    },
    results(): TensorStats[] {
      for (const a of active) finish(a, false);
      active = [];
      for (; next < order.length; next++) out[order[next]] = skipped(tensors[order[next]], 'its bytes lie beyond the end of the file');
      return out.map((s, i) => s ?? skipped(tensors[i], 'not reached'));
    },
  };
}

/**
 * Statistics of one tensor read on its own (a tensor in a compressed member, a second look): streams
 * [offset, offset+length) of `source`, which must hold the tensor's plain little-endian bytes at
 * `tensor.offset` (pass a decompressed member's source with a tensor whose offset is relative to it).
 */
export async function computeTensorStatsFromSource(
  source: ByteSource,
  tensor: TensorInfo,
  options: { signal?: AbortSignal; chunkSize?: number } = {},
): Promise<TensorStats> {
  const t: TensorInfo = { ...tensor, encoding: 'raw' };
  const consumer = createStatsConsumer([t]);
  if (!statsSkipReason(t)) {
    const end = Math.min(source.size, t.offset + t.length);
    for await (const { offset, bytes } of readChunks(source, options.chunkSize ?? STREAM_CHUNK, options.signal, t.offset, end)) consumer.update(offset, bytes);
  }
  return consumer.results()[0];
}
