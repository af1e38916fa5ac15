/**
 * A layered (Sugiyama-style) layout for operator graphs, framework-free so it runs in a worker and in
 * Node tests. The four classic phases (Sugiyama, Tagawa & Toda 1981), each kept linear-ish so a
 * 10,000-node graph lays out in tens of milliseconds:
 *
 * 1. cycle removal: an iterative DFS reverses back edges (ONNX graphs are DAGs, hostile files need not be);
 * 2. layering: longest path from the sources, then nodes with at least as many out- as in-edges are
 *    pulled down next to their consumers (never lengthens the edges in total; puts a weight or a graph
 *    input just above its first use instead of at the very top);
 * 3. crossing reduction: edges spanning several layers get dummy nodes, then barycentric sweeps, down and
 *    up, a bounded number of times, keeping the order with the fewest crossings (counted with a Fenwick
 *    tree per layer pair, Barth, Jünger & Mutzel 2002);
 * 4. coordinates: layers stacked top to bottom; in each layer x is the weighted barycentre of the
 *    neighbours, made non-overlapping by isotonic regression (pool adjacent violators), which is the
 *    least-squares placement that keeps the order and the minimum gaps.
 */

export interface LayoutInput {
  /** node count; nodes are 0..n-1 */
  n: number;
  widths: ArrayLike<number>;
  heights: ArrayLike<number>;
  /** edge i goes from edgeSrc[i] to edgeDst[i] */
  edgeSrc: ArrayLike<number>;
  edgeDst: ArrayLike<number>;
}

export interface LayoutOptions {
  /** horizontal gap between neighbouring boxes */
  nodeSep?: number;
  /** vertical gap between layers */
  rankSep?: number;
  /** barycentric sweeps (each one is down or up) */
  sweeps?: number;
  /** coordinate passes (each one is down or up) */
  coordinatePasses?: number;
  /** dummy nodes allowed in all, as a multiple of n (long edges beyond it are drawn straight) */
  maxDummyFactor?: number;
}

export interface LayoutResult {
  /** centre of each node */
  x: Float64Array;
  y: Float64Array;
  layer: Int32Array;
  layerCount: number;
  /** points of edge i are points[2*k], points[2*k+1] for k in [edgeOffsets[i], edgeOffsets[i+1]) */
  edgeOffsets: Int32Array;
  points: Float64Array;
  /** bounding box of every node and edge */
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
  /** crossings between adjacent layers before and after the sweeps (dummies included) */
  crossingsBefore: number;
  crossingsAfter: number;
  dummyCount: number;
  /** edges drawn straight because the dummy budget ran out */
  straightEdges: number;
  /** back edges reversed to break cycles */
  reversedEdges: number;
}

export const DEFAULT_NODE_SEP = 24;
export const DEFAULT_RANK_SEP = 36;
/** Enough for the order to settle on real graphs; each sweep is O(V + E + Σ Lᵢ log Lᵢ). */
export const DEFAULT_SWEEPS = 8;
export const DEFAULT_COORD_PASSES = 6;
/** Bounds the dummies (memory and time) when a graph has very long edges, e.g. an input used 9,000 layers down. */
export const DEFAULT_MAX_DUMMY_FACTOR = 8;
/** Gap next to a dummy: long edges may run closer to each other than boxes do. */
export const DUMMY_SEP = 8;

/** Compressed adjacency (CSR) of a directed graph. */
interface Csr {
  start: Int32Array;
  adj: Int32Array;
}

function buildCsr(n: number, from: ArrayLike<number>, to: ArrayLike<number>, count: number): Csr {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < count; i++) start[from[i] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const adj = new Int32Array(count);
  for (let i = 0; i < count; i++) adj[fill[from[i]]++] = to[i];
  return { start, adj };
}

