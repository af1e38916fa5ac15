import { STATS_KERNEL_WASM } from './stats-kernel-wasm';

/**
 * The WebAssembly statistics kernel (stats-kernel.wat): one instance per large tensor, its memory holding
 * that tensor's accumulators. TensorAccumulator uses it where it can and keeps its JavaScript loops as the
 * fallback (no WebAssembly SIMD, small tensors) and as the reference the kernel is tested against.
 */

/** Byte offsets in an instance's memory; must agree with the layout comment of stats-kernel.wat. */
export const KERNEL_LAYOUT = {
  RES: 0,
  HIST: 256,
  KEYS: 131328,
  COUNTS: 147712,
  WIN: 164096,
  TAB16: 426240,
  H16: 688384,
  MATRIX: 819456,
} as const;

/** Elements of the window (WIN) and of the raw bfloat16 input (H16). */
export const KERNEL_WINDOW = 65536;
/** Copies of the 8192-bin histogram (one per SIMD lane). */
export const KERNEL_HIST_COPIES = 4;

/**
 * Tensors of at least `minElements` elements use the kernel (an instance and its ~1 MiB of memory cost
 * ~0.1 ms, what the JavaScript loops spend on ~30 000 elements). `enabled: false` forces the JavaScript
 * loops everywhere (tests compare the two).
 */
export const KERNEL_TUNING = { enabled: true, minElements: 1 << 16 };

interface Exports {
  setup(rows: number, cols: number, hasRows: number, hasCols: number, rowSq: number, rowSqOdd: number, rowHash: number, colSq: number, colZero: number, colMul: number): void;
  fused(n: number, origin: number, thr: number, mn: number, mx: number, ab: number): void;
  matrix(n: number, r: number, c: number, clean: number): void;
  push16(n: number, ab: number, expand: number): void;
}

export interface StatsKernel {
  /** hands the instance back for the next tensor (its state is cleared then); the views must not be used after */
  release(): void;
  readonly fused: Exports['fused'];
  readonly matrix: Exports['matrix'];
  readonly push16: Exports['push16'];
  /** results of the last call: f64 [min, max, s1, s2, s3, s4]; i32 from index 12 (see stats-kernel.wat) */
  readonly resF64: Float64Array;
  readonly resI32: Int32Array;
  readonly hist: Int32Array;
  readonly keys: Int32Array;
  readonly counts: Int32Array;
  readonly win: Float32Array;
  readonly winBits: Int32Array;
  readonly tab16: Int32Array;
  readonly h16: Uint16Array;
  readonly rowSq: Float64Array | null;
  readonly rowSqOdd: Float64Array | null;
  readonly rowHash: Int32Array | null;
  readonly colSq: Float64Array | null;
  readonly colZero: Int32Array | null;
  readonly colMul: Int32Array | null;
}

let compiled: WebAssembly.Module | null | undefined;

/** An instance with its memory, kept for the next tensor: creating one costs ~0.3 ms, what a 65536-element tensor's pass takes. */
interface Slot {
  memory: WebAssembly.Memory;
  exports: Exports;
}
const POOL: Slot[] = [];
const POOL_MAX = 4;

/** The compiled module, or null where WebAssembly or its SIMD is missing (compiled once per thread). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const text = atob(STATS_KERNEL_WASM);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      compiled = new WebAssembly.Module(bytes);
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether this thread can run the kernel. */
export function kernelAvailable(): boolean {
  return kernelModule() !== null;
}

/**
 * A kernel instance for one tensor of `numel` elements viewed as rows×cols (0×0 without a matrix view),
 * tracking rows and columns as asked; null when the tensor is small, the kernel disabled or unavailable.
 */
export function createKernel(numel: number, rows: number, cols: number, hasRows: boolean, hasCols: boolean): StatsKernel | null {
  if (!KERNEL_TUNING.enabled || numel < KERNEL_TUNING.minElements) return null;
  const module = kernelModule();
  if (!module) return null;
  const L = KERNEL_LAYOUT;
  const rowSq = L.MATRIX;
  const rowSqOdd = rowSq + (hasRows ? rows * 8 : 0);
  const colSq = rowSqOdd + (hasRows ? rows * 8 : 0);
  const rowHash = colSq + (hasCols ? cols * 8 : 0);
  const colZero = rowHash + (hasRows ? rows * 4 : 0);
  const colMul = colZero + (hasCols ? cols * 4 : 0);
  const end = colMul + (hasCols ? cols * 4 : 0) + 16; // a vector load of colMul may reach 12 bytes past its end
  const pages = Math.ceil(end / 65536);
  let slot = POOL.pop();
  try {
    if (slot) {
      if (slot.memory.buffer.byteLength < pages * 65536) slot.memory.grow(pages - slot.memory.buffer.byteLength / 65536);
      // a fresh instance's state is all zeros: clear what the last tensor left (not the window, always overwritten before it is read)
      new Uint8Array(slot.memory.buffer, L.HIST, L.WIN - L.HIST).fill(0);
      new Uint8Array(slot.memory.buffer, L.TAB16, end - L.TAB16).fill(0);
    } else {
      const memory = new WebAssembly.Memory({ initial: pages });
      slot = { memory, exports: new WebAssembly.Instance(module, { env: { mem: memory } }).exports as unknown as Exports };
    }
  } catch {
    return null; // out of memory for another instance: the JavaScript loops need less
  }
  const x = slot.exports;
  x.setup(rows, cols, hasRows ? 1 : 0, hasCols ? 1 : 0, rowSq, rowSqOdd, rowHash, colSq, colZero, colMul);
  const buf = slot.memory.buffer;
  const owned = slot;
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      if (POOL.length < POOL_MAX) POOL.push(owned);
    },
    fused: x.fused,
    matrix: x.matrix,
    push16: x.push16,
    resF64: new Float64Array(buf, L.RES, 6),
    resI32: new Int32Array(buf, L.RES, 32),
    hist: new Int32Array(buf, L.HIST, 8192 * KERNEL_HIST_COPIES),
    keys: new Int32Array(buf, L.KEYS, 4096),
    counts: new Int32Array(buf, L.COUNTS, 4096),
    win: new Float32Array(buf, L.WIN, KERNEL_WINDOW),
    winBits: new Int32Array(buf, L.WIN, KERNEL_WINDOW),
    tab16: new Int32Array(buf, L.TAB16, 65536),
    h16: new Uint16Array(buf, L.H16, KERNEL_WINDOW),
    rowSq: hasRows ? new Float64Array(buf, rowSq, rows) : null,
    rowSqOdd: hasRows ? new Float64Array(buf, rowSqOdd, rows) : null,
    rowHash: hasRows ? new Int32Array(buf, rowHash, rows) : null,
    colSq: hasCols ? new Float64Array(buf, colSq, cols) : null,
    colZero: hasCols ? new Int32Array(buf, colZero, cols) : null,
    colMul: hasCols ? new Int32Array(buf, colMul, cols) : null,
  };
}
