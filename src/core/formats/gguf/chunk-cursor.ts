import { ByteReader } from '../../io/byte-reader';
import type { ByteSource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';

/**
 * A forward-only cursor that streams a header through ranged reads: it keeps a window of the file in
 * memory, refills it in `chunk`-sized reads when a value needs more bytes, and stops at `cap` bytes so
 * a header that claims a huge vocabulary is read with bounded memory. Values are read synchronously
 * from the window through a ByteReader (bounds-checked, absolute offsets); callers `await ensure(n)`
 * first, which resolves at once when the bytes are already there.
 */
export class ChunkCursor {
  private buf = new Uint8Array(0);
  /** absolute offset of buf[0] */
  private bufStart = 0;
  private at = 0;

  constructor(
    readonly source: ByteSource,
    readonly format: string,
    readonly chunk: number,
    readonly cap: number,
    readonly signal?: AbortSignal,
  ) {}

  /** Absolute file offset of the cursor. */
  get position(): number {
    return this.bufStart + this.at;
  }
  /** Bytes left in the file after the cursor. */
  get fileRemaining(): number {
    return this.source.size - this.position;
  }
  /** Bytes buffered after the cursor. */
  get buffered(): number {
    return this.buf.length - this.at;
  }

  has(n: number): boolean {
    return this.buf.length - this.at >= n;
  }

  /** Makes sure `n` bytes after the cursor are in memory; throws `truncated` / `header-too-large`. */
  async ensure(n: number, what = 'value'): Promise<void> {
    if (this.has(n)) return;
    const pos = this.position;
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > this.source.size) {
      throw new ParseError(this.format, 'truncated', pos, `${what} of ${n} bytes at byte ${pos} runs past the end of the ${this.source.size}-byte file`);
    }
    if (pos + n > this.cap) {
      throw new ParseError(this.format, 'header-too-large', pos, `${what} at byte ${pos} would take the header past the ${this.cap}-byte limit`);
    }
    const keep = this.buf.subarray(this.at);
    const want = Math.min(this.source.size, Math.max(pos + n, this.bufStart + this.buf.length + this.chunk), this.cap) - (pos + keep.length);
    const more = await this.source.read(pos + keep.length, want, this.signal);
    const next = new Uint8Array(keep.length + more.length);
    next.set(keep, 0);
    next.set(more, keep.length);
    this.buf = next;
    this.bufStart = pos;
    this.at = 0;
    if (!this.has(n)) throw new ParseError(this.format, 'truncated', pos + this.buffered, `short read at byte ${pos + this.buffered} of "${this.source.name}"`);
  }

  /** A ByteReader over the buffered bytes from the cursor; call `advance(r.index)` when done with it. */
  reader(): ByteReader {
    return new ByteReader(this.buf.subarray(this.at), this.format, this.position);
  }

  advance(n: number): void {
    this.at += n;
  }

  /** Moves forward without keeping the bytes (large strings that are only counted). */
  async skip(n: number, what = 'value'): Promise<void> {
    if (this.has(n)) {
      this.at += n;
      return;
    }
    const target = this.position + n;
    if (!Number.isSafeInteger(n) || n < 0 || target > this.source.size) {
      throw new ParseError(this.format, 'truncated', this.position, `${what} of ${n} bytes at byte ${this.position} runs past the end of the ${this.source.size}-byte file`);
    }
    if (target > this.cap) throw new ParseError(this.format, 'header-too-large', this.position, `${what} at byte ${this.position} would take the header past the ${this.cap}-byte limit`);
    this.buf = new Uint8Array(0);
    this.bufStart = target;
    this.at = 0;
  }
}
