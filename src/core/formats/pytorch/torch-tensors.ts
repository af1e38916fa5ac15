import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { elementBytes, viewSpan, type RebuiltTensor } from './torch-rebuild';

/** Where a storage's bytes are in the file. */
export interface StorageBytes {
  /** absolute offset of the storage's first byte, or -1 when not addressable (compressed member) */
  offset: number;
  /** bytes the storage holds in the file */
  length: number;
  encoding: TensorInfo['encoding'];
}

/**
 * TensorInfo for rebuilt tensors: absolute offset = storage data offset + storage_offset × element size;
 * non-contiguous views are marked (`encoding: 'other'`, their bytes are not row-major at `offset`) and
 * their `length` is the span they touch. Views past the end of their storage become findings.
 */
export function tensorInfosOf(
  tensors: readonly RebuiltTensor[],
  file: string,
  storageOf: (key: string) => StorageBytes | null,
  format: string,
  origin: string,
): { tensors: TensorInfo[]; findings: Finding[] } {
  const out: TensorInfo[] = [];
  const findings: Finding[] = [];
  const keyUsers = new Map<string, string[]>();
  for (const t of tensors) {
    const list = keyUsers.get(t.storage.key) ?? [];
    list.push(t.name);
    keyUsers.set(t.storage.key, list);
  }
  let missingReported = 0;
  for (const t of tensors) {
    const es = elementBytes(t.dtype);
    const s = storageOf(t.storage.key);
    const span = viewSpan(t.shape, t.stride);
    const first = (t.storage.viewOffset + t.storageOffset) * es;
    const bytes = t.contiguous ? t.numel * es : span * es;
    let offset = -1;
    let encoding: TensorInfo['encoding'] = t.contiguous ? 'raw' : 'other';
    if (!s) {
      if (missingReported++ < 20) {
        findings.push({
          id: `${format}/missing-storage`,
          category: 'malformed',
          severity: 'error',
          title: `Tensor "${t.name}" points at a storage the file does not contain`,
          detail: `"${t.name}" uses storage "${t.storage.key}" (persistent id at byte ${t.storage.offset}), which is not in the file. torch.load fails on it.`,
          file,
          offset: t.storage.offset,
          evidence: { tensor: t.name, key: t.storage.key },
        });
      }
    } else {
      if (s.offset >= 0) offset = s.offset + first;
      if (s.encoding !== 'raw') encoding = s.encoding;
      if (first + span * es > s.length) {
        findings.push({
          id: `${format}/tensor-out-of-bounds`,
          category: 'malformed',
          severity: 'error',
          title: `Tensor "${t.name}" reaches past the end of its storage`,
          detail: `"${t.name}" (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}], storage offset ${t.storageOffset}) needs bytes ${first}..${first + span * es} of storage "${t.storage.key}", which holds ${s.length} bytes. torch.load refuses it or reads other data.`,
          file,
          offset: t.callOffset,
          evidence: { tensor: t.name, key: t.storage.key, needed: first + span * es, storageBytes: s.length },
        });
        offset = -1;
      }
    }
    const shared = keyUsers.get(t.storage.key)!;
    const notes = [origin];
    if (!t.contiguous) notes.push(`non-contiguous view (stride [${t.stride.join(', ')}])`);
    if (shared.length > 1) notes.push(`shares storage "${t.storage.key}" with ${shared.filter((n) => n !== t.name).slice(0, 3).join(', ')}${shared.length > 4 ? ', …' : ''}`);
    out.push({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      numel: t.numel,
      file,
      offset,
      length: bytes,
      stride: t.stride,
      storageOffset: t.storageOffset,
      origin: notes.join('; '),
      encoding,
    });
  }
  return { tensors: out, findings };
}
