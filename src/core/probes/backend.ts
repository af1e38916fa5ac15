/**
 * The inference runtime the probes run on, injected from outside the core (the page passes the
 * onnxruntime-web adapter of src/runtime/ort, the CLI the Node adapter of cli/ort-node.ts). The core
 * never imports a runtime: it sees tensors as plain typed arrays.
 */

/** Element types the probes feed and read (ONNX's names, as onnxruntime spells them). */
export type ProbeDType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export type ProbeData = Float32Array | Float64Array | BigInt64Array | BigUint64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;

/** A dense tensor. float16 data travels as its raw Uint16 bit patterns. */
export interface ProbeTensor {
  dtype: ProbeDType;
  dims: number[];
  data: ProbeData;
}

/** An input or output as the runtime declares it; a symbolic dim is its name, an unknown one null. */
export interface SessionValue {
  name: string;
  /** the element type, or a non-tensor kind such as 'sequence' / 'map' / 'unknown' */
  dtype: string;
  /** null when the rank itself is unknown */
  shape: (number | string | null)[] | null;
}

export interface InferenceSession {
  readonly inputs: readonly SessionValue[];
  readonly outputs: readonly SessionValue[];
  /** Runs the graph; `fetches` limits the outputs returned (all outputs when omitted). */
  run(feeds: Record<string, ProbeTensor>, fetches?: readonly string[]): Promise<Record<string, ProbeTensor>>;
  release(): Promise<void>;
}

export interface ExternalDataFile {
  /** the `location` of the tensors, relative to the model folder */
  path: string;
  data: Uint8Array;
}

export interface CreateSessionOptions {
  externalData?: ExternalDataFile[];
  signal?: AbortSignal;
}

/** One way of running a model (onnxruntime-web on WebGPU, on WASM, ...). */
export interface InferenceBackend {
  /** 'webgpu', 'wasm', ... as shown to the user */
  readonly name: string;
  createSession(modelBytes: Uint8Array, options?: CreateSessionOptions): Promise<InferenceSession>;
}

/** A backend that could not be used, and why (kept for the user). */
export interface BackendFailure {
  name: string;
  reason: string;
}

/**
 * The backends to try, best first. `unavailable` lists backends ruled out by capability detection
 * (no WebGPU adapter, ...) before any model was loaded.
 */
export interface BackendCandidates {
  backends: InferenceBackend[];
  unavailable: BackendFailure[];
}

export type BackendFactory = () => Promise<BackendCandidates>;

export interface OpenedSession {
  session: InferenceSession;
  backend: string;
  /** why a better backend was not used, in words; null when the first choice worked */
  fallbackReason: string | null;
  failures: BackendFailure[];
  createMs: number;
}

export class NoBackendError extends Error {
  readonly code = 'no-backend';
  readonly failures: BackendFailure[];
  constructor(failures: BackendFailure[]) {
    super(failures.length ? `no inference backend could load the model: ${failures.map((f) => `${f.name}: ${f.reason}`).join('; ')}` : 'no inference backend is available');
    this.name = 'NoBackendError';
    this.failures = failures;
  }
}

export function errorText(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

/**
 * The one place a backend is chosen: each candidate in priority order, the first that loads the model
 * wins; every earlier failure (capability or load error) is kept as the fallback reason.
 */
export async function openSession(candidates: BackendCandidates, modelBytes: Uint8Array, options: CreateSessionOptions = {}, preferred?: string): Promise<OpenedSession> {
  const failures: BackendFailure[] = [...candidates.unavailable];
  const order = preferred ? [...candidates.backends.filter((b) => b.name === preferred), ...candidates.backends.filter((b) => b.name !== preferred)] : candidates.backends;
  for (const backend of order) {
    const t0 = now();
    try {
      const session = await backend.createSession(modelBytes, options);
      // reasons about the backend that did load (e.g. "software adapter, not tried first") are not a fallback
      const passedOver = failures.filter((f) => f.name !== backend.name);
      const fallbackReason = passedOver.length ? passedOver.map((f) => `${f.name}: ${f.reason}`).join('; ') : null;
      return { session, backend: backend.name, fallbackReason, failures, createMs: now() - t0 };
    } catch (e) {
      if ((e as { name?: string })?.name === 'AbortError') throw e;
      failures.push({ name: backend.name, reason: errorText(e) });
    }
  }
  throw new NoBackendError(failures);
}

export function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/**
 * Runs tasks one at a time in submission order. onnxruntime-web's WASM and WebGPU sessions must not
 * run concurrently (one WASM heap, one GPU device queue), so every adapter funnels create/run/release
 * through one of these.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const ELEMENT_CTORS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int64: BigInt64Array, uint64: BigUint64Array,
  int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, bool: Uint8Array,
} as const;

export function isProbeDType(s: string): s is ProbeDType {
  return Object.prototype.hasOwnProperty.call(ELEMENT_CTORS, s);
}

export function allocateTensor(dtype: ProbeDType, dims: number[]): ProbeTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype, dims, data: new ELEMENT_CTORS[dtype](n) };
}

/** Values of a tensor as float64 numbers (float16 bit patterns decoded). */
export function tensorValues(t: ProbeTensor): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.dtype === 'float16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) out[i] = halfBitsToNumber(d[i]);
  } else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  } else {
    const d = t.data as Exclude<ProbeData, BigInt64Array | BigUint64Array>;
    for (let i = 0; i < d.length; i++) out[i] = d[i];
  }
  return out;
}

export function halfBitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function numberToHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    if ((mant >> (shift - 1)) & 1) h += 1;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >> 13);
  if (mant & 0x1000) h += 1;
  return h;
}
