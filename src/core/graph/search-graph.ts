import type { Graph } from '../model/types';
import type { ViewGraph } from './view-graph';

/**
 * View nodes matching a query (case-insensitive substring) on the node's name, its op type, or the name
 * of any value it reads or writes. Values shown as their own boxes (inputs, outputs, initializers) match
 * on their name. Returned in view-node order.
 */
export function searchViewGraph(graph: Graph, view: ViewGraph, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hits: number[] = [];
  for (let v = 0; v < view.kinds.length; v++) {
    const op = view.opIndex[v];
    if (op < 0) {
      if (view.names[v].toLowerCase().includes(q)) hits.push(v);
      continue;
    }
    const node = graph.nodes[op];
    if (
      node.name.toLowerCase().includes(q) ||
      node.opType.toLowerCase().includes(q) ||
      node.inputs.some((s) => s.toLowerCase().includes(q)) ||
      node.outputs.some((s) => s.toLowerCase().includes(q))
    ) {
      hits.push(v);
    }
  }
  return hits;
}
