import type { ByteSource } from '../../io/byte-source';
import { basename } from '../../io/paths';
import { GZIP_MAX_OUTPUT_BYTES, SNIFF_BYTES, ZIP_BOMB_MIN_BYTES, ZIP_BOMB_RATIO } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { clip } from '../../scan/archive/archive-findings';
import { sniffPayload } from '../../scan/archive/nested-payload';
import type { ContainerScanOptions } from '../tar/scan-tar';
import { sniffTar } from '../tar/read-tar';
import { gunzipCapped, parseGzipHeader, sniffGzip, type GzipHeader } from './read-gzip';

/** Scans decompressed content (supplied by the caller, which owns the tar/zip/pickle dispatch). */
export type PayloadDispatch = (content: ByteSource, opts: ContainerScanOptions) => Promise<Finding[]>;

export type GzipContentKind = 'tar' | 'gzip' | 'pickle' | 'zip' | 'npy' | 'unknown' | 'empty';

export interface GzipScanResult {
  findings: Finding[];
  header: GzipHeader | null;
  /** bytes inflated (at most the cap) */
  decompressedBytes: number;
  capped: boolean;
  members: number;
  /** what the decompressed bytes are, by content */
  content: GzipContentKind | null;
}

/** Name given to the decompressed stream in findings: the member or file name without `.gz` (`.tgz` → `.tar`). */
export function decompressedName(name: string): string {
  const stripped = name.replace(/\.tgz$/i, '.tar').replace(/\.gz$/i, '');
  return stripped !== name && stripped !== '' ? stripped : `${name} (decompressed)`;
}

/**
 * A gzip stream (THREATS.md §2: legacy PyTorch checkpoints were often gzipped tars): inflated through
 * fflate's streaming Gunzip under a hard output cap (GZIP_MAX_OUTPUT_BYTES, and the file's scan
 * budget), then its content is scanned by what it is. An expansion bomb stops at the cap with a
 * warning; a corrupt, truncated or trailing-garbage stream is a `malformed` finding and whatever
 * inflated before the damage is still scanned (pickle.load reads a stream as it goes, so a payload
 * before the damage runs before the loader notices).
 */
