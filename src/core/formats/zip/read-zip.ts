/**
 * Zip reader for untrusted archives (PKWARE APPNOTE.TXT 6.3.10). Reads the End of Central Directory
 * (and the ZIP64 EOCD through its locator), the whole central directory, AND walks the local file
 * headers from the start, because loaders disagree about which index they trust (THREATS.md §2):
 * PyTorch's miniz reader trusts the central directory and ignores local names and CRC flags, Python's
 * zipfile compares names, streaming readers see only local headers. Nothing here trusts a flag, a name
 * or a CRC blindly; every disagreement is returned as an anomaly and turned into findings by
 * `archiveFindings` (src/core/scan/archive/archive-findings.ts).
 *
 * API for other format handlers (pytorch-zip, keras, npz):
 *
 *   const zip = await readZip(source, { signal });          // ZipArchive; throws ParseError only when
 *                                                            // neither index yields a single entry
 *   zip.entries: ZipEntry[]                                  // central entries first (central order),
 *                                                            // then local-only entries
 *   findEntry(zip, 'archive/data.pkl')                       // by central name (what loaders use)
 *   await readZipMember(source, entry, { maxBytes, signal }) // → { bytes, truncated, crc32, crcOk }
 *                                                            // stored or deflate (fflate), capped output
 *   zipMemberSource(source, entry)                           // ByteSource over a STORED member's bytes
 *                                                            // (SliceSource; ParseError if compressed)
 *   await openZipMember(source, entry, { maxBytes, signal }) // ByteSource for any member: a slice when
 *                                                            // stored, inflated bytes (capped) otherwise
 *   archiveFindings(zip, file, checks?)                      // from src/core/scan/archive: Findings for
 *                                                            // traversal, symlinks, flags, bombs, ...
 *
 * Offsets in ZipEntry are absolute offsets in `source` (a prefix before the archive, as in a
 * self-extracting or polyglot file, is already accounted for).
 */
import { Inflate } from 'fflate';
import { concatBytes } from '../../io/bytes';
import { ByteReader, decodeUtf8 } from '../../io/byte-reader';
import { SliceSource, MemorySource, readExact, type ByteSource } from '../../io/byte-source';
import { ParseError, throwIfAborted } from '../../io/errors';
import { ZIP_MAX_CENTRAL_DIR, ZIP_MAX_ENTRIES, ZIP_MAX_MEMBER_BYTES } from '../../io/limits';
import { crc32Update } from './crc32';

const FORMAT = 'zip';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;

const EOCD_SIZE = 22;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
/** EOCD + the largest comment (u16) */
const EOCD_SEARCH = EOCD_SIZE + 0xffff;

/** General-purpose flag bits (APPNOTE 4.4.4). */
export const ZIP_FLAG_ENCRYPTED = 0x0001;
export const ZIP_FLAG_DATA_DESCRIPTOR = 0x0008;
export const ZIP_FLAG_STRONG_ENCRYPTION = 0x0040;
export const ZIP_FLAG_UTF8 = 0x0800;

export const ZIP_METHOD_STORED = 0;
export const ZIP_METHOD_DEFLATE = 8;

export interface ZipEntry {
  /** name in the central directory (what PyTorch and Python open), or the local name for local-only entries */
  name: string;
  /** name in the local header; null when the local header is missing or unreadable */
  localName: string | null;
  /**
   * Other names extractors may write this entry under: the Info-ZIP Unicode Path field (unzip and
   * 7-Zip prefer it), and a lenient decoding of a name flagged UTF-8 but invalid (overlong forms such
   * as C0 AE for "." that old decoders accept). Absent when there are none.
   */
  altNames?: string[];
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** absolute offset of the local header */
  localHeaderOffset: number;
  /** absolute offset of the member's data; -1 when the local header could not be read */
  dataOffset: number;
  /** central external attributes (upper 16 bits: Unix mode when made on Unix) */
  externalAttrs: number;
  isSymlink: boolean;
  isDirectory: boolean;
  /** general-purpose bit 0 (or bit 6) is set; says nothing about whether the data really is encrypted */
  encryptedFlag: boolean;
  inCentral: boolean;
  inLocal: boolean;
  /** absolute offset of the central record, -1 for local-only entries */
  centralOffset: number;
}

