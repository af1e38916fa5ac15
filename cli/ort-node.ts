import { SerialQueue, type BackendCandidates, type BackendFactory } from '../src/core/probes/backend';
import { createOrtBackend } from '../src/runtime/ort/ort-adapter';

/**
 * The CLI's inference runtime: onnxruntime-web's WASM backend running in Node (onnxruntime-node
 * cannot be installed offline, STACK.md). One thread: Node has no cross-origin isolation to give the
 * WASM threads, and the probes' models are small. WebGPU is not offered in Node.
 */
let configured = false;
const queue = new SerialQueue();

export const nodeBackendFactory: BackendFactory = async (): Promise<BackendCandidates> => {
  // loaded here, not at start-up: only `--probes` needs the runtime, and every scan pays for its import
  const ort = await import('onnxruntime-web');
  if (!configured) {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    configured = true;
  }
  return {
    backends: [createOrtBackend(ort, 'wasm', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }, queue)],
    unavailable: [],
  };
};
