/// <reference lib="webworker" />
import type { HashFactory } from '../core/hash/sha256';
import { BlobSource, MemorySource, type ByteSource } from '../core/io/byte-source';
import { isAbortError } from '../core/io/errors';
import { streamFile } from '../core/stream-file';
import type { StreamRequest, StreamResponse } from './stream-protocol';

/**
 * Files up to this size are read whole and hashed with WebCrypto's one-shot digest (native code, SHA-NI
 * where the CPU has it: ~4x streaming WASM, STACK.md). Larger files stream in slices so memory stays flat.
 */
export const ONE_SHOT_MAX = 256 * 1024 * 1024;

/** Slice size for streaming reads of a File: large slices amortise the per-read cost of Blob.slice. */
const BROWSER_CHUNK = 8 * 1024 * 1024;

const scope = self as unknown as DedicatedWorkerGlobalScope;
const controllers = new Map<number, AbortController>();

function post(msg: StreamResponse): void {
  scope.postMessage(msg);
}

/** A hash "factory" for a buffered file: the chunks are views of one buffer, digested once at the end. */
function oneShot(bytes: Uint8Array): HashFactory {
  return async () => ({
    update: () => {},
    digestHex: async () => {
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
      return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
    },
  });
}

async function handle(req: Extract<StreamRequest, { type: 'stream' }>): Promise<void> {
  const ctrl = new AbortController();
  controllers.set(req.id, ctrl);
  try {
    let source: ByteSource = new BlobSource(req.blob, req.name);
    let hashFactory: HashFactory | undefined;
    let mode: 'one-shot' | 'streaming' = 'streaming';
    if (req.blob.size <= ONE_SHOT_MAX && crypto?.subtle) {
      const bytes = new Uint8Array(await req.blob.arrayBuffer());
      source = new MemorySource(bytes, req.name);
      hashFactory = oneShot(bytes);
      mode = 'one-shot';
    }
    let last = 0;
    const result = await streamFile(source, {
      tensors: req.tensors,
      hashFactory,
      chunkSize: BROWSER_CHUNK,
      signal: ctrl.signal,
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - last > 50 || done === total) {
          last = now;
          post({ type: 'progress', id: req.id, done, total });
        }
      },
    });
    post({ type: 'done', id: req.id, result, mode });
  } catch (e) {
    post({ type: 'error', id: req.id, message: e instanceof Error ? e.message : String(e), aborted: isAbortError(e) });
  } finally {
    controllers.delete(req.id);
  }
}

scope.onmessage = (ev: MessageEvent<StreamRequest>) => {
  const msg = ev.data;
  if (msg.type === 'cancel') controllers.get(msg.id)?.abort();
  else if (msg.type === 'stream') void handle(msg);
};

post({ type: 'ready' });
