import { describe, expect, it } from 'vitest';
import { nestedIf, residualChain } from '../../../tests/fixtures/graph/synthetic-graph';
import type { Graph } from '../model/types';
import { enclosingInitializers, resolveGraphPath } from './graph-path';
import { searchViewGraph } from './search-graph';
import { buildViewGraph, countOpTypes, labelWidth, shortLabel } from './view-graph';
import { centerOn, detailFor, fitView, hitTest, initialView, MAX_SCALE, toWorld, topLayerX, visibleWorld, zoomAt } from './viewport';

const edges = (vg: ReturnType<typeof buildViewGraph>) =>
  Array.from(vg.edgeSrc, (s, i) => `${vg.names[s] || vg.labels[s]}->${vg.names[vg.edgeDst[i]] || vg.labels[vg.edgeDst[i]]}:${vg.edgeValue[i]}`);

describe('buildViewGraph', () => {
  it('connects producers to consumers, hides initializers by default and shows them on request', () => {
    const g = residualChain(8);
    const hidden = buildViewGraph(g);
    expect(hidden.kinds.filter((k) => k === 'op').length).toBe(8);
    expect(hidden.kinds.filter((k) => k === 'input').length).toBe(1);
    expect(hidden.kinds.filter((k) => k === 'output').length).toBe(1);
    expect(hidden.kinds.filter((k) => k === 'initializer').length).toBe(0);
    expect(hidden.hiddenInitializers).toBe(2);
    expect(edges(hidden).slice(0, 5)).toEqual(['x->matmul_0:x', 'matmul_0->relu_1:t0_mm', 'relu_1->mul_2:t0_relu', 'mul_2->add_3:t0_mul', 'x->add_3:x']);
    // Mul reads the same value twice: one edge
    expect(edges(hidden).filter((e) => e.startsWith('relu_1->')).length).toBe(1);
    expect(edges(hidden).at(-1)).toBe('add_7->t4_add:t4_add');

    const shown = buildViewGraph(g, { showInitializers: true });
    expect(shown.kinds.filter((k) => k === 'initializer').length).toBe(2);
    expect(shown.hiddenInitializers).toBe(0);
    expect(edges(shown)).toContain('w0->matmul_0:w0');
    expect(shown.nodeOfOp.length).toBe(8);
    expect(shown.opIndex[shown.nodeOfOp[3]]).toBe(3);
  });

  it('treats IR<4 inputs that are initializers as weights, and unknown values as outer values', () => {
    const g: Graph = {
      name: 'g',
      nodes: [{ name: 'n', opType: 'Add', domain: '', inputs: ['x', 'w', 'from_outside', ''], outputs: ['y'], attributes: [] }],
      inputs: [{ name: 'x', dtype: 'float32', shape: null }, { name: 'w', dtype: 'float32', shape: null }],
      outputs: [{ name: 'y', dtype: 'float32', shape: null }],
      initializers: ['w'],
    };
    const vg = buildViewGraph(g);
    expect(vg.kinds).toEqual(['input', 'op', 'outer', 'output']);
    expect(edges(vg)).toEqual(['x->n:x', 'from_outside->n:from_outside', 'n->y:y']);
  });

  it('reads outer initializers of a subgraph body as weights', () => {
    const levels = resolveGraphPath(nestedIf(), [{ node: 2, subgraph: 1 }, { node: 0, subgraph: 0 }]);
    expect(levels.map((l) => l.label)).toEqual(['main', 'branch › else_branch', 'else_loop › body']);
    const outer = enclosingInitializers(levels);
    expect([...outer]).toEqual(['zero', 'trip', 'w_outer']);
    const body = levels[2].graph;
    expect(buildViewGraph(body).kinds.filter((k) => k === 'outer').length).toBe(1);
    const vg = buildViewGraph(body, { outerInitializers: outer });
    expect(vg.kinds.filter((k) => k === 'outer').length).toBe(0);
    expect(vg.hiddenInitializers).toBe(1);
    // a path step that does not exist stops the walk
    expect(resolveGraphPath(nestedIf(), [{ node: 2, subgraph: 5 }]).length).toBe(1);
    expect(resolveGraphPath(nestedIf(), [{ node: 0, subgraph: 0 }]).length).toBe(1);
  });

  it('counts op types, most frequent first', () => {
    const g = residualChain(10);
    expect(countOpTypes(g)).toEqual([
      { opType: 'Add', count: 2 },
      { opType: 'Identity', count: 2 },
      { opType: 'MatMul', count: 2 },
      { opType: 'Mul', count: 2 },
      { opType: 'Relu', count: 2 },
    ]);
    const custom: Graph = { ...g, nodes: [...g.nodes, { name: 'c', opType: 'Foo', domain: 'com.x', inputs: [], outputs: [], attributes: [] }] };
    expect(countOpTypes(custom).at(-1)).toEqual({ opType: 'com.x.Foo', count: 1 });
  });

  it('sizes boxes by label and cuts long labels', () => {
    expect(labelWidth('Relu', 'op')).toBe(56);
    expect(labelWidth('MatMulInteger16Ext', 'op')).toBe(Math.ceil(18 * 7.2) + 20);
    expect(labelWidth('x'.repeat(200), 'input')).toBe(Math.ceil(28 * 7.2) + 20);
    expect(shortLabel('x'.repeat(40))).toBe('x'.repeat(27) + '…');
  });
});

