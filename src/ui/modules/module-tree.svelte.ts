import { SvelteSet } from 'svelte/reactivity';
import { buildModuleTree, findRuns, type ModuleNode, type ModuleTensor } from '../../core/graph/module-tree';

/** One visible line of the tree. */
export interface TreeRow {
  key: string;
  depth: number;
  node: ModuleNode;
  /** a folded run of identical numbered blocks: `node` is its first block */
  run?: { count: number; first: string; last: string; members: ModuleNode[] };
  expandable: boolean;
  expanded: boolean;
  /** aria-setsize / aria-posinset among the siblings shown */
  setSize: number;
  posInSet: number;
  parentKey: string | null;
}

/** Rows rendered before "show more" (a flat model can have 100,000 top-level names). */
export const ROW_PAGE = 400;

/**
 * State of the module tree: expanded nodes (by key), the focused row (roving tabindex), whether runs of
 * identical blocks are folded, and how many rows are rendered.
 */
export class ModuleTreeState {
  readonly root: ModuleNode;
  readonly tensors: readonly ModuleTensor[];
  expanded = new SvelteSet<string>();
  foldRuns = $state(true);
  focused = $state<string | null>(null);
  limit = $state(ROW_PAGE);

  rows: TreeRow[] = $derived.by(() => this.flatten());

  constructor(tensors: readonly ModuleTensor[]) {
    this.tensors = tensors;
    this.root = buildModuleTree(tensors);
    // open the top levels down to the first level that branches (model › layers)
    let node = this.root;
    for (let depth = 0; depth < 4 && node.children.length === 1; depth++) {
      node = node.children[0];
      this.expanded.add(`n:${node.path}`);
    }
  }

  private flatten(): TreeRow[] {
    const rows: TreeRow[] = [];
    const walk = (parent: ModuleNode, depth: number, parentKey: string | null) => {
      const kids = parent.children;
      const runs = this.foldRuns ? findRuns(kids) : [];
      const items: { node: ModuleNode; run?: TreeRow['run'] }[] = [];
      let r = 0;
      for (let i = 0; i < kids.length; i++) {
        if (r < runs.length && runs[r].start === i) {
          const run = runs[r++];
          items.push({ node: kids[i], run: { count: run.count, first: run.first, last: run.last, members: kids.slice(i, i + run.count) } });
          i += run.count - 1;
        } else items.push({ node: kids[i] });
      }
      for (let k = 0; k < items.length; k++) {
        if (rows.length >= this.limit) return;
        const { node, run } = items[k];
        const key = run ? `r:${node.path}..${run.last}` : `n:${node.path}`;
        const expandable = run ? true : node.children.length > 0;
        const expanded = expandable && this.expanded.has(key);
        rows.push({ key, depth, node, run, expandable, expanded, setSize: items.length, posInSet: k + 1, parentKey });
        if (!expanded) continue;
        if (run) {
          // an opened run lists its blocks, each expandable on its own
          for (let j = 0; j < run.members.length; j++) {
            if (rows.length >= this.limit) return;
            const m = run.members[j];
            const mk = `n:${m.path}`;
            const me = m.children.length > 0 && this.expanded.has(mk);
            rows.push({ key: mk, depth: depth + 1, node: m, expandable: m.children.length > 0, expanded: me, setSize: run.members.length, posInSet: j + 1, parentKey: key });
            if (me) walk(m, depth + 2, mk);
          }
        } else walk(node, depth + 1, key);
      }
    };
    walk(this.root, 0, null);
    return rows;
  }

  /** true when some rows were cut by the page limit */
  get truncated(): boolean {
    return this.rows.length >= this.limit;
  }

  toggle(key: string, open?: boolean): void {
    const isOpen = this.expanded.has(key);
    if (open ?? !isOpen) this.expanded.add(key);
    else this.expanded.delete(key);
  }

  expandAll(): void {
    const visit = (n: ModuleNode) => {
      for (const c of n.children) {
        if (!c.children.length) continue;
        this.expanded.add(`n:${c.path}`);
        visit(c);
      }
      for (const r of findRuns(n.children)) this.expanded.add(`r:${n.children[r.start].path}..${r.last}`);
    };
    visit(this.root);
  }

  collapseAll(): void {
    this.expanded.clear();
  }

  /**
   * Tree keyboard navigation (WAI-ARIA tree view pattern): ↑/↓ move, → opens or enters, ← closes or goes
   * to the parent, Home/End, Enter/Space toggle. Returns the key of the row to focus, or null if unhandled.
   */
  key(k: string): string | null {
    const rows = this.rows;
    if (!rows.length) return null;
    let i = rows.findIndex((r) => r.key === this.focused);
    if (i < 0) i = 0;
    const row = rows[i];
    let target: string | null = row.key;
    switch (k) {
      case 'ArrowDown':
        target = rows[Math.min(rows.length - 1, i + 1)].key;
        break;
      case 'ArrowUp':
        target = rows[Math.max(0, i - 1)].key;
        break;
      case 'Home':
        target = rows[0].key;
        break;
      case 'End':
        target = rows[rows.length - 1].key;
        break;
      case 'ArrowRight':
        if (row.expandable && !row.expanded) this.toggle(row.key, true);
        else if (row.expanded && i + 1 < rows.length) target = rows[i + 1].key;
        break;
      case 'ArrowLeft':
        if (row.expanded) this.toggle(row.key, false);
        else if (row.parentKey) target = row.parentKey;
        break;
      case 'Enter':
      case ' ':
        if (row.expandable) this.toggle(row.key);
        break;
      default:
        return null;
    }
    this.focused = target;
    return target;
  }
}
