import type { ByteSource } from '../io/byte-source';
import { ParseError } from '../io/errors';
import { byteSizeOf } from '../model/dtype';
import type { TensorInfo } from '../model/types';
import { decodeTensorBytes } from './decode';
import { statsSkipReason } from './stats-consumer';

/**
 * Reads one tensor's values by range (bounded by `maxElements`) and decodes them to float32. Throws a
 * RangeError saying why when the tensor cannot be read in place (encoded, undecodable, too large) and a
 * ParseError when the file ends before the tensor does.
 */
export async function readTensorValues(source: ByteSource, t: TensorInfo, maxElements: number, signal?: AbortSignal): Promise<Float32Array> {
  const reason = statsSkipReason(t);
  if (reason) throw new RangeError(`tensor "${t.name}": ${reason}`);
  if (t.numel > maxElements) throw new RangeError(`tensor "${t.name}": ${t.numel} elements exceed the ${maxElements}-element read limit`);
  const need = byteSizeOf(t.dtype, t.numel);
  if (need === null || need > t.length) throw new RangeError(`tensor "${t.name}": its ${t.length}-byte span cannot hold ${t.numel} ${t.dtype} elements`);
  if (t.offset + need > source.size) throw new ParseError('stats', 'truncated', source.size, `tensor "${t.name}" needs bytes ${t.offset}..${t.offset + need} but "${source.name}" has ${source.size} bytes`);
  const bytes = await source.read(t.offset, need, signal);
  if (bytes.length !== need) throw new ParseError('stats', 'truncated', t.offset + bytes.length, `short read of tensor "${t.name}" at byte ${t.offset + bytes.length}`);
  const out = decodeTensorBytes(t.dtype, bytes);
  return out.length === t.numel ? out : out.subarray(0, t.numel);
}
