import * as ort from 'onnxruntime-web';
// Served from our own build (DESIGN.md: no CDN). Vite emits the file into dist/assets and gives its URL.
import jsepWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { SerialQueue, errorText, type BackendCandidates, type BackendFactory, type BackendFailure } from '../../core/probes/backend';
import { createOrtBackend } from './ort-adapter';

/**
 * The page's inference runtime: onnxruntime-web with the WebGPU execution provider first and the WASM
 * backend as the fallback. Capability detection happens here, once; which backend actually loads a
 * model is decided in core `openSession`, which keeps every reason a better backend was passed over.
 */

let configured = false;
const queue = new SerialQueue();

function configure(): void {
  if (configured) return;
  ort.env.wasm.wasmPaths = { wasm: jsepWasmUrl };
  // Threads need cross-origin isolation (the page sends COOP/COEP); otherwise one thread.
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  ort.env.wasm.numThreads = isolated ? Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1)) : 1;
  ort.env.logLevel = 'error';
  configured = true;
}

/** Why WebGPU cannot be used here, or null when an adapter is available. */
export async function webgpuUnavailableReason(): Promise<string | null> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown | null> } } | undefined)?.gpu;
  if (!gpu) return 'WebGPU is not available in this browser or context';
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? null : 'no WebGPU adapter (GPU blocked, disabled or unsupported)';
  } catch (e) {
    return `requesting a WebGPU adapter failed: ${errorText(e)}`;
  }
}

export const browserBackendFactory: BackendFactory = async (): Promise<BackendCandidates> => {
  configure();
  const unavailable: BackendFailure[] = [];
  const backends = [];
  const why = await webgpuUnavailableReason();
  if (why) unavailable.push({ name: 'webgpu', reason: why });
  else backends.push(createOrtBackend(ort, 'webgpu', { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' }, queue));
  backends.push(createOrtBackend(ort, 'wasm', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }, queue));
  return { backends, unavailable };
};
