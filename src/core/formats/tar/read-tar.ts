import { SliceSource, type ByteSource } from '../../io/byte-source';
import { throwIfAborted } from '../../io/errors';
import { TAR_MAX_EXTENDED_HEADER, TAR_MAX_RESYNC_BYTES, TAR_READ_WINDOW, ZIP_MAX_ENTRIES } from '../../io/limits';

/**
 * A tar reader that walks 512-byte headers through ranged reads and never reads member data (members
 * are served as slices of the source). It follows what Python's `tarfile` does, because that is what
 * `torch.load` used for pre-0.4 checkpoints (THREATS.md §2): ustar (name + prefix), GNU long names and
 * links (`././@LongLink`, types 'L'/'K'), pax extended and global headers ('x'/'g': `path`, `linkpath`,
 * `size`), old GNU sparse headers, and v7 headers without magic. Where readers disagree (a damaged
 * header, data after the end marker) it keeps going and marks what follows, so nothing is hidden from
 * the scan that another tool would extract.
 */

export const TAR_BLOCK = 512;

export type TarEntryKind = 'file' | 'hardlink' | 'symlink' | 'char-device' | 'block-device' | 'directory' | 'fifo' | 'sparse' | 'other';

export type TarDialect = 'ustar' | 'gnu' | 'v7';

export interface TarEntry {
  /** the name tarfile reports: header name, ustar prefix, GNU long name and pax `path` applied */
  name: string;
  /** link target (hard or symbolic), GNU long link and pax `linkpath` applied */
  linkName: string;
  /** the raw type flag ('\0' for old regular files) */
  typeflag: string;
  kind: TarEntryKind;
  mode: number;
  /** bytes of data stored in the archive for this member (pax `size` applied) */
  size: number;
  /** first header of the member, its GNU long-name / pax headers included (tarfile's TarInfo.offset) */
  offset: number;
  /** the member's own header */
  headerOffset: number;
  /** first byte of the member's data (tarfile's TarInfo.offset_data) */
  dataOffset: number;
  /** the data can be read as a file (regular, contiguous, sparse, unknown types: tarfile extracts those as files) */
  hasContent: boolean;
  dialect: TarDialect;
  /** pax records applied to this member (global ones included) */
  pax?: Record<string, string>;
  /** the member was named by a GNU long-name header */
  gnuLongName?: boolean;
  /**
   * tarfile (and so torch.load) never lists this member: it follows the end marker, a lone zero block
   * or a damaged header. Other readers (`tar -i`, libarchive after a resync) may still extract it.
   */
  hidden?: 'after-end' | 'after-zero-block' | 'after-damage';
}

export type TarAnomalyCode =
  | 'bad-checksum'
  | 'bad-header'
  | 'truncated-header'
  | 'data-out-of-bounds'
  | 'no-end-marker'
  | 'lone-zero-block'
  | 'data-after-end'
  | 'trailing-data'
  | 'extended-header-too-large'
  | 'bad-pax-header'
  | 'orphan-extended-header'
  | 'size-on-special'
  | 'too-many-entries'
  | 'resync-limit';

export interface TarAnomaly {
  code: TarAnomalyCode;
  /** offset in the archive */
  offset: number;
  message: string;
  entry?: string;
}

export interface TarArchive {
  size: number;
  entries: TarEntry[];
  anomalies: TarAnomaly[];
  /** dialect of the first member header (pax when pax headers are used) */
  dialect: TarDialect | 'pax' | null;
  /** offset of the end-of-archive marker (two zero blocks), or null when there is none */
  endOffset: number | null;
}

export interface ReadTarOptions {
  signal?: AbortSignal;
  maxEntries?: number;
}

const REGULAR = new Set(['0', '\0', '7', 'S']);
const SUPPORTED = new Set(['0', '\0', '7', 'S', '1', '2', '3', '4', '5', '6', 'L', 'K']);
const KIND: Record<string, TarEntryKind> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char-device', '4': 'block-device', '5': 'directory', '6': 'fifo', S: 'sparse' };
const GNU_TYPES = new Set(['L', 'K', 'S']);

