import type { ZipAnomaly, ZipArchive, ZipEntry } from '../../formats/zip/read-zip';
import { ZIP_METHOD_STORED } from '../../formats/zip/read-zip';
import { pathProblems, type PathProblem } from '../../io/paths';
import { ZIP_BOMB_MIN_BYTES, ZIP_BOMB_RATIO } from '../../io/limits';
import type { Finding } from '../../report/finding';

/** What reading a member found out, for the findings that need member bytes (CRC, real encryption). */
export interface MemberCheck {
  entry: ZipEntry;
  /** CRC-32 of the member's whole content agrees with the directory; null when not checked */
  crcOk: boolean | null;
  /** the member was read as plain data although its flag claims encryption */
  readPlain?: boolean;
  /** reading failed (bad deflate, unsupported method): the content was not scanned */
  error?: string;
}

/** Unicode look-alikes of ".", "/" and "\\" that Windows best-fit mapping converts to ASCII. */
const LOOKALIKE_ASCII: Record<string, string> = { '\uff0e': '.', '\u2024': '.', '\ufe52': '.', '\uff0f': '/', '\u2215': '/', '\u2044': '/', '\u29f8': '/', '\uff3c': '\\', '\u2216': '\\', '\ufe68': '\\' };
const LOOKALIKE_SEPARATORS = /[\uff0e\u2024\ufe52\uff0f\u2215\u2044\u29f8\uff3c\u2216\ufe68]/;
const LOOKALIKE_SEPARATORS_G = new RegExp(LOOKALIKE_SEPARATORS.source, 'g');

export type ArchivePathProblem = PathProblem | 'lookalike';

export const PROBLEM_WORDS: Record<ArchivePathProblem, string> = {
  lookalike: 'Unicode look-alikes of "." or "/" that Windows best-fit conversion turns into a path that climbs out',
  empty: 'an empty name',
  absolute: 'an absolute path',
  'drive-letter': 'a drive letter',
  parent: 'a ".." component',
  backslash: 'a backslash (a separator on Windows)',
  nul: 'a NUL character',
  url: 'a URL',
};

/** Anomalies of the structure itself: `error` when a loader would fail or read garbage, `warning` otherwise. */
const STRUCTURAL: Partial<Record<ZipAnomaly['code'], { severity: Finding['severity']; title: string }>> = {
  'no-central-directory': { severity: 'error', title: 'Zip has no central directory' },
  'bad-central-directory': { severity: 'error', title: 'Zip central directory is damaged' },
  'bad-local-header': { severity: 'error', title: 'Zip entry has no valid local header' },
  'data-out-of-bounds': { severity: 'error', title: 'Zip entry data runs past the end of the file' },
  'entry-count-mismatch': { severity: 'warning', title: 'Zip entry count disagrees with its directory' },
  'eocd-comment-length': { severity: 'warning', title: 'Bytes after the end of the zip' },
  'multi-disk': { severity: 'warning', title: 'Zip claims to span several disks' },
  'unaccounted-bytes': { severity: 'warning', title: 'Bytes inside the zip that belong to no entry' },
  'local-walk-stopped': { severity: 'warning', title: 'Local headers could not be walked to the end' },
  'too-many-entries': { severity: 'warning', title: 'Zip has too many entries to read them all' },
  'method-mismatch': { severity: 'warning', title: 'Zip entry compression differs between its two headers' },
  'prefix-bytes': { severity: 'warning', title: 'Bytes before the start of the zip' },
};

/**
 * Findings for an archive's structure and names (THREATS.md §2). Nothing is ever extracted, but the
 * loaders that do extract (Keras `.keras`, Hub tooling, users unzipping by hand) would write where a
 * name points, so traversal names are `dangerous` even when the model loader itself only reads.
 * `checks` adds the findings that need member bytes (bad CRC, encryption flag on plain data).
 */
