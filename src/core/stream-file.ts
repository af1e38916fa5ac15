import { hashConsumer, wasmSha256, type HashFactory } from './hash/sha256';
import type { ByteSource } from './io/byte-source';
import { streamSource, type ChunkConsumer } from './io/stream-source';
import type { TensorInfo } from './model/types';
import { createStatsConsumer } from './stats/stats-consumer';
import type { TensorStats } from './stats/types';

/** What one streaming pass over a file yields. */
export interface StreamFileResult {
  sha256: string;
  /** per-tensor statistics for the tensors stored in this file (weights analysis), when computed */
  stats?: TensorStats[];
}

/** A statistics consumer whose results may arrive later (computed on another thread from the same chunks). */
export interface StatsSink extends ChunkConsumer {
  results(): TensorStats[] | Promise<TensorStats[]>;
  /** releases the sink when the pass ends early (abort, read error) */
  dispose?(): void;
}

export interface StreamFileOptions {
  /** tensors whose bytes live in this file */
  tensors?: readonly TensorInfo[];
  /** compute per-tensor statistics of `tensors` in the same pass (default true) */
  stats?: boolean;
  /**
   * Computes the statistics elsewhere (a worker) instead of on this thread: it is handed every chunk after
   * the hash and every other consumer, so it may take (transfer) the chunk's buffer, and give it back
   * through `buffers` (the pass's read buffers) when the other thread is done. Default: in-thread.
   */
  statsSink?: (tensors: readonly TensorInfo[], buffers: ArrayBufferLike[]) => StatsSink;
  hashFactory?: HashFactory;
  /** extra consumers of the same chunks (statistics, payload sniffing) */
  consumers?: readonly ChunkConsumer[];
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The one streaming pass per file (DESIGN.md "Pipeline"): every chunk is hashed and handed to the other
 * consumers, so hashing and statistics share a single read. Runs unchanged in a worker and in Node.
 */
export async function streamFile(source: ByteSource, options: StreamFileOptions = {}): Promise<StreamFileResult> {
  const h = await (options.hashFactory ?? wasmSha256)();
  const tensors = (options.tensors ?? []).filter((t) => t.file === source.name);
  const want = options.stats !== false && tensors.length > 0;
  const buffers: ArrayBufferLike[] = [];
  const stats: StatsSink | null = want ? (options.statsSink ? options.statsSink(tensors, buffers) : createStatsConsumer(tensors)) : null;
  // statistics last: a sink on another thread may take the chunk once everything here is done with it
  try {
    await streamSource(source, [hashConsumer(h), ...(options.consumers ?? []), ...(stats ? [stats] : [])], {
      signal: options.signal,
      chunkSize: options.chunkSize,
      buffers,
      onProgress: options.onProgress ? (p) => options.onProgress!(p.done, p.total) : undefined,
    });
  } catch (e) {
    h.dispose?.();
    stats?.dispose?.();
    throw e;
  }
  const sha256 = await h.digestHex();
  return stats ? { sha256, stats: await stats.results() } : { sha256 };
}
