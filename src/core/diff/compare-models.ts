import type { ByteSource } from '../io/byte-source';
import { throwIfAborted } from '../io/errors';
import type { FolderIndex } from '../formats/types';
import type { Graph, ModelInfo, TensorInfo } from '../model/types';
import type { Finding } from '../report/finding';
import type { DType } from '../model/dtype';
import { decodeTensorBytes } from '../stats/decode';

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
  /** float tensors: cosine similarity of the values with the reference's, and ‖Δ‖ / ‖reference‖ */
  cosine?: number;
  relativeChange?: number;
  /** a retyped float tensor whose values are the reference's rounded to the new precision */
  recast?: boolean;
  /** the reference tensor whose bytes this tensor holds (swapped, copied or renamed tensors) */
  sameBytesAs?: string;
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

/** Plain float dtypes compared by value: mantissa bits and the exponent of the smallest normal. */
const FLOAT_FORMATS: Partial<Record<DType, { mantissa: number; minExp: number; bytes: number }>> = {
  float64: { mantissa: 52, minExp: -1022, bytes: 8 },
  float32: { mantissa: 23, minExp: -126, bytes: 4 },
  float16: { mantissa: 10, minExp: -14, bytes: 2 },
  bfloat16: { mantissa: 7, minExp: -126, bytes: 2 },
};
/** Elements decoded per slice in a value comparison. */
const VALUE_SLICE = 1 << 20;
/** Below this cosine similarity a changed tensor is not a fine-tune of the reference's tensor. */
export const DIFF_REPLACED_COSINE = 0.5;
/** Smallest tensor (elements, rank ≥ 2) whose cosine similarity is trusted to call it replaced. */
const DIFF_REPLACED_MIN_ELEMENTS = 256;
/** Most candidate pairs byte-compared when looking for swapped, copied or renamed tensors. */
const DIFF_MAX_MOVE_PAIRS = 4096;

/** One unit in the last place of `x` in a float format (subnormals: the smallest step). */
function ulp(x: number, f: { mantissa: number; minExp: number }): number {
  const a = Math.abs(x);
  const e = a > 0 && Number.isFinite(a) ? Math.max(Math.floor(Math.log2(a)), f.minExp) : f.minExp;
  return 2 ** (e - f.mantissa);
}

/**
 * Compares two float tensors of the same shape by value, slice by slice (elements decoded to float32).
 * `tolerance`: 'exact' counts every differing value; 'cast' lets each value differ from the reference by
 * up to one ulp of the coarser of the two formats (what rounding to the other precision can do).
 * Returns rows with a value beyond the tolerance, and the cosine similarity and relative change.
 */
async function compareValues(a: TensorInfo, sa: ByteSource, b: TensorInfo, sb: ByteSource, tolerance: 'exact' | 'cast', signal?: AbortSignal): Promise<Pick<TensorDiff, 'changedRows' | 'rows' | 'rowIndices' | 'cosine' | 'relativeChange'> & { changedValues: number }> {
  const fa = FLOAT_FORMATS[a.dtype]!;
  const fb = FLOAT_FORMATS[b.dtype]!;
  const coarse = fa.mantissa <= fb.mantissa ? fa : fb;
  const other = coarse === fa ? fb : fa;
  const rows = a.shape.length >= 2 ? a.shape[0] : 1;
  const perRow = rows > 0 ? a.numel / rows : a.numel;
  const changed = new Set<number>();
  let changedValues = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  let dd = 0;
  for (let at = 0; at < a.numel; at += VALUE_SLICE) {
    throwIfAborted(signal);
    const n = Math.min(VALUE_SLICE, a.numel - at);
    const [xa, xb] = await Promise.all([sa.read(a.offset + at * fa.bytes, n * fa.bytes, signal), sb.read(b.offset + at * fb.bytes, n * fb.bytes, signal)]);
    const va = decodeTensorBytes(a.dtype, xa.subarray(0, Math.floor(xa.length / fa.bytes) * fa.bytes));
    const vb = decodeTensorBytes(b.dtype, xb.subarray(0, Math.floor(xb.length / fb.bytes) * fb.bytes));
    for (let i = 0; i < n; i++) {
      const x = i < va.length ? va[i] : NaN;
      const y = i < vb.length ? vb[i] : NaN;
      let differs: boolean;
      if (Number.isNaN(x) || Number.isNaN(y)) differs = !(Number.isNaN(x) && Number.isNaN(y));
      else if (tolerance === 'exact') differs = x !== y;
      else differs = !(Math.abs(x - y) <= Math.max(ulp(y, coarse), ulp(y, other)));
      if (differs) {
        changedValues++;
        changed.add(Number.isInteger(perRow) && perRow > 0 ? Math.floor((at + i) / perRow) : 0);
      }
      if (Number.isFinite(x) && Number.isFinite(y)) {
        dot += x * y;
        na += x * x;
        nb += y * y;
        dd += (x - y) * (x - y);
      }
    }
  }
  const cosine = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : undefined;
  const relativeChange = nb > 0 ? Math.sqrt(dd / nb) : undefined;
  const rowIndices = [...changed].sort((p, q) => p - q).slice(0, DIFF_MAX_ROWS_LISTED);
  return { changedRows: changed.size, rows, rowIndices, changedValues, cosine, relativeChange };
}

