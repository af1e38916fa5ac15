import { readZip, readZipMember, zipMemberSource, ZIP_METHOD_DEFLATE, ZIP_METHOD_STORED, type ZipArchive, type ZipEntry } from '../../formats/zip/read-zip';
import { MemorySource, type ByteSource } from '../../io/byte-source';
import { isAbortError, isParseError, throwIfAborted } from '../../io/errors';
import { SNIFF_BYTES, ZIP_CRC_CHECK_BYTES, ZIP_MAX_DEPTH, ZIP_MAX_MEMBER_BYTES, ZIP_MAX_SCAN_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { archiveFindings, type MemberCheck } from './archive-findings';
import { scanNestedPayload } from './nested-payload';
import { registerNestedPayloadScanner } from '../pickle/scan-pickle';

/** Shared across one archive and everything nested in it, so a zip of zips cannot multiply the work. */
export interface ScanBudget {
  bytes: number;
}

export interface ScanMembersOptions {
  /** file (relative to the model folder) that findings point at */
  file: string;
  signal?: AbortSignal;
  /** nesting depth of this archive (0 for a file in the folder) */
  depth?: number;
  budget?: ScanBudget;
  /** members another handler already scanned (e.g. PyTorch's data.pkl): skipped here */
  skip?: (entry: ZipEntry) => boolean;
  /** name prefix for members of nested archives ("outer.zip/inner.zip/") */
  prefix?: string;
}

export interface ScanMembersResult {
  findings: Finding[];
  checks: MemberCheck[];
  /** members whose content was scanned (by name) */
  scanned: string[];
}

/**
 * Reads every member of a zip by content, never by name (THREATS.md §2, §10: scanners that looked only
 * at `*.pkl` members missed pickles named `weights.bin`), checks its CRC when the whole content is
 * read, and hands the content to the nested-payload scanner (pickle, zip, npy). Members are read
 * within a byte budget; what the budget leaves out is reported, never passed as clean.
 */
export async function scanZipMembers(source: ByteSource, zip: ZipArchive, options: ScanMembersOptions): Promise<ScanMembersResult> {
  const { file, signal } = options;
  const depth = options.depth ?? 0;
  const budget = options.budget ?? { bytes: ZIP_MAX_SCAN_BYTES };
  const prefix = options.prefix ?? '';
  const findings: Finding[] = [];
  const checks: MemberCheck[] = [];
  const scanned: string[] = [];
  const skippedForBudget: string[] = [];
  for (const entry of zip.entries) {
    throwIfAborted(signal);
    if (entry.isDirectory || entry.dataOffset < 0 || entry.isSymlink) continue;
    if (options.skip?.(entry)) continue;
    if (entry.method !== ZIP_METHOD_STORED && entry.method !== ZIP_METHOD_DEFLATE) {
      checks.push({ entry, crcOk: null, error: `entry "${entry.name}" uses compression method ${entry.method}, which Tamperscope does not decompress` });
      continue;
    }
    if (budget.bytes <= 0) {
      skippedForBudget.push(entry.name);
      continue;
    }
    const memberName = `${prefix}${entry.name}`;
    try {
      let content: ByteSource;
      let crcOk: boolean | null = null;
      let truncated = false;
      if (entry.method === ZIP_METHOD_STORED) {
        content = zipMemberSource(source, entry);
        // A stored member stays ranged; its CRC is checked only when it is small enough to read here.
        const n = Math.min(entry.compressedSize, content.size);
        if (n <= ZIP_CRC_CHECK_BYTES && n <= budget.bytes) {
          const m = await readZipMember(source, entry, { maxBytes: n, signal });
          budget.bytes -= m.bytes.length;
          crcOk = m.crcOk;
          truncated = m.truncated;
          content = new MemorySource(m.bytes, `${source.name}/${entry.name}`);
        } else {
          budget.bytes -= Math.min(n, SNIFF_BYTES);
        }
      } else {
        const m = await readZipMember(source, entry, { maxBytes: Math.min(ZIP_MAX_MEMBER_BYTES, budget.bytes), signal });
        budget.bytes -= m.bytes.length;
        crcOk = m.crcOk;
        truncated = m.truncated;
        content = new MemorySource(m.bytes, `${source.name}/${entry.name}`);
        if (truncated && m.bytes.length >= ZIP_MAX_MEMBER_BYTES) {
          findings.push({
            id: 'archive/member-too-large',
            category: 'malformed',
            severity: 'warning',
            title: `Zip entry "${memberName}" was only partly scanned`,
            detail: `"${memberName}" inflates to more than ${ZIP_MAX_MEMBER_BYTES} bytes, the most Tamperscope decompresses per entry; only the first ${m.bytes.length} bytes were checked.`,
            file,
            offset: entry.localHeaderOffset,
            evidence: { entry: memberName, declaredSize: entry.uncompressedSize },
          });
        }
      }
      checks.push({ entry, crcOk, readPlain: entry.encryptedFlag });
      scanned.push(memberName);
      findings.push(
        ...(await scanNestedPayload(content, {
          file,
          member: memberName,
          // absolute offset in `file` of the member's first byte when stored as-is, else of its local header
          baseOffset: depth === 0 && entry.method === ZIP_METHOD_STORED ? entry.dataOffset : undefined,
          anchorOffset: depth === 0 ? entry.localHeaderOffset : undefined,
          depth,
          signal,
          truncated,
          budget,
          scanZip: (inner, innerName) => scanNestedZip(inner, { ...options, depth: depth + 1, budget, prefix: `${innerName}/`, skip: undefined }),
        })),
      );
    } catch (e) {
      if (isAbortError(e)) throw e;
      if (!isParseError(e)) throw e;
      checks.push({ entry, crcOk: null, error: e.message });
    }
  }
  if (skippedForBudget.length) {
    findings.push({
      id: 'archive/scan-budget',
      category: 'malformed',
      severity: 'warning',
      title: `${skippedForBudget.length} zip entries were not scanned`,
      detail: `Tamperscope reads at most ${ZIP_MAX_SCAN_BYTES} bytes of member content per archive; ${skippedForBudget.slice(0, 5).map((n) => `"${n}"`).join(', ')}${skippedForBudget.length > 5 ? ', ...' : ''} were left out. Treat them as unknown, not as clean.`,
      file,
      evidence: { entries: skippedForBudget.slice(0, 50), count: skippedForBudget.length },
    });
  }
  return { findings, checks, scanned };
}

/**
 * A zip found inside a member (or inside a pickle's byte string): its structure and every member are
 * checked like the outer one, to ZIP_MAX_DEPTH levels.
 */
export async function scanNestedZip(inner: ByteSource, options: ScanMembersOptions & { depth: number; prefix: string }): Promise<Finding[]> {
  const where = options.prefix.replace(/\/$/, '');
  if (options.depth > ZIP_MAX_DEPTH) {
    return [
      {
        id: 'archive/nesting-too-deep',
        category: 'malformed',
        severity: 'warning',
        title: `Zip nested more than ${ZIP_MAX_DEPTH} levels deep was not opened`,
        detail: `"${where}" is a zip inside ${options.depth - 1} other archives; Tamperscope stops opening archives at depth ${ZIP_MAX_DEPTH}. Its content is unknown, not clean.`,
        file: options.file,
        evidence: { member: where },
      },
    ];
  }
  let zip: ZipArchive;
  try {
    zip = await readZip(inner, { signal: options.signal });
  } catch (e) {
    if (!isParseError(e)) throw e;
    return [
      {
        id: 'archive/nested-unreadable',
        category: 'malformed',
        severity: 'warning',
        title: `Zip inside "${where}" could not be read`,
        detail: `"${where}" starts like a zip but ${e.message}. Its content was not scanned.`,
        file: options.file,
        evidence: { member: where, code: e.code },
      },
    ];
  }
  const structure = archiveFindings(zip, options.file).map((f) => ({ ...f, offset: undefined, title: `${f.title} (inside "${where}")`, evidence: { ...f.evidence, member: where } }));
  const r = await scanZipMembers(inner, zip, options);
  const crc = archiveFindings({ ...zip, entries: [], anomalies: [] }, options.file, r.checks).map((f) => ({ ...f, offset: undefined, evidence: { ...f.evidence, member: where } }));
  return [...structure, ...crc, ...r.findings];
}

// Zips found inside pickle byte strings (THREATS.md §1 "nested payloads") are opened by this scanner.
registerNestedPayloadScanner('zip', async (bytes, opts) =>
  scanNestedZip(new MemorySource(bytes, 'embedded.zip'), { file: opts.file ?? '', depth: (opts.depth ?? 0) + 1, prefix: `${opts.label ?? 'embedded zip'}/`, signal: opts.signal }),
);