describe('searchViewGraph', () => {
  it('matches node names, op types and value names, case-insensitively', () => {
    const g = residualChain(8);
    const vg = buildViewGraph(g);
    const names = (q: string) => searchViewGraph(g, vg, q).map((v) => vg.names[v]);
    // Mul reads the Relu's output 't0_relu', so it matches too
    expect(names('RELU')).toEqual(['relu_1', 'mul_2', 'relu_5', 'mul_6']);
    expect(names('relu_')).toEqual(['relu_1', 'relu_5']);
    expect(names('t4_mm')).toEqual(['matmul_4', 'relu_5']);
    expect(names('w4')).toEqual(['matmul_4']);
    expect(names('x')).toEqual(['x', 'matmul_0', 'add_3']);
    expect(names('  ')).toEqual([]);
    expect(names('nothing-here')).toEqual([]);
  });
});

describe('viewport', () => {
  const b = { minX: -100, minY: 0, maxX: 100, maxY: 1000 };
  it('fits bounds and maps them back', () => {
    const v = fitView(b, 800, 600, 20);
    expect(v.scale).toBeCloseTo(560 / 1000, 9);
    const tl = toWorld(v, 400, 20);
    expect(tl.x).toBeCloseTo(0, 6);
    expect(tl.y).toBeCloseTo(0, 6);
    const vis = visibleWorld(v, 800, 600);
    expect(vis.minY).toBeCloseTo(-20 / v.scale, 6);
    expect(vis.maxY).toBeCloseTo(1000 + 20 / v.scale, 6);
  });
  it('starts a tall graph at its top, readable, and a small one fitted', () => {
    const tall = initialView({ minX: -50, minY: 0, maxX: 50, maxY: 600_000 }, 800, 600);
    expect(tall.scale).toBe(1);
    expect(toWorld(tall, 400, 24).y).toBeCloseTo(0, 6);
    expect(toWorld(tall, 400, 24).x).toBeCloseTo(0, 6);
    const small = { minX: -100, minY: 0, maxX: 100, maxY: 400 };
    expect(initialView(small, 800, 600)).toEqual(fitView(small, 800, 600));
    expect(fitView(small, 800, 600).scale).toBe(1);
    // b fits at 0.55, under the label scale: shown from its top at 1 instead
    expect(initialView(b, 800, 600).scale).toBe(1);
  });
  it('starts a wide graph over its first layer, not at the left edge of its bounds', () => {
    // a PaddleOCR-like layout: the input sits at x ≈ 5800, a side branch reaches x = −760
    const wide = { minX: -760, minY: 0, maxX: 6200, maxY: 25_000 };
    const v = initialView(wide, 1150, 576, 1, 3000);
    expect(v.scale).toBe(1);
    expect(toWorld(v, 575, 24)).toEqual({ x: 3000, y: 0 });
    // the input near the right edge: in view, with the view stopping 24 px beyond the bounds
    const r = initialView(wide, 1150, 576, 1, 5846);
    expect(toWorld(r, 0, 24).x).toBeLessThan(5846);
    expect(toWorld(r, 1150, 24).x).toBeCloseTo(6224, 6);
    // near an edge the view stops 24 px beyond the bounds
    expect(toWorld(initialView(wide, 1150, 576, 1, 6190), 1150 - 24, 24).x).toBeCloseTo(6200, 6);
    expect(toWorld(initialView(wide, 1150, 576, 1, -700), 24, 24).x).toBeCloseTo(-760, 6);
    expect(topLayerX([5800, -700, 5900, 10], [0, 3, 0, 1])).toBe(5850);
    expect(topLayerX([1], [2])).toBeUndefined();
  });
  it('zooms about the cursor and clamps', () => {
    const v = { scale: 1, tx: 10, ty: 20 };
    const before = toWorld(v, 300, 200);
    const z = zoomAt(v, 2, 300, 200);
    const after = toWorld(z, 300, 200);
    expect(z.scale).toBe(2);
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
    expect(zoomAt(v, 1e6, 0, 0).scale).toBe(MAX_SCALE);
    const c = centerOn(v, 500, 700, 800, 600);
    expect(toWorld(c, 400, 300)).toEqual({ x: 500, y: 700 });
  });
  it('picks the level of detail by scale', () => {
    expect(detailFor(1)).toBe('labels');
    expect(detailFor(0.2)).toBe('boxes');
    expect(detailFor(0.01)).toBe('dots');
  });
  it('hit-tests boxes, and dots with a minimum screen size', () => {
    const x = [0, 100];
    const y = [0, 0];
    const w = [60, 60];
    const h = [28, 28];
    expect(hitTest(x, y, w, h, 29, 13, 1)).toBe(0);
    expect(hitTest(x, y, w, h, 31, 0, 1)).toBe(-1);
    expect(hitTest(x, y, w, h, 90, -5, 1)).toBe(1);
    // far out a 60-unit box is 0.6 px: the 8 px minimum makes it 800 units wide, nearest centre wins
    expect(hitTest(x, y, w, h, 60, 0, 0.01)).toBe(1);
    expect(hitTest(x, y, w, h, 40, 0, 0.01)).toBe(0);
  });
});
