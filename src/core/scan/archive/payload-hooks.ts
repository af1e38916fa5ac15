import { MemorySource, type ByteSource } from '../../io/byte-source';
import type { Finding } from '../../report/finding';
import { scanPickleBytes, scanPickleSource } from '../pickle/scan-pickle';
import { scanNpyMember } from '../../formats/npz/npy-member';
import type { NestedPayloadContext } from './nested-payload';

/**
 * Where nested payloads meet the pickle emulator (area B, src/core/scan/pickle/scan-pickle.ts). A
 * member already in memory is scanned as bytes (offsets shifted to the file when it is stored as-is);
 * a large stored member is emulated through ranged reads of its slice, and findings point at the member.
 */
export async function scanPickleContent(content: ByteSource, ctx: NestedPayloadContext): Promise<Finding[]> {
  const label = `${ctx.container ?? 'zip member'} "${ctx.member}"`;
  if (content instanceof MemorySource) {
    const r = await scanPickleBytes(content.bytes, {
      file: ctx.file,
      baseOffset: ctx.baseOffset,
      fixedOffset: ctx.baseOffset === undefined ? ctx.anchorOffset : undefined,
      depth: ctx.depth + 1,
      context: 'nested',
      label,
      scanTrailing: true,
      signal: ctx.signal,
    });
    return r.findings.map((f) => ({ ...f, evidence: { ...(f.evidence ?? {}), member: ctx.member } }));
  }
  const r = await scanPickleSource(content, { file: ctx.file, fixedOffset: ctx.baseOffset ?? ctx.anchorOffset, depth: ctx.depth + 1, context: 'nested', label, scanTrailing: true, signal: ctx.signal });
  return r.findings.map((f) => ({ ...f, evidence: { ...(f.evidence ?? {}), member: ctx.member } }));
}

/** `.npy` members: the header is read by the npz handler; object arrays' pickles follow the header. */
export async function scanNpyContent(content: ByteSource, ctx: NestedPayloadContext): Promise<Finding[]> {
  return scanNpyMember(content, ctx);
}
