import type { Graph, OpNode } from '../model/types';

/** One step down into a subgraph: node `node` of the current graph, its subgraph number `subgraph`. */
export interface GraphPathStep {
  node: number;
  subgraph: number;
}

export interface GraphLevel {
  graph: Graph;
  /** breadcrumb text of this level */
  label: string;
}

/** Deepest subgraph nesting the view follows (a hostile file could nest without end). */
export const MAX_GRAPH_DEPTH = 64;

/** Name of a node's k-th subgraph: the graph attribute that holds it (`then_branch`, `body`), else `subgraph k`. */
export function subgraphLabel(node: OpNode, k: number): string {
  const attr = node.attributes.find((a) => a.value.kind === 'graph' && a.value.value === k);
  return attr ? attr.name : `subgraph ${k}`;
}

export function nodeLabel(node: OpNode, index: number): string {
  return node.name || `${node.opType} #${index}`;
}

/** The levels from the main graph down along `path`, stopping at the first step that does not exist. */
export function resolveGraphPath(root: Graph, path: readonly GraphPathStep[]): GraphLevel[] {
  const levels: GraphLevel[] = [{ graph: root, label: root.name || 'main graph' }];
  let g = root;
  for (const step of path.slice(0, MAX_GRAPH_DEPTH)) {
    const node = g.nodes[step.node];
    const sub = node?.subgraphs?.[step.subgraph];
    if (!sub) break;
    levels.push({ graph: sub, label: `${nodeLabel(node, step.node)} › ${subgraphLabel(node, step.subgraph)}` });
    g = sub;
  }
  return levels;
}

/** Initializer names of every level above the last one (values a subgraph body may read as weights). */
export function enclosingInitializers(levels: readonly GraphLevel[]): Set<string> {
  const out = new Set<string>();
  for (const l of levels.slice(0, -1)) for (const name of l.graph.initializers) out.add(name);
  return out;
}
