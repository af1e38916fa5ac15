import type * as Ort from 'onnxruntime-web';
import { SerialQueue, isProbeDType, type CreateSessionOptions, type InferenceBackend, type InferenceSession, type ProbeTensor, type SessionValue } from '../../core/probes/backend';

/**
 * The onnxruntime-web ↔ core adapter shared by the page (src/runtime/ort/ort-backend.ts) and the CLI
 * (cli/ort-node.ts): converts core tensors to ort.Tensor and back, and funnels every session call of
 * one runtime through one queue (ORT sessions must not run concurrently on the same WASM heap / GPU).
 */

type OrtModule = typeof Ort;

function toOrt(ort: OrtModule, t: ProbeTensor): Ort.Tensor {
  if (t.dtype === 'bool') return new ort.Tensor('bool', Uint8Array.from(t.data as Uint8Array), t.dims);
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
}

function fromOrt(t: Ort.Tensor): ProbeTensor {
  const type = t.type as string;
  if (!isProbeDType(type)) throw new TypeError(`output of type ${type} is not supported by the probes`);
  // float16 outputs come back as Uint16Array bit patterns, or Float16Array where the engine has one.
  let data = t.data as ProbeTensor['data'];
  if (type === 'float16' && !(data instanceof Uint16Array)) data = new Uint16Array((data as unknown as { buffer: ArrayBuffer }).buffer);
  if (type === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data as unknown as ArrayLike<number>);
  return { dtype: type, dims: [...t.dims], data };
}

function metaOf(names: readonly string[], meta: readonly Ort.InferenceSession.ValueMetadata[] | undefined): SessionValue[] {
  return names.map((name, i) => {
    const m = meta?.[i];
    if (!m) return { name, dtype: 'unknown', shape: null };
    if (!m.isTensor) return { name, dtype: 'non-tensor', shape: null };
    return { name, dtype: m.type, shape: m.shape.length || m.type ? [...m.shape].map((d) => (typeof d === 'number' && d >= 0 && d < 2 ** 31 ? d : typeof d === 'string' ? d : null)) : null };
  });
}

export function createOrtBackend(ort: OrtModule, name: string, sessionOptions: Ort.InferenceSession.SessionOptions, queue: SerialQueue): InferenceBackend {
  return {
    name,
    createSession: (bytes: Uint8Array, options: CreateSessionOptions = {}) =>
      queue.run(async (): Promise<InferenceSession> => {
        const s = await ort.InferenceSession.create(bytes, {
          ...sessionOptions,
          ...(options.externalData?.length ? { externalData: options.externalData.map((e) => ({ path: e.path, data: e.data })) } : {}),
        });
        return {
          inputs: metaOf(s.inputNames, s.inputMetadata),
          outputs: metaOf(s.outputNames, s.outputMetadata),
          run: (feeds, fetches) =>
            queue.run(async () => {
              const f: Record<string, Ort.Tensor> = {};
              for (const [k, v] of Object.entries(feeds)) f[k] = toOrt(ort, v);
              const out = fetches ? await s.run(f, [...fetches]) : await s.run(f);
              const res: Record<string, ProbeTensor> = {};
              for (const [k, v] of Object.entries(out)) {
                res[k] = fromOrt(v as Ort.Tensor);
                (v as Ort.Tensor).dispose?.();
              }
              return res;
            }),
          release: () => queue.run(() => s.release()),
        };
      }),
  };
}
