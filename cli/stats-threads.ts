import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { TensorInfo } from '../src/core/model/types';
import { createStatsConsumer } from '../src/core/stats/stats-consumer';
import type { StatsSink } from '../src/core/stream-file';
import { remoteStatsConsumer, serveRemote, type RemoteMessage, type RemotePort, type RemoteReply } from '../src/workers/chunk-remote';

/**
 * Weight statistics on worker threads for the CLI: `streamFile(source, { statsSink: threadedStats })`
 * hashes with Node's native SHA-256 on the calling thread while a worker thread reduces the same chunks
 * (transferred, not copied: the statistics run after the hash). Identical results to the in-thread
 * consumer. Threads are started on first use, reused, and never keep the process alive.
 *
 * The worker runs this very module (in the esbuild bundle: the bundle itself, whose top level only
 * defines functions): `workerData.tamperscopeStats` makes it serve instead.
 */
const MARK = 'tamperscopeStats';

/** Threads kept at most: one per file streamed at the same time. */
const MAX_THREADS = 4;

interface Thread {
  worker: Worker;
  port: RemotePort<RemoteMessage>;
  broken: boolean;
}

const idle: Thread[] = [];
let started = 0;

function startThread(): Thread {
  const url = new URL(import.meta.url);
  // running from the TypeScript sources (tsx): the thread registers the same loader before importing us
  const worker = url.pathname.endsWith('.ts')
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData: { [MARK]: true } })
    : new Worker(url, { workerData: { [MARK]: true } });
  const t: Thread = {
    worker,
    broken: false,
    port: {
      post: (msg, transfer) => worker.postMessage(msg, transfer ?? []),
      listen: (handler) => {
        worker.on('message', handler);
        return () => worker.off('message', handler);
      },
    },
  };
  worker.on('error', (e) => {
    t.broken = true;
    // a pass waiting on this thread gets the error through the port's protocol
    worker.emit('message', { type: 'error', stream: -1, message: e.message });
  });
  worker.unref();
  started++;
  return t;
}

/** A StatsSink on a worker thread (or in this thread when MAX_THREADS are busy). */
export function threadedStats(tensors: readonly TensorInfo[], buffers?: ArrayBufferLike[]): StatsSink {
  let t = idle.pop();
  while (t?.broken) t = idle.pop();
  if (!t) {
    if (started >= MAX_THREADS) return createStatsConsumer(tensors);
    t = startThread();
  }
  const thread = t;
  thread.worker.ref();
  return remoteStatsConsumer(thread.port, tensors, true, () => {
    thread.worker.unref();
    if (!thread.broken) idle.push(thread);
  }, buffers);
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[MARK]) {
  const port = parentPort;
  serveRemote({
    post: (msg: RemoteReply, transfer) => port.postMessage(msg, transfer ?? []),
    listen: (handler) => {
      port.on('message', handler);
      return () => port.off('message', handler);
    },
  });
}