export type ZipAnomalyCode =
  | 'no-central-directory'
  | 'bad-central-directory'
  | 'eocd-comment-length'
  | 'entry-count-mismatch'
  | 'multi-disk'
  | 'prefix-bytes'
  | 'bad-local-header'
  | 'name-mismatch'
  | 'method-mismatch'
  | 'unicode-path-mismatch'
  | 'central-only'
  | 'local-only'
  | 'overlapping-entries'
  | 'duplicate-name'
  | 'unaccounted-bytes'
  | 'local-walk-stopped'
  | 'data-out-of-bounds'
  | 'too-many-entries';

export interface ZipAnomaly {
  code: ZipAnomalyCode;
  /** absolute offset in the file where the problem is */
  offset: number;
  message: string;
  /** entry name, when about one entry */
  entry?: string;
}

export interface ZipArchive {
  size: number;
  entries: ZipEntry[];
  anomalies: ZipAnomaly[];
  zip64: boolean;
  /** bytes before the archive proper (self-extractor stub, polyglot) */
  prefix: number;
  /** absolute offset of the central directory, -1 if none */
  centralDirOffset: number;
  centralDirSize: number;
  /** absolute offset of the EOCD record, -1 if none */
  eocdOffset: number;
  comment: string;
}

export interface ReadZipOptions {
  signal?: AbortSignal;
}

const CP437_HIGH =
  '\u00c7\u00fc\u00e9\u00e2\u00e4\u00e0\u00e5\u00e7\u00ea\u00eb\u00e8\u00ef\u00ee\u00ec\u00c4\u00c5\u00c9\u00e6\u00c6\u00f4\u00f6\u00f2\u00fb\u00f9\u00ff\u00d6\u00dc\u00a2\u00a3\u00a5\u20a7\u0192\u00e1\u00ed\u00f3\u00fa\u00f1\u00d1\u00aa\u00ba\u00bf\u2310\u00ac\u00bd\u00bc\u00a1\u00ab\u00bb\u2591\u2592\u2593\u2502\u2524\u2561\u2562\u2556\u2555\u2563\u2551\u2557\u255d\u255c\u255b\u2510\u2514\u2534\u252c\u251c\u2500\u253c\u255e\u255f\u255a\u2554\u2569\u2566\u2560\u2550\u256c\u2567\u2568\u2564\u2565\u2559\u2558\u2552\u2553\u256b\u256a\u2518\u250c\u2588\u2584\u258c\u2590\u2580\u03b1\u00df\u0393\u03c0\u03a3\u03c3\u00b5\u03c4\u03a6\u0398\u03a9\u03b4\u221e\u03c6\u03b5\u2229\u2261\u00b1\u2265\u2264\u2320\u2321\u00f7\u2248\u00b0\u2219\u00b7\u221a\u207f\u00b2\u25a0\u00a0';

/**
 * Names are UTF-8 when flag bit 11 is set, CP437 otherwise (APPNOTE appendix D), which is what Python's
 * zipfile does. Invalid UTF-8 under bit 11 falls back to CP437 so the name is still shown.
 */
function decodeName(bytes: Uint8Array, flags: number): string {
  if (flags & ZIP_FLAG_UTF8) {
    const s = decodeUtf8(bytes);
    if (s !== null) return s;
  }
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return out;
}

/**
 * UTF-8 decoding as permissive decoders do it: overlong two- and three-byte forms decode to the code
 * point they spell (C0 AE is "."), other invalid bytes become U+FFFD.
 */
export function lenientUtf8(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
    } else if (b >= 0xc0 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
      out += String.fromCodePoint(((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f));
      i += 2;
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
      out += String.fromCodePoint(((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f));
      i += 3;
    } else {
      out += '\ufffd';
      i++;
    }
  }
  return out;
}

interface RawLocal {
  offset: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  name: string;
  dataOffset: number;
  /** sizes in the local header are not final (bit 3, data descriptor follows) */
  deferredSizes: boolean;
}

interface Extra {
  zip64?: Uint8Array;
  unicodePath?: { crc: number; name: string };
}

/** Extra fields (APPNOTE 4.5): ZIP64 (0x0001) and the Info-ZIP Unicode Path (0x7075). Damaged lists are cut short, not fatal. */
function parseExtra(bytes: Uint8Array): Extra {
  const out: Extra = {};
  let i = 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (i + 4 <= bytes.length) {
    const id = v.getUint16(i, true);
    const len = v.getUint16(i + 2, true);
    if (i + 4 + len > bytes.length) break;
    const body = bytes.subarray(i + 4, i + 4 + len);
    if (id === 0x0001) out.zip64 = body;
    else if (id === 0x7075 && len >= 5 && body[0] === 1) {
      const name = decodeUtf8(body.subarray(5));
      if (name !== null) out.unicodePath = { crc: new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0, true), name };
    }
    i += 4 + len;
  }
  return out;
}

