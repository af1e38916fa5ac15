import { Gunzip } from 'fflate';
import { MemorySource, type ByteSource } from '../../io/byte-source';
import { throwIfAborted } from '../../io/errors';
import { GZIP_MAX_MEMBERS_CHECKED, GZIP_MAX_OUTPUT_BYTES, GZIP_PUSH_BYTES } from '../../io/limits';
import { crc32Update } from '../zip/crc32';

/** RFC 1952 header flags. */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

export interface GzipHeader {
  /** CM: 8 (deflate) is the only method defined */
  method: number;
  flags: number;
  /** MTIME, seconds since the epoch (0: none) */
  mtime: number;
  /** OS byte (3 Unix, 0 FAT, 11 NTFS, 255 unknown) */
  os: number;
  /** FNAME: the original file name, as gzip stored it */
  name?: string;
  comment?: string;
  /** bytes before the deflate data */
  length: number;
}

const latin1 = new TextDecoder('latin1');

/** The gzip magic and a deflate method byte: what a content sniff needs. */
export function sniffGzip(head: Uint8Array): boolean {
  return head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Parses the member header at the start of `bytes`; a string says what is wrong with it. */
export function parseGzipHeader(bytes: Uint8Array): GzipHeader | string {
  if (bytes.length < 10) return `the file ends inside the 10-byte gzip header (${bytes.length} bytes)`;
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return 'no gzip magic (1f 8b)';
  const method = bytes[2];
  if (method !== 8) return `compression method ${method}; gzip defines only 8 (deflate)`;
  const flags = bytes[3];
  const mtime = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
  const header: GzipHeader = { method, flags, mtime, os: bytes[9], length: 10 };
  let at = 10;
  if (flags & FEXTRA) {
    if (at + 2 > bytes.length) return 'the header ends inside its extra-field length';
    at += 2 + (bytes[at] | (bytes[at + 1] << 8));
  }
  const zstring = (): string | null => {
    const end = bytes.indexOf(0, at);
    if (end < 0) return null;
    const s = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return s.length > 4096 ? `${s.slice(0, 4096)}…` : s;
  };
  if (flags & FNAME) {
    const s = zstring();
    if (s === null) return 'the original file name in the header has no terminating NUL within the bytes read';
    header.name = s;
  }
  if (flags & FCOMMENT) {
    const s = zstring();
    if (s === null) return 'the header comment has no terminating NUL within the bytes read';
    header.comment = s;
  }
  if (flags & FHCRC) at += 2;
  if (at > bytes.length) return 'the header runs past the bytes read';
  header.length = at;
  return header;
}

/**
 * Bytes held as the inflater produced them (a list of chunks), read by range without joining them
 * into one buffer: a capped bomb's 256 MB is never copied a second time.
 */
export class ChunkedSource implements ByteSource {
  readonly size: number;
  private readonly starts: number[] = [];
  constructor(
    private readonly chunks: readonly Uint8Array[],
    readonly name: string,
  ) {
    let at = 0;
    for (const c of chunks) {
      this.starts.push(at);
      at += c.length;
    }
    this.size = at;
  }
  private indexOf(offset: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    if (end === start) return new Uint8Array(0);
    let i = this.indexOf(start);
    const first = this.chunks[i];
    const s0 = start - this.starts[i];
    if (end - this.starts[i] <= first.length) return first.subarray(s0, end - this.starts[i]);
    const out = new Uint8Array(end - start);
    let at = 0;
    while (at < out.length) {
      const c = this.chunks[i];
      const from = start + at - this.starts[i];
      const n = Math.min(c.length - from, out.length - at);
      out.set(c.subarray(from, from + n), at);
      at += n;
      i++;
    }
    return out;
  }
}

export interface GzipTrailerCheck {
  /** member index (0-based) */
  member: number;
  /** offset of the 8-byte trailer in the compressed file */
  offset: number;
  crcOk: boolean;
  sizeOk: boolean;
  crc: number;
  expectedCrc: number;
  size: number;
  expectedSize: number;
}

export interface GunzipResult {
  /** the decompressed bytes (possibly cut at the cap or at an error) */
  output: ByteSource;
  /** output stopped at `maxBytes`: the rest was never inflated */
  capped: boolean;
  /** compressed bytes consumed */
  inputRead: number;
  /** gzip members started */
  members: number;
  /** the stream could not be read to its end */
  error?: { kind: 'corrupt' | 'truncated' | 'trailing-data'; message: string; /** the damage lies in the compressed bytes [offset, end) (the piece being inflated) */ offset: number; end: number };
  /** CRC-32 / ISIZE trailers of the members that were read whole (up to GZIP_MAX_MEMBERS_CHECKED) */
  trailers: GzipTrailerCheck[];
}

export interface GunzipOptions {
  /** largest output kept (at most GZIP_MAX_OUTPUT_BYTES); inflation stops once it is reached */
  maxBytes?: number;
  signal?: AbortSignal;
  /** size of each read from the source (default 1 MiB) */
  readChunk?: number;
}

/**
 * Inflates a gzip stream (single or multi-member) through fflate's streaming Gunzip, reading the
 * source by range and pushing GZIP_PUSH_BYTES at a time, so that one push can inflate to at most
 * ~1032× that and the output cap bounds memory for any expansion ratio. A corrupt or truncated stream
 * is reported in `error` with everything inflated before it kept. Only an abort throws.
 */
export async function gunzipCapped(source: ByteSource, options: GunzipOptions = {}): Promise<GunzipResult> {
  const maxBytes = Math.max(0, Math.min(options.maxBytes ?? GZIP_MAX_OUTPUT_BYTES, GZIP_MAX_OUTPUT_BYTES));
  const { signal } = options;
  const readChunk = options.readChunk ?? 1024 * 1024;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let capped = false;
  // per-member CRC and size, closed when the next member starts or the stream ends
  let crc = 0;
  let memberSize = 0;
  let members = 1;
  const finished: { member: number; trailerAt: number; crc: number; size: number }[] = [];
  const g = new Gunzip((chunk) => {
    if (capped || chunk.length === 0) return;
    const room = maxBytes - total;
    const keep = chunk.length > room ? chunk.slice(0, room) : chunk;
    if (chunk.length > room) capped = true;
    if (keep.length) {
      chunks.push(keep);
      total += keep.length;
      crc = crc32Update(crc, keep);
      memberSize += keep.length;
    }
  });
  g.onmember = (offset: number) => {
    if (!capped && finished.length < GZIP_MAX_MEMBERS_CHECKED) finished.push({ member: members - 1, trailerAt: offset - 8, crc, size: memberSize });
    crc = 0;
    memberSize = 0;
    members++;
  };
  let pos = 0;
  let consumed = 0;
  let error: GunzipResult['error'];
  while (pos < source.size && !capped && !error) {
    throwIfAborted(signal);
    const data = await source.read(pos, Math.min(readChunk, source.size - pos), signal);
    if (data.length === 0) break;
    for (let i = 0; i < data.length && !capped; i += GZIP_PUSH_BYTES) {
      const piece = data.subarray(i, Math.min(data.length, i + GZIP_PUSH_BYTES));
      consumed = pos + i + piece.length;
      try {
        g.push(piece, consumed >= source.size);
      } catch (e) {
        // fflate error codes: 0 the data ended mid-stream, 6 a (next) member header is not gzip
        const code = (e as { code?: number }).code;
        const message = e instanceof Error ? e.message : String(e);
        error = { kind: code === 0 ? 'truncated' : code === 6 ? 'trailing-data' : 'corrupt', message, offset: pos + i, end: consumed };
        break;
      }
    }
    pos += data.length;
  }
  // The last member's trailer ends the file when the whole stream was read. (After trailing garbage
  // fflate does not say where the garbage starts, so that member's trailer is not located.)
  if (!capped && !error && finished.length < GZIP_MAX_MEMBERS_CHECKED) finished.push({ member: members - 1, trailerAt: source.size - 8, crc, size: memberSize });
  const trailers: GzipTrailerCheck[] = [];
  for (const f of finished) {
    if (f.trailerAt < 0) continue;
    const t = await source.read(f.trailerAt, 8, signal);
    if (t.length < 8) continue;
    const expectedCrc = (t[0] | (t[1] << 8) | (t[2] << 16) | (t[3] << 24)) >>> 0;
    const expectedSize = (t[4] | (t[5] << 8) | (t[6] << 16) | (t[7] << 24)) >>> 0;
    const size = f.size % 2 ** 32;
    trailers.push({ member: f.member, offset: f.trailerAt, crcOk: expectedCrc === f.crc, sizeOk: expectedSize === size, crc: f.crc, expectedCrc, size, expectedSize });
  }
  const output = chunks.length === 1 ? new MemorySource(chunks[0], `${source.name} (decompressed)`) : new ChunkedSource(chunks, `${source.name} (decompressed)`);
  return { output, capped, inputRead: consumed, members, error, trailers };
}