export function archiveFindings(zip: ZipArchive, file: string, checks: readonly MemberCheck[] = []): Finding[] {
  const out: Finding[] = [];
  const namesSeen = new Set<string>();
  for (const e of zip.entries) {
    for (const name of new Set([e.name, ...(e.localName !== null ? [e.localName] : []), ...(e.altNames ?? [])])) {
      if (namesSeen.has(name)) continue;
      namesSeen.add(name);
      const problems: ArchivePathProblem[] = pathProblems(e.isDirectory && name.endsWith('/') ? name.slice(0, -1) || name : name).filter((p) => p !== 'empty' || !e.isDirectory);
      // Windows "best fit" conversion to the ANSI code page turns these into . / \ (so ．．／ is ../)
      if (LOOKALIKE_SEPARATORS.test(name) && pathProblems(name.replace(LOOKALIKE_SEPARATORS_G, (c) => LOOKALIKE_ASCII[c] ?? c)).some((p) => p === 'parent' || p === 'absolute' || p === 'backslash')) problems.push('lookalike');
      if (problems.length) {
        out.push({
          id: 'archive/path-traversal',
          category: 'path-traversal',
          severity: 'dangerous',
          title: `Zip entry name escapes the extraction folder: "${clip(name)}"`,
          detail: `The entry "${clip(name)}" has ${problems.map((p) => PROBLEM_WORDS[p]).join(', ')}. An extractor that joins it to a folder writes outside that folder ("zip slip"), which can overwrite code or configuration.`,
          file,
          offset: e.inCentral ? e.centralOffset : e.localHeaderOffset,
          evidence: { entry: name, problems },
        });
      }
    }
    if (e.isSymlink) {
      out.push({
        id: 'archive/symlink',
        category: 'path-traversal',
        severity: 'warning',
        title: `Zip entry "${clip(e.name)}" is a symbolic link`,
        detail: `The entry's Unix mode marks it as a symbolic link; its content is the link target. Extracting it creates a link that later entries or loaders can follow out of the folder. Model archives never need links.`,
        file,
        offset: e.centralOffset,
        evidence: { entry: e.name, mode: ((e.externalAttrs >>> 16) & 0xffff).toString(8) },
      });
    }
    if (e.encryptedFlag) {
      const looksPlain = e.method === ZIP_METHOD_STORED && e.compressedSize === e.uncompressedSize;
      out.push({
        id: 'archive/encrypted-flag',
        category: 'malformed',
        severity: 'warning',
        title: `Zip entry "${clip(e.name)}" is flagged as encrypted`,
        detail: looksPlain
          ? `The encryption bit is set, but the stored data has exactly its plain size (traditional encryption adds a 12-byte header): the flag is false. Loaders such as PyTorch ignore the flag and read the entry anyway, while scanners that honour it skip the content.`
          : `The encryption bit is set. Loaders such as PyTorch ignore it and read the data as plain; scanners that honour it skip the content. Tamperscope reads it as plain too.`,
        file,
        offset: e.inCentral ? e.centralOffset : e.localHeaderOffset,
        evidence: { entry: e.name, flags: e.flags, method: e.method },
      });
    }
    if (e.inCentral && e.localName !== null && e.localName !== e.name) {
      out.push({
        id: 'archive/name-mismatch',
        category: 'malformed',
        severity: 'warning',
        title: `Zip entry has two names: "${clip(e.name)}" and "${clip(e.localName)}"`,
        detail: `The central directory calls the entry "${clip(e.name)}", its local header "${clip(e.localName)}". PyTorch opens it by the central name, streaming extractors by the local one: two tools see two different archives.`,
        file,
        offset: e.localHeaderOffset,
        evidence: { central: e.name, local: e.localName },
      });
    }
    // Ratio from the declared sizes; the real output is capped when members are read, so a lying
    // declaration can't exhaust memory, but an honest bomb still deserves a finding.
    if (e.uncompressedSize >= ZIP_BOMB_MIN_BYTES && e.uncompressedSize > ZIP_BOMB_RATIO * Math.max(1, e.compressedSize)) {
      const ratio = e.uncompressedSize / Math.max(1, e.compressedSize);
      out.push({
        id: 'archive/compression-ratio',
        category: 'malformed',
        severity: 'warning',
        title: `Zip entry "${clip(e.name)}" expands ${Math.round(ratio)}:1`,
        detail: `${e.compressedSize} compressed bytes declare ${e.uncompressedSize} bytes of content, a ratio over ${ZIP_BOMB_RATIO}:1 that weights never reach (they barely compress). Extracting it can fill the disk or memory (a zip bomb).`,
        file,
        offset: e.localHeaderOffset,
        evidence: { entry: e.name, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize, ratio: Math.round(ratio) },
      });
    }
  }

  for (const a of zip.anomalies) {
    if (a.code === 'name-mismatch') continue; // reported per entry above
    if (a.code === 'central-only' || a.code === 'local-only') {
      out.push({
        id: `archive/${a.code}`,
        category: 'malformed',
        severity: 'warning',
        title: a.code === 'local-only' ? `Zip entry "${clip(a.entry ?? '')}" is hidden from the central directory` : `Zip entry "${clip(a.entry ?? '')}" is hidden from a sequential reader`,
        detail: `${a.message}. Different tools list different contents, a way to show a scanner one file and a loader another.`,
        file,
        offset: a.offset,
        evidence: { entry: a.entry },
      });
      continue;
    }
    if (a.code === 'overlapping-entries' || a.code === 'duplicate-name' || a.code === 'unicode-path-mismatch') {
      out.push({
        id: `archive/${a.code}`,
        category: 'malformed',
        severity: 'warning',
        title: a.code === 'overlapping-entries' ? 'Zip entries share bytes' : a.code === 'duplicate-name' ? `Zip entry name "${clip(a.entry ?? '')}" appears twice` : `Zip entry "${clip(a.entry ?? '')}" has a second, different name`,
        detail: `${a.message}.${a.code === 'overlapping-entries' ? ' Overlapping entries are the trick behind non-recursive zip bombs and let one payload hide under two names.' : ''}`,
        file,
        offset: a.offset,
        evidence: { entry: a.entry },
      });
      continue;
    }
    const s = STRUCTURAL[a.code];
    out.push({
      id: `archive/${a.code}`,
      category: 'malformed',
      severity: s?.severity ?? 'warning',
      title: s?.title ?? 'Zip structure anomaly',
      detail: `${a.message}.`,
      file,
      offset: a.offset,
      evidence: a.entry !== undefined ? { entry: a.entry } : undefined,
    });
  }

  for (const c of checks) {
    if (c.crcOk === false) {
      out.push({
        id: 'archive/bad-crc',
        category: 'malformed',
        severity: 'warning',
        title: `Zip entry "${clip(c.entry.name)}" fails its CRC check`,
        detail: `The content of "${clip(c.entry.name)}" does not match the CRC-32 0x${c.entry.crc32.toString(16).padStart(8, '0')} in the directory. PyTorch does not check CRCs and loads it anyway; the content was changed after the archive was written, or the CRC was forged to make strict tools refuse the file.`,
        file,
        offset: c.entry.dataOffset,
        evidence: { entry: c.entry.name, crc32: c.entry.crc32 },
      });
    }
    if (c.error) {
      out.push({
        id: 'archive/unreadable-member',
        category: 'malformed',
        severity: 'warning',
        title: `Zip entry "${clip(c.entry.name)}" could not be read`,
        detail: `${c.error}. Its content was not scanned: treat it as unknown, not as clean.`,
        file,
        offset: c.entry.localHeaderOffset,
        evidence: { entry: c.entry.name, method: c.entry.method, encryptedFlag: c.entry.encryptedFlag },
      });
    }
  }
  return out;
}

export function clip(s: string, n = 120): string {
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length > n ? `${printable.slice(0, n)}…` : printable;
}
