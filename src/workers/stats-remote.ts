import type { TensorInfo } from '../core/model/types';
import { createStatsConsumer, type StatsConsumer } from '../core/stats/stats-consumer';
import type { TensorStats } from '../core/stats/types';
import type { StatsSink } from '../core/stream-file';

/**
 * Statistics of the streaming pass computed on another thread (a page worker or a Node worker thread)
 * while this one hashes: the chunk is handed over after the hash has consumed it, and at most
 * MAX_IN_FLIGHT chunks wait on the other side (back-pressure keeps memory flat). The other side runs the
 * same createStatsConsumer on the same chunks in the same order, so the results are identical.
 *
 * Plain logic over a message port: no DOM and no node:* import (the page and the CLI adapt their ports).
 */
export type StatsMessage =
  | { type: 'begin'; stream: number; tensors: TensorInfo[] }
  | { type: 'chunk'; stream: number; offset: number; bytes: Uint8Array }
  | { type: 'end'; stream: number };

export type StatsReply =
  | { type: 'ack'; stream: number }
  | { type: 'results'; stream: number; stats: TensorStats[] }
  | { type: 'error'; stream: number; message: string };

/** The two operations a port needs (Worker, MessagePort, worker_threads' port after adaptation). */
export interface StatsPort<M> {
  post(msg: M, transfer?: ArrayBuffer[]): void;
  /** registers the handler; returns a function that removes it */
  listen(handler: (msg: unknown) => void): () => void;
}

/** Chunks handed over but not yet reduced by the other side: one being reduced, one waiting. */
export const MAX_IN_FLIGHT = 2;

let nextStream = 1;

/**
 * The calling side: a ChunkConsumer that posts every chunk to `port`. With `transfer`, a chunk that is a
 * whole ArrayBuffer is transferred (no copy): only for sources whose reads return fresh buffers that no
 * one else keeps, and only when this consumer runs after every other one (the buffer is detached).
 * Otherwise the chunk is copied.
 */
export function remoteStatsConsumer(port: StatsPort<StatsMessage>, tensors: readonly TensorInfo[], transfer: boolean, onDone?: () => void): StatsSink {
  const stream = nextStream++;
  let inFlight = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let resolveResults: ((s: TensorStats[]) => void) | null = null;
  let rejectResults: ((e: Error) => void) | null = null;
  const stop = port.listen((raw) => {
    const msg = raw as StatsReply;
    if (!msg || (msg.stream !== stream && msg.stream !== -1)) return; // -1: the port itself failed
    if (msg.type === 'ack') inFlight--;
    else if (msg.type === 'error') {
      failure = new Error(`statistics worker: ${msg.message}`);
      rejectResults?.(failure);
    } else if (msg.type === 'results') resolveResults?.(msg.stats);
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
  port.post({ type: 'begin', stream, tensors: [...tensors] });
  return {
    async update(offset: number, bytes: Uint8Array): Promise<void> {
      if (failure) throw failure;
      const whole = transfer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      const b = whole ? bytes : bytes.slice();
      port.post({ type: 'chunk', stream, offset, bytes: b }, [b.buffer as ArrayBuffer]);
      inFlight++;
      while (inFlight >= MAX_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
    },
    results(): Promise<TensorStats[]> {
      if (failure) {
        close();
        return Promise.reject(failure);
      }
      return new Promise<TensorStats[]>((resolve, reject) => {
        resolveResults = (s) => {
          close();
          resolve(s);
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

/** The statistics side: reduces the chunks of one stream at a time, acknowledging each. */
export function serveStats(port: StatsPort<StatsReply>): void {
  let stream = 0;
  let consumer: StatsConsumer | null = null;
  port.listen((raw) => {
    const msg = raw as StatsMessage;
    try {
      if (msg.type === 'begin') {
        // a new stream replaces an abandoned one (an aborted pass never sends 'end')
        stream = msg.stream;
        consumer = createStatsConsumer(msg.tensors);
      } else if (msg.type === 'chunk') {
        if (msg.stream === stream && consumer) consumer.update(msg.offset, msg.bytes);
        port.post({ type: 'ack', stream: msg.stream });
      } else if (msg.type === 'end') {
        if (msg.stream !== stream || !consumer) throw new Error('statistics requested for an unknown stream');
        const stats = consumer.results();
        consumer = null;
        port.post({ type: 'results', stream: msg.stream, stats });
      }
    } catch (e) {
      consumer = null;
      port.post({ type: 'error', stream: msg.stream, message: e instanceof Error ? e.message : String(e) });
    }
  });
}
