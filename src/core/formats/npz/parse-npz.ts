import { isAbortError, isParseError, ParseError } from '../../io/errors';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { archiveFindings } from '../../scan/archive/archive-findings';
import { scanZipMembers } from '../../scan/archive/scan-members';
import { asciiOf, startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { openZipMember, readZip, ZIP_METHOD_STORED } from '../zip/read-zip';
import { readNpyHeader } from '../numpy/parse-npy';

/** `.npz` (numpy.savez / savez_compressed): a zip whose members are all `<key>.npy`. */
export function sniffNpz(ctx: SniffContext): boolean {
  if (!startsWith(ctx.head, [0x50, 0x4b, 0x03, 0x04])) return false;
  // the first local header's name ends in .npy and its data starts with the .npy magic (stored) or any (deflated)
  const nameLen = ctx.head[26] | (ctx.head[27] << 8);
  const name = asciiOf(ctx.head.subarray(30, 30 + nameLen));
  return name.endsWith('.npy');
}

export const npzHandler: FormatHandler = {
  id: 'npz',
  label: 'NumPy .npz',
  family: 'zip',
  sniff: sniffNpz,
  async parse(ctx: ParseContext): Promise<FileParse> {
    const { source, signal } = ctx;
    const file = ctx.name;
    const zip = await readZip(source, { signal });
    const members = zip.entries.filter((e) => !e.isDirectory);
    if (members.length === 0 || !members.every((e) => e.name.endsWith('.npy'))) throw new ParseError('npz', 'not-npz', 0, 'not every member is a .npy file');
    const tensors: TensorInfo[] = [];
    const findings: Finding[] = [];
    for (const e of members) {
      if (!e.inCentral) continue;
      try {
        // Only the header is needed: a stored member is read in place, a deflated one inflated up to 64 KB.
        const opened = await openZipMember(source, e, { maxBytes: 65536 + 1024, signal });
        const { header: h } = await readNpyHeader(opened.source, file, signal);
        const dataLength = h.dataBytes ?? -1;
        const stored = e.method === ZIP_METHOD_STORED;
        tensors.push({
          name: e.name.slice(0, -4),
          dtype: h.dtype,
          shape: h.shape,
          numel: h.numel,
          file,
          offset: stored ? e.dataOffset + h.dataOffset : -1,
          length: Math.max(0, dataLength),
          origin: `npz member ${e.name}`,
          encoding: stored ? (h.fortranOrder ? 'other' : 'raw') : 'deflate',
          ...(!stored && !h.fortranOrder && h.byteOrder !== '>' && dataLength >= 0 ? { member: { name: e.name, offset: h.dataOffset } } : {}),
        });
        if (stored && dataLength >= 0 && h.dataOffset + dataLength !== e.compressedSize) {
          findings.push({ id: 'npz/size-mismatch', category: 'malformed', severity: 'error', title: `Array "${e.name}" has ${e.compressedSize - h.dataOffset} data bytes, its header needs ${dataLength}`, detail: `The .npy header of "${e.name}" declares ${h.descr} ${JSON.stringify(h.shape)}, which is ${dataLength} bytes; the member holds ${e.compressedSize - h.dataOffset}. numpy.load fails or reads the wrong bytes.`, file, offset: e.dataOffset, evidence: { member: e.name } });
        }
      } catch (err) {
        if (isAbortError(err) || !isParseError(err)) throw err;
        findings.push({ id: 'npz/bad-member', category: 'malformed', severity: 'error', title: `Array "${e.name}" is unreadable`, detail: err.message, file, offset: e.localHeaderOffset, evidence: { member: e.name } });
      }
    }
    // Content scan: object arrays carry pickles (scanned by the .npy member scanner), and CRCs are checked.
    const scan = await scanZipMembers(source, zip, { file, signal });
    findings.push(...archiveFindings(zip, file, scan.checks), ...scan.findings);
    return { format: 'npz', model: { format: 'npz', files: [file], tensors, metadata: {} }, findings };
  },
};
