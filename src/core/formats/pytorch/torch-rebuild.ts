import { MAX_RANK, MAX_TENSORS } from '../../io/limits';
import { numelOf, type DType } from '../../model/dtype';
import { normaliseModule } from '../../scan/pickle/policy';
import { childrenOf, dictEntriesOf, intOf, itemsOf, strOf, type PickleValue } from '../../scan/pickle/value';

/**
 * Rebuilds tensor descriptions from an emulated PyTorch pickle, the way torch.load would build tensors,
 * but from the symbolic values only: `torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 * stride, requires_grad, backward_hooks)` and its relatives, where `storage` is the persistent id
 * `('storage', torch.<T>Storage, key, location, numel)` (torch/serialization.py `persistent_id`). No byte
 * of tensor data is read here.
 */

/** Legacy typed-storage class names → element dtype (torch/storage.py `_dtype_to_storage_type_map`). */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  QInt8Storage: 'int8',
  QUInt8Storage: 'uint8',
  QInt32Storage: 'int32',
  QUInt4x2Storage: 'uint8',
  QUInt2x4Storage: 'uint8',
  Float8_e4m3fnStorage: 'float8_e4m3fn',
  Float8_e5m2Storage: 'float8_e5m2',
  Float8_e4m3fnuzStorage: 'float8_e4m3fnuz',
  Float8_e5m2fnuzStorage: 'float8_e5m2fnuz',
  UInt16Storage: 'uint16',
  UInt32Storage: 'uint32',
  UInt64Storage: 'uint64',
  UntypedStorage: 'uint8',
};

/** `torch.<name>` dtype globals (passed to _rebuild_tensor_v3 and typed storages) → dtype. */
const TORCH_DTYPE_NAMES: Readonly<Record<string, DType>> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool', complex64: 'complex64', cfloat: 'complex64', complex128: 'complex128',
  cdouble: 'complex128', float8_e4m3fn: 'float8_e4m3fn', float8_e5m2: 'float8_e5m2', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
};

const ELEMENT_BYTES: Readonly<Partial<Record<DType, number>>> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  complex64: 8, complex128: 16, float8_e4m3fn: 1, float8_e5m2: 1, float8_e4m3fnuz: 1, float8_e5m2fnuz: 1,
  uint16: 2, uint32: 4, uint64: 8,
};

export function elementBytes(dtype: DType): number {
  return ELEMENT_BYTES[dtype] ?? 1;
}

export interface TorchStorageRef {
  /** storage key: the zip member `data/<key>`, or the legacy storage key */
  key: string;
  /** storage class name (`FloatStorage`) */
  storageType: string;
  dtype: DType;
  location: string;
  /** elements the persistent id declares */
  numel: number;
  /** legacy view_metadata: the storage is a view of `key` starting at `viewOffset` elements */
  viewOffset: number;
  /** offset of the BINPERSID/PERSID opcode */
  offset: number;
}

export interface RebuiltTensor {
  /** dotted path in the saved object (`encoder.layer.0.weight`) */
  name: string;
  dtype: DType;
  shape: number[];
  stride: number[];
  storageOffset: number;
  numel: number;
  storage: TorchStorageRef;
  contiguous: boolean;
  /** rebuilt through _rebuild_parameter (an nn.Parameter) */
  parameter: boolean;
  /** the rebuild function (`torch._utils._rebuild_tensor_v2`) */
  rebuild: string;
  /** offset of the rebuild call (REDUCE) in the pickle */
  callOffset: number;
}

export interface RebuildProblem {
  offset: number;
  message: string;
}

function globalPath(v: PickleValue): string | null {
  return v.kind === 'global' ? `${normaliseModule(v.module)}.${v.name}` : null;
}

/** Parses a storage persistent id, or null when it is not one. */
export function storageFromPersid(v: PickleValue): TorchStorageRef | null {
  if (v.kind !== 'persid') return null;
  const t = itemsOf(v.pid);
  if (!t || t.length < 5 || strOf(t[0]) !== 'storage') return null;
  const type = t[1];
  const key = strOf(t[2]);
  const loc = strOf(t[3]);
  const numel = intOf(t[4]);
  if (type.kind !== 'global' || key === null || numel === null) return null;
  const dtype = TORCH_STORAGE_DTYPES[type.name] ?? 'unknown';
  // legacy view_metadata = (view_key, offset, view_size): the tensor's storage is a slice of root `key`
  const view = itemsOf(t[5]);
  const viewOffset = view && view.length === 3 ? Math.max(0, intOf(view[1]) ?? 0) : 0;
  return { key, storageType: type.name, dtype, location: loc ?? '?', numel, viewOffset, offset: v.offset };
}

function intsOf(v: PickleValue | undefined): number[] | null {
  // torch.Size pickles as a plain tuple; a call of torch.Size((…)) is accepted too
  if (v && v.kind === 'call' && globalPath(v.callee) === 'torch.Size') v = itemsOf(v.args)?.[0];
  const items = itemsOf(v);
  if (!items || items.length > MAX_RANK) return null;
  const out: number[] = [];
  for (const x of items) {
    const n = intOf(x);
    if (n === null || n < 0) return null;
    out.push(n);
  }
  return out;
}

/** Row-major contiguity as torch defines it (dims of size 1 place no constraint on their stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Elements between the first and one past the last element of a strided view (0 when empty). */
export function viewSpan(shape: readonly number[], stride: readonly number[]): number {
  if (shape.some((d) => d === 0)) return 0;
  let span = 1;
  for (let i = 0; i < shape.length; i++) span += (shape[i] - 1) * Math.abs(stride[i] ?? 0);
  return span;
}

