/// <reference lib="webworker" />
import { BlobSource } from '../core/io/byte-source';
import { isAbortError } from '../core/io/errors';
import { runProbes } from '../core/probes/run-probes';
import { browserBackendFactory } from '../runtime/ort/ort-backend';
import type { ProbeRequest, ProbeResponse } from './probe-protocol';

/**
 * Runs the canary probes off the main thread. One request at a time is processed (the runtime's
 * sessions are queued anyway); a cancel aborts the matching request.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;
const running = new Map<number, AbortController>();
let chain: Promise<void> = Promise.resolve();

const post = (m: ProbeResponse) => scope.postMessage(m);

scope.onmessage = (ev: MessageEvent<ProbeRequest>) => {
  const msg = ev.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort();
    return;
  }
  const ctrl = new AbortController();
  running.set(msg.id, ctrl);
  chain = chain.then(async () => {
    try {
      const sources = msg.files.map((f) => new BlobSource(f.blob, f.name));
      const report = await runProbes(msg.model, sources, browserBackendFactory, {
        ...msg.options,
        signal: ctrl.signal,
        onProgress: (progress) => post({ type: 'progress', id: msg.id, progress }),
      });
      post({ type: 'done', id: msg.id, report });
    } catch (e) {
      post({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e), aborted: isAbortError(e) });
    } finally {
      running.delete(msg.id);
    }
  });
};