/** Whether two tensors hold the same bytes (same dtype and length); stops at the first difference. */
async function sameBytes(a: TensorInfo, sa: ByteSource, b: TensorInfo, sb: ByteSource, signal?: AbortSignal): Promise<boolean> {
  if (a.dtype !== b.dtype || a.length !== b.length || !sameShape(a.shape, b.shape)) return false;
  for (let at = 0; at < a.length; at += DIFF_SLICE) {
    throwIfAborted(signal);
    const n = Math.min(DIFF_SLICE, a.length - at);
    const [x, y] = await Promise.all([sa.read(a.offset + at, n, signal), sb.read(b.offset + at, n, signal)]);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

function readableRaw(t: TensorInfo, s: ByteSource | undefined): s is ByteSource {
  return !!s && t.offset >= 0 && (t.encoding ?? 'raw') === 'raw' && t.length <= DIFF_MAX_TENSOR_BYTES;
}

/** Node signatures for a structural comparison that ignores names: op, attributes and what feeds each input. */
function nodeSignatures(g: Graph | undefined, out: string[] = [], depth = 0): string[] {
  if (!g || depth > 64) return out;
  const producer = new Map<string, string>();
  for (const n of g.nodes) n.outputs.forEach((o, i) => producer.set(o, `${n.domain}::${n.opType}#${i}`));
  const inits = new Set(g.initializers);
  const inputs = new Set(g.inputs.map((v) => v.name));
  for (const n of g.nodes) {
    const ins = n.inputs.map((x) => (x === '' ? '-' : producer.get(x) ?? (inits.has(x) ? 'const' : inputs.has(x) ? 'input' : 'outer')));
    const attrs = [...n.attributes]
      .sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0))
      .map((a) => `${a.name}=${a.value.kind === 'tensor' || a.value.kind === 'graph' ? a.value.kind : JSON.stringify(a.value.value)}`);
    out.push(`${n.domain}::${n.opType}(${ins.join(',')})->${n.outputs.length}{${attrs.join(',')}}`);
    for (const sg of n.subgraphs ?? []) nodeSignatures(sg, out, depth + 1);
  }
  return out;
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
    if (!sameShape(r.shape, t.shape)) {
      tensors.push({ ...base, status: r.dtype !== t.dtype ? 'retyped' : 'reshaped' });
      continue;
    }
    const sa = folder.get(t.file);
    const sb = refFolder.get(r.file);
    if (r.dtype !== t.dtype) {
      // a re-save in another precision: compare values, allowing what rounding to the new dtype does
      if (FLOAT_FORMATS[t.dtype] && FLOAT_FORMATS[r.dtype] && readableRaw(t, sa) && readableRaw(r, sb) && t.length === t.numel * FLOAT_FORMATS[t.dtype]!.bytes && r.length === r.numel * FLOAT_FORMATS[r.dtype]!.bytes) {
        const c = await compareValues(t, sa, r, sb, 'cast', signal);
        if (c.changedValues === 0) tensors.push({ ...base, status: 'retyped', recast: true, cosine: c.cosine, relativeChange: c.relativeChange });
        else tensors.push({ ...base, status: 'changed', changedRows: c.changedRows, rows: c.rows, rowIndices: c.rowIndices, cosine: c.cosine, relativeChange: c.relativeChange });
      } else {
        tensors.push({ ...base, status: 'retyped' });
      }
      continue;
    }
    // contiguous bytes only: raw, or raw in an external data file; 'other' (a strided view, big-endian or
    // Fortran-order data) is not the tensor's elements in order, and deflated data is not addressable
    const contiguous = (x: TensorInfo) => (x.encoding ?? 'raw') === 'raw' || x.encoding === 'external';
    const readable = sa && sb && t.offset >= 0 && r.offset >= 0 && t.length === r.length && contiguous(t) && contiguous(r) && t.length <= DIFF_MAX_TENSOR_BYTES;
    if (!readable) {
      tensors.push({ ...base, status: 'unreadable' });
      continue;
    }
    const c = await compareBytes(t, sa, r, sb, signal);
    const d: TensorDiff = { ...base, status: c.equal ? 'same' : 'changed', changedRows: c.changedRows, rows: c.rows, rowIndices: c.rowIndices, changedBytes: c.changedBytes };
    if (!c.equal && FLOAT_FORMATS[t.dtype] && t.length === t.numel * FLOAT_FORMATS[t.dtype]!.bytes) {
      const v = await compareValues(t, sa, r, sb, 'exact', signal);
      d.cosine = v.cosine;
      d.relativeChange = v.relativeChange;
    }
    tensors.push(d);
  }
  for (const r of reference.tensors) {
    if (!mine.has(r.name)) tensors.push({ name: r.name, status: 'removed', dtype: null, shape: null, refDtype: r.dtype, refShape: r.shape });
  }
  // Swapped, copied and renamed tensors: a changed or added tensor holding the bytes of another reference tensor.
  const sources = tensors.filter((t) => t.status === 'changed' || t.status === 'removed').map((t) => ref.get(t.name)!);
  let pairs = 0;
  for (const d of tensors) {
    if (d.status !== 'changed' && d.status !== 'added') continue;
    const t = mine.get(d.name)!;
    const sa = folder.get(t.file);
    if (!readableRaw(t, sa)) continue;
    for (const r of sources) {
      if (r.name === t.name || r.dtype !== t.dtype || r.length !== t.length || !sameShape(r.shape, t.shape)) continue;
      const sb = refFolder.get(r.file);
      if (!readableRaw(r, sb) || ++pairs > DIFF_MAX_MOVE_PAIRS) continue;
      if (await sameBytes(t, sa, r, sb, signal)) {
        d.sameBytesAs = r.name;
        break;
      }
    }
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
  const structural = tensors.filter((t) => t.status === 'added' || t.status === 'removed' || t.status === 'reshaped' || (t.status === 'retyped' && !t.recast));
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
  const recast = tensors.filter((t) => t.status === 'retyped' && t.recast);
  if (recast.length) {
    const kinds = [...new Set(recast.map((t) => `${t.refDtype} → ${t.dtype}`))];
    findings.push({
      id: 'diff/precision-changed',
      category: 'weight-anomaly',
      severity: 'info',
      title: `${recast.length} tensor${recast.length > 1 ? 's were' : ' was'} re-saved in another precision (${kinds.join(', ')})`,
      detail: `Every value of ${recast.length > 1 ? 'these tensors' : 'this tensor'} is the reference's value rounded to the new dtype (within one unit in the last place of the coarser format): a re-save in another precision, not an edit. Outputs may differ slightly from the reference's.`,
      evidence: { tensors: recast.slice(0, 50).map((t) => ({ name: t.name, dtype: t.dtype, refDtype: t.refDtype })) },
    });
  }
  const moved = tensors.filter((t) => t.sameBytesAs !== undefined);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const reported = new Set<string>();
  for (const t of moved) {
    if (reported.has(t.name)) continue;
    reported.add(t.name);
    const other = byName.get(t.sameBytesAs!);
    if (t.status === 'added') {
      findings.push({
        id: 'diff/tensor-renamed',
        category: 'graph-anomaly',
        severity: 'info',
        title: `"${t.name}" holds the bytes of the reference's "${t.sameBytesAs}"`,
        detail: `The reference's "${t.sameBytesAs}" is not in the model under that name; "${t.name}" holds exactly its bytes. A loader that looks tensors up by name no longer finds it.`,
        evidence: { tensor: t.name, reference: t.sameBytesAs },
      });
    } else if (other?.sameBytesAs === t.name) {
      reported.add(other.name);
      findings.push({
        id: 'diff/tensors-swapped',
        category: 'weight-anomaly',
        severity: 'warning',
        title: `"${t.name}" and "${other.name}" are swapped relative to the reference`,
        detail: `Each holds exactly the bytes the reference stores under the other's name. No training does this; the tensors were exchanged after the fact, which changes what the model computes while every statistic stays the same.`,
        evidence: { tensors: [t.name, other.name] },
      });
    } else {
      findings.push({
        id: 'diff/tensor-copied',
        category: 'weight-anomaly',
        severity: 'warning',
        title: `"${t.name}" holds the bytes of the reference's "${t.sameBytesAs}"`,
        detail: `"${t.name}" differs from the reference's "${t.name}" and is byte-identical to the reference's "${t.sameBytesAs}": a tensor was copied over another after the fact.`,
        evidence: { tensor: t.name, reference: t.sameBytesAs },
      });
    }
  }
  // Replaced tensors: changed everywhere and no longer aligned with the reference's values.
  for (const t of tensors) {
    if (t.status !== 'changed' || t.sameBytesAs !== undefined || t.cosine === undefined || !t.shape || t.shape.length < 2) continue;
    const numel = t.shape.reduce((p, q) => p * q, 1);
    const sparse = t.rows !== undefined && t.rows >= 8 && t.changedRows !== undefined && t.changedRows / t.rows <= 0.1;
    if (numel < DIFF_REPLACED_MIN_ELEMENTS || sparse || t.cosine >= DIFF_REPLACED_COSINE) continue;
    findings.push({
      id: 'diff/tensor-replaced',
      category: 'weight-anomaly',
      severity: 'warning',
      title: `"${t.name}" was replaced, not fine-tuned: cosine similarity ${t.cosine.toFixed(3)} with the reference`,
      detail: `Fine-tuning moves weights a little from where they were (cosine similarity with the reference near 1, relative change well under 1); "${t.name}" has cosine similarity ${t.cosine.toFixed(3)} and relative change ${(t.relativeChange ?? NaN).toFixed(2)}: it is another tensor of the same shape. Expected only for a head re-initialised for another task; a model that claims to be the reference should not contain it.`,
      evidence: { tensor: t.name, cosine: t.cosine, relativeChange: t.relativeChange },
    });
  }
  const sigA = nodeSignatures(model.graph).sort();
  const sigB = nodeSignatures(reference.graph).sort();
  if (!Object.keys(opDrift).length && (sigA.length !== sigB.length || sigA.some((x, i) => x !== sigB[i]))) {
    const setB = new Map<string, number>();
    for (const x of sigB) setB.set(x, (setB.get(x) ?? 0) + 1);
    const onlyA: string[] = [];
    for (const x of sigA) {
      const k = setB.get(x) ?? 0;
      if (k > 0) setB.set(x, k - 1);
      else onlyA.push(x);
    }
    const onlyB = [...setB].flatMap(([x, k]) => Array<string>(k).fill(x));
    findings.push({
      id: 'diff/graph-changed',
      category: 'graph-anomaly',
      severity: 'warning',
      title: 'The graph uses the same operators as the reference, wired or configured differently',
      detail: `${onlyA.length} node${onlyA.length === 1 ? '' : 's'} differ from the reference's in attributes or in what feeds their inputs (names are ignored). A changed attribute or a rewired edge changes what the model computes without adding an operator.`,
      evidence: { model: onlyA.slice(0, 20), reference: onlyB.slice(0, 20) },
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
