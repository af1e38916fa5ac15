/**
 * The module tree of a weight-only model: tensor names split on '.' into a tree
 * ('model.layers.0.self_attn.q_proj.weight' → model › layers › 0 › self_attn › q_proj › weight), with
 * parameter counts and bytes summed per subtree, children in natural order (layers 2 before 10), and runs
 * of identical numbered blocks (the 32 decoder layers of a transformer) recognised so the view can fold them.
 */

export interface ModuleTensor {
  name: string;
  numel: number;
  /** bytes in the file */
  length: number;
  dtype: string;
  shape: readonly number[];
}

export interface ModuleNode {
  /** this level's name segment ('' for an empty segment, as in 'a..b') */
  segment: string;
  /** the full dotted path of this node */
  path: string;
  /** parameters (elements) in this subtree */
  params: number;
  bytes: number;
  /** tensors in this subtree */
  tensorCount: number;
  /** index into the input list of the tensor whose name is exactly `path`, or -1 */
  tensor: number;
  children: ModuleNode[];
  /**
   * Structural signature: equal ids mean equal subtrees (same relative names, dtypes and shapes). Used to
   * fold identical repeated blocks.
   */
  signature: number;
}

/** A run of consecutive numbered siblings with equal signatures (e.g. layers 0–31). */
export interface ModuleRun {
  /** index of the first sibling of the run in its parent's children */
  start: number;
  /** siblings in the run */
  count: number;
  first: string;
  last: string;
}

/** Tree depth kept: deeper segments are joined into the last kept one (a name with 10,000 dots). */
export const MODULE_MAX_DEPTH = 64;

const DIGITS = /^\d+$/;

/**
 * Natural order: runs of digits compare as numbers ('layers.2' < 'layers.10'), other text by code unit.
 * Linear in the strings' length, allocation-free; long digit runs compare by length then lexically, so
 * no precision is lost on numbers beyond 2^53.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = ca >= 48 && ca <= 57;
    const db = cb >= 48 && cb <= 57;
    if (da && db) {
      // skip leading zeros, compare lengths, then digits
      let si = i;
      while (si < a.length && a.charCodeAt(si) === 48) si++;
      let sj = j;
      while (sj < b.length && b.charCodeAt(sj) === 48) sj++;
      let ei = si;
      while (ei < a.length && a.charCodeAt(ei) >= 48 && a.charCodeAt(ei) <= 57) ei++;
      let ej = sj;
      while (ej < b.length && b.charCodeAt(ej) >= 48 && b.charCodeAt(ej) <= 57) ej++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d) return d;
      }
      // equal value: fewer leading zeros first, so the order stays total
      if (ei - i !== ej - j) return ei - i - (ej - j);
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

interface Building {
  segment: string;
  path: string;
  tensor: number;
  children: Map<string, Building> | null;
}

export function buildModuleTree(tensors: readonly ModuleTensor[], rootName = ''): ModuleNode {
  const root: Building = { segment: rootName, path: '', tensor: -1, children: null };
  for (let t = 0; t < tensors.length; t++) {
    const name = tensors[t].name;
    let segs = name.split('.');
    if (segs.length > MODULE_MAX_DEPTH) segs = [...segs.slice(0, MODULE_MAX_DEPTH - 1), segs.slice(MODULE_MAX_DEPTH - 1).join('.')];
    let node = root;
    let path = '';
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k];
      path = k === 0 ? seg : `${path}.${seg}`;
      node.children ??= new Map();
      let child = node.children.get(seg);
      if (!child) {
        child = { segment: seg, path, tensor: -1, children: null };
        node.children.set(seg, child);
      }
      node = child;
    }
    // the same name twice (two shards): the first one stays the tensor of this node
    if (node.tensor < 0) node.tensor = t;
  }

  const signatures = new Map<string, number>();
  const intern = (s: string) => {
    let id = signatures.get(s);
    if (id === undefined) {
      id = signatures.size;
      signatures.set(s, id);
    }
    return id;
  };
  // post-order without recursion (depth is bounded, but a wide tree should not cost stack either)
  const finish = (b: Building): ModuleNode => {
    const out: ModuleNode = { segment: b.segment, path: b.path, params: 0, bytes: 0, tensorCount: 0, tensor: b.tensor, children: [], signature: 0 };
    return out;
  };
  const top = finish(root);
  const stack: { b: Building; out: ModuleNode; kids: Building[]; i: number }[] = [];
  const open = (b: Building, out: ModuleNode) => {
    const kids = b.children ? [...b.children.values()].sort((x, y) => naturalCompare(x.segment, y.segment)) : [];
    stack.push({ b, out, kids, i: 0 });
  };
  open(root, top);
  while (stack.length) {
    const f = stack[stack.length - 1];
    if (f.i < f.kids.length) {
      const kb = f.kids[f.i++];
      const ko = finish(kb);
      f.out.children.push(ko);
      open(kb, ko);
      continue;
    }
    stack.pop();
    const o = f.out;
    let sig = '';
    if (o.tensor >= 0) {
      const t = tensors[o.tensor];
      o.params += t.numel;
      o.bytes += t.length;
      o.tensorCount++;
      sig = `${t.dtype}[${t.shape.join(',')}]`;
    }
    for (const c of o.children) {
      o.params += c.params;
      o.bytes += c.bytes;
      o.tensorCount += c.tensorCount;
      sig += `|${c.segment}=${c.signature}`;
    }
    o.signature = intern(sig);
  }
  return top;
}

/**
 * Runs of at least `minRun` consecutive numbered children (n, n+1, …) with the same signature: identical
 * repeated blocks that the view may show as one row.
 */
export function findRuns(children: readonly ModuleNode[], minRun = 2): ModuleRun[] {
  const runs: ModuleRun[] = [];
  let i = 0;
  while (i < children.length) {
    const c = children[i];
    if (!DIGITS.test(c.segment) || c.children.length === 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (
      j < children.length &&
      DIGITS.test(children[j].segment) &&
      children[j].signature === c.signature &&
      Number(children[j].segment) === Number(children[j - 1].segment) + 1
    ) {
      j++;
    }
    if (j - i >= minRun) runs.push({ start: i, count: j - i, first: c.segment, last: children[j - 1].segment });
    i = j;
  }
  return runs;
}