/** Reads the ZIP64 extra's u64 fields in APPNOTE order, only for the fields whose 32-bit value is saturated. */
function applyZip64(body: Uint8Array | undefined, fields: { value: number; wanted: boolean }[], base: number): number[] {
  const out = fields.map((f) => f.value);
  if (!body) return out;
  const r = new ByteReader(body, FORMAT, base);
  for (let k = 0; k < fields.length; k++) {
    if (!fields[k].wanted) continue;
    if (r.remaining < 8) break;
    out[k] = r.u64Safe('zip64 field');
  }
  return out;
}

async function readLocal(source: ByteSource, offset: number, signal?: AbortSignal): Promise<RawLocal | string> {
  if (offset < 0 || offset + LOCAL_SIZE > source.size) return `local header at byte ${offset} lies outside the ${source.size}-byte file`;
  const head = await source.read(offset, LOCAL_SIZE, signal);
  const r = new ByteReader(head, FORMAT, offset);
  const sig = r.u32();
  if (sig !== SIG_LOCAL) return `expected a local header signature (PK\\3\\4) at byte ${offset}, found 0x${sig.toString(16).padStart(8, '0')}`;
  r.u16(); // version needed
  const flags = r.u16();
  const method = r.u16();
  r.u32(); // time, date
  const crc32 = r.u32();
  let compressedSize = r.u32();
  let uncompressedSize = r.u32();
  const nameLen = r.u16();
  const extraLen = r.u16();
  const varEnd = offset + LOCAL_SIZE + nameLen + extraLen;
  if (varEnd > source.size) return `local header at byte ${offset} declares a ${nameLen}-byte name and ${extraLen}-byte extra that run past the end of the file`;
  const vars = await source.read(offset + LOCAL_SIZE, nameLen + extraLen, signal);
  const name = decodeName(vars.subarray(0, nameLen), flags);
  const extra = parseExtra(vars.subarray(nameLen));
  [uncompressedSize, compressedSize] = applyZip64(
    extra.zip64,
    [
      { value: uncompressedSize, wanted: uncompressedSize === 0xffffffff },
      { value: compressedSize, wanted: compressedSize === 0xffffffff },
    ],
    offset + LOCAL_SIZE + nameLen,
  );
  return {
    offset,
    flags,
    method,
    crc32,
    compressedSize,
    uncompressedSize,
    name,
    dataOffset: varEnd,
    deferredSizes: (flags & ZIP_FLAG_DATA_DESCRIPTOR) !== 0,
  };
}

interface Eocd {
  offset: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
  comment: string;
  zip64: boolean;
  multiDisk: boolean;
}

/**
 * Finds the EOCD by scanning back from the end (APPNOTE 4.3.16). A record whose comment length reaches
 * exactly the end of the file is preferred; otherwise the last signature found is used and the
 * disagreement reported (bytes after the comment are room for a polyglot).
 */
