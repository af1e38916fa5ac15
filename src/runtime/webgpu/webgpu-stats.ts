import { cpuBackend, cpuReduce, type ChunkReduction, type StatsBackend } from '../../core/stats/reduce';
import { ELEMENTS_PER_GROUP, F_PARTS, HISTOGRAM_WGSL, LOG_BINS, REDUCE_WGSL, U_PARTS, WORKGROUP } from './stats-kernels';

/*
 * The WebGPU statistics backend, the CPU fallback, and the one place that chooses between them
 * (STYLE.md: capability detection in one place, the reason for each fallback kept). The DOM lib has no
 * WebGPU types in this TypeScript setup, so the few members used are declared here.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
type GPUDeviceLike = any;
interface GPULike {
  requestAdapter(o?: { powerPreference?: string }): Promise<any | null>;
}

const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const UNIFORM = 0x40;
const MAP_MODE_READ = 0x01;

/** Largest chunk one dispatch reduces (SwiftShader's storage-buffer limit is 1 GiB; stay far below). */
export const WEBGPU_MAX_CHUNK_ELEMENTS = 16 * 1024 * 1024;

export interface BackendChoice {
  backend: StatsBackend;
  /** adapter description when WebGPU was chosen */
  adapter: string | null;
  /** why the CPU was chosen, or null */
  fallbackReason: string | null;
}

function dispatchSize(groups: number): [number, number] {
  // maxComputeWorkgroupsPerDimension is at least 65535
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

class WebGpuBackend implements StatsBackend {
  readonly name = 'webgpu' as const;
  private reducePipe: any;
  private histPipe: any;
  constructor(private device: GPUDeviceLike) {
    this.reducePipe = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: REDUCE_WGSL }), entryPoint: 'reduce' } });
    this.histPipe = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: HISTOGRAM_WGSL }), entryPoint: 'histogram' } });
  }

  async reduce(values: Float32Array): Promise<ChunkReduction> {
    if (values.length > WEBGPU_MAX_CHUNK_ELEMENTS) throw new RangeError(`webgpu: ${values.length} elements exceed one dispatch (${WEBGPU_MAX_CHUNK_ELEMENTS})`);
    const d = this.device;
    const n = values.length;
    const groups = Math.max(1, Math.ceil(n / ELEMENTS_PER_GROUP));
    const dataBuf = d.createBuffer({ size: Math.max(16, n * 4), usage: STORAGE | COPY_DST });
    d.queue.writeBuffer(dataBuf, 0, values.buffer, values.byteOffset, n * 4);
    const fBuf = d.createBuffer({ size: groups * F_PARTS * 4, usage: STORAGE | COPY_SRC });
    const uBuf = d.createBuffer({ size: groups * U_PARTS * 4, usage: STORAGE | COPY_SRC });
    const binBuf = d.createBuffer({ size: LOG_BINS * 4, usage: STORAGE | COPY_SRC | COPY_DST });
    const params = d.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
    d.queue.writeBuffer(params, 0, new Uint32Array([n, groups, 0, 0]));
    const readF = d.createBuffer({ size: groups * F_PARTS * 4, usage: MAP_READ | COPY_DST });
    const readU = d.createBuffer({ size: groups * U_PARTS * 4, usage: MAP_READ | COPY_DST });
    const readB = d.createBuffer({ size: LOG_BINS * 4, usage: MAP_READ | COPY_DST });
    try {
      const enc = d.createCommandEncoder();
      const p1 = enc.beginComputePass();
      p1.setPipeline(this.reducePipe);
      p1.setBindGroup(0, d.createBindGroup({ layout: this.reducePipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: dataBuf } }, { binding: 1, resource: { buffer: fBuf } }, { binding: 2, resource: { buffer: uBuf } }, { binding: 3, resource: { buffer: params } }] }));
      p1.dispatchWorkgroups(...dispatchSize(groups));
      p1.end();
      const p2 = enc.beginComputePass();
      p2.setPipeline(this.histPipe);
      p2.setBindGroup(0, d.createBindGroup({ layout: this.histPipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: dataBuf } }, { binding: 1, resource: { buffer: binBuf } }, { binding: 2, resource: { buffer: params } }] }));
      p2.dispatchWorkgroups(...dispatchSize(Math.max(1, Math.ceil(n / WORKGROUP))));
      p2.end();
      enc.copyBufferToBuffer(fBuf, 0, readF, 0, groups * F_PARTS * 4);
      enc.copyBufferToBuffer(uBuf, 0, readU, 0, groups * U_PARTS * 4);
      enc.copyBufferToBuffer(binBuf, 0, readB, 0, LOG_BINS * 4);
      d.queue.submit([enc.finish()]);
      await Promise.all([readF.mapAsync(MAP_MODE_READ), readU.mapAsync(MAP_MODE_READ), readB.mapAsync(MAP_MODE_READ)]);
      const f = new Float32Array(readF.getMappedRange().slice(0));
      const u = new Uint32Array(readU.getMappedRange().slice(0));
      const logBins = new Uint32Array(readB.getMappedRange().slice(0));
      const r: ChunkReduction = { count: n, finite: 0, min: Infinity, max: -Infinity, sum: 0, sumSq: 0, zeros: 0, nan: 0, posInf: 0, negInf: 0, subnormal: 0, logBins };
      for (let g = 0; g < groups; g++) {
        r.zeros += u[g * U_PARTS];
        r.nan += u[g * U_PARTS + 1];
        r.posInf += u[g * U_PARTS + 2];
        r.negInf += u[g * U_PARTS + 3];
        r.subnormal += u[g * U_PARTS + 4];
        r.sum += f[g * F_PARTS + 2];
        r.sumSq += f[g * F_PARTS + 3];
        // a group with only non-finite values reports the ±f32-max sentinels: skip them
        if (f[g * F_PARTS] <= f[g * F_PARTS + 1]) {
          r.min = Math.min(r.min, f[g * F_PARTS]);
          r.max = Math.max(r.max, f[g * F_PARTS + 1]);
        }
      }
      r.finite = n - r.nan - r.posInf - r.negInf;
      return r;
    } finally {
      for (const b of [dataBuf, fBuf, uBuf, binBuf, params, readF, readU, readB]) b.destroy();
    }
  }

  dispose(): void {
    this.device.destroy?.();
  }
}

