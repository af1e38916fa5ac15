import type { LayoutResult } from '../../core/graph/layout';
import type { ViewGraph } from '../../core/graph/view-graph';
import type { GraphLayoutRequest, GraphLayoutResponse } from '../../workers/graph-layout-protocol';

interface Pending {
  resolve: (r: { result: LayoutResult; ms: number }) => void;
  reject: (e: Error) => void;
}

/**
 * The page's side of the layout worker. Created once with the page (so its script is fetched while the
 * page loads, and an inspection makes no request); every call gets its own request id.
 */
export class GraphLayoutClient {
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  readonly ready: Promise<void>;

  constructor() {
    this.worker = new Worker(new URL('../../workers/graph-layout.worker.ts', import.meta.url), { type: 'module', name: 'graph-layout' });
    let markReady: () => void = () => {};
    this.ready = new Promise<void>((r) => (markReady = r));
    this.worker.addEventListener('message', (ev: MessageEvent<GraphLayoutResponse>) => {
      const msg = ev.data;
      if (msg.type === 'ready') {
        markReady();
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'done') p.resolve({ result: msg.result, ms: msg.ms });
      else p.reject(new Error(`graph layout: ${msg.message}`));
    });
    this.worker.addEventListener('error', (ev) => {
      for (const p of this.pending.values()) p.reject(new Error(`graph layout worker failed: ${ev.message}`));
      this.pending.clear();
    });
  }

  /** Lays out a view graph; the arrays sent are copies, so `view` stays usable on this side. */
  layout(view: ViewGraph): Promise<{ result: LayoutResult; ms: number }> {
    const id = this.nextId++;
    const req: GraphLayoutRequest = {
      type: 'layout',
      id,
      n: view.kinds.length,
      widths: view.widths.slice(),
      heights: view.heights.slice(),
      edgeSrc: view.edgeSrc.slice(),
      edgeDst: view.edgeDst.slice(),
    };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(req, [req.widths.buffer, req.heights.buffer, req.edgeSrc.buffer, req.edgeDst.buffer]);
    });
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('graph layout worker stopped'));
    this.pending.clear();
  }
}
