/// <reference lib="webworker" />
import { layoutLayered } from '../core/graph/layout';
import type { GraphLayoutRequest, GraphLayoutResponse } from './graph-layout-protocol';

/** Lays out operator graphs off the main thread, so a 10,000-node graph never freezes the page. */
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<GraphLayoutRequest>) => {
  const req = ev.data;
  if (req.type !== 'layout') return;
  try {
    const t0 = performance.now();
    const result = layoutLayered({ n: req.n, widths: req.widths, heights: req.heights, edgeSrc: req.edgeSrc, edgeDst: req.edgeDst });
    const msg: GraphLayoutResponse = { type: 'done', id: req.id, result, ms: performance.now() - t0 };
    scope.postMessage(msg, [result.x.buffer, result.y.buffer, result.layer.buffer, result.edgeOffsets.buffer, result.points.buffer]);
  } catch (e) {
    scope.postMessage({ type: 'error', id: req.id, message: e instanceof Error ? e.message : String(e) } satisfies GraphLayoutResponse);
  }
};

scope.postMessage({ type: 'ready' } satisfies GraphLayoutResponse);
