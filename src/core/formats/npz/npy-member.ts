import { MemorySource, type ByteSource } from '../../io/byte-source';
import { isParseError } from '../../io/errors';
import type { Finding } from '../../report/finding';
import { readNpyHeader, type NpyHeader } from '../numpy/parse-npy';
import type { NestedPayloadContext } from '../../scan/archive/nested-payload';
import { scanPickleBytes, scanPickleSource } from '../../scan/pickle/scan-pickle';

/**
 * A `.npy` found inside another file: its header must be readable, and an object array's data (a
 * pickle that numpy.load(allow_pickle=True) unpickles) is handed to the pickle scanner.
 */
export async function scanNpyMember(content: ByteSource, ctx: NestedPayloadContext): Promise<Finding[]> {
  let h: NpyHeader;
  try {
    h = (await readNpyHeader(content, ctx.file, ctx.signal)).header;
  } catch (e) {
    if (!isParseError(e)) throw e;
    return [{ id: 'npy/bad-header', category: 'malformed', severity: 'error', title: `"${ctx.member}" is not a readable .npy`, detail: `${e.message}. numpy.load refuses it; its content was not checked.`, file: ctx.file, offset: ctx.baseOffset ?? ctx.anchorOffset, evidence: { member: ctx.member, code: e.code } }];
  }
  if (!h.hasObject) return [];
  const label = `object array "${ctx.member}"`;
  const common = { file: ctx.file, depth: ctx.depth + 1, context: 'npy' as const, label, scanTrailing: true, signal: ctx.signal };
  const r =
    content instanceof MemorySource
      ? await scanPickleBytes(content.bytes.subarray(h.dataOffset), { ...common, baseOffset: ctx.baseOffset !== undefined ? ctx.baseOffset + h.dataOffset : undefined, fixedOffset: ctx.baseOffset === undefined ? ctx.anchorOffset : undefined })
      : await scanPickleSource(content, { ...common, start: h.dataOffset, fixedOffset: ctx.baseOffset !== undefined ? ctx.baseOffset + h.dataOffset : ctx.anchorOffset });
  return [
    { id: 'npy/object-array', category: 'code-execution', severity: 'warning', title: `"${ctx.member}" is an object array (a pickle)`, detail: `The array's dtype is ${JSON.stringify(h.descr)}: its data is a pickle that numpy.load(allow_pickle=True) executes. Its imports are reported separately.`, file: ctx.file, offset: ctx.baseOffset ?? ctx.anchorOffset, evidence: { member: ctx.member, descr: h.descr } },
    ...r.findings.map((f) => ({ ...f, evidence: { ...(f.evidence ?? {}), member: ctx.member } })),
  ];
}
