import { describe, expect, it } from 'vitest';
import { buildModuleTree, findRuns, MODULE_MAX_DEPTH, naturalCompare, type ModuleNode, type ModuleTensor } from './module-tree';

const t = (name: string, shape: number[] = [2, 3], dtype = 'float32'): ModuleTensor => {
  const numel = shape.reduce((a, b) => a * b, 1);
  return { name, numel, length: numel * (dtype === 'float16' ? 2 : 4), dtype, shape };
};

function find(root: ModuleNode, path: string): ModuleNode {
  let node = root;
  for (const seg of path.split('.')) {
    const next = node.children.find((c) => c.segment === seg);
    if (!next) throw new Error(`no ${seg} under ${node.path || '(root)'}`);
    node = next;
  }
  return node;
}

describe('naturalCompare', () => {
  it('orders digit runs by value', () => {
    const names = ['layers.10', 'layers.2', 'layers.1', 'layer', 'layers.02', 'layers.100', 'a9b', 'a10a'];
    expect([...names].sort(naturalCompare)).toEqual(['a9b', 'a10a', 'layer', 'layers.1', 'layers.2', 'layers.02', 'layers.10', 'layers.100']);
  });
  it('compares numbers beyond 2^53 exactly and is antisymmetric', () => {
    expect(naturalCompare('x99999999999999999999', 'x100000000000000000000')).toBeLessThan(0);
    expect(naturalCompare('x9007199254740993', 'x9007199254740992')).toBeGreaterThan(0);
    expect(naturalCompare('b', 'a')).toBeGreaterThan(0);
    expect(naturalCompare('a', 'a')).toBe(0);
    expect(naturalCompare('7', '07')).toBeLessThan(0);
    expect(naturalCompare('07', '7')).toBeGreaterThan(0);
  });
});

describe('buildModuleTree', () => {
  it('sums parameters and bytes per subtree and orders children naturally', () => {
    const tensors = [
      t('model.layers.10.mlp.weight', [4, 4]),
      t('model.layers.2.mlp.weight', [4, 4]),
      t('model.layers.2.mlp.bias', [4]),
      t('model.embed.weight', [100, 4], 'float16'),
      t('lm_head.weight', [4, 100]),
    ];
    const root = buildModuleTree(tensors);
    expect(root.params).toBe(16 + 16 + 4 + 400 + 400);
    expect(root.bytes).toBe(64 + 64 + 16 + 800 + 1600);
    expect(root.tensorCount).toBe(5);
    expect(root.children.map((c) => c.segment)).toEqual(['lm_head', 'model']);
    const layers = find(root, 'model.layers');
    expect(layers.children.map((c) => c.segment)).toEqual(['2', '10']);
    expect(layers.params).toBe(36);
    expect(layers.tensorCount).toBe(3);
    expect(find(root, 'model.layers.2.mlp').children.map((c) => c.segment)).toEqual(['bias', 'weight']);
    const leaf = find(root, 'model.layers.2.mlp.bias');
    expect(leaf.tensor).toBe(2);
    expect(leaf.path).toBe('model.layers.2.mlp.bias');
    expect(leaf.children).toEqual([]);
  });

  it('keeps names without dots at the top and empty segments as their own level', () => {
    const root = buildModuleTree([t('bias', [3]), t('a..b', [2]), t('.lead', [1]), t('trail.', [5])]);
    expect(root.children.map((c) => c.segment)).toEqual(['', 'a', 'bias', 'trail']);
    expect(find(root, 'bias').tensor).toBe(0);
    const ab = find(root, 'a');
    expect(ab.children[0].segment).toBe('');
    expect(ab.children[0].children[0].path).toBe('a..b');
    expect(root.children[0].children[0].path).toBe('.lead');
    expect(find(root, 'trail').children[0]).toMatchObject({ segment: '', path: 'trail.', params: 5 });
    expect(root.params).toBe(11);
  });

  it('handles a tensor that is also a module prefix, duplicates, and the empty list', () => {
    const root = buildModuleTree([t('a.b', [2]), t('a.b.c', [3]), t('a.b', [7])]);
    const ab = find(root, 'a.b');
    expect(ab.tensor).toBe(0);
    expect(ab.params).toBe(2 + 3);
    expect(ab.tensorCount).toBe(2);
    expect(ab.children.map((c) => c.segment)).toEqual(['c']);
    const empty = buildModuleTree([]);
    expect(empty).toMatchObject({ params: 0, bytes: 0, tensorCount: 0, children: [] });
  });

  it('caps the depth of a name with thousands of dots', () => {
    const root = buildModuleTree([t('x.'.repeat(5000) + 'end', [1])]);
    let depth = 0;
    let node = root;
    while (node.children.length) {
      node = node.children[0];
      depth++;
    }
    expect(depth).toBe(MODULE_MAX_DEPTH);
    expect(node.path).toBe('x.'.repeat(5000) + 'end');
  });

  it('finds runs of identical numbered blocks and breaks them on a different block or a gap', () => {
    const tensors: ModuleTensor[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 9) continue; // gap
      const wide = i === 5 ? 8 : 4; // block 5 differs
      tensors.push(t(`layers.${i}.attn.q.weight`, [wide, 4]), t(`layers.${i}.mlp.weight`, [4, 4]));
    }
    const root = buildModuleTree(tensors);
    const layers = find(root, 'layers');
    expect(layers.children.map((c) => c.segment)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '10', '11']);
    expect(layers.children[0].signature).toBe(layers.children[4].signature);
    expect(layers.children[0].signature).not.toBe(layers.children[5].signature);
    expect(findRuns(layers.children)).toEqual([
      { start: 0, count: 5, first: '0', last: '4' },
      { start: 6, count: 3, first: '6', last: '8' },
      { start: 9, count: 2, first: '10', last: '11' },
    ]);
    // leaves (tensors) are never folded
    expect(findRuns(find(root, 'layers.0.attn.q').children)).toEqual([]);
  });

  it('builds a 100,000-tensor tree quickly', () => {
    const tensors: ModuleTensor[] = [];
    for (let l = 0; l < 2000; l++) {
      for (const p of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj', 'input_layernorm', 'post_attention_layernorm', 'mlp.act']) {
        tensors.push(t(`model.layers.${l}.${p}.weight`, [64, 64], 'float16'), t(`model.layers.${l}.${p}.bias`, [64], 'float16'));
      }
    }
    expect(tensors.length).toBe(40_000);
    // pad to 100k with flat names (no dots), the worst case for one node's child list
    for (let i = tensors.length; i < 100_000; i++) tensors.push(t(`flat_${i}`, [3]));
    const t0 = performance.now();
    const root = buildModuleTree(tensors);
    const ms = performance.now() - t0;
    console.log(`module tree of ${tensors.length} tensors: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(3000);
    expect(root.tensorCount).toBe(100_000);
    expect(root.params).toBe(2000 * 10 * (4096 + 64) + 60_000 * 3);
    const layers = find(root, 'model.layers');
    expect(layers.children.length).toBe(2000);
    expect(layers.children[1999].segment).toBe('1999');
    expect(findRuns(layers.children)).toEqual([{ start: 0, count: 2000, first: '0', last: '1999' }]);
    expect(root.children[0].segment).toBe('flat_40000');
    expect(root.children[59_999].segment).toBe('flat_99999');
  });
});
