import { AbortedError } from '../core/io/errors';
import type { ModelInfo } from '../core/model/types';
import type { ProbeProgress } from '../core/probes/run-probes';
import type { ProbeReport } from '../core/probes/types';
import type { ProbeRequestOptions, ProbeResponse } from './probe-protocol';

/**
 * The page's handle on the probe worker: `run()` resolves with the ProbeReport (for Report.probes),
 * reports progress, and cancels through an AbortSignal. The worker is created on first use.
 */
export class ProbeClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: ProbeReport) => void; reject: (e: unknown) => void; onProgress?: (p: ProbeProgress) => void }>();

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./probe.worker.ts', import.meta.url), { type: 'module', name: 'probes' });
    w.onmessage = (ev: MessageEvent<ProbeResponse>) => {
      const m = ev.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') p.onProgress?.(m.progress);
      else {
        this.pending.delete(m.id);
        if (m.type === 'done') p.resolve(m.report);
        else p.reject(m.aborted ? new AbortedError() : new Error(m.message));
      }
    };
    w.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`probe worker failed: ${e.message}`));
      this.pending.clear();
      this.dispose();
    };
    this.worker = w;
    return w;
  }

  run(model: ModelInfo | null, files: { name: string; blob: Blob }[], options: ProbeRequestOptions = {}, onProgress?: (p: ProbeProgress) => void, signal?: AbortSignal): Promise<ProbeReport> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<ProbeReport>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener('abort', () => w.postMessage({ type: 'cancel', id }), { once: true });
      w.postMessage({ type: 'run', id, model, files, options });
    });
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}