async function findEocd(source: ByteSource, anomalies: ZipAnomaly[], signal?: AbortSignal): Promise<Eocd | null> {
  const start = Math.max(0, source.size - EOCD_SEARCH);
  const tail = await source.read(start, source.size - start, signal);
  const v = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let fallback = -1;
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (v.getUint32(i, true) !== SIG_EOCD) continue;
    const commentLen = v.getUint16(i + 20, true);
    if (i + EOCD_SIZE + commentLen === tail.length) {
      at = i;
      break;
    }
    if (fallback < 0) fallback = i;
  }
  if (at < 0 && fallback >= 0) {
    at = fallback;
    const commentLen = v.getUint16(at + 20, true);
    anomalies.push({
      code: 'eocd-comment-length',
      offset: start + at,
      message: `the end-of-central-directory record at byte ${start + at} declares a ${commentLen}-byte comment, but ${tail.length - at - EOCD_SIZE} bytes follow it`,
    });
  }
  if (at < 0) return null;
  const r = new ByteReader(tail, FORMAT, start);
  r.seek(at + 4);
  const disk = r.u16();
  const cdDisk = r.u16();
  const entriesOnDisk = r.u16();
  let entries = r.u16();
  let cdSize = r.u32();
  let cdOffset = r.u32();
  const commentLen = r.u16();
  const commentBytes = tail.subarray(at + EOCD_SIZE, Math.min(tail.length, at + EOCD_SIZE + commentLen));
  const eocd: Eocd = {
    offset: start + at,
    entries,
    cdSize,
    cdOffset,
    comment: decodeName(commentBytes, ZIP_FLAG_UTF8),
    zip64: false,
    multiDisk: disk !== 0 || cdDisk !== 0 || entriesOnDisk !== entries,
  };
  // ZIP64 (APPNOTE 4.3.14-15): the locator sits right before the EOCD and points at the ZIP64 EOCD.
  const locAt = eocd.offset - 20;
  if (locAt >= 0) {
    const loc = await source.read(locAt, 20, signal);
    const lr = new ByteReader(loc, FORMAT, locAt);
    if (loc.length === 20 && lr.u32() === SIG_ZIP64_LOCATOR) {
      lr.u32(); // disk with the zip64 EOCD
      const z64Offset = lr.u64();
      if (z64Offset + 56n <= BigInt(source.size)) {
        const z = await source.read(Number(z64Offset), 56, signal);
        const zr = new ByteReader(z, FORMAT, Number(z64Offset));
        if (zr.u32() === SIG_ZIP64_EOCD) {
          zr.u64(); // record size
          zr.u16(); // version made by
          zr.u16(); // version needed
          zr.u32(); // disk
          zr.u32(); // disk with cd
          zr.u64(); // entries on disk
          entries = zr.u64Safe('zip64 entry count');
          cdSize = zr.u64Safe('zip64 central directory size');
          cdOffset = zr.u64Safe('zip64 central directory offset');
          Object.assign(eocd, { entries, cdSize, cdOffset, zip64: true, multiDisk: false });
          // The prefix computation below measures from the zip64 record, which precedes the locator.
          (eocd as Eocd & { z64At?: number }).z64At = Number(z64Offset);
        }
      }
    }
  }
  return eocd;
}

function parseCentral(bytes: Uint8Array, base: number, prefix: number, anomalies: ZipAnomaly[]): ZipEntry[] {
  const r = new ByteReader(bytes, FORMAT, base);
  const out: ZipEntry[] = [];
  while (r.remaining >= 4) {
    const at = r.index;
    const sig = r.u32();
    if (sig !== SIG_CENTRAL) {
      // digital signature (0x05054b50) and ZIP64 end records may follow the entries; anything else is damage
      if (sig !== 0x05054b50 && sig !== SIG_ZIP64_EOCD && sig !== SIG_ZIP64_LOCATOR) {
        anomalies.push({ code: 'bad-central-directory', offset: base + at, message: `expected a central directory record (PK\\1\\2) at byte ${base + at}, found 0x${sig.toString(16).padStart(8, '0')}` });
      }
      break;
    }
    if (out.length >= ZIP_MAX_ENTRIES) {
      anomalies.push({ code: 'too-many-entries', offset: base + at, message: `the central directory lists more than ${ZIP_MAX_ENTRIES} entries; the rest were not read` });
      break;
    }
    try {
      const madeBy = r.u16();
      r.u16(); // version needed
      const flags = r.u16();
      const method = r.u16();
      r.u32(); // time, date
      const crc32 = r.u32();
      let compressedSize = r.u32();
      let uncompressedSize = r.u32();
      const nameLen = r.u16();
      const extraLen = r.u16();
      const commentLen = r.u16();
      const diskStart = r.u16();
      r.u16(); // internal attrs
      const externalAttrs = r.u32();
      let localHeaderOffset = r.u32();
      const nameBytes = r.take(nameLen, 'entry name');
      const extraAt = r.position;
      const extra = parseExtra(r.take(extraLen, 'extra field'));
      r.skip(commentLen);
      [uncompressedSize, compressedSize, localHeaderOffset] = applyZip64(
        extra.zip64,
        [
          { value: uncompressedSize, wanted: uncompressedSize === 0xffffffff },
          { value: compressedSize, wanted: compressedSize === 0xffffffff },
          { value: localHeaderOffset, wanted: localHeaderOffset === 0xffffffff },
        ],
        extraAt,
      );
      void diskStart;
      const name = decodeName(nameBytes, flags);
      if (extra.unicodePath && extra.unicodePath.name !== name) {
        anomalies.push({
          code: 'unicode-path-mismatch',
          offset: base + at,
          entry: name,
          message: `entry "${name}" carries an Info-ZIP Unicode Path field naming it "${extra.unicodePath.name}"; readers that honour the field extract a different name`,
        });
      }
      const altNames: string[] = [];
      if (extra.unicodePath && extra.unicodePath.name !== name) altNames.push(extra.unicodePath.name);
      if (flags & ZIP_FLAG_UTF8 && decodeUtf8(nameBytes) === null) altNames.push(lenientUtf8(nameBytes));
      const unixMode = (externalAttrs >>> 16) & 0xffff;
      const host = madeBy >> 8;
      // Unix hosts (3) and macOS (19) keep st_mode in the upper half; S_IFLNK = 0o120000
      const isSymlink = (host === 3 || host === 19 || unixMode !== 0) && (unixMode & 0o170000) === 0o120000;
      out.push({
        name,
        localName: null,
        ...(altNames.length ? { altNames } : {}),
        method,
        flags,
        compressedSize,
        uncompressedSize,
        crc32,
        localHeaderOffset: localHeaderOffset + prefix,
        dataOffset: -1,
        externalAttrs,
        isSymlink,
        isDirectory: name.endsWith('/') || (externalAttrs & 0x10) !== 0,
        encryptedFlag: (flags & (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG_ENCRYPTION)) !== 0,
        inCentral: true,
        inLocal: false,
        centralOffset: base + at,
      });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      anomalies.push({ code: 'bad-central-directory', offset: e.offset, message: `central directory record at byte ${base + at} is cut short: ${e.message}` });
      break;
    }
  }
  return out;
}