const utf8 = new TextDecoder('utf-8');

/** A NUL-terminated string field (tarfile's nts), decoded as UTF-8 with replacement. */
export function fieldString(block: Uint8Array, start: number, length: number): string {
  const f = block.subarray(start, start + length);
  const nul = f.indexOf(0);
  return utf8.decode(nul < 0 ? f : f.subarray(0, nul));
}

/**
 * A number field (tarfile's nti): octal ASCII up to the first NUL, spaces trimmed, empty meaning 0; or
 * GNU base-256 (first byte 0x80 positive, 0xff negative, big-endian after it). null when it is neither,
 * or too large to be an exact JavaScript number.
 */
export function fieldNumber(block: Uint8Array, start: number, length: number): number | null {
  const f = block.subarray(start, start + length);
  if (f[0] === 0x80 || f[0] === 0xff) {
    let n = 0n;
    for (let i = 1; i < f.length; i++) n = (n << 8n) | BigInt(f[i]);
    if (f[0] === 0xff) n -= 1n << BigInt(8 * (f.length - 1));
    return n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
  }
  const nul = f.indexOf(0);
  const text = String.fromCharCode(...(nul < 0 ? f : f.subarray(0, nul))).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  const n = parseInt(text, 8);
  return Number.isSafeInteger(n) ? n : null;
}

/** The two checksums tarfile accepts: the byte sum with the checksum field as spaces, unsigned and signed. */
export function headerChecksums(block: Uint8Array): [number, number] {
  let u = 256;
  let s = 256;
  for (let i = 0; i < TAR_BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    const b = block[i];
    u += b;
    s += b > 127 ? b - 256 : b;
  }
  return [u, s];
}

export function checksumOk(block: Uint8Array): boolean {
  const stored = fieldNumber(block, 148, 8);
  if (stored === null) return false;
  const [u, s] = headerChecksums(block);
  return stored === u || stored === s;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function dialectOf(block: Uint8Array): TarDialect {
  const m = String.fromCharCode(...block.subarray(257, 265));
  if (m === 'ustar  \0') return 'gnu';
  if (m.startsWith('ustar')) return 'ustar';
  return 'v7';
}

/**
 * Content check: `ustar` magic at 257 (POSIX and GNU), or an old v7 header: a valid checksum, a
 * printable name and a v7 type flag.
 */
export function sniffTar(head: Uint8Array): boolean {
  if (head.length < TAR_BLOCK) return false;
  if (head[257] === 0x75 && head[258] === 0x73 && head[259] === 0x74 && head[260] === 0x61 && head[261] === 0x72) return true;
  if (head[0] === 0 || !checksumOk(head)) return false;
  for (let i = 0; i < 100 && head[i] !== 0; i++) if (head[i] < 0x20 || head[i] === 0x7f) return false;
  const t = head[156];
  return t === 0 || (t >= 0x30 && t <= 0x37);
}

/** pax records `"%d %s=%s\n"`; null when the framing is broken (tarfile then stops reading). */
export function parsePaxRecords(data: Uint8Array): Record<string, string> | null {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    let sp = pos;
    while (sp < data.length && sp - pos < 20 && data[sp] >= 0x30 && data[sp] <= 0x39) sp++;
    if (sp === pos || data[sp] !== 0x20) return null;
    const length = parseInt(String.fromCharCode(...data.subarray(pos, sp)), 10);
    if (!Number.isSafeInteger(length) || length < 5 || pos + length > data.length || data[pos + length - 1] !== 0x0a) return null;
    const kv = data.subarray(sp + 1, pos + length - 1);
    const eq = kv.indexOf(0x3d);
    if (eq <= 0) return null;
    out[utf8.decode(kv.subarray(0, eq))] = utf8.decode(kv.subarray(eq + 1));
    pos += length;
  }
  return out;
}

