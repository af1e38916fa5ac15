/**
 * Builds safetensors files byte by byte, including malformed ones no real writer would produce.
 * Honest files come from PyTorch via tests/fixtures; this builder is for hostile and edge cases.
 */
export interface BuildTensor {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function buildSafetensors(opts: {
  header?: Record<string, BuildTensor | Record<string, unknown>>;
  headerText?: string;
  headerLength?: bigint;
  data?: Uint8Array;
  dataSize?: number;
}): Uint8Array {
  const text = opts.headerText ?? JSON.stringify(opts.header ?? {});
  const hb = new TextEncoder().encode(text);
  const data = opts.data ?? new Uint8Array(opts.dataSize ?? 0);
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** A valid float32 file with the given tensors laid out back to back. */
export function buildF32Safetensors(tensors: Record<string, { shape: number[]; values?: number[] }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, BuildTensor | Record<string, unknown>> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Float32Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const arr = new Float32Array(n);
    for (let i = 0; i < n; i++) arr[i] = t.values?.[i] ?? Math.sin(i + 1) * 0.1;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
    chunks.push(arr);
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(new Uint8Array(c.buffer), at);
    at += c.byteLength;
  }
  return buildSafetensors({ header, data });
}
