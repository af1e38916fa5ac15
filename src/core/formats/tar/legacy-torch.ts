import { MemorySource, SliceSource, type ByteSource } from '../../io/byte-source';
import { TORCH_MAX_STORAGES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import type { NestedPayloadContext } from '../../scan/archive/nested-payload';
import { scanPickleContent } from '../../scan/archive/payload-hooks';
import type { PickleRecord } from '../../scan/pickle/emulate';
import { scanPickleBytes, scanPickleSource } from '../../scan/pickle/scan-pickle';
import { intOf, itemsOf } from '../../scan/pickle/value';
import { elementBytes, TORCH_STORAGE_DTYPES } from '../pytorch/torch-rebuild';

/** Bytes read at once for one record pickle (they are a few dozen bytes); longer ones are emulated by range. */
const RECORD_WINDOW = 64 * 1024;

/** Dimensions accepted in a tensor record before the walk is abandoned as not torch's layout. */
const MAX_NDIM = 64;

/**
 * The `storages` and `tensors` members of a legacy tar checkpoint, read the way torch.load reads them
 * (torch/serialization.py `legacy_load`): `storages` is a pickle of the count, then per storage a
 * pickle of (key, location, storage type) and the raw storage (int64 element count + elements), then
 * a pickle of the storage views; `tensors` is a pickle of the count, then per tensor a pickle of (key,
 * storage id, tensor type) and its int32 ndim, 4 bytes, sizes, strides and storage offset. Every pickle
 * torch unpickles is scanned, and the raw bytes between them are stepped over rather than mistaken for
 * trailing data. Where the bytes stop following that layout, the rest is scanned as generic pickle
 * content (every pickle found, trailing data reported).
 */
export async function scanLegacyTorchMember(content: ByteSource, which: 'storages' | 'tensors', ctx: NestedPayloadContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const label = `the "${which}" member of the legacy checkpoint "${ctx.member}"`;
  const abs = (pos: number) => (ctx.baseOffset !== undefined ? ctx.baseOffset + pos : undefined);
  let pos = 0;

  const one = async (): Promise<PickleRecord | null> => {
    const opts = { file: ctx.file, depth: ctx.depth + 1, context: 'torch' as const, label, maxPickles: 1, scanTrailing: false, signal: ctx.signal };
    const win = content instanceof MemorySource ? content.bytes.subarray(pos) : await content.read(pos, RECORD_WINDOW, ctx.signal);
    let r = await scanPickleBytes(win, { ...opts, baseOffset: abs(pos), fixedOffset: abs(pos) === undefined ? ctx.anchorOffset : undefined });
    let rec = r.emulation.pickles[0];
    let end = rec ? rec.end - (abs(pos) ?? 0) + pos : pos;
    if (!rec?.stopped && pos + win.length < content.size) {
      // a record longer than the window: emulate it by range
      r = await scanPickleSource(content, { ...opts, start: pos, fixedOffset: abs(pos) ?? ctx.anchorOffset });
      rec = r.emulation.pickles[0];
      end = rec ? rec.end : pos;
    }
    // a record that does not end is left to the generic scan of the rest (no findings twice)
    if (!rec?.stopped) return null;
    findings.push(...r.findings.map((f) => ({ ...f, evidence: { ...(f.evidence ?? {}), member: ctx.member } })));
    pos = end;
    return rec;
  };
  /** the bytes from `pos` on no longer follow torch's layout: scan them as generic pickle content */
  const rest = async (): Promise<Finding[]> => {
    if (pos < content.size) {
      const tail = content instanceof MemorySource ? new MemorySource(content.bytes.subarray(pos), content.name) : new SliceSource(content, pos, content.size - pos, content.name);
      findings.push(...(await scanPickleContent(tail, { ...ctx, baseOffset: abs(pos) })));
    }
    return findings;
  };
  const int64At = async (at: number): Promise<number | null> => {
    const b = await content.read(at, 8, ctx.signal);
    if (b.length < 8) return null;
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
    return v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(v);
  };

  const count = await one();
  const n = count ? intOf(count.value ?? undefined) : null;
  if (n === null || n < 0 || n > TORCH_MAX_STORAGES) return rest();
  for (let i = 0; i < n; i++) {
    const rec = await one();
    if (!rec) return rest();
    if (which === 'storages') {
      const type = itemsOf(rec.value ?? undefined)?.[2];
      const dtype = type?.kind === 'global' && (type.module === 'torch' || type.module === 'torch.cuda') ? TORCH_STORAGE_DTYPES[type.name] : undefined;
      const numel = await int64At(pos);
      if (!dtype || numel === null) return rest();
      const bytes = numel * elementBytes(dtype);
      // a member cut short (truncated archive) ends here for torch too; otherwise the layout is not torch's
      if (Number.isSafeInteger(bytes) && pos + 8 + bytes > content.size && ctx.truncated) return findings;
      if (!Number.isSafeInteger(bytes) || pos + 8 + bytes > content.size) return rest();
      pos += 8 + bytes;
    } else {
      const b = await content.read(pos, 4, ctx.signal);
      if (b.length < 4) return rest();
      const ndim = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
      if (ndim >= 0 && ndim <= MAX_NDIM && pos + 8 + 16 * ndim + 8 > content.size && ctx.truncated) return findings;
      if (ndim < 0 || ndim > MAX_NDIM || pos + 8 + 16 * ndim + 8 > content.size) return rest();
      pos += 8 + 16 * ndim + 8;
    }
  }
  if (which === 'storages' && !(await one())) return rest();
  // torch reads nothing after the last record: anything there is scanned as generic content
  return rest();
}