/**
 * Chooses the statistics backend: WebGPU when the page has an adapter and device, else the CPU, with the
 * reason. The CLI (Node) always gets the CPU: Dawn for Node finds no usable adapter here (STACK.md).
 */
export async function selectStatsBackend(options: { preferCpu?: boolean } = {}): Promise<BackendChoice> {
  if (options.preferCpu) return { backend: cpuBackend, adapter: null, fallbackReason: 'CPU requested' };
  const gpu = (globalThis.navigator as unknown as { gpu?: GPULike } | undefined)?.gpu;
  if (!gpu) return { backend: cpuBackend, adapter: null, fallbackReason: 'navigator.gpu is not available (no WebGPU in this browser or context)' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { backend: cpuBackend, adapter: null, fallbackReason: 'requestAdapter() returned null (no usable GPU adapter)' };
    const device = await adapter.requestDevice();
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
    const fallback = adapter.info?.isFallbackAdapter || adapter.isFallbackAdapter ? ' (fallback adapter)' : '';
    return { backend: new WebGpuBackend(device), adapter: name + fallback, fallbackReason: null };
  } catch (e) {
    return { backend: cpuBackend, adapter: null, fallbackReason: `WebGPU setup failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export interface WebGpuSelfTest {
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
  fallbackReason: string | null;
  elements: number;
  /** counts (zeros, NaN, ±Inf, subnormals) and all 8192 log bins identical on both backends */
  countsMatch: boolean;
  binsMatch: boolean;
  minMaxMatch: boolean;
  /** largest relative error of sum and sum of squares against the CPU's float64 result */
  maxRelError: number;
  /** the tolerance `ok` applies to maxRelError */
  tolerance: number;
  ok: boolean;
  gpuMs: number;
  cpuMs: number;
}

/** Test vector: seeded normals with planted zeros, NaN, ±Inf and subnormals. */
export function selfTestVector(n: number): Float32Array {
  const v = new Float32Array(n);
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  for (let i = 0; i < n; i++) v[i] = 0.02 * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  for (let i = 0; i < n; i += 997) v[i] = 0;
  for (let i = 5; i < n; i += 100_003) v[i] = NaN;
  for (let i = 7; i < n; i += 200_003) v[i] = Infinity;
  for (let i = 9; i < n; i += 300_007) v[i] = -Infinity;
  for (let i = 11; i < n; i += 50_021) v[i] = 1e-40;
  return v;
}

/**
 * Runs the WebGPU reduction and the CPU reduction on the same 1M-element vector and compares them: the
 * page (and the e2e harness) calls this to show which backend runs and that it agrees with the CPU. Counts
 * and bins must be identical; sums agree within `tolerance` (1e-5 relative: float32 partials).
 */
export async function runWebGpuSelfTest(elements = 1 << 20): Promise<WebGpuSelfTest> {
  const choice = await selectStatsBackend();
  const v = selfTestVector(elements);
  let t = performance.now();
  const cpu = cpuReduce(v);
  const cpuMs = performance.now() - t;
  t = performance.now();
  const got = await choice.backend.reduce(v);
  const gpuMs = performance.now() - t;
  choice.backend.dispose?.();
  const countsMatch = (['count', 'finite', 'zeros', 'nan', 'posInf', 'negInf', 'subnormal'] as const).every((k) => got[k] === cpu[k]);
  let binsMatch = got.logBins.length === cpu.logBins.length;
  for (let i = 0; binsMatch && i < cpu.logBins.length; i++) binsMatch = got.logBins[i] === cpu.logBins[i];
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
  const maxRelError = Math.max(rel(got.sum, cpu.sum) * (Math.abs(cpu.sum) / Math.sqrt(cpu.sumSq)), rel(got.sumSq, cpu.sumSq));
  const tolerance = 1e-5;
  const minMaxMatch = got.min === cpu.min && got.max === cpu.max;
  return {
    backend: choice.backend.name,
    adapter: choice.adapter,
    fallbackReason: choice.fallbackReason,
    elements,
    countsMatch,
    binsMatch,
    minMaxMatch,
    maxRelError,
    tolerance,
    ok: countsMatch && binsMatch && minMaxMatch && maxRelError <= tolerance,
    gpuMs,
    cpuMs,
  };
}
