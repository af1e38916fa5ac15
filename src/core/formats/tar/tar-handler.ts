import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { sniffTar } from './read-tar';
import { newScanBudget, scanTarContent } from './scan-tar';

/**
 * Tar archives (THREATS.md §2: PyTorch before 0.4 saved checkpoints as tars of pickles). The structure
 * and names are checked, every member is scanned by content within the zip scan's limits, and the
 * legacy PyTorch layout is recognised.
 */
export const tarHandler: FormatHandler = {
  id: 'tar',
  label: 'a tar archive',
  family: 'tar',
  sniff: (ctx: SniffContext) => sniffTar(ctx.head),
  async parse(ctx: ParseContext): Promise<FileParse> {
    const r = await scanTarContent(ctx.source, { file: ctx.name, member: '', depth: 0, budget: newScanBudget(), signal: ctx.signal, baseOffset: 0 });
    const t = r.tar;
    return {
      format: 'tar',
      ...(t.dialect ? { formatVersion: t.dialect } : {}),
      model: null,
      findings: r.findings,
      extra: {
        entries: t.entries.length,
        scanned: r.scanned.length,
        dialect: t.dialect,
        legacyPytorch: r.legacyTorch,
        ...(r.legacyTorch ? { layout: 'pytorch-legacy-tar' } : {}),
        hiddenEntries: t.entries.filter((e) => e.hidden).length,
        members: t.entries.slice(0, 1000).map((e) => ({ name: e.name, kind: e.kind, size: e.size, offset: e.offset })),
      },
    };
  },
};