const TENSOR_REBUILDS = new Set([
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_qtensor',
]);
const PARAMETER_REBUILDS = new Set(['torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state']);

/** The tensor a value rebuilds into, or null; `problems` collects malformed rebuild calls. */
function tensorOf(v: PickleValue, name: string, problems: RebuildProblem[], depth = 0): RebuiltTensor | null {
  if (v.kind !== 'call' || depth > 8) return null;
  const fn = globalPath(v.callee);
  if (!fn) return null;
  const args = itemsOf(v.args) ?? [];
  if (PARAMETER_REBUILDS.has(fn)) {
    const t = args[0] ? tensorOf(args[0], name, problems, depth + 1) : null;
    if (t) t.parameter = true;
    return t;
  }
  if (fn === 'torch._tensor._rebuild_from_type_v2' || fn === 'torch._tensor._rebuild_from_type') {
    // (func, new_type, args, state): the tensor is func(*args)
    const inner = args[0] && args[2] ? ({ kind: 'call', op: v.op, callee: args[0], args: args[2], offset: v.offset, ref: -1 } as PickleValue) : null;
    return inner ? tensorOf(inner, name, problems, depth + 1) : null;
  }
  if (!TENSOR_REBUILDS.has(fn)) return null;
  const storage = args[0] ? storageFromPersid(args[0]) : null;
  const storageOffset = intOf(args[1]);
  const shape = intsOf(args[2]);
  const stride = intsOf(args[3]);
  if (!storage || storageOffset === null || storageOffset < 0 || !shape || !stride || stride.length !== shape.length) {
    problems.push({ offset: v.offset, message: `${fn} for "${name}" at byte ${v.offset} does not have (storage, offset, size, stride) arguments a loader accepts` });
    return null;
  }
  let dtype = storage.dtype;
  if (fn === 'torch._utils._rebuild_tensor_v3' && args[6]?.kind === 'global') dtype = TORCH_DTYPE_NAMES[args[6].name] ?? dtype;
  const numel = numelOf(shape);
  if (numel === null) {
    problems.push({ offset: v.offset, message: `tensor "${name}" at byte ${v.offset} has a shape [${shape.join(', ')}] whose size overflows` });
    return null;
  }
  return {
    name,
    dtype,
    shape,
    stride,
    storageOffset,
    numel,
    storage,
    contiguous: isContiguous(shape, stride),
    parameter: false,
    rebuild: fn,
    callOffset: v.offset,
  };
}

/** Attribute names of nn.Module state that are containers, not path components. */
const MODULE_INTERNALS = new Set(['_parameters', '_buffers', '_modules']);

/**
 * Every tensor reachable from `root`, named by its path (dict keys, list indices, object attributes;
 * nn.Module's `_parameters`/`_buffers`/`_modules` are transparent, as in `state_dict()`). Containers are
 * visited once (shared and cyclic graphs stay linear); a tensor reached under two names is listed under both
 * (tied weights).
 */
export function collectTorchTensors(root: PickleValue, maxTensors = MAX_TENSORS): { tensors: RebuiltTensor[]; problems: RebuildProblem[]; truncated: boolean } {
  const tensors: RebuiltTensor[] = [];
  const problems: RebuildProblem[] = [];
  const seen = new Set<PickleValue>();
  const stack: { v: PickleValue; path: string }[] = [{ v: root, path: '' }];
  const join = (a: string, b: string) => (a ? `${a}.${b}` : b);
  let steps = 0;
  while (stack.length) {
    if (++steps > 50_000_000) return { tensors, problems, truncated: true };
    const { v, path } = stack.pop()!;
    const t = tensorOf(v, path || '(root)', problems);
    if (t) {
      if (tensors.length >= maxTensors) return { tensors, problems, truncated: true };
      tensors.push(t);
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    const next: { v: PickleValue; path: string }[] = [];
    if (v.kind === 'dict' || (v.kind === 'call' && (v.entries?.length || v.state?.length))) {
      const entries = dictEntriesOf(v) ?? [];
      for (const [k, val] of entries) next.push({ v: val, path: join(path, keyText(k)) });
      if (v.kind === 'call') {
        for (const s of v.state ?? []) {
          // BUILD state: a dict of attributes, or (dict, slotstate)
          const parts = s.kind === 'tuple' ? s.items : [s];
          for (const part of parts) {
            for (const [k, val] of dictEntriesOf(part) ?? []) {
              const key = keyText(k);
              next.push({ v: val, path: MODULE_INTERNALS.has(key) ? path : join(path, key) });
            }
          }
        }
        for (const [i, item] of (v.items ?? []).entries()) next.push({ v: item, path: join(path, String(i)) });
      }
    } else if (v.kind === 'list' || v.kind === 'tuple') {
      v.items.forEach((item, i) => next.push({ v: item, path: join(path, String(i)) }));
    } else if (v.kind === 'call') {
      // other calls (e.g. OrderedDict(...) with items as arguments): look inside the arguments
      for (const c of childrenOf(v).slice(1)) next.push({ v: c, path });
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
  }
  return { tensors, problems, truncated: false };
}

function keyText(k: PickleValue): string {
  const s = strOf(k);
  if (s !== null) return s;
  if (k.kind === 'int') return String(k.value);
  if (k.kind === 'str') return k.value;
  return `<${k.kind}>`;
}