/** Marks back edges of an iterative DFS (visiting roots in index order): reversing them leaves a DAG. */
function findBackEdges(n: number, src: ArrayLike<number>, dst: ArrayLike<number>, m: number): Uint8Array {
  // adjacency by edge id, so the edge itself can be flagged
  const start = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) start[src[i] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const eid = new Int32Array(m);
  for (let i = 0; i < m; i++) eid[fill[src[i]]++] = i;
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const back = new Uint8Array(m);
  const stack = new Int32Array(n);
  const cursor = new Int32Array(n);
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    let sp = 0;
    stack[sp++] = root;
    state[root] = 1;
    cursor[root] = start[root];
    while (sp > 0) {
      const v = stack[sp - 1];
      if (cursor[v] < start[v + 1]) {
        const e = eid[cursor[v]++];
        const w = dst[e];
        if (state[w] === 1) back[e] = 1;
        else if (state[w] === 0) {
          state[w] = 1;
          cursor[w] = start[w];
          stack[sp++] = w;
        }
      } else {
        state[v] = 2;
        sp--;
      }
    }
  }
  return back;
}

/** Crossings between two adjacent layers, O(E log V) (Barth, Jünger & Mutzel's accumulator tree). */
function countLayerCrossings(upper: Int32Array, pos: Int32Array, downStart: Int32Array, downAdj: Int32Array, lowerSize: number, scratch: number[], tree: Float64Array): number {
  // south end positions of the edges, sorted by (north position, south position)
  scratch.length = 0;
  for (let i = 0; i < upper.length; i++) {
    const u = upper[i];
    const from = scratch.length;
    for (let k = downStart[u]; k < downStart[u + 1]; k++) scratch.push(pos[downAdj[k]]);
    if (scratch.length - from > 1) {
      const part = scratch.slice(from).sort((a, b) => a - b);
      for (let k = 0; k < part.length; k++) scratch[from + k] = part[k];
    }
  }
  if (scratch.length < 2) return 0;
  tree.fill(0, 0, lowerSize + 1);
  let crossings = 0;
  let inserted = 0;
  for (const s of scratch) {
    // edges inserted so far whose south end is strictly right of s cross this one
    let le = 0;
    for (let i = s + 1; i > 0; i -= i & -i) le += tree[i];
    crossings += inserted - le;
    for (let i = s + 1; i <= lowerSize; i += i & -i) tree[i]++;
    inserted++;
  }
  return crossings;
}

/**
 * Least-squares positions y₁ ≤ y₂ ≤ … closest to `target` (weights `w`), by pool adjacent violators.
 * Writes the result into `out`. O(n).
 */
function isotonic(target: Float64Array, w: Float64Array, n: number, out: Float64Array, blockSum: Float64Array, blockW: Float64Array, blockLen: Int32Array): void {
  let b = 0;
  for (let i = 0; i < n; i++) {
    blockSum[b] = target[i] * w[i];
    blockW[b] = w[i];
    blockLen[b] = 1;
    b++;
    while (b > 1 && blockSum[b - 2] / blockW[b - 2] > blockSum[b - 1] / blockW[b - 1]) {
      blockSum[b - 2] += blockSum[b - 1];
      blockW[b - 2] += blockW[b - 1];
      blockLen[b - 2] += blockLen[b - 1];
      b--;
    }
  }
  let i = 0;
  for (let k = 0; k < b; k++) {
    const v = blockSum[k] / blockW[k];
    for (let j = 0; j < blockLen[k]; j++) out[i++] = v;
  }
}

