/// <reference lib="webworker" />
import type { HashFactory } from '../core/hash/sha256';
import { BlobSource, MemorySource, type ByteSource } from '../core/io/byte-source';
import { isAbortError } from '../core/io/errors';
import { streamFile } from '../core/stream-file';
import { remoteSha256, remoteStatsConsumer, type RemoteMessage, type RemotePort } from './chunk-remote';
import type { StreamRequest, StreamResponse } from './stream-protocol';

/**
 * Files up to this size are read whole and hashed with WebCrypto's one-shot digest (native code, SHA-NI
 * where the CPU has it: ~4x streaming WASM, STACK.md). Larger files stream in slices so memory stays flat.
 * Measured here (2 cores, a sandbox where page faults are dear): the digest of 200 MiB takes 0.3-0.8 s
 * (WebCrypto first copies the buffer into fresh memory), the read ~0.35 s; streaming takes ~1.2 s.
 */
export const ONE_SHOT_MAX = 256 * 1024 * 1024;

/** Slice size for streaming reads of a File: large slices amortise the per-read cost of Blob.slice. */
const BROWSER_CHUNK = 8 * 1024 * 1024;

const scope = self as unknown as DedicatedWorkerGlobalScope;
const controllers = new Map<number, AbortController>();

/**
 * This worker's two reducers (src/workers/reduce.worker.ts, started by the pool with the page, joined by
 * MessageChannels): one hashes, one computes statistics, while this thread only reads. Chromium delivers
 * a Blob read's data on the reading thread's event loop, so a hash on this thread would stall every read
 * for as long as it runs; on their own threads reading, hashing and statistics overlap.
 * A reducer serves one pass at a time; a pass that finds one busy does that work here instead.
 */
interface Reducer {
  port: RemotePort<RemoteMessage>;
  busy: boolean;
  /** the reducer's worker died (the pool saw its error event): never taken again */
  broken: boolean;
  /** tells the pass waiting on this reducer, through its own listeners, that no answer will come */
  fail(message: string): void;
}
const reducers: Partial<Record<'hash' | 'stats', Reducer>> = {};

/** Takes a reducer for one pass (the pass sets `busy` back to false when it ends). */
function take(kind: 'hash' | 'stats'): Reducer | null {
  const r = reducers[kind];
  if (!r || r.busy || r.broken) return null;
  r.busy = true;
  return r;
}

function reducerOf(port: MessagePort): Reducer {
  port.start();
  const handlers = new Set<(msg: unknown) => void>();
  port.addEventListener('message', (e: MessageEvent) => handlers.forEach((h) => h(e.data)));
  const r: Reducer = {
    busy: false,
    broken: false,
    port: {
      post: (msg, transfer) => port.postMessage(msg, transfer ?? []),
      listen: (handler) => {
        handlers.add(handler);
        return () => handlers.delete(handler);
      },
    },
    fail: (message) => {
      r.broken = true;
      // stream -1: every consumer on this port fails, whatever stream it waits on
      handlers.forEach((h) => h({ type: 'error', stream: -1, message }));
    },
  };
  return r;
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
  const statsWorker = req.tensors.some((t) => t.file === req.name) ? take('stats') : null;
  let hashWorker: Reducer | null = null;
  try {
    const blob = new BlobSource(req.blob, req.name);
    let source: ByteSource = blob;
    let hashFactory: HashFactory | undefined;
    let mode: 'one-shot' | 'streaming' = 'streaming';
    if (req.blob.size <= ONE_SHOT_MAX && crypto?.subtle) {
      // through the byte stream into one buffer (measured faster here than Blob.arrayBuffer())
      const bytes = await blob.readInto(0, new Uint8Array(req.blob.size), ctrl.signal);
      source = new MemorySource(bytes, req.name);
      hashFactory = oneShot(bytes);
      mode = 'one-shot';
    } else if ((hashWorker = take('hash'))) {
      hashFactory = remoteSha256(hashWorker.port);
    }
    let last = 0;
    const result = await streamFile(source, {
      tensors: req.tensors,
      hashFactory,
      statsSink: statsWorker ? (tensors, buffers) => remoteStatsConsumer(statsWorker.port, tensors, mode === 'streaming', undefined, buffers) : undefined,
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
    if (statsWorker) statsWorker.busy = false;
    if (hashWorker) hashWorker.busy = false;
    controllers.delete(req.id);
  }
}

scope.onmessage = (ev: MessageEvent<StreamRequest>) => {
  const msg = ev.data;
  if (msg.type === 'reducer-port') reducers[msg.kind] = reducerOf(msg.port);
  else if (msg.type === 'reducer-failed') reducers[msg.kind]?.fail(msg.message);
  else if (msg.type === 'cancel') controllers.get(msg.id)?.abort();
  else if (msg.type === 'stream') void handle(msg);
};

post({ type: 'ready' });
