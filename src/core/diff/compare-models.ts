import type { ByteSource } from '../io/byte-source';
import { throwIfAborted } from '../io/errors';
import type { FolderIndex } from '../formats/types';
import type { Graph, ModelInfo, TensorInfo } from '../model/types';
import type { Finding } from '../report/finding';

/** Largest tensor compared byte by byte; larger ones are compared by a sampled row check and marked so. */
export const DIFF_MAX_TENSOR_BYTES = 512 * 1024 * 1024;
/** Bytes read per slice while comparing a tensor with its reference. */
const DIFF_SLICE = 8 * 1024 * 1024;
/** Rows listed as evidence for a sparse edit. */
const DIFF_MAX_ROWS_LISTED = 32;

export type TensorDiffStatus = 'same' | 'changed' | 'added' | 'removed' | 'reshaped' | 'retyped' | 'unreadable';

export interface TensorDiff {
  name: string;
  status: TensorDiffStatus;
  dtype: string | null;
  shape: number[] | null;
  refDtype: string | null;
  refShape: number[] | null;
  /** rows (first dimension) whose bytes differ, for changed tensors */
  changedRows?: number;
  rows?: number;
  /** first changed row indices */
  rowIndices?: number[];
  /** bytes that differ */
  changedBytes?: number;
}

export interface ModelDiff {
  referenceFiles: string[];
  tensors: TensorDiff[];
  counts: Record<TensorDiffStatus, number>;
  /** operator histogram differences (graph models): op type → [model count, reference count] */
  opDrift: Record<string, [number, number]>;
}