export function layoutLayered(input: LayoutInput, options: LayoutOptions = {}): LayoutResult {
  const nodeSep = options.nodeSep ?? DEFAULT_NODE_SEP;
  const rankSep = options.rankSep ?? DEFAULT_RANK_SEP;
  const sweeps = options.sweeps ?? DEFAULT_SWEEPS;
  const passes = options.coordinatePasses ?? DEFAULT_COORD_PASSES;
  const maxDummies = Math.floor((options.maxDummyFactor ?? DEFAULT_MAX_DUMMY_FACTOR) * Math.max(16, input.n));
  const n = input.n;
  const m0 = input.edgeSrc.length;
  if (input.edgeDst.length !== m0) throw new RangeError(`layout: ${m0} edge sources but ${input.edgeDst.length} edge targets`);
  for (let i = 0; i < m0; i++) {
    const s = input.edgeSrc[i];
    const d = input.edgeDst[i];
    if (!(s >= 0 && s < n && d >= 0 && d < n)) throw new RangeError(`layout: edge ${i} (${s} → ${d}) leaves the ${n} nodes`);
  }

  // ---- 1. cycle removal on the edges that matter for layering (no self loops, no duplicates)
  const back = findBackEdges(n, input.edgeSrc, input.edgeDst, m0);
  // DAG edges: (u, v) with u above v; keyed to drop duplicates
  const seen = new Map<number, number>();
  const dagU: number[] = [];
  const dagV: number[] = [];
  /** for each input edge, the DAG edge it follows (-1 for a self loop) and whether it runs against it */
  const edgeDag = new Int32Array(m0).fill(-1);
  let reversedEdges = 0;
  for (let i = 0; i < m0; i++) {
    let u = input.edgeSrc[i];
    let v = input.edgeDst[i];
    if (u === v) continue;
    if (back[i]) {
      reversedEdges++;
      [u, v] = [v, u];
    }
    const key = u * n + v;
    let d = seen.get(key);
    if (d === undefined) {
      d = dagU.length;
      seen.set(key, d);
      dagU.push(u);
      dagV.push(v);
    }
    edgeDag[i] = d;
  }
  const m = dagU.length;
  const out = buildCsr(n, dagU, dagV, m);
  const inn = buildCsr(n, dagV, dagU, m);

  // ---- 2. layering: longest path (Kahn order), then pull nodes down towards their consumers
  const layer = new Int32Array(n);
  const indeg = new Int32Array(n);
  for (let i = 0; i < m; i++) indeg[dagV[i]]++;
  const topo = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) if (indeg[v] === 0) topo[tail++] = v;
  while (head < tail) {
    const v = topo[head++];
    for (let k = out.start[v]; k < out.start[v + 1]; k++) {
      const w = out.adj[k];
      if (layer[v] + 1 > layer[w]) layer[w] = layer[v] + 1;
      if (--indeg[w] === 0) topo[tail++] = w;
    }
  }
  if (tail !== n) throw new Error('layout: cycle left after removing back edges'); // cannot happen: DFS back edges break every cycle
  for (let i = n - 1; i >= 0; i--) {
    const v = topo[i];
    const outDeg = out.start[v + 1] - out.start[v];
    const inDeg = inn.start[v + 1] - inn.start[v];
    if (outDeg === 0 || outDeg < inDeg) continue;
    let lowest = Infinity;
    for (let k = out.start[v]; k < out.start[v + 1]; k++) lowest = Math.min(lowest, layer[out.adj[k]]);
    if (lowest - 1 > layer[v]) layer[v] = lowest - 1;
  }
  let layerCount = 0;
  for (let v = 0; v < n; v++) layerCount = Math.max(layerCount, layer[v] + 1);
  if (n === 0) layerCount = 0;

  // ---- 3a. dummy nodes on long edges, within a budget (longest edges go straight when it runs out)
  const span = new Int32Array(m);
  let wanted = 0;
  for (let i = 0; i < m; i++) {
    span[i] = layer[dagV[i]] - layer[dagU[i]];
    wanted += span[i] - 1;
  }
  const straight = new Uint8Array(m);
  let straightEdges = 0;
  if (wanted > maxDummies) {
    const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => span[b] - span[a]);
    for (const i of order) {
      if (wanted <= maxDummies || span[i] <= 1) break;
      straight[i] = 1;
      wanted -= span[i] - 1;
      straightEdges++;
    }
  }
  const total = n + wanted;
  const nodeLayer = new Int32Array(total);
  nodeLayer.set(layer);
  // proper edges (each between adjacent layers)
  const pu: number[] = [];
  const pv: number[] = [];
  /** first dummy of each DAG edge (dummies of one edge are consecutive ids), -1 when none */
  const firstDummy = new Int32Array(m).fill(-1);
  let next = n;
  for (let i = 0; i < m; i++) {
    if (straight[i]) continue;
    const u = dagU[i];
    const v = dagV[i];
    if (span[i] === 1) {
      pu.push(u);
      pv.push(v);
      continue;
    }
    firstDummy[i] = next;
    let prev = u;
    for (let l = layer[u] + 1; l < layer[v]; l++) {
      nodeLayer[next] = l;
      pu.push(prev);
      pv.push(next);
      prev = next++;
    }
    pu.push(prev);
    pv.push(v);
  }
  const down = buildCsr(total, pu, pv, pu.length);
  const up = buildCsr(total, pv, pu, pv.length);

  // layers, initially in id order (ONNX lists nodes in topological order, a good start)
  const layerStart = new Int32Array(layerCount + 1);
  for (let v = 0; v < total; v++) layerStart[nodeLayer[v] + 1]++;
  for (let l = 0; l < layerCount; l++) layerStart[l + 1] += layerStart[l];
  const order = new Int32Array(total);
  {
    const fill = layerStart.slice(0, layerCount);
    for (let v = 0; v < total; v++) order[fill[nodeLayer[v]]++] = v;
  }
  const pos = new Int32Array(total);
  const setPositions = () => {
    for (let l = 0; l < layerCount; l++) for (let i = layerStart[l]; i < layerStart[l + 1]; i++) pos[order[i]] = i - layerStart[l];
  };
  setPositions();

  const scratch: number[] = [];
  let maxLayer = 0;
  for (let l = 0; l < layerCount; l++) maxLayer = Math.max(maxLayer, layerStart[l + 1] - layerStart[l]);
  const tree = new Float64Array(maxLayer + 2);
  const countAll = () => {
    let c = 0;
    for (let l = 0; l + 1 < layerCount; l++) {
      c += countLayerCrossings(order.subarray(layerStart[l], layerStart[l + 1]), pos, down.start, down.adj, layerStart[l + 2] - layerStart[l + 1], scratch, tree);
    }
    return c;
  };

  // ---- 3b. barycentric sweeps, keeping the best order seen
  const crossingsBefore = countAll();
  let best = crossingsBefore;
  let bestOrder = order.slice();
  const bary = new Float64Array(total);
  const idx: number[] = [];
  for (let s = 0; s < sweeps && best > 0; s++) {
    const goingDown = s % 2 === 0;
    const adj = goingDown ? up : down;
    for (let step = 1; step < layerCount; step++) {
      const l = goingDown ? step : layerCount - 1 - step;
      const a = layerStart[l];
      const b = layerStart[l + 1];
      if (b - a < 2) continue;
      for (let i = a; i < b; i++) {
        const v = order[i];
        const k0 = adj.start[v];
        const k1 = adj.start[v + 1];
        if (k0 === k1) {
          bary[v] = pos[v];
          continue;
        }
        let sum = 0;
        for (let k = k0; k < k1; k++) sum += pos[adj.adj[k]];
        bary[v] = sum / (k1 - k0);
      }
      idx.length = 0;
      for (let i = a; i < b; i++) idx.push(order[i]);
      // stable: ties keep their current order
      idx.sort((p, q) => bary[p] - bary[q] || pos[p] - pos[q]);
      for (let i = a; i < b; i++) {
        order[i] = idx[i - a];
        pos[order[i]] = i - a;
      }
    }
    const c = countAll();
    if (c < best) {
      best = c;
      bestOrder = order.slice();
    }
  }
  order.set(bestOrder);
  setPositions();

  // ---- 4. coordinates
  const w = new Float64Array(total);
  const h = new Float64Array(total);
  for (let v = 0; v < n; v++) {
    w[v] = Math.max(0, input.widths[v]);
    h[v] = Math.max(0, input.heights[v]);
  }
  const layerH = new Float64Array(layerCount);
  for (let v = 0; v < n; v++) layerH[nodeLayer[v]] = Math.max(layerH[nodeLayer[v]], h[v]);
  const layerTop = new Float64Array(layerCount);
  for (let l = 1; l < layerCount; l++) layerTop[l] = layerTop[l - 1] + layerH[l - 1] + rankSep;
  const x = new Float64Array(total);
  const y = new Float64Array(total);
  for (let v = 0; v < total; v++) y[v] = layerTop[nodeLayer[v]] + layerH[nodeLayer[v]] / 2;

  // gap[i] = distance required between order[i] and order[i+1]'s centres
  const gapAfter = (a: number, b: number) => (w[a] + w[b]) / 2 + (a >= n || b >= n ? DUMMY_SEP : nodeSep);
  for (let l = 0; l < layerCount; l++) {
    let cx = 0;
    for (let i = layerStart[l]; i < layerStart[l + 1]; i++) {
      if (i > layerStart[l]) cx += gapAfter(order[i - 1], order[i]);
      x[order[i]] = cx;
    }
    const shift = cx / 2;
    for (let i = layerStart[l]; i < layerStart[l + 1]; i++) x[order[i]] -= shift;
  }
  const target = new Float64Array(maxLayer);
  const weight = new Float64Array(maxLayer);
  const solved = new Float64Array(maxLayer);
  const offset = new Float64Array(maxLayer);
  const bs = new Float64Array(maxLayer);
  const bw = new Float64Array(maxLayer);
  const bl = new Int32Array(maxLayer);
  // straight long edges (dummy chains) matter most, then edges touching one dummy
  const edgeWeight = (a: number, b: number) => (a >= n && b >= n ? 8 : a >= n || b >= n ? 2 : 1);
  const place = (l: number, mode: 'up' | 'down' | 'both') => {
    const a = layerStart[l];
    const len = layerStart[l + 1] - a;
    if (len === 0) return;
    let off = 0;
    for (let i = 0; i < len; i++) {
      const v = order[a + i];
      if (i > 0) off += gapAfter(order[a + i - 1], v);
      offset[i] = off;
      let sum = 0;
      let ws = 0;
      if (mode !== 'down') for (let k = up.start[v]; k < up.start[v + 1]; k++) {
        const e = edgeWeight(v, up.adj[k]);
        sum += e * x[up.adj[k]];
        ws += e;
      }
      if (mode !== 'up') for (let k = down.start[v]; k < down.start[v + 1]; k++) {
        const e = edgeWeight(v, down.adj[k]);
        sum += e * x[down.adj[k]];
        ws += e;
      }
      // a node with no neighbour on that side stays (weakly) where it is
      target[i] = (ws > 0 ? sum / ws : x[v]) - off;
      weight[i] = ws > 0 ? ws : 0.01;
    }
    isotonic(target, weight, len, solved, bs, bw, bl);
    for (let i = 0; i < len; i++) x[order[a + i]] = solved[i] + offset[i];
  };
  for (let p = 0; p < passes; p++) {
    if (p % 2 === 0) for (let l = 1; l < layerCount; l++) place(l, 'up');
    else for (let l = layerCount - 2; l >= 0; l--) place(l, 'down');
  }
  for (let l = 0; l < layerCount; l++) place(l, 'both');

  // ---- edge polylines: bottom of the upper end, through the dummies, to the top of the lower end
  const edgeOffsets = new Int32Array(m0 + 1);
  const pts: number[] = [];
  for (let i = 0; i < m0; i++) {
    edgeOffsets[i] = pts.length / 2;
    const d = edgeDag[i];
    if (d < 0) continue;
    const u = dagU[d];
    const v = dagV[d];
    const from = pts.length;
    pts.push(x[u], y[u] + h[u] / 2);
    if (firstDummy[d] >= 0) for (let k = 0; k < span[d] - 1; k++) pts.push(x[firstDummy[d] + k], y[firstDummy[d] + k]);
    pts.push(x[v], y[v] - h[v] / 2);
    if (back[i]) {
      // drawn from the edge's own source to its own target
      const seg = pts.splice(from);
      for (let k = seg.length - 2; k >= 0; k -= 2) pts.push(seg[k], seg[k + 1]);
    }
  }
  edgeOffsets[m0] = pts.length / 2;

  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let v = 0; v < n; v++) {
    minX = Math.min(minX, x[v] - w[v] / 2);
    maxX = Math.max(maxX, x[v] + w[v] / 2);
    minY = Math.min(minY, y[v] - h[v] / 2);
    maxY = Math.max(maxY, y[v] + h[v] / 2);
  }
  for (let k = 0; k < pts.length; k += 2) {
    minX = Math.min(minX, pts[k]);
    maxX = Math.max(maxX, pts[k]);
  }
  if (n === 0) minX = minY = maxX = maxY = 0;

  return {
    x: x.slice(0, n),
    y: y.slice(0, n),
    layer: layer,
    layerCount,
    edgeOffsets,
    points: Float64Array.from(pts),
    bounds: { minX, minY, maxX, maxY },
    crossingsBefore,
    crossingsAfter: best,
    dummyCount: total - n,
    straightEdges,
    reversedEdges,
  };
}
