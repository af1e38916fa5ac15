import { describe, expect, it } from 'vitest';
import { residualChain } from '../../../tests/fixtures/graph/synthetic-graph';
import { DEFAULT_NODE_SEP, DUMMY_SEP, layoutLayered, type LayoutInput } from './layout';
import { buildViewGraph } from './view-graph';

function input(n: number, edges: [number, number][], w = 60, h = 28): LayoutInput {
  return {
    n,
    widths: new Float64Array(n).fill(w),
    heights: new Float64Array(n).fill(h),
    edgeSrc: Int32Array.from(edges.map((e) => e[0])),
    edgeDst: Int32Array.from(edges.map((e) => e[1])),
  };
}

/** Every pair of boxes in one layer keeps at least the node gap between them. */
function minGapInLayers(r: ReturnType<typeof layoutLayered>, widths: ArrayLike<number>): number {
  const byLayer = new Map<number, number[]>();
  for (let v = 0; v < r.x.length; v++) {
    const l = byLayer.get(r.layer[v]) ?? [];
    l.push(v);
    byLayer.set(r.layer[v], l);
  }
  let min = Infinity;
  for (const vs of byLayer.values()) {
    vs.sort((a, b) => r.x[a] - r.x[b]);
    for (let i = 1; i < vs.length; i++) min = Math.min(min, r.x[vs[i]] - r.x[vs[i - 1]] - (widths[vs[i]] + widths[vs[i - 1]]) / 2);
  }
  return min;
}

