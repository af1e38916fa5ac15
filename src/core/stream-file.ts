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

export interface StreamFileOptions {
  /** tensors whose bytes live in this file */
  tensors?: readonly TensorInfo[];
  /** compute per-tensor statistics of `tensors` in the same pass (default true) */
  stats?: boolean;
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
  const stats = options.stats !== false && tensors.length > 0 ? createStatsConsumer(tensors) : null;
  await streamSource(source, [hashConsumer(h), ...(stats ? [stats] : []), ...(options.consumers ?? [])], {
    signal: options.signal,
    chunkSize: options.chunkSize,
    onProgress: options.onProgress ? (p) => options.onProgress!(p.done, p.total) : undefined,
  });
  const sha256 = await h.digestHex();
  return stats ? { sha256, stats: stats.results() } : { sha256 };
}
