import { MemorySource, SliceSource, type ByteSource } from '../../io/byte-source';
import { isAbortError, isParseError, throwIfAborted } from '../../io/errors';
import { SNIFF_BYTES, TAR_INLINE_MEMBER_BYTES, ZIP_MAX_DEPTH, ZIP_MAX_SCAN_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { clip } from '../../scan/archive/archive-findings';
import { registerContainerPayloadScanner, scanNestedPayload, sniffPayload } from '../../scan/archive/nested-payload';
import { scanPickleContent } from '../../scan/archive/payload-hooks';
import { scanNestedZip, type ScanBudget } from '../../scan/archive/scan-members';
import { scanGzipContent } from '../gzip/scan-gzip';
import { sniffGzip } from '../gzip/read-gzip';
import { scanLegacyTorchMember } from './legacy-torch';
import { readTar, sniffTar, type TarArchive, type TarEntry } from './read-tar';
import { isLegacyTorchTar, LEGACY_TORCH_MEMBERS, legacyTorchFinding, normaliseTarName, tarFindings } from './tar-findings';

/**
 * How a piece of content inside a file is scanned: which file findings are about, where the content
 * sits in it, how deep in archives it is, and the byte budget it shares with everything else read
 * from the same file (THREATS.md §2; the zip scan's limits: ZIP_MAX_SCAN_BYTES, ZIP_MAX_DEPTH).
 */
export interface ContainerScanOptions {
  /** file (relative to the model folder) that findings point at */
  file: string;
  /** path of this content inside `file` ("" for the file itself; "outer.tar/inner.tar.gz" when nested) */
  member: string;
  /** archives around this content (0 for the file itself) */
  depth: number;
  budget: ScanBudget;
  signal?: AbortSignal;
  /** absolute offset in `file` of the content's first byte, when it is stored there as-is */
  baseOffset?: number;
  /** offset in `file` to point findings at when it is not (inside a gzip stream) */
  anchorOffset?: number;
  /** the content was cut short (a truncated member, a capped gzip stream) */
  truncated?: boolean;
  /** title suffix for findings about a nested archive */
  where?: string;
  /** what holds this content, for the wording of payload findings ("tar member", "gzip content") */
  container?: string;
}

type LegacyMember = (typeof LEGACY_TORCH_MEMBERS)[number];

export interface TarScanResult {
  findings: Finding[];
  tar: TarArchive;
  legacyTorch: boolean;
  /** members whose content was scanned */
  scanned: string[];
}

/**
 * A tar anywhere (the file itself, a gzip's content, a member of another archive): its structure and
 * names are checked and every member with content is scanned by content, never by name. In the
 * legacy PyTorch layout the members torch.load unpickles are scanned as pickles even when they do not
 * look like one.
 */
export async function scanTarContent(source: ByteSource, opts: ContainerScanOptions): Promise<TarScanResult> {
  const tar = await readTar(source, { signal: opts.signal });
  const where = opts.where ?? (opts.member ? ` (inside "${clip(opts.member)}")` : '');
  const placement = { file: opts.file, baseOffset: opts.baseOffset, anchorOffset: opts.anchorOffset, where };
  let structure = tarFindings(tar, placement);
  if (opts.truncated) {
    // the container was cut (a capped gzip stream): the cut is reported there, not as a damaged tar
    structure = structure.filter((f) => f.id !== 'tar/data-out-of-bounds' && f.id !== 'tar/truncated-header' && f.id !== 'tar/no-end-marker');
  }
  const legacyTorch = isLegacyTorchTar(tar);
  const findings: Finding[] = [...structure];
  if (legacyTorch) findings.push(legacyTorchFinding(tar, placement));
  const scan = await scanTarMembers(source, tar, { ...opts, where }, legacyTorch);
  findings.push(...scan.findings);
  return { findings, tar, legacyTorch, scanned: scan.scanned };
}

async function scanTarMembers(source: ByteSource, tar: TarArchive, opts: ContainerScanOptions, legacyTorch: boolean): Promise<{ findings: Finding[]; scanned: string[] }> {
  const { budget, signal, depth } = opts;
  const findings: Finding[] = [];
  const scanned: string[] = [];
  const skippedForBudget: string[] = [];
  const prefix = opts.member ? `${opts.member}/` : '';
  const abs = (offset: number) => (opts.baseOffset !== undefined ? opts.baseOffset + offset : undefined);
  const forced = new Set<string>(LEGACY_TORCH_MEMBERS);
  for (const entry of tar.entries) {
    throwIfAborted(signal);
    if (!entry.hasContent) continue;
    const available = Math.max(0, Math.min(entry.size, source.size - entry.dataOffset));
    if (available === 0) continue;
    if (budget.bytes <= 0) {
      skippedForBudget.push(entry.name);
      continue;
    }
    const memberName = `${prefix}${entry.name}`;
    try {
      let content: ByteSource = new SliceSource(source, entry.dataOffset, available, `${source.name}/${entry.name}`);
      if (available <= TAR_INLINE_MEMBER_BYTES && available <= budget.bytes) {
        // small members are read whole: their findings get exact offsets
        content = new MemorySource(await content.read(0, available, signal), content.name);
        budget.bytes -= available;
      } else {
        budget.bytes -= Math.min(available, SNIFF_BYTES);
      }
      scanned.push(memberName);
      findings.push(
        ...(await scanContainerPayload(content, {
          ...opts,
          container: 'tar member',
          member: memberName,
          baseOffset: abs(entry.dataOffset),
          anchorOffset: abs(entry.offset) ?? opts.anchorOffset,
          truncated: opts.truncated || available < entry.size,
          where: undefined,
          legacyTorch: legacyTorch && forced.has(normaliseTarName(entry.name)) ? (normaliseTarName(entry.name) as LegacyMember) : undefined,
        })),
      );
    } catch (e) {
      if (isAbortError(e) || !isParseError(e)) throw e;
      findings.push(unreadable(entry, memberName, e.message, opts));
    }
  }
  if (skippedForBudget.length) {
    findings.push({
      id: 'tar/scan-budget',
      category: 'malformed',
      severity: 'warning',
      title: `${skippedForBudget.length} tar entries were not scanned${opts.where ?? ''}`,
      detail: `Tamperscope reads at most ${ZIP_MAX_SCAN_BYTES} bytes of member content per archive (nested archives included); ${skippedForBudget.slice(0, 5).map((n) => `"${clip(n)}"`).join(', ')}${skippedForBudget.length > 5 ? ', ...' : ''} were left out. Treat them as unknown, not as clean.`,
      file: opts.file,
      evidence: { entries: skippedForBudget.slice(0, 50), count: skippedForBudget.length },
    });
  }
  return { findings, scanned };
}

function unreadable(entry: TarEntry, member: string, message: string, opts: ContainerScanOptions): Finding {
  const offset = opts.baseOffset !== undefined ? opts.baseOffset + entry.offset : opts.anchorOffset;
  return {
    id: 'tar/unreadable-member',
    category: 'malformed',
    severity: 'warning',
    title: `Tar entry "${clip(member)}" could not be read`,
    detail: `${message}. Its content was not scanned: treat it as unknown, not as clean.`,
    file: opts.file,
    ...(offset !== undefined ? { offset } : {}),
    evidence: { entry: member },
  };
}

/**
 * Scans content found inside a tar or a gzip stream by what it is: a gzip stream is inflated (capped)
 * and its content scanned in turn, a tar is walked, and everything else goes to the nested-payload
 * scanner (pickle emulator, zip, `.npy`) that zip members use. A tar is also offered to the payload
 * scanner, so a file valid as both is not read as one only. `legacyTorch`: a member of a legacy
 * PyTorch tar that torch.load unpickles by name: scanned as pickles even when it does not look like one,
 * `storages`/`tensors` record by record (legacy-torch.ts).
 */
export async function scanContainerPayload(content: ByteSource, opts: ContainerScanOptions & { legacyTorch?: LegacyMember }): Promise<Finding[]> {
  const { file, member, depth, budget, signal } = opts;
  const head = await content.read(0, SNIFF_BYTES, signal);
  const findings: Finding[] = [];
  const gzip = sniffGzip(head);
  const tar = !gzip && sniffTar(head);
  if (gzip || tar) {
    const kind = gzip ? 'gzip' : 'tar';
    if (depth + 1 > ZIP_MAX_DEPTH) {
      findings.push({
        id: `${kind}/nesting-too-deep`,
        category: 'malformed',
        severity: 'warning',
        title: `${gzip ? 'Gzip stream' : 'Tar archive'} nested more than ${ZIP_MAX_DEPTH} levels deep was not opened`,
        detail: `"${clip(member)}" is ${gzip ? 'gzip-compressed' : 'a tar archive'} inside ${depth} other archives or streams; Tamperscope stops opening them at depth ${ZIP_MAX_DEPTH}. Its content is unknown, not clean.`,
        file,
        ...(opts.anchorOffset !== undefined ? { offset: opts.anchorOffset } : {}),
        evidence: { member },
      });
    } else if (gzip) {
      findings.push(...(await scanGzipContent(content, { ...opts, depth: depth + 1, where: undefined }, scanContainerPayload)).findings);
    } else {
      findings.push(...(await scanTarContent(content, { ...opts, depth: depth + 1, where: undefined })).findings);
    }
    if (gzip) return findings;
  }
  const payloadCtx = {
    file,
    member,
    container: opts.container ?? 'tar member',
    // gzip and tar were opened above; the nested-payload scanner must not open them again
    openContainers: false,
    baseOffset: opts.baseOffset,
    anchorOffset: opts.anchorOffset,
    depth,
    signal,
    truncated: opts.truncated,
    scanZip: (inner: ByteSource, innerName: string) => scanNestedZip(inner, { file, depth: depth + 1, budget, prefix: `${innerName}/`, signal }),
  };
  if (opts.legacyTorch === 'storages' || opts.legacyTorch === 'tensors') {
    findings.push(...(await scanLegacyTorchMember(content, opts.legacyTorch, payloadCtx)));
    return findings;
  }
  findings.push(...(await scanNestedPayload(content, payloadCtx)));
  if (opts.legacyTorch && !tar) {
    const last = content.size > 0 ? await content.read(content.size - 1, 1, signal) : new Uint8Array(0);
    if (sniffPayload(head, content.size, last.length ? last[0] : null) === null) findings.push(...(await scanPickleContent(content, payloadCtx)));
  }
  return findings;
}

/** A fresh budget for one file (shared by everything nested in it). */
export function newScanBudget(): ScanBudget {
  return { bytes: ZIP_MAX_SCAN_BYTES };
}

// tar and gzip found where only pickle/zip/npy payloads were looked for (a zip member, a pickle's bytes)
registerContainerPayloadScanner(async (content, head, ctx) => {
  if (!sniffGzip(head) && !sniffTar(head)) return null;
  return scanContainerPayload(content, {
    file: ctx.file,
    member: ctx.member,
    depth: ctx.depth,
    budget: ctx.budget ?? newScanBudget(),
    signal: ctx.signal,
    baseOffset: ctx.baseOffset,
    anchorOffset: ctx.anchorOffset,
    truncated: ctx.truncated,
  });
});
