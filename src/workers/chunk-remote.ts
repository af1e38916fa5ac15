import type { HashFactory } from '../core/hash/sha256';
import { createSha256 } from '../core/hash/sha256-wasm';
import type { ChunkConsumer } from '../core/io/stream-source';
import type { TensorInfo } from '../core/model/types';
import { createStatsConsumer } from '../core/stats/stats-consumer';
import type { TensorStats } from '../core/stats/types';
import type { StatsSink } from '../core/stream-file';

/**
 * A consumer of the streaming pass that runs on another thread (a page worker or a Node worker thread):
 * the reading thread posts every chunk and at most MAX_IN_FLIGHT chunks wait on the other side
 * (back-pressure keeps memory flat). The other side runs the same core code (createStatsConsumer,
 * the WebAssembly SHA-256) on the same chunks in the same order, so the results are identical to an in-thread pass.
 *
 * Memory: a chunk that no one else needs is transferred (no copy); otherwise it is copied into a buffer
 * of this consumer's. Every reducer sends each buffer back with its acknowledgement, into the pool the
 * copies (and, for statistics, the pass's reads) take from: measured in a Chromium worker here, filling
 * fresh 8 MiB buffers runs at 0.5-1.2 GB/s, refilling one at ~28 GB/s, so fresh memory costs more than
 * the copy (before the statistics buffers came back, the reading thread spent ~1.7 s of CPU per 2 GiB
 * faulting in new ones). Sending a buffer back detaches it on the reducer's side, and the first detach in
 * a V8 isolate makes optimised JavaScript typed-array loops check for detached buffers from then on
 * (~35% slower, measured when the statistics ran in JavaScript); the statistics of large tensors run in
 * WebAssembly (stats-kernel.wat), which that does not touch.
 *
 * Two jobs: `stats` (weight statistics) and `sha256` (the page's streaming hash: on its own thread the
 * hash never stalls the reads, whose data arrives on the reading thread's event loop).
 *
 * Plain logic over a message port: no DOM and no node:* import (the page and the CLI adapt their ports).
 */
export type RemoteJob = { kind: 'stats'; tensors: TensorInfo[] } | { kind: 'sha256' };

export type RemoteMessage =
  | { type: 'begin'; stream: number; job: RemoteJob }
  | { type: 'chunk'; stream: number; offset: number; bytes: Uint8Array }
  | { type: 'end'; stream: number };

export type RemoteReply =
  /** a chunk is reduced; its buffer comes back (transferred) to carry a later chunk */
  | { type: 'ack'; stream: number; buffer?: ArrayBuffer }
  | { type: 'results'; stream: number; result: TensorStats[] | string }
  | { type: 'error'; stream: number; message: string };

/** The two operations a port needs (Worker, MessagePort, worker_threads' port after adaptation). */
export interface RemotePort<M> {
  post(msg: M, transfer?: ArrayBuffer[]): void;
  /** registers the handler; returns a function that removes it */
  listen(handler: (msg: unknown) => void): () => void;
}

/** Chunks handed over but not yet reduced by the other side: one being reduced, one waiting. */
export const MAX_IN_FLIGHT = 2;

let nextStream = 1;

interface RemoteConsumer<R> extends ChunkConsumer {
  results(): Promise<R>;
  dispose(): void;
}

/**
 * The calling side: a ChunkConsumer that hands every chunk to the other side of `port`. With `transfer`,
 * a chunk that is a whole ArrayBuffer is transferred: only when this consumer runs after every other one
 * (the buffer is detached; a recycling reader then allocates a new one).
 */
