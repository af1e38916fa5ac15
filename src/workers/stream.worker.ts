/// <reference lib="webworker" />
import type { HashFactory } from '../core/hash/sha256';
import { BlobSource, MemorySource, type ByteSource } from '../core/io/byte-source';
import { isAbortError } from '../core/io/errors';
import { streamFile } from '../core/stream-file';
import { remoteStatsConsumer, type StatsMessage, type StatsPort } from './stats-remote';
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

/**
 * This worker's statistics worker (started by the pool with the page, joined by a MessageChannel): one
 * file's statistics are computed there while this worker hashes, so a single file uses two cores.
 * Passes overlap only when a request arrives before the previous one finished; they then share it in turn.
 */
let statsPort: StatsPort<StatsMessage> | null = null;
let statsBusy = false;

function portOf(port: MessagePort): StatsPort<StatsMessage> {
  port.start();
  return {
    post: (msg, transfer) => port.postMessage(msg, transfer ?? []),
    listen: (handler) => {
      const h = (e: MessageEvent) => handler(e.data);
      port.addEventListener('message', h);
      return () => port.removeEventListener('message', h);
    },
  };
}

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
  const port = statsPort && !statsBusy ? statsPort : null;
  if (port) statsBusy = true;
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
    // statistics on the statistics worker when it is free; a streamed Blob's slices are fresh buffers
    // that may be transferred, a buffered file's chunks are views of the one buffer and are copied
    const result = await streamFile(source, {
      tensors: req.tensors,
      hashFactory,
      statsSink: port ? (tensors) => remoteStatsConsumer(port, tensors, mode === 'streaming') : undefined,
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
    if (port) statsBusy = false;
    controllers.delete(req.id);
  }
}

scope.onmessage = (ev: MessageEvent<StreamRequest>) => {
  const msg = ev.data;
  if (msg.type === 'stats-port') statsPort = portOf(msg.port);
  else if (msg.type === 'cancel') controllers.get(msg.id)?.abort();
  else if (msg.type === 'stream') void handle(msg);
};

post({ type: 'ready' });