/**
 * Length of a data descriptor that follows a member written with bit 3 (APPNOTE 4.3.9): an optional
 * signature, CRC, and 4- or 8-byte sizes. Which one was written is recognised by the sizes matching.
 */
async function descriptorLength(source: ByteSource, at: number, compressedSize: number, signal?: AbortSignal): Promise<number> {
  const b = await source.read(at, 24, signal);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const sig = b.length >= 4 && v.getUint32(0, true) === SIG_DATA_DESCRIPTOR ? 4 : 0;
  // crc, then 4-byte sizes, or 8-byte sizes in a ZIP64 archive: whichever repeats the known size
  if (b.length >= sig + 12 && compressedSize < 2 ** 32 && v.getUint32(sig + 4, true) === compressedSize) return sig + 12;
  return sig + 20;
}

/**
 * Reads a zip's directory from both ends. Throws ParseError only when there is nothing to list: no
 * EOCD and no local header at the start. Everything else is an anomaly and reading goes on.
 */
export async function readZip(source: ByteSource, options: ReadZipOptions = {}): Promise<ZipArchive> {
  const { signal } = options;
  const anomalies: ZipAnomaly[] = [];
  if (source.size < EOCD_SIZE) {
    throw new ParseError(FORMAT, 'truncated', 0, `a zip needs at least ${EOCD_SIZE} bytes; "${source.name}" has ${source.size}`);
  }
  const eocd = await findEocd(source, anomalies, signal);
  let entries: ZipEntry[] = [];
  let prefix = 0;
  let cdStart = -1;
  let cdSize = 0;
  if (!eocd) {
    anomalies.push({ code: 'no-central-directory', offset: source.size, message: `no end-of-central-directory record in the last ${Math.min(source.size, EOCD_SEARCH)} bytes: the archive is truncated or not a zip; PyTorch and Python refuse it` });
  } else {
    if (eocd.multiDisk) anomalies.push({ code: 'multi-disk', offset: eocd.offset, message: 'the end-of-central-directory record describes a multi-disk (spanned) archive' });
    // The central directory ends where the (zip64) EOCD starts; the difference to the declared offset
    // is a prefix prepended to the archive (APPNOTE 4.3.6; Python's zipfile computes `concat` the same way).
    const cdEnd = (eocd as Eocd & { z64At?: number }).z64At ?? eocd.offset;
    const actualCd = cdEnd - eocd.cdSize;
    if (actualCd >= 0 && actualCd !== eocd.cdOffset) {
      const delta = actualCd - eocd.cdOffset;
      if (delta > 0) {
        prefix = delta;
        anomalies.push({ code: 'prefix-bytes', offset: 0, message: `${delta} bytes precede the archive (the central directory declared at byte ${eocd.cdOffset} sits at byte ${actualCd}): a self-extractor stub or a polyglot` });
      } else {
        anomalies.push({ code: 'bad-central-directory', offset: eocd.offset, message: `the central directory is declared at byte ${eocd.cdOffset} with ${eocd.cdSize} bytes, which overlaps the end-of-central-directory record at byte ${cdEnd}` });
      }
    }
    cdStart = eocd.cdOffset + prefix;
    cdSize = eocd.cdSize;
    if (cdStart < 0 || cdStart + cdSize > source.size) {
      anomalies.push({ code: 'bad-central-directory', offset: eocd.offset, message: `the central directory (${cdSize} bytes at byte ${cdStart}) lies outside the ${source.size}-byte file` });
      cdStart = -1;
    } else if (cdSize > ZIP_MAX_CENTRAL_DIR) {
      anomalies.push({ code: 'too-many-entries', offset: cdStart, message: `the central directory is ${cdSize} bytes, over the ${ZIP_MAX_CENTRAL_DIR}-byte limit; it was not read` });
      cdStart = -1;
    } else {
      const cd = await readExact(source, cdStart, cdSize, FORMAT, signal);
      entries = parseCentral(cd, cdStart, prefix, anomalies);
      if (entries.length !== eocd.entries && entries.length < ZIP_MAX_ENTRIES) {
        anomalies.push({ code: 'entry-count-mismatch', offset: eocd.offset, message: `the end-of-central-directory record announces ${eocd.entries} entries, the central directory holds ${entries.length}` });
      }
    }
  }

  // Local headers of central entries.
  const locals = new Map<number, RawLocal>();
  for (const e of entries) {
    throwIfAborted(signal);
    const l = locals.get(e.localHeaderOffset) ?? (await readLocal(source, e.localHeaderOffset, signal));
    if (typeof l === 'string') {
      anomalies.push({ code: 'bad-local-header', offset: e.localHeaderOffset, entry: e.name, message: `entry "${e.name}": ${l}` });
      continue;
    }
    locals.set(l.offset, l);
    e.localName = l.name;
    e.dataOffset = l.dataOffset;
    if (l.name !== e.name) {
      anomalies.push({ code: 'name-mismatch', offset: l.offset, entry: e.name, message: `the central directory names the entry "${e.name}" but its local header at byte ${l.offset} says "${l.name}"; readers that trust different indexes see different files` });
    }
    if (l.method !== e.method) {
      anomalies.push({ code: 'method-mismatch', offset: l.offset, entry: e.name, message: `entry "${e.name}": compression method ${e.method} in the central directory, ${l.method} in the local header` });
    }
    if (e.dataOffset + e.compressedSize > source.size) {
      anomalies.push({ code: 'data-out-of-bounds', offset: e.dataOffset, entry: e.name, message: `entry "${e.name}": ${e.compressedSize} bytes of data at byte ${e.dataOffset} run past the end of the ${source.size}-byte file` });
    }
  }

  // Walk the local headers from the start of the archive, as a streaming reader would.
  const byLocal = new Map<number, ZipEntry[]>();
  for (const e of entries) byLocal.set(e.localHeaderOffset, [...(byLocal.get(e.localHeaderOffset) ?? []), e]);
  const walkEnd = cdStart >= 0 ? cdStart : eocd ? eocd.offset : source.size;
  const visited = new Set<number>();
  let pos = prefix;
  let walkComplete = true;
  const localOnly: ZipEntry[] = [];
  let walked = 0;
  while (pos + 4 <= walkEnd) {
    throwIfAborted(signal);
    if (walked++ >= ZIP_MAX_ENTRIES) {
      anomalies.push({ code: 'too-many-entries', offset: pos, message: `more than ${ZIP_MAX_ENTRIES} local headers; the walk stopped` });
      walkComplete = false;
      break;
    }
    const l = locals.get(pos) ?? (await readLocal(source, pos, signal));
    if (typeof l === 'string') {
      // Not a local header where the previous member ended.
      anomalies.push({ code: 'unaccounted-bytes', offset: pos, message: `${walkEnd - pos} bytes between byte ${pos} and the central directory at byte ${walkEnd} belong to no entry (${l})` });
      walkComplete = false;
      break;
    }
    locals.set(pos, l);
    visited.add(pos);
    const central = byLocal.get(pos)?.[0];
    let size = l.compressedSize;
    if (l.deferredSizes && central) size = central.compressedSize;
    else if (l.deferredSizes && l.compressedSize === 0) {
      anomalies.push({ code: 'local-walk-stopped', offset: pos, entry: l.name, message: `local entry "${l.name}" at byte ${pos} defers its size to a data descriptor and has no central record; the walk cannot know where it ends` });
      walkComplete = false;
    }
    if (!central) {
      localOnly.push({
        name: l.name,
        localName: l.name,
        method: l.method,
        flags: l.flags,
        compressedSize: size,
        uncompressedSize: l.uncompressedSize,
        crc32: l.crc32,
        localHeaderOffset: pos,
        dataOffset: l.dataOffset,
        externalAttrs: 0,
        isSymlink: false,
        isDirectory: l.name.endsWith('/'),
        encryptedFlag: (l.flags & (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG_ENCRYPTION)) !== 0,
        inCentral: false,
        inLocal: true,
        centralOffset: -1,
      });
    }
    if (!walkComplete) break;
    let next = l.dataOffset + size;
    if (l.deferredSizes) next += await descriptorLength(source, next, size, signal);
    if (next <= pos || next > walkEnd) {
      if (next > walkEnd) {
        anomalies.push({ code: 'data-out-of-bounds', offset: pos, entry: l.name, message: `local entry "${l.name}" at byte ${pos} claims ${size} bytes of data, running past byte ${walkEnd} where the ${cdStart >= 0 ? 'central directory starts' : 'file ends'}` });
      }
      walkComplete = next === walkEnd;
      break;
    }
    pos = next;
  }
  if (walkComplete && pos < walkEnd && pos + 4 > walkEnd) {
    anomalies.push({ code: 'unaccounted-bytes', offset: pos, message: `${walkEnd - pos} bytes at byte ${pos} belong to no entry` });
  }

  for (const e of entries) {
    if (visited.has(e.localHeaderOffset)) e.inLocal = true;
    else if (e.dataOffset >= 0) {
      // The local header exists but a sequential reader never reaches it: it sits inside another
      // member's data (overlapping entries) or past a break in the chain.
      e.inLocal = false;
      if (walkComplete || e.localHeaderOffset < pos) {
        anomalies.push({ code: 'central-only', offset: e.localHeaderOffset, entry: e.name, message: `entry "${e.name}" is listed in the central directory but a reader walking the local headers never reaches its header at byte ${e.localHeaderOffset}` });
      }
    }
  }
  // With no central directory every entry is local-only; that is reported once, as the missing directory.
  for (const e of eocd ? localOnly : []) {
    anomalies.push({ code: 'local-only', offset: e.localHeaderOffset, entry: e.name, message: `local entry "${e.name}" at byte ${e.localHeaderOffset} is missing from the central directory: PyTorch and Python never see it, streaming extractors do` });
  }
  if (!eocd && localOnly.length === 0) {
    throw new ParseError(FORMAT, 'no-eocd', source.size, `no end-of-central-directory record and no local header at byte ${prefix}: not a readable zip`);
  }

  const all = [...entries, ...localOnly];
  // Overlapping data spans (Fifield's non-recursive zip bomb, or two names for one payload).
  const spans = all
    .filter((e) => e.dataOffset >= 0)
    .map((e) => ({ e, start: e.localHeaderOffset, end: e.dataOffset + e.compressedSize }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  let reported = 0;
  for (let i = 1; i < spans.length && reported < 16; i++) {
    const prev = spans[i - 1];
    if (spans[i].start < prev.end) {
      reported++;
      anomalies.push({ code: 'overlapping-entries', offset: spans[i].start, entry: spans[i].e.name, message: `entry "${spans[i].e.name}" (bytes ${spans[i].start}..${spans[i].end}) overlaps entry "${prev.e.name}" (bytes ${prev.start}..${prev.end})` });
    }
  }
  const seen = new Map<string, number>();
  for (const e of entries) {
    const c = (seen.get(e.name) ?? 0) + 1;
    seen.set(e.name, c);
    if (c === 2) anomalies.push({ code: 'duplicate-name', offset: e.centralOffset, entry: e.name, message: `the name "${e.name}" appears more than once in the central directory; readers disagree on which copy they open` });
  }

  return {
    size: source.size,
    entries: all,
    anomalies,
    zip64: eocd?.zip64 ?? false,
    prefix,
    centralDirOffset: cdStart,
    centralDirSize: cdSize,
    eocdOffset: eocd?.offset ?? -1,
    comment: eocd?.comment ?? '',
  };
}

/** The central entry a loader would open by this name (the first one, as miniz and Python do). */
export function findEntry(zip: ZipArchive, name: string): ZipEntry | undefined {
  return zip.entries.find((e) => e.inCentral && e.name === name);
}

export interface ReadMemberOptions {
  /** largest output kept; more is a `truncated` result, never an allocation of the declared size */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface MemberBytes {
  bytes: Uint8Array;
  /** output was cut at maxBytes (or the data ended early) */
  truncated: boolean;
  /** CRC-32 of the bytes read, when the whole member was read */
  crc32: number | null;
  /** whether it equals the CRC in the directory; null when not checked (truncated) */
  crcOk: boolean | null;
}

const READ_CHUNK = 1024 * 1024;

/**
 * Reads a member's content: stored bytes as they are, deflate through fflate's streaming Inflate with
 * a hard output cap (a 1 KB bomb declaring nothing can still inflate to gigabytes, so the cap counts
 * real output, not the declared size). Encrypted-flagged members are read as if plain, because loaders
 * do the same (THREATS.md §2). Other methods throw ParseError('unsupported-method').
 */
export async function readZipMember(source: ByteSource, entry: ZipEntry, options: ReadMemberOptions = {}): Promise<MemberBytes> {
  const maxBytes = Math.max(0, Math.min(options.maxBytes ?? ZIP_MAX_MEMBER_BYTES, ZIP_MAX_MEMBER_BYTES));
  const { signal } = options;
  if (entry.dataOffset < 0) throw new ParseError(FORMAT, 'bad-local-header', entry.localHeaderOffset, `entry "${entry.name}" has no readable local header`);
  const dataEnd = Math.min(source.size, entry.dataOffset + entry.compressedSize);
  if (entry.method === ZIP_METHOD_STORED) {
    const n = Math.min(dataEnd - entry.dataOffset, maxBytes);
    const bytes = await source.read(entry.dataOffset, n, signal);
    const whole = bytes.length === entry.compressedSize;
    const crc = whole ? crc32Update(0, bytes) : null;
    return { bytes, truncated: !whole, crc32: crc, crcOk: crc === null ? null : crc === entry.crc32 };
  }
  if (entry.method !== ZIP_METHOD_DEFLATE) {
    throw new ParseError(FORMAT, 'unsupported-method', entry.localHeaderOffset, `entry "${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are read`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  let capped = false;
  let ended = false;
  let crc = 0;
  const inflater = new Inflate((chunk, final) => {
    if (final) ended = true;
    if (capped) return;
    crc = crc32Update(crc, chunk);
    const room = maxBytes - total;
    if (chunk.length > room) {
      parts.push(chunk.slice(0, room));
      total += room;
      capped = true;
    } else {
      parts.push(chunk);
      total += chunk.length;
    }
  });
  let pos = entry.dataOffset;
  try {
    while (pos < dataEnd && !capped && !ended) {
      throwIfAborted(signal);
      const chunk = await source.read(pos, Math.min(READ_CHUNK, dataEnd - pos), signal);
      if (chunk.length === 0) break;
      pos += chunk.length;
      inflater.push(chunk, pos >= dataEnd);
    }
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new ParseError(FORMAT, 'bad-deflate', pos, `entry "${entry.name}": the deflate stream is invalid (${e instanceof Error ? e.message : String(e)}); an encrypted member looks like this`);
  }
  const bytes = concatBytes(parts);
  const whole = ended && !capped;
  return { bytes, truncated: !whole, crc32: whole ? crc : null, crcOk: whole ? crc === entry.crc32 : null };
}


/** A ByteSource over a stored member's bytes, addressed relative to the member (reads stay ranged). */
export function zipMemberSource(source: ByteSource, entry: ZipEntry): ByteSource {
  if (entry.method !== ZIP_METHOD_STORED) {
    throw new ParseError(FORMAT, 'not-stored', entry.localHeaderOffset, `entry "${entry.name}" is compressed (method ${entry.method}); read it with readZipMember`);
  }
  if (entry.dataOffset < 0) throw new ParseError(FORMAT, 'bad-local-header', entry.localHeaderOffset, `entry "${entry.name}" has no readable local header`);
  return new SliceSource(source, entry.dataOffset, entry.compressedSize, `${source.name}/${entry.name}`);
}

/**
 * A ByteSource for any member: stored members stay ranged slices of the archive; compressed members
 * are inflated (capped at maxBytes) into memory. `truncated` says the cap cut the content.
 */
export async function openZipMember(
  source: ByteSource,
  entry: ZipEntry,
  options: ReadMemberOptions = {},
): Promise<{ source: ByteSource; truncated: boolean; crcOk: boolean | null }> {
  if (entry.method === ZIP_METHOD_STORED) return { source: zipMemberSource(source, entry), truncated: entry.dataOffset + entry.compressedSize > source.size, crcOk: null };
  const m = await readZipMember(source, entry, options);
  return { source: new MemorySource(m.bytes, `${source.name}/${entry.name}`), truncated: m.truncated, crcOk: m.crcOk };
}
