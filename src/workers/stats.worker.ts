/// <reference lib="webworker" />
import { serveStats, type StatsReply } from './stats-remote';

/**
 * Weight statistics for a stream worker (src/workers/stream.worker.ts): started by the stream pool with
 * the page, connected to its stream worker by a MessageChannel, so one file's hashing and statistics run
 * on two cores.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<{ type: 'port'; port: MessagePort }>) => {
  if (ev.data?.type !== 'port') return;
  const port = ev.data.port;
  serveStats({
    post: (msg: StatsReply) => port.postMessage(msg),
    listen: (handler) => {
      const h = (e: MessageEvent) => handler(e.data);
      port.addEventListener('message', h);
      port.start();
      return () => port.removeEventListener('message', h);
    },
  });
  scope.postMessage({ type: 'ready' });
};
