import { startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { archiveFindings } from '../../scan/archive/archive-findings';
import { scanZipMembers } from '../../scan/archive/scan-members';
import { readZip } from './read-zip';

/** A local header at the start, an empty archive's EOCD, or an EOCD near the end (a zip with a prefix). */
export function sniffZip(ctx: SniffContext): boolean {
  if (startsWith(ctx.head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(ctx.head, [0x50, 0x4b, 0x05, 0x06])) return true;
  // EOCD within the tail: self-extractors and polyglots put other bytes first (THREATS.md §2)
  const t = ctx.tail;
  for (let i = t.length - 22; i >= Math.max(0, t.length - 22 - 0xffff); i--) {
    if (t[i] === 0x50 && t[i + 1] === 0x4b && t[i + 2] === 5 && t[i + 3] === 6 && i + 22 + (t[i + 20] | (t[i + 21] << 8)) === t.length) return true;
  }
  return false;
}

/**
 * Any zip that no more specific handler (PyTorch, Keras, npz) claimed: its structure is checked and
 * every member is scanned by content.
 */
export const zipHandler: FormatHandler = {
  id: 'zip',
  label: 'zip',
  family: 'zip',
  sniff: sniffZip,
  async parse(ctx: ParseContext): Promise<FileParse> {
    const zip = await readZip(ctx.source, { signal: ctx.signal });
    const scan = await scanZipMembers(ctx.source, zip, { file: ctx.name, signal: ctx.signal });
    return {
      format: 'zip',
      model: null,
      findings: [...archiveFindings(zip, ctx.name, scan.checks), ...scan.findings],
      extra: { entries: zip.entries.length, scanned: scan.scanned.length, zip64: zip.zip64 },
    };
  },
};