/** Windowed block reads: headers are walked without one read call per 512 bytes. */
class BlockReader {
  private win: Uint8Array = new Uint8Array(0);
  private winStart = 0;
  constructor(
    private readonly source: ByteSource,
    private readonly signal?: AbortSignal,
  ) {}
  async block(offset: number): Promise<Uint8Array> {
    if (offset < this.winStart || offset + TAR_BLOCK > this.winStart + this.win.length) {
      throwIfAborted(this.signal);
      this.win = await this.source.read(offset, Math.max(TAR_READ_WINDOW, TAR_BLOCK), this.signal);
      this.winStart = offset;
    }
    return this.win.subarray(offset - this.winStart, Math.min(this.win.length, offset - this.winStart + TAR_BLOCK));
  }
}

const roundUp = (n: number) => Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;

/**
 * Walks every header of a tar. Throws only on abort; every oddity is an anomaly, and a member whose
 * data runs past the end is still listed (its readable part can be scanned).
 */
export async function readTar(source: ByteSource, options: ReadTarOptions = {}): Promise<TarArchive> {
  const { signal } = options;
  const maxEntries = options.maxEntries ?? ZIP_MAX_ENTRIES;
  const size = source.size;
  const reader = new BlockReader(source, signal);
  const entries: TarEntry[] = [];
  const anomalies: TarAnomaly[] = [];
  const add = (code: TarAnomalyCode, offset: number, message: string, entry?: string) => anomalies.push({ code, offset, message, ...(entry !== undefined ? { entry } : {}) });

  let globalPax: Record<string, string> = {};
  let pending: { offset: number; longName?: string; longLink?: string; pax?: Record<string, string> } | null = null;
  let usedPax = false;
  let dialect: TarDialect | null = null;
  let endOffset: number | null = null;
  let hidden: TarEntry['hidden'];
  /** searching for a valid header after damage or after the end marker, and since where */
  let searching: { from: number; reason: 'damage' | 'end' } | null = null;
  let zeroRun = 0;
  let pos = 0;

  /** a damaged header: record it and look for the next valid one */
  const damaged = (code: TarAnomalyCode, at: number, message: string) => {
    add(code, at, message);
    if (pending) {
      add('orphan-extended-header', pending.offset, `the extended header at byte ${pending.offset} is followed by a damaged header, not by the member it describes`);
      pending = null;
    }
    hidden = 'after-damage';
    searching = { from: at + TAR_BLOCK, reason: 'damage' };
  };

  while (pos + TAR_BLOCK <= size) {
    const block = await reader.block(pos);
    if (block.length < TAR_BLOCK) break;
    if (isZeroBlock(block)) {
      if (pending) {
        add('orphan-extended-header', pending.offset, `the extended header at byte ${pending.offset} is followed by a zero block, not by the member it describes`);
        pending = null;
      }
      zeroRun++;
      // two zero blocks end the archive (also while resyncing after damage: the damaged member's end)
      if (zeroRun === 2 && endOffset === null && (!searching || (searching as { reason: string }).reason === 'damage')) {
        endOffset = pos - TAR_BLOCK;
        searching = { from: pos + TAR_BLOCK, reason: 'end' };
      }
      pos += TAR_BLOCK;
      if (searching && pos - (searching as { from: number }).from > TAR_MAX_RESYNC_BYTES) break;
      continue;
    }
    const lone = zeroRun === 1 && endOffset === null && !searching;
    zeroRun = 0;
    if (searching) {
      const s = searching as { from: number; reason: 'damage' | 'end' };
      if (!checksumOk(block)) {
        if (s.reason === 'end' && !anomalies.some((a) => a.code === 'trailing-data')) {
          add('trailing-data', pos, `non-zero bytes at ${pos}, after the end-of-archive marker at byte ${endOffset}, that are not a tar header`);
        }
        pos += TAR_BLOCK;
        if (pos - s.from > TAR_MAX_RESYNC_BYTES) {
          add('resync-limit', pos, `no valid header in the ${TAR_MAX_RESYNC_BYTES} bytes searched after byte ${s.from}; the rest of the file was not examined`);
          break;
        }
        continue;
      }
      if (s.reason === 'end') {
        add('data-after-end', pos, `a valid tar header at byte ${pos}, after the end-of-archive marker at byte ${endOffset}`);
        hidden = 'after-end';
      }
      searching = null;
    } else if (lone) {
      add('lone-zero-block', pos - TAR_BLOCK, `a single zero block at byte ${pos - TAR_BLOCK} is followed by more headers; tarfile stops reading at the zero block`);
      hidden = hidden ?? 'after-zero-block';
    }

    if (!checksumOk(block)) {
      damaged('bad-checksum', pos, `the header at byte ${pos} fails its checksum (stored ${fieldNumber(block, 148, 8) ?? 'unreadable'}, computed ${headerChecksums(block)[0]})`);
      pos += TAR_BLOCK;
      continue;
    }
    const typeflag = String.fromCharCode(block[156]);
    const headerSize = fieldNumber(block, 124, 12);
    const numbersOk = [100, 108, 116, 136, 329, 337].every((o) => fieldNumber(block, o, 8 + (o === 136 ? 4 : 0)) !== null);
    if (headerSize === null || headerSize < 0 || !numbersOk) {
      damaged('bad-header', pos, `the header at byte ${pos} has a number field that is neither octal nor base-256${headerSize === null ? ' (its size)' : headerSize < 0 ? ' (a negative size)' : ''}`);
      pos += TAR_BLOCK;
      continue;
    }
    const here = dialectOf(block);
    dialect = dialect ?? here;
    const dataStart = pos + TAR_BLOCK;

    // ---- extended headers: GNU long name / long link, pax extended / global ----
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g' || typeflag === 'X') {
      if (headerSize > TAR_MAX_EXTENDED_HEADER) {
        add('extended-header-too-large', pos, `the ${typeflag === 'L' || typeflag === 'K' ? 'GNU long-name' : 'pax'} header at byte ${pos} declares ${headerSize} bytes, over the ${TAR_MAX_EXTENDED_HEADER}-byte limit; it was skipped`);
        pos = dataStart + roundUp(headerSize);
        continue;
      }
      if (dataStart + headerSize > size) {
        add('data-out-of-bounds', pos, `the extended header at byte ${pos} declares ${headerSize} bytes but the file ends at byte ${size}`);
        pos = size;
        break;
      }
      const data = await source.read(dataStart, headerSize, signal);
      pending = pending ?? { offset: pos };
      if (typeflag === 'L' || typeflag === 'K') {
        const nul = data.indexOf(0);
        const s = utf8.decode(nul < 0 ? data : data.subarray(0, nul));
        if (typeflag === 'L') pending.longName = s;
        else pending.longLink = s;
      } else {
        usedPax = true;
        const records = parsePaxRecords(data);
        if (records === null) {
          add('bad-pax-header', pos, `the pax header at byte ${pos} is not a list of "length key=value" records; tarfile refuses it and stops`);
          hidden = hidden ?? 'after-damage';
        } else if (typeflag === 'g') {
          globalPax = { ...globalPax, ...records };
          if (!pending.longName && !pending.longLink && !pending.pax) pending = null;
        } else {
          pending.pax = { ...(pending.pax ?? {}), ...records };
        }
      }
      pos = dataStart + roundUp(headerSize);
      continue;
    }

    // ---- a member ----
    let name = fieldString(block, 0, 100);
    let linkName = fieldString(block, 157, 100);
    const prefix = fieldString(block, 345, 155);
    let kind: TarEntryKind = KIND[typeflag] ?? 'other';
    if (typeflag === '\0' && name.endsWith('/')) kind = 'directory';
    if (kind === 'directory') name = name.replace(/\/+$/, '');
    if (prefix && !GNU_TYPES.has(typeflag)) name = `${prefix}/${name}`;
    const pax = { ...globalPax, ...(pending?.pax ?? {}) };
    if (pending?.longName !== undefined) name = kind === 'directory' ? pending.longName.replace(/\/$/, '') : pending.longName;
    if (pending?.longLink !== undefined) linkName = pending.longLink;
    if (pax.path !== undefined) name = pax.path;
    if (pax.linkpath !== undefined) linkName = pax.linkpath;
    let size_ = headerSize;
    if (pax.size !== undefined) {
      size_ = /^\d+$/.test(pax.size) && Number.isSafeInteger(Number(pax.size)) ? Number(pax.size) : 0;
      if (!/^\d+$/.test(pax.size) || !Number.isSafeInteger(Number(pax.size))) add('bad-pax-header', pending?.offset ?? pos, `the pax size "${pax.size.slice(0, 40)}" of "${name}" is not a usable decimal number`, name);
    }
    // old GNU sparse members carry extension blocks between the header and the data
    let dataOffset = dataStart;
    if (typeflag === 'S' && block[482] !== 0) {
      for (let ext = 0; dataOffset + TAR_BLOCK <= size && ext < 1_000_000; ext++) {
        const b = await reader.block(dataOffset);
        dataOffset += TAR_BLOCK;
        if (b[504] === 0) break;
      }
    }
    const isReg = REGULAR.has(typeflag) && kind !== 'directory';
    const skipsData = isReg || !SUPPORTED.has(typeflag);
    if (!skipsData && size_ > 0) {
      add('size-on-special', pos, `the ${kind} member "${name}" at byte ${pos} declares ${size_} bytes of data; tarfile reads the next header right after it, other readers skip the data first`, name);
    }
    const entry: TarEntry = {
      name,
      linkName,
      typeflag,
      kind,
      mode: fieldNumber(block, 100, 8) ?? 0,
      size: skipsData ? size_ : 0,
      offset: pending?.offset ?? pos,
      headerOffset: pos,
      dataOffset,
      hasContent: skipsData,
      dialect: here,
      ...(Object.keys(pax).length ? { pax } : {}),
      ...(pending?.longName !== undefined ? { gnuLongName: true } : {}),
      ...(hidden ? { hidden } : {}),
    };
    pending = null;
    if (entries.length >= maxEntries) {
      add('too-many-entries', pos, `more than ${maxEntries} members; the rest were not read`);
      break;
    }
    entries.push(entry);
    if (skipsData && dataOffset + size_ > size) {
      add('data-out-of-bounds', pos, `member "${name}" declares ${size_} bytes of data at byte ${dataOffset} but the file ends at byte ${size}`, name);
      pos = size;
      break;
    }
    pos = skipsData ? dataOffset + roundUp(size_) : dataOffset;
  }

  if (pending) add('orphan-extended-header', (pending as { offset: number }).offset, `the extended header at byte ${(pending as { offset: number }).offset} is not followed by the member it describes`);
  const cut = anomalies.some((a) => a.code === 'data-out-of-bounds' || a.code === 'too-many-entries' || a.code === 'resync-limit');
  if (!cut && pos < size && size - pos < TAR_BLOCK) {
    const rest = await source.read(pos, size - pos, signal);
    if (!isZeroBlock(rest)) {
      if (endOffset !== null) add('trailing-data', pos, `${size - pos} bytes at ${pos}, after the end-of-archive marker at byte ${endOffset}, that are not a tar header`);
      else add('truncated-header', pos, `the file ends ${size - pos} bytes into a header at byte ${pos}`);
    }
  }
  if (endOffset === null && !cut) add('no-end-marker', Math.min(pos, size), `the archive has no end-of-archive marker (two zero blocks)`);
  return { size, entries, anomalies, dialect: usedPax ? 'pax' : dialect, endOffset };
}

/** A ranged view of a member's data (clamped to the end of the archive for a truncated member). */
export function tarMemberSource(source: ByteSource, entry: TarEntry): ByteSource {
  return new SliceSource(source, entry.dataOffset, entry.hasContent ? entry.size : 0, `${source.name}/${entry.name}`);
}
