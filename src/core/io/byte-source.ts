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
   * Optional: reads from `offset` into the memory of `target` (up to its length, clamped to the end of
   * the file) and resolves to the bytes read, a view over that memory. The view may belong to a new
   * ArrayBuffer object and `target` be detached (a byte stream's read transfers the buffer it fills).
   * Sources that can fill a caller's buffer let the streaming pass reuse its buffers instead of
   * allocating, and page-faulting, fresh memory for every chunk.
   */
  readInto?(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
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

  /** the byte stream of the last sequential `readInto`, and where it stands */
  private byob: { reader: ReadableStreamBYOBReader; at: number } | null = null;

  /**
   * Sequential reads go through one BYOB reader of `blob.stream()`, which fills the caller's buffer;
   * `slice().arrayBuffer()` hands out fresh memory for every call, and fresh memory is what costs most
   * on a machine where page faults are dear (measured in Chromium: 650 MB/s against 270 MB/s).
   * A read elsewhere than where the stream stands opens a new stream there.
   */
  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const start = Math.max(0, Math.min(offset, this.size));
    const want = Math.min(target.length, this.size - start);
    if (want <= 0) return target.subarray(0, 0);
    if (this.byob?.at !== start) {
      void this.byob?.reader.cancel().catch(() => undefined);
      this.byob = null;
      let reader: ReadableStreamBYOBReader;
      try {
        reader = this.blob.slice(start).stream().getReader({ mode: 'byob' });
      } catch {
        // no byte stream here: a slice, copied in
        const bytes = await this.read(start, want, signal);
        target.set(bytes);
        return target.subarray(0, bytes.length);
      }
      this.byob = { reader, at: start };
    }
    const s = this.byob;
    let view = target.subarray(0, want);
    let got = 0;
    try {
      while (got < want) {
        throwIfAborted(signal);
        const r = await s.reader.read(new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset + got, want - got), { min: want - got });
        if (!r.value) break;
        view = new Uint8Array(r.value.buffer, r.value.byteOffset - got, want);
        got += r.value.length;
        if (r.done) break;
      }
    } catch (e) {
      this.byob = null;
      void s.reader.cancel().catch(() => undefined);
      throw e;
    }
    s.at = start + got;
    return view.subarray(0, got);
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
 * the loop then takes another from `spare`, or allocates one). A consumer that transferred a buffer away
 * may put it back into `spare` when it returns (see chunk-remote.ts): then no read needs fresh memory.
 * Without `recycle` every chunk is a fresh buffer the consumer may keep.
 */
export async function* readChunks(
  source: ByteSource,
  chunkSize: number,
  signal?: AbortSignal,
  start = 0,
  end = source.size,
  recycle = false,
  spare: ArrayBufferLike[] = [],
): AsyncGenerator<{ offset: number; bytes: Uint8Array }> {
  const into = recycle ? source.readInto?.bind(source) : undefined;
  const read = (at: number): Promise<Uint8Array> => {
    const length = Math.min(chunkSize, end - at);
    if (!into) return source.read(at, length, signal);
    let buf = spare.pop();
    if (!buf || buf.byteLength < length) buf = new ArrayBuffer(Math.min(chunkSize, end - start));
    return into(at, new Uint8Array(buf, 0, length), signal);
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
    if (into && bytes.buffer.byteLength > 0) spare.push(bytes.buffer);
  }
}
