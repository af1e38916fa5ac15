/// <reference lib="webworker" />
import { serveRemote, type RemoteReply } from './chunk-remote';

/**
 * A reducer of a stream worker's chunks (src/workers/stream.worker.ts): the SHA-256 or the weight
 * statistics of the pass. Started by the stream pool with the page and connected to its stream worker by
 * a MessageChannel, so one file's reads, hash and statistics run on three threads.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<{ type: 'port'; port: MessagePort }>) => {
  if (ev.data?.type !== 'port') return;
  const port = ev.data.port;
  serveRemote({
    post: (msg: RemoteReply, transfer) => port.postMessage(msg, transfer ?? []),
    listen: (handler) => {
      const h = (e: MessageEvent) => handler(e.data);
      port.addEventListener('message', h);
      port.start();
      return () => port.removeEventListener('message', h);
    },
  });
  scope.postMessage({ type: 'ready' });
};
