import type { LayoutResult } from '../core/graph/layout';

/**
 * Messages between the page and the graph layout worker. The page sends box sizes and edges as typed
 * arrays (transferred, not copied) and gets coordinates back the same way.
 */
export type GraphLayoutRequest = {
  type: 'layout';
  id: number;
  n: number;
  widths: Float64Array;
  heights: Float64Array;
  edgeSrc: Int32Array;
  edgeDst: Int32Array;
};

export type GraphLayoutResponse =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: LayoutResult; ms: number }
  | { type: 'error'; id: number; message: string };
