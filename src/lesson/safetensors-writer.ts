/**
 * A minimal safetensors writer for the lesson's float32 models: an 8-byte little-endian header length,
 * a JSON header (padded with spaces to an 8-byte boundary, as the reference writer does, so the data
 * section is aligned), then the tensors' bytes back to back in header order.
 * https://huggingface.co/docs/safetensors/index#format
 */
export interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function writeSafetensors(tensors: readonly F32Tensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new RangeError(`tensor "${t.name}": shape [${t.shape.join(', ')}] holds ${numel} values, data has ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const t of tensors) {
    // Float32Array is platform-endian; write explicitly little-endian as the format requires.
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}
