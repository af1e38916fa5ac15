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
  /**
   * Optional: reads from `offset` into `target` (up to its length, clamped to the end of the file) and
   * resolves to the bytes read. Sources that can fill a caller's buffer (a Node file handle) let the
   * streaming pass reuse its buffers instead of allocating and page-faulting a fresh one per chunk.
   */
  readInto?(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<number>;
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

/**
 * Iterates a source in chunks (the streaming pass shared by hashing and statistics), reading one chunk
 * ahead so I/O overlaps with the consumer's work.
 *
 * With `recycle`, a source that has `readInto` is read into two buffers taken in turn: a chunk is then
 * valid only until the loop asks for the next one, unless the consumer transferred its buffer (detached:
 * the loop then allocates a new one). Without it every chunk is a fresh buffer the consumer may keep.
 */
export async function* readChunks(
  source: ByteSource,
  chunkSize: number,
  signal?: AbortSignal,
  start = 0,
  end = source.size,
  recycle = false,
): AsyncGenerator<{ offset: number; bytes: Uint8Array }> {
  const into = recycle ? source.readInto?.bind(source) : undefined;
  const spare: Uint8Array[] = [];
  const read = async (at: number): Promise<Uint8Array> => {
    const length = Math.min(chunkSize, end - at);
    if (!into) return source.read(at, length, signal);
    let buf = spare.pop();
    if (!buf || buf.byteLength === 0) buf = new Uint8Array(chunkSize);
    return buf.subarray(0, await into(at, buf.subarray(0, length), signal));
  };
  let offset = start;
  let pending: Promise<Uint8Array> | null = offset < end ? read(offset) : null;
  while (pending) {
    const bytes = await pending;
    const at = offset;
    offset += bytes.length;
    if (bytes.length === 0) break;
    pending = offset < end ? read(offset) : null;
    throwIfAborted(signal);
    yield { offset: at, bytes };
    // the consumer is done with this chunk; its buffer serves a later read unless it was transferred
    if (into && bytes.buffer.byteLength > 0) spare.push(new Uint8Array(bytes.buffer));
  }
}