export async function scanGzipContent(source: ByteSource, opts: ContainerScanOptions, dispatch: PayloadDispatch): Promise<GzipScanResult> {
  const { file, budget, signal } = opts;
  const where = opts.where ?? (opts.member ? ` (inside "${clip(opts.member)}")` : '');
  const at = (offset: number): { offset?: number; evidence?: Record<string, unknown> } =>
    opts.baseOffset !== undefined ? { offset: opts.baseOffset + offset } : { ...(opts.anchorOffset !== undefined ? { offset: opts.anchorOffset } : {}), evidence: { streamOffset: offset } };
  const finding = (f: Omit<Finding, 'file' | 'offset'>, offset: number): Finding => {
    const p = at(offset);
    return { ...f, title: `${f.title}${where}`, file, ...(p.offset !== undefined ? { offset: p.offset } : {}), evidence: { ...(f.evidence ?? {}), ...(p.evidence ?? {}) } };
  };
  const findings: Finding[] = [];
  const parsed = parseGzipHeader(await source.read(0, SNIFF_BYTES, signal));
  if (typeof parsed === 'string') {
    findings.push(finding({ id: 'gzip/bad-header', category: 'malformed', severity: 'error', title: 'Gzip header is not readable', detail: `${parsed.charAt(0).toUpperCase()}${parsed.slice(1)}. gzip and Python's gzip module refuse the stream; nothing in it was scanned.` }, 0));
    return { findings, header: null, decompressedBytes: 0, capped: false, members: 0, content: null };
  }
  if (budget.bytes <= 0) {
    findings.push(finding({ id: 'gzip/scan-budget', category: 'malformed', severity: 'warning', title: 'Gzip stream was not decompressed', detail: `The scan budget of this file was spent before this stream; its content is unknown, not clean.` }, 0));
    return { findings, header: parsed, decompressedBytes: 0, capped: false, members: 0, content: null };
  }
  const cap = Math.min(GZIP_MAX_OUTPUT_BYTES, budget.bytes);
  const r = await gunzipCapped(source, { maxBytes: cap, signal });
  const out = r.output;
  budget.bytes -= out.size;

  if (r.capped) {
    const byBudget = cap < GZIP_MAX_OUTPUT_BYTES;
    const ratio = Math.round(out.size / Math.max(1, r.inputRead));
    findings.push(
      finding(
        {
          id: byBudget ? 'gzip/scan-budget' : 'gzip/expansion-cap',
          category: 'malformed',
          severity: 'warning',
          title: byBudget ? 'Gzip stream was only partly decompressed' : `Gzip stream inflates past ${cap} bytes: the rest was not scanned`,
          detail: `${r.inputRead} of ${source.size} compressed bytes inflated to ${out.size} bytes (${ratio}:1), ${byBudget ? "the rest of this file's scan budget" : 'the most Tamperscope decompresses from one stream'}; decompression stopped there. Weights barely compress, so a ratio like this is a decompression bomb or padding, and whatever follows the first ${out.size} bytes is unknown, not clean.`,
          evidence: { cap, decompressed: out.size, compressedRead: r.inputRead, compressedSize: source.size, ratio },
        },
        0,
      ),
    );
  } else if (out.size >= ZIP_BOMB_MIN_BYTES && out.size > ZIP_BOMB_RATIO * Math.max(1, source.size)) {
    const ratio = Math.round(out.size / Math.max(1, source.size));
    findings.push(
      finding(
        {
          id: 'gzip/compression-ratio',
          category: 'malformed',
          severity: 'warning',
          title: `Gzip stream expands ${ratio}:1`,
          detail: `${source.size} compressed bytes inflate to ${out.size} bytes, a ratio over ${ZIP_BOMB_RATIO}:1 that weights never reach. Decompressing it to disk or memory can exhaust either (a decompression bomb).`,
          evidence: { compressedSize: source.size, decompressed: out.size, ratio },
        },
        0,
      ),
    );
  }
  if (r.error) {
    const e = r.error;
    const spec =
      e.kind === 'trailing-data'
        ? { id: 'gzip/trailing-data', severity: 'warning' as const, title: 'Bytes after the end of the gzip stream', detail: `After ${r.members} complete gzip member${r.members > 1 ? 's' : ''}, bytes within compressed bytes ${e.offset}..${e.end} are not another member (${e.message}). gzip ignores or rejects them depending on the version; Python's gzip module raises after handing out the data before them. They are room for a polyglot or a hidden payload and were not scanned.` }
        : e.kind === 'truncated'
          ? { id: 'gzip/truncated', severity: 'error' as const, title: 'Gzip stream ends before its end marker', detail: `The deflate data stops mid-stream (${e.message}) after ${out.size} bytes of output: the file was cut short. Loaders fail at the end, after reading (and unpickling) what came before; those ${out.size} bytes were scanned.` }
          : { id: 'gzip/corrupt', severity: 'error' as const, title: 'Gzip stream is corrupt', detail: `The deflate data is invalid within compressed bytes ${e.offset}..${e.end} (${e.message}); ${out.size} bytes inflated before it were scanned, the rest is unknown. gzip and Python's gzip module fail here, after handing out the bytes before the damage.` };
    findings.push(finding({ id: spec.id, category: 'malformed', severity: spec.severity, title: spec.title, detail: spec.detail, evidence: { error: e.message, decompressed: out.size } }, e.offset));
  }
  const bad = r.trailers.filter((t) => !t.crcOk || !t.sizeOk);
  if (bad.length) {
    const t = bad[0];
    findings.push(
      finding(
        {
          id: 'gzip/bad-crc',
          category: 'malformed',
          severity: 'warning',
          title: `Gzip member ${bad.length > 1 ? `trailers fail (${bad.length} members)` : 'fails its CRC-32 / size check'}`,
          detail: `Member ${t.member + 1}'s trailer at byte ${t.offset} says CRC-32 0x${t.expectedCrc.toString(16).padStart(8, '0')} and ${t.expectedSize} bytes; its content has 0x${t.crc.toString(16).padStart(8, '0')} and ${t.size} bytes. Python's gzip module raises at the end of the member, after handing out (and letting pickle.load run) all of its data; the content was changed after compression or the trailer was forged.`,
          evidence: { members: bad.slice(0, 20).map((b) => ({ member: b.member, crc: b.crc, expectedCrc: b.expectedCrc, size: b.size, expectedSize: b.expectedSize })) },
        },
        t.offset,
      ),
    );
  }

  let content: GzipContentKind = 'empty';
  if (out.size > 0) {
    const head = await out.read(0, SNIFF_BYTES, signal);
    const last = await out.read(out.size - 1, 1, signal);
    content = sniffGzip(head) ? 'gzip' : sniffTar(head) ? 'tar' : (sniffPayload(head, out.size, last[0]) ?? 'unknown');
    const inner = decompressedName(opts.member || basename(file));
    findings.push(
      ...(await dispatch(out, {
        ...opts,
        member: inner,
        container: 'gzip-compressed',
        baseOffset: undefined,
        anchorOffset: opts.baseOffset ?? opts.anchorOffset ?? 0,
        truncated: r.capped || r.error !== undefined || opts.truncated,
        where: undefined,
      })),
    );
  }
  return { findings, header: parsed, decompressedBytes: out.size, capped: r.capped, members: r.members, content };
}