function remoteConsumer<R>(port: RemotePort<RemoteMessage>, job: RemoteJob, transfer: boolean, onDone?: () => void, spare: ArrayBufferLike[] = []): RemoteConsumer<R> {
  const stream = nextStream++;
  let inFlight = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let resolveResults: ((r: R) => void) | null = null;
  let rejectResults: ((e: Error) => void) | null = null;
  const stop = port.listen((raw) => {
    const msg = raw as RemoteReply;
    if (!msg || (msg.stream !== stream && msg.stream !== -1)) return; // -1: the port itself failed
    if (msg.type === 'ack') {
      inFlight--;
      if (msg.buffer) spare.push(msg.buffer);
    } else if (msg.type === 'error') {
      failure = new Error(`${job.kind === 'stats' ? 'statistics' : 'hash'} worker: ${msg.message}`);
      rejectResults?.(failure);
    } else if (msg.type === 'results') resolveResults?.(msg.result as R);
    const w = wake;
    wake = null;
    w?.();
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stop();
    onDone?.();
  };
  port.post({ type: 'begin', stream, job });
  return {
    async update(offset: number, bytes: Uint8Array): Promise<void> {
      if (failure) throw failure;
      const whole = transfer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      let out = bytes;
      if (!whole) {
        let buffer = spare.pop();
        if (!buffer || buffer.byteLength < bytes.length) buffer = new ArrayBuffer(bytes.length);
        else if (!(buffer instanceof ArrayBuffer)) throw new TypeError('spare buffers must be ArrayBuffers');
        out = new Uint8Array(buffer, 0, bytes.length);
        out.set(bytes);
      }
      port.post({ type: 'chunk', stream, offset, bytes: out }, [out.buffer as ArrayBuffer]);
      inFlight++;
      while (inFlight >= MAX_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
    },
    results(): Promise<R> {
      if (failure) {
        close();
        return Promise.reject(failure);
      }
      return new Promise<R>((resolve, reject) => {
        resolveResults = (r) => {
          close();
          resolve(r);
        };
        rejectResults = (e) => {
          close();
          reject(e);
        };
        port.post({ type: 'end', stream });
      });
    },
    dispose: close,
  };
}

/**
 * Weight statistics of the pass on the other side of `port` (a StatsSink for streamFile). Every chunk's
 * buffer comes back with its acknowledgement into `buffers` (streamFile's read buffers, when given): the
 * reads then reuse memory instead of faulting in fresh pages for every chunk transferred away.
 */
export function remoteStatsConsumer(port: RemotePort<RemoteMessage>, tensors: readonly TensorInfo[], transfer: boolean, onDone?: () => void, buffers?: ArrayBufferLike[]): StatsSink {
  return remoteConsumer<TensorStats[]>(port, { kind: 'stats', tensors: [...tensors] }, transfer, onDone, buffers);
}

/**
 * The SHA-256 of the pass computed on the other side of `port` (a HashFactory for streamFile). Chunks are
 * copied (others read them after the hash) into buffers that come back with each acknowledgement.
 */
export function remoteSha256(port: RemotePort<RemoteMessage>, onDone?: () => void): HashFactory {
  return async () => {
    const c = remoteConsumer<string>(port, { kind: 'sha256' }, false, onDone);
    return { update: (bytes) => c.update(0, bytes), digestHex: () => c.results(), dispose: () => c.dispose() };
  };
}

/** What the other side does with one stream's chunks. */
interface Reducer {
  update(offset: number, bytes: Uint8Array): void;
  result(): TensorStats[] | string;
  /** send each chunk's buffer back with its acknowledgement */
  returnBuffers: boolean;
}

type WasmHasher = Awaited<ReturnType<typeof createSha256>>;

/**
 * The other side: reduces the chunks of one stream at a time, acknowledging each. Messages are handled
 * in arrival order (the SHA-256 instance is created once, on the first `sha256` job).
 */
export function serveRemote(port: RemotePort<RemoteReply>): void {
  let stream = 0;
  let reducer: Reducer | null = null;
  let hasher: Promise<WasmHasher> | null = null;
  const start = async (job: RemoteJob): Promise<Reducer> => {
    if (job.kind === 'stats') {
      const c = createStatsConsumer(job.tensors);
      return { update: (o, b) => c.update(o, b), result: () => c.results(), returnBuffers: true };
    }
    const h = await (hasher ??= createSha256());
    h.init();
    return { update: (_o, b) => void h.update(b), result: () => h.digestHex(), returnBuffers: true };
  };
  let queue = Promise.resolve();
  const handle = async (msg: RemoteMessage): Promise<void> => {
    try {
      if (msg.type === 'begin') {
        // a new stream replaces an abandoned one (an aborted pass never sends 'end')
        stream = msg.stream;
        reducer = null;
        reducer = await start(msg.job);
      } else if (msg.type === 'chunk') {
        const r = msg.stream === stream ? reducer : null;
        r?.update(msg.offset, msg.bytes);
        if (r?.returnBuffers) {
          const buffer = msg.bytes.buffer as ArrayBuffer;
          port.post({ type: 'ack', stream: msg.stream, buffer }, [buffer]);
        } else port.post({ type: 'ack', stream: msg.stream });
      } else if (msg.type === 'end') {
        if (msg.stream !== stream || !reducer) throw new Error('results requested for an unknown stream');
        const result = reducer.result();
        reducer = null;
        port.post({ type: 'results', stream: msg.stream, result });
      }
    } catch (e) {
      reducer = null;
      port.post({ type: 'error', stream: msg.stream, message: e instanceof Error ? e.message : String(e) });
    }
  };
  port.listen((raw) => {
    queue = queue.then(() => handle(raw as RemoteMessage));
  });
}
