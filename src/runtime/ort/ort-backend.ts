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

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}

/** What WebGPU offers here: an adapter (and whether it is a software renderer), or why there is none. */
export async function probeWebgpu(): Promise<{ unavailable: string | null; software: string | null }> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return { unavailable: 'WebGPU is not available in this browser or context', software: null };
  try {
    const adapter = (await gpu.requestAdapter()) as AdapterLike | null;
    if (!adapter) return { unavailable: 'no WebGPU adapter (GPU blocked, disabled or unsupported)', software: null };
    const info = adapter.info ?? {};
    const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`.trim();
    // A CPU rasteriser (SwiftShader, llvmpipe) runs onnxruntime's WebGPU kernels 10–100× slower than
    // WASM (STACK.md): it is kept as a choice but not tried first.
    const software = adapter.isFallbackAdapter || info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(text) ? text || 'fallback adapter' : null;
    return { unavailable: null, software };
  } catch (e) {
    return { unavailable: `requesting a WebGPU adapter failed: ${errorText(e)}`, software: null };
  }
}

/** Why WebGPU cannot be used here, or null when an adapter is available. */
export async function webgpuUnavailableReason(): Promise<string | null> {
  return (await probeWebgpu()).unavailable;
}

export const browserBackendFactory: BackendFactory = async (): Promise<BackendCandidates> => {
  configure();
  const unavailable: BackendFailure[] = [];
  const wasm = createOrtBackend(ort, 'wasm', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }, queue);
  const { unavailable: why, software } = await probeWebgpu();
  if (why) {
    unavailable.push({ name: 'webgpu', reason: why });
    return { backends: [wasm], unavailable };
  }
  const webgpu = createOrtBackend(ort, 'webgpu', { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' }, queue);
  if (software) {
    unavailable.push({ name: 'webgpu', reason: `the WebGPU adapter is a software renderer (${software}), slower than WASM; choose WebGPU to use it anyway` });
    return { backends: [wasm, webgpu], unavailable };
  }
  return { backends: [webgpu, wasm], unavailable };
};
