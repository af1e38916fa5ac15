import { ParseError, throwIfAborted } from './errors';

/**
 * Random access to the bytes of one file, read in slices, never whole. `name` is the path relative to
 * the model folder (a single dropped file is just its name).
 */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Reads [offset, offset+length) clamped to the end of the file. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** A File or Blob (dropped, picked, or fetched). */
export class BlobSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly blob: Blob;
  constructor(blob: Blob, name?: string) {
    this.blob = blob;
    this.size = blob.size;
    const fileName = (blob as File).webkitRelativePath || (blob as File).name;
    this.name = name ?? fileName ?? 'blob';
  }
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    const buf = await this.blob.slice(start, end).arrayBuffer();
    return new Uint8Array(buf);
  }
}

/** Bytes already in memory (tests, nested payloads, decompressed zip members). */
export class MemorySource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array, name = 'memory') {
    this.bytes = bytes;
    this.size = bytes.length;
    this.name = name;
  }
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return this.bytes.subarray(start, end);
  }
}

/** A window [start, start+size) of another source (a stored zip member, a tar entry). */
export class SliceSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  constructor(
    readonly parent: ByteSource,
    readonly start: number,
    size: number,
    name?: string,
  ) {
    this.size = Math.max(0, Math.min(size, parent.size - start));
    this.name = name ?? parent.name;
  }
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return this.parent.read(this.start + start, end - start, signal);
  }
}

/** Reads exactly `length` bytes or throws a ParseError naming where the file ended. */
export async function readExact(
  source: ByteSource,
  offset: number,
  length: number,
  format: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > source.size) {
    throw new ParseError(
      format,
      'truncated',
      Math.min(Math.max(offset, 0), source.size),
      `needs bytes ${offset}..${offset + length} but "${source.name}" has ${source.size} bytes`,
    );
  }
  const bytes = await source.read(offset, length, signal);
  if (bytes.length !== length) {
    throw new ParseError(format, 'truncated', offset + bytes.length, `short read at byte ${offset + bytes.length} of "${source.name}"`);
  }
  return bytes;
}

/** Iterates a source in chunks (the streaming pass shared by hashing and statistics). */
export async function* readChunks(
  source: ByteSource,
  chunkSize: number,
  signal?: AbortSignal,
  start = 0,
  end = source.size,
): AsyncGenerator<{ offset: number; bytes: Uint8Array }> {
  let offset = start;
  // Read ahead by one chunk so I/O overlaps with the consumer's work.
  let pending: Promise<Uint8Array> | null = offset < end ? source.read(offset, Math.min(chunkSize, end - offset), signal) : null;
  while (pending) {
    const bytes = await pending;
    const at = offset;
    offset += bytes.length;
    if (bytes.length === 0) break;
    pending = offset < end ? source.read(offset, Math.min(chunkSize, end - offset), signal) : null;
    throwIfAborted(signal);
    yield { offset: at, bytes };
  }
}
