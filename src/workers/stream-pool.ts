import { AbortedError } from '../core/io/errors';
import type { ByteSource } from '../core/io/byte-source';
import { BlobSource } from '../core/io/byte-source';
import type { TensorInfo } from '../core/model/types';
import type { StreamFileResult } from '../core/stream-file';
import type { StreamRequest, StreamResponse } from './stream-protocol';

interface Pending {
  resolve: (r: StreamFileResult) => void;
  reject: (e: Error) => void;
  onProgress: (done: number, total: number) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * A small pool of stream workers, started eagerly so every script is fetched while the page loads
 * (no request is made during an inspection). Files are streamed in parallel, one per worker.
 */
export class StreamPool {
  private slots: Slot[] = [];
  private reducers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private queue: (() => void)[] = [];
  private nextId = 1;
  readonly ready: Promise<void>;

  constructor(size = Math.max(2, Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 2)))) {
    const readies: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./stream.worker.ts', import.meta.url), { type: 'module', name: `stream-${i}` });
      const slot: Slot = { worker, busy: false };
      // each stream worker gets two reducers of its own, joined by channels: one file's reads, hash and
      // statistics then run on three threads (started here, with the page, so no script is fetched later)
      for (const kind of ['hash', 'stats'] as const) {
        const reducer = new Worker(new URL('./reduce.worker.ts', import.meta.url), { type: 'module', name: `${kind}-${i}` });
        const channel = new MessageChannel();
        readies.push(
          new Promise<void>((resolve) => {
            reducer.addEventListener('message', (ev: MessageEvent<{ type: string }>) => {
              if (ev.data?.type === 'ready') resolve();
            });
          }),
        );
        reducer.addEventListener('error', (ev: ErrorEvent) => {
          ev.preventDefault();
          worker.postMessage({ type: 'reducer-failed', kind, message: ev.message || 'the worker stopped' } satisfies StreamRequest);
        });
        reducer.postMessage({ type: 'port', port: channel.port2 }, [channel.port2]);
        worker.postMessage({ type: 'reducer-port', kind, port: channel.port1 } satisfies StreamRequest, [channel.port1]);
        this.reducers.push(reducer);
      }
      readies.push(
        new Promise<void>((resolve) => {
          worker.addEventListener('message', (ev: MessageEvent<StreamResponse>) => {
            if (ev.data.type === 'ready') resolve();
            else this.onMessage(slot, ev.data);
          });
        }),
      );
      this.slots.push(slot);
    }
    this.ready = Promise.all(readies).then(() => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  private onMessage(slot: Slot, msg: Exclude<StreamResponse, { type: 'ready' }>): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress(msg.done, msg.total);
      return;
    }
    this.pending.delete(msg.id);
    slot.busy = false;
    if (msg.type === 'done') p.resolve(msg.result);
    else p.reject(msg.aborted ? new AbortedError() : new Error(msg.message));
    this.queue.shift()?.();
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((r) => this.queue.push(r));
    }
  }

  /** The streaming pass for one file (hash + statistics), in a worker. */
  async stream(source: ByteSource, tensors: readonly TensorInfo[], onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<StreamFileResult> {
    if (!(source instanceof BlobSource)) throw new TypeError('stream workers read Blob-backed sources only');
    if (signal?.aborted) throw new AbortedError();
    const slot = await this.acquire();
    const id = this.nextId++;
    return new Promise<StreamFileResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener('abort', () => slot.worker.postMessage({ type: 'cancel', id } satisfies StreamRequest), { once: true });
      slot.worker.postMessage({ type: 'stream', id, blob: source.blob, name: source.name, tensors: [...tensors] } satisfies StreamRequest);
    });
  }
}