describe('layoutLayered', () => {
  it('puts a chain in one column, one layer per node, top to bottom', () => {
    const r = layoutLayered(input(5, [[0, 1], [1, 2], [2, 3], [3, 4]]));
    expect(Array.from(r.layer)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(Array.from(r.x)).size).toBe(1);
    for (let i = 1; i < 5; i++) expect(r.y[i] - r.y[i - 1]).toBe(28 + 36);
    expect(r.crossingsAfter).toBe(0);
    expect(r.dummyCount).toBe(0);
    // edge 0 runs from the bottom of node 0 to the top of node 1
    expect(Array.from(r.points.subarray(r.edgeOffsets[0] * 2, r.edgeOffsets[1] * 2))).toEqual([r.x[0], r.y[0] + 14, r.x[1], r.y[1] - 14]);
  });

  it('spreads a diamond symmetrically and centres the join under the fork', () => {
    const r = layoutLayered(input(4, [[0, 1], [0, 2], [1, 3], [2, 3]]));
    expect(Array.from(r.layer)).toEqual([0, 1, 1, 2]);
    expect(Math.abs(r.x[1] - r.x[2])).toBeCloseTo(60 + DEFAULT_NODE_SEP, 6);
    expect((r.x[1] + r.x[2]) / 2).toBeCloseTo(r.x[0], 6);
    expect(r.x[3]).toBeCloseTo(r.x[0], 6);
  });

  it('removes a crossing by barycentric ordering', () => {
    // ids put c before d, but a → d and b → c: one crossing in id order
    const r = layoutLayered(input(4, [[0, 3], [1, 2]]));
    expect(r.crossingsBefore).toBe(1);
    expect(r.crossingsAfter).toBe(0);
    expect(r.x[0] < r.x[1]).toBe(r.x[3] < r.x[2]);
  });

  it('routes a long edge through dummies and keeps it straight next to the chain', () => {
    const r = layoutLayered(input(5, [[0, 1], [1, 2], [2, 3], [3, 4], [0, 4]]));
    expect(r.dummyCount).toBe(3);
    const k0 = r.edgeOffsets[4];
    const k1 = r.edgeOffsets[5];
    expect(k1 - k0).toBe(5);
    // the three dummies of the skip edge share one x, off the chain's boxes
    const xs = [1, 2, 3].map((k) => r.points[(k0 + k) * 2]);
    expect(new Set(xs.map((v) => v.toFixed(6))).size).toBe(1);
    expect(Math.abs(xs[0] - r.x[1])).toBeGreaterThanOrEqual(30);
  });

  it('breaks cycles and draws reversed edges from their own source', () => {
    const r = layoutLayered(input(3, [[0, 1], [1, 2], [2, 0]]));
    expect(r.reversedEdges).toBe(1);
    expect(new Set(Array.from(r.layer)).size).toBe(3);
    const k = r.edgeOffsets[2];
    // edge 2 → 0 starts at node 2 (lowest) and ends at node 0 (top)
    expect(r.points[k * 2 + 1]).toBeCloseTo(r.y[2] - 14, 6);
    expect(r.points[(r.edgeOffsets[3] - 1) * 2 + 1]).toBeCloseTo(r.y[0] + 14, 6);
  });

  it('pulls a source down next to its only consumer', () => {
    // 0..4 chain; 5 feeds node 4 only
    const r = layoutLayered(input(6, [[0, 1], [1, 2], [2, 3], [3, 4], [5, 4]]));
    expect(r.layer[5]).toBe(3);
    expect(r.dummyCount).toBe(0);
  });

  it('ignores self loops and duplicate edges for layering but keeps every edge slot', () => {
    const r = layoutLayered(input(2, [[0, 1], [0, 1], [1, 1]]));
    expect(r.edgeOffsets.length).toBe(4);
    expect(r.edgeOffsets[2] - r.edgeOffsets[1]).toBe(2);
    expect(r.edgeOffsets[3] - r.edgeOffsets[2]).toBe(0);
  });

  it('draws the longest edges straight once the dummy budget is spent', () => {
    // node 0 feeds every node of a 400-node chain: 79,401 dummies wanted
    const edges: [number, number][] = [];
    for (let i = 1; i < 400; i++) edges.push([i, i + 1], [0, i + 1]);
    const r = layoutLayered(input(401, edges), { maxDummyFactor: 2 });
    expect(r.dummyCount).toBeLessThanOrEqual(802);
    expect(r.straightEdges).toBeGreaterThan(300);
    expect(r.straightEdges).toBeLessThan(399);
  });

  it('rejects edges that leave the node range', () => {
    expect(() => layoutLayered(input(2, [[0, 2]]))).toThrow(RangeError);
    expect(() => layoutLayered({ ...input(2, []), edgeDst: Int32Array.of(1) })).toThrow(/edge sources/);
  });

  it('lays out a 10,000-node residual graph in well under a second, without overlaps', () => {
    const g = residualChain(10_000);
    const vg = buildViewGraph(g);
    const t0 = performance.now();
    const r = layoutLayered({ n: vg.kinds.length, widths: vg.widths, heights: vg.heights, edgeSrc: vg.edgeSrc, edgeDst: vg.edgeDst });
    const ms = performance.now() - t0;
    console.log(`layout of ${vg.kinds.length} nodes / ${vg.edgeSrc.length} edges: ${ms.toFixed(0)} ms, ${r.layerCount} layers, ${r.dummyCount} dummies, crossings ${r.crossingsBefore} → ${r.crossingsAfter}`);
    expect(ms).toBeLessThan(1000);
    expect(minGapInLayers(r, vg.widths)).toBeGreaterThanOrEqual(DEFAULT_NODE_SEP - 1e-6);
    expect(r.crossingsAfter).toBe(0);
    expect(r.reversedEdges).toBe(0);
    for (let e = 0; e < vg.edgeSrc.length; e++) expect(r.layer[vg.edgeDst[e]]).toBeGreaterThan(r.layer[vg.edgeSrc[e]]);
    // 2,500 blocks of 4 ops, each Mul fed twice by the same Relu: layers = 1 input + 10,000 ops + 1 output
    expect(r.layerCount).toBe(10_002);
  });

  it('cuts crossings of a dense random 10,000-node DAG by more than half, in bounded time', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const n = 10_000;
    const edges: [number, number][] = [];
    for (let v = 1; v < n; v++) for (let k = 0; k < 2; k++) edges.push([Math.max(0, v - 1 - Math.floor(rnd() * 30)), v]);
    const inp = input(n, edges);
    const t0 = performance.now();
    const r = layoutLayered(inp);
    const ms = performance.now() - t0;
    console.log(`random DAG: ${ms.toFixed(0)} ms, ${r.dummyCount} dummies, crossings ${r.crossingsBefore} → ${r.crossingsAfter}`);
    expect(ms).toBeLessThan(2500);
    expect(r.crossingsAfter).toBeLessThan(r.crossingsBefore / 2);
    // boxes never overlap; a long edge passing between two boxes keeps DUMMY_SEP on each side
    expect(minGapInLayers(r, inp.widths)).toBeGreaterThanOrEqual(2 * DUMMY_SEP - 1e-6);
    for (const [u, v] of edges) expect(r.layer[v]).toBeGreaterThan(r.layer[u]);
  });
});