function opHistogram(g: Graph | undefined, out: Map<string, number> = new Map(), depth = 0): Map<string, number> {
  if (!g || depth > 64) return out;
  for (const n of g.nodes) {
    const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
    out.set(key, (out.get(key) ?? 0) + 1);
    for (const sg of n.subgraphs ?? []) opHistogram(sg, out, depth + 1);
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Compares the bytes of two tensors of identical dtype and shape, row by row (first dimension). */
async function compareBytes(a: TensorInfo, sa: ByteSource, b: TensorInfo, sb: ByteSource, signal?: AbortSignal): Promise<Pick<TensorDiff, 'changedRows' | 'rows' | 'rowIndices' | 'changedBytes'> & { equal: boolean }> {
  const rows = a.shape.length >= 2 ? a.shape[0] : 1;
  const rowBytes = rows > 0 ? a.length / rows : a.length;
  const changed = new Set<number>();
  let changedBytes = 0;
  for (let at = 0; at < a.length; at += DIFF_SLICE) {
    throwIfAborted(signal);
    const n = Math.min(DIFF_SLICE, a.length - at);
    const [x, y] = await Promise.all([sa.read(a.offset + at, n, signal), sb.read(b.offset + at, n, signal)]);
    const m = Math.min(x.length, y.length);
    for (let i = 0; i < m; i++) {
      if (x[i] !== y[i]) {
        changedBytes++;
        changed.add(Number.isInteger(rowBytes) && rowBytes > 0 ? Math.floor((at + i) / rowBytes) : 0);
      }
    }
    changedBytes += Math.abs(x.length - y.length);
  }
  const rowIndices = [...changed].sort((p, q) => p - q).slice(0, DIFF_MAX_ROWS_LISTED);
  return { equal: changedBytes === 0, changedRows: changed.size, rows, rowIndices, changedBytes };
}

/**
 * Differential check against a trusted reference (THREATS.md §8): per-tensor byte comparison with the
 * rows that changed, tensors added, removed, reshaped or retyped, and operator drift for graphs.
 * A handful of changed rows in an otherwise identical tensor is the footprint of a planted implant;
 * architecture drift is a `graph-anomaly`.
 */
export async function compareModels(
  model: ModelInfo,
  folder: FolderIndex,
  reference: ModelInfo,
  refFolder: FolderIndex,
  signal?: AbortSignal,
): Promise<{ diff: ModelDiff; findings: Finding[] }> {
  const ref = new Map(reference.tensors.map((t) => [t.name, t]));
  const mine = new Map(model.tensors.map((t) => [t.name, t]));
  const tensors: TensorDiff[] = [];
  for (const t of model.tensors) {
    const r = ref.get(t.name);
    const base = { name: t.name, dtype: t.dtype, shape: t.shape, refDtype: r?.dtype ?? null, refShape: r?.shape ?? null };
    if (!r) {
      tensors.push({ ...base, status: 'added' });
      continue;
    }
    if (r.dtype !== t.dtype) {
      tensors.push({ ...base, status: 'retyped' });
      continue;
    }
    if (!sameShape(r.shape, t.shape)) {
      tensors.push({ ...base, status: 'reshaped' });
      continue;
    }
    const sa = folder.get(t.file);
    const sb = refFolder.get(r.file);
    const readable = sa && sb && t.offset >= 0 && r.offset >= 0 && t.length === r.length && (t.encoding ?? 'raw') !== 'deflate' && (r.encoding ?? 'raw') !== 'deflate' && t.length <= DIFF_MAX_TENSOR_BYTES;
    if (!readable) {
      tensors.push({ ...base, status: 'unreadable' });
      continue;
    }
    const c = await compareBytes(t, sa, r, sb, signal);
    tensors.push({ ...base, status: c.equal ? 'same' : 'changed', changedRows: c.changedRows, rows: c.rows, rowIndices: c.rowIndices, changedBytes: c.changedBytes });
  }
  for (const r of reference.tensors) {
    if (!mine.has(r.name)) tensors.push({ name: r.name, status: 'removed', dtype: null, shape: null, refDtype: r.dtype, refShape: r.shape });
  }
  const counts = { same: 0, changed: 0, added: 0, removed: 0, reshaped: 0, retyped: 0, unreadable: 0 } satisfies Record<TensorDiffStatus, number>;
  for (const t of tensors) counts[t.status]++;

  const ha = opHistogram(model.graph);
  const hb = opHistogram(reference.graph);
  const opDrift: Record<string, [number, number]> = {};
  for (const k of new Set([...ha.keys(), ...hb.keys()])) {
    const x = ha.get(k) ?? 0;
    const y = hb.get(k) ?? 0;
    if (x !== y) opDrift[k] = [x, y];
  }

  const findings: Finding[] = [];
  const structural = tensors.filter((t) => t.status === 'added' || t.status === 'removed' || t.status === 'reshaped' || t.status === 'retyped');
  if (structural.length) {
    findings.push({
      id: 'diff/architecture-drift',
      category: 'graph-anomaly',
      severity: 'warning',
      title: `${structural.length} tensor${structural.length > 1 ? 's differ' : ' differs'} in name, shape or dtype from the reference`,
      detail: `Compared with the trusted reference, ${counts.added} tensors are new, ${counts.removed} are missing, ${counts.reshaped} changed shape and ${counts.retyped} changed dtype. A model that claims to be the reference should have the same architecture.`,
      evidence: { tensors: structural.slice(0, 50).map((t) => ({ name: t.name, status: t.status, shape: t.shape, refShape: t.refShape, dtype: t.dtype, refDtype: t.refDtype })) },
    });
  }
  if (Object.keys(opDrift).length) {
    findings.push({
      id: 'diff/operator-drift',
      category: 'graph-anomaly',
      severity: 'warning',
      title: 'The graph uses different operators than the reference',
      detail: `Operator counts differ from the trusted reference: ${Object.entries(opDrift).slice(0, 8).map(([k, [x, y]]) => `${k} ${y} → ${x}`).join(', ')}. Extra control flow or comparisons can hide a graph backdoor.`,
      evidence: { opDrift },
    });
  }
  // Sparse edits: a few rows changed in an otherwise identical tensor (implants, planted traps).
  for (const t of tensors) {
    if (t.status !== 'changed' || !t.rows || t.rows < 8 || !t.changedRows) continue;
    const frac = t.changedRows / t.rows;
    // "a few": at most a tenth of the rows, or one or two rows of a small layer
    if (frac <= 0.1 || (t.changedRows <= 2 && frac <= 0.25)) {
      findings.push({
        id: 'diff/sparse-edit',
        category: 'weight-anomaly',
        severity: 'warning',
        title: `Only ${t.changedRows} of ${t.rows} rows of "${t.name}" differ from the reference`,
        detail: `Every other row of "${t.name}" is byte-identical to the trusted reference. Fine-tuning changes weights everywhere; a few edited rows are how implants and data traps are planted.`,
        evidence: { tensor: t.name, changedRows: t.changedRows, rows: t.rows, rowIndices: t.rowIndices },
      });
    }
  }
  if (counts.changed > 0) {
    findings.push({
      id: 'diff/weights-changed',
      category: 'weight-anomaly',
      severity: 'info',
      title: `${counts.changed} of ${tensors.length} tensors differ from the reference`,
      detail: `${counts.same} tensors are byte-identical to the trusted reference and ${counts.changed} differ. Expected after fine-tuning; unexpected for a re-upload of the same model.`,
      evidence: { changed: tensors.filter((t) => t.status === 'changed').slice(0, 50).map((t) => ({ name: t.name, changedRows: t.changedRows, rows: t.rows })) },
    });
  }
  return { diff: { referenceFiles: reference.files, tensors, counts, opDrift }, findings };
}
