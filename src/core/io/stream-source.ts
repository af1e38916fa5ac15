import { readChunks, type ByteSource } from './byte-source';
import { STREAM_CHUNK } from './limits';

/** Something that reads the bytes of a file as they stream past (hash, statistics, payload sniffing). */
export interface ChunkConsumer {
  /**
   * `bytes` may be a reused buffer (see `readChunks`'s `recycle`): a consumer keeps nothing of it after
   * `update` resolves, except by transferring its whole buffer to another thread.
   */
  update(offset: number, bytes: Uint8Array): void | Promise<void>;
}

export interface StreamProgress {
  phase: 'read';
  file: string;
  done: number;
  total: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
  chunkSize?: number;
  onProgress?: (p: StreamProgress) => void;
  /** read buffers to reuse, shared with a consumer that transfers chunks away and gets them back */
  buffers?: ArrayBufferLike[];
}

/**
 * One streaming pass over a file, each chunk handed to every consumer in order. Memory stays at about
 * two chunks whatever the file size.
 */
export async function streamSource(source: ByteSource, consumers: readonly ChunkConsumer[], options: StreamOptions = {}): Promise<void> {
  const total = source.size;
  options.onProgress?.({ phase: 'read', file: source.name, done: 0, total });
  for await (const { offset, bytes } of readChunks(source, options.chunkSize ?? STREAM_CHUNK, options.signal, 0, source.size, true, options.buffers)) {
    for (const c of consumers) await c.update(offset, bytes);
    options.onProgress?.({ phase: 'read', file: source.name, done: offset + bytes.length, total });
  }
}
