import type { ByteSource } from '../io/byte-source';
import { createSha256 } from './sha256-wasm';
import { streamSource, type ChunkConsumer, type StreamOptions } from '../io/stream-source';

/**
 * An incremental SHA-256. The page and tests use the generated WebAssembly one (./sha256-wasm.ts); the
 * CLI injects Node's native hash.
 */
export interface IncrementalHash {
  /** may be async: a hash on another thread resolves once it has room for the next chunk */
  update(bytes: Uint8Array): void | Promise<void>;
  /** may be async: the page's one-shot WebCrypto digest of a buffered file resolves later */
  digestHex(): string | Promise<string>;
  /** releases what the hash holds when the pass ends early (abort, read error) */
  dispose?(): void;
}

export type HashFactory = () => Promise<IncrementalHash>;

export const wasmSha256: HashFactory = createSha256;

/** Adapts an incremental hash to the shared streaming pass. */
export function hashConsumer(h: IncrementalHash): ChunkConsumer {
  return { update: (_offset, bytes) => h.update(bytes) };
}

export interface HashOptions extends StreamOptions {
  factory?: HashFactory;
}

/** Streaming SHA-256 of a whole source, lower-case hex. */
export async function hashSource(source: ByteSource, options: HashOptions = {}): Promise<string> {
  const h = await (options.factory ?? wasmSha256)();
  await streamSource(source, [hashConsumer(h)], options);
  return await h.digestHex();
}

export function isSha256Hex(s: string): boolean {
  return /^[0-9a-f]{64}$/i.test(s);
}
