import { hashConsumer, wasmSha256, type HashFactory } from './hash/sha256';
import type { ByteSource } from './io/byte-source';
import { streamSource, type ChunkConsumer } from './io/stream-source';
import type { TensorInfo } from './model/types';

/** What one streaming pass over a file yields. */
export interface StreamFileResult {
  sha256: string;
  /** per-tensor statistics for the tensors stored in this file (weights analysis), when computed */
  stats?: Record<string, unknown>[];
}

export interface StreamFileOptions {
  /** tensors whose bytes live in this file */
  tensors?: readonly TensorInfo[];
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
  await streamSource(source, [hashConsumer(h), ...(options.consumers ?? [])], {
    signal: options.signal,
    chunkSize: options.chunkSize,
    onProgress: options.onProgress ? (p) => options.onProgress!(p.done, p.total) : undefined,
  });
  return { sha256: await h.digestHex() };
}
