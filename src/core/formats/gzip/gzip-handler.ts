import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { newScanBudget, scanContainerPayload } from '../tar/scan-tar';
import { sniffGzip } from './read-gzip';
import { scanGzipContent } from './scan-gzip';

/**
 * gzip-compressed files (`.pkl.gz`, `.tar.gz`, `.pt.gz`): inflated under a hard cap and scanned by
 * content (tar, pickle, zip, `.npy`, gzip again), never by extension.
 */
export const gzipHandler: FormatHandler = {
  id: 'gzip',
  label: 'gzip-compressed data',
  family: 'gzip',
  sniff: (ctx: SniffContext) => sniffGzip(ctx.head),
  async parse(ctx: ParseContext): Promise<FileParse> {
    const r = await scanGzipContent(ctx.source, { file: ctx.name, member: '', depth: 0, budget: newScanBudget(), signal: ctx.signal, baseOffset: 0 }, scanContainerPayload);
    const h = r.header;
    return {
      format: 'gzip',
      model: null,
      findings: r.findings,
      extra: {
        content: r.content,
        decompressedBytes: r.decompressedBytes,
        capped: r.capped,
        members: r.members,
        ...(h ? { originalName: h.name ?? null, mtime: h.mtime, os: h.os } : {}),
      },
    };
  },
};
