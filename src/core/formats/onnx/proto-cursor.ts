import type { ByteSource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';

/** Protobuf wire types (protobuf encoding spec, "Message Structure"). */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const lossy = new TextDecoder('utf-8');
const TWO_53 = 2 ** 53;

/**
 * A forward-only protobuf reader over a ByteSource. It keeps a window of the file in memory and refills
 * it with ranged reads, so a multi-GB ModelProto is walked with bounded memory: `skip` over `raw_data`
 * drops the window instead of reading the bytes. Reads are synchronous once `fill` has buffered the bytes
 * (callers `if (!c.has(n)) await c.fill(n, end)`), so the common case creates no promise per field.
 *
 * @bufbuild/protobuf's BinaryReader needs the whole message in one buffer and reports offsets relative
 * to it; this cursor reports absolute file offsets and never needs more than one field's bytes at once.
 * Every read checks the enclosing message's end: a length that runs past it is a ParseError there.
 */
export class ProtoCursor {
  private buf = new Uint8Array(0);
  /** absolute offset of buf[0] */
  private bufStart = 0;
  private at = 0;

  constructor(
    readonly source: ByteSource,
    readonly format: string,
    readonly chunk: number,
    readonly signal?: AbortSignal,
  ) {}

  /** Absolute file offset of the cursor. */
  get pos(): number {
    return this.bufStart + this.at;
  }

  has(n: number): boolean {
    return this.buf.length - this.at >= n;
  }

  fail(code: string, offset: number, message: string): never {
    throw new ParseError(this.format, code, offset, message);
  }

  /** Buffers `n` bytes after the cursor; they must lie before `end` (the enclosing message's end). */
  async fill(n: number, end: number, what = 'field'): Promise<void> {
    if (this.has(n)) return;
    const pos = this.pos;
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > end) {
      this.fail('truncated', pos, `${what} of ${n} bytes at byte ${pos} runs past byte ${end}, the end of its enclosing message`);
    }
    const keep = this.buf.subarray(this.at);
    const readEnd = Math.min(this.source.size, pos + Math.max(n, this.chunk));
    const more = await this.source.read(pos + keep.length, readEnd - pos - keep.length, this.signal);
    const next = new Uint8Array(keep.length + more.length);
    next.set(keep, 0);
    next.set(more, keep.length);
    this.buf = next;
    this.bufStart = pos;
    this.at = 0;
    if (!this.has(n)) this.fail('truncated', pos + this.buf.length, `${what} at byte ${pos} needs ${n} bytes but "${this.source.name}" ends at byte ${this.source.size}`);
  }

  /** Buffers what a tag plus a varint/fixed value need (at most 20 bytes), clamped to `end`. */
  async fillHead(end: number): Promise<void> {
    const n = Math.min(20, end - this.pos);
    if (!this.has(n)) await this.fill(n, end, 'field header');
  }

  /**
   * A varint as a number when below 2^53, else as a bigint (uint64 bits). Bytes must be buffered.
   * More than 10 bytes, or a varint that crosses `end`, is a ParseError.
   */
  varint(end: number): number | bigint {
    const start = this.pos;
    const limit = Math.min(end - start, this.buf.length - this.at, 10);
    let lo = 0;
    let mul = 1;
    for (let i = 0; i < limit; i++) {
      const b = this.buf[this.at + i];
      if (i < 7) {
        lo += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          this.at += i + 1;
          return lo;
        }
      } else {
        // rare: 8..10-byte varints (negative int64, INT64_MAX in Slice ends) take the bigint path
        let v = 0n;
        for (let j = i; j >= 0; j--) v = (v << 7n) | BigInt(this.buf[this.at + j] & 0x7f);
        if ((b & 0x80) === 0) {
          this.at += i + 1;
          v = BigInt.asUintN(64, v);
          return v < BigInt(TWO_53) ? Number(v) : v;
        }
      }
    }
    if (limit === 10) this.fail('bad-varint', start, `varint at byte ${start} is longer than 10 bytes`);
    this.fail('truncated', start, `varint at byte ${start} runs past byte ${Math.min(end, this.bufStart + this.buf.length)}, the end of its enclosing message`);
  }

  /** A varint that must be a safe non-negative integer (lengths, tags, enum values). */
  uint(end: number, what: string): number {
    const at = this.pos;
    const v = this.varint(end);
    if (typeof v === 'bigint') this.fail('too-large', at, `${what} ${v} at byte ${at} exceeds 2^53`);
    return v;
  }

  /** Bytes of the (buffered) varint at the cursor, without consuming it; 0 when it does not end within 10 buffered bytes. */
  peekVarintSize(): number {
    const limit = Math.min(10, this.buf.length - this.at);
    for (let i = 0; i < limit; i++) if ((this.buf[this.at + i] & 0x80) === 0) return i + 1;
    return 0;
  }

  /** int64 semantics: two's complement; safe values as numbers, others as decimal strings. */
  int64(end: number): number | string {
    const v = this.varint(end);
    if (typeof v === 'number') return v;
    const s = BigInt.asIntN(64, v);
    return s >= -BigInt(Number.MAX_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s.toString();
  }

  /** int32 semantics (enum fields, data_type): the low 32 bits, signed. */
  int32(end: number): number {
    const v = this.varint(end);
    return typeof v === 'number' ? (v > 0xffffffff ? Number(BigInt.asIntN(32, BigInt(v))) : v | 0) : Number(BigInt.asIntN(32, v));
  }

  /** Reads a field tag; field 0 and wire types 3, 4 (groups, unused by ONNX), 6 and 7 are ParseErrors. */
  tag(end: number): { field: number; wire: number; start: number } {
    const start = this.pos;
    const t = this.varint(end);
    if (typeof t === 'bigint' || t > 0xffffffff) this.fail('bad-tag', start, `field tag at byte ${start} is larger than 32 bits`);
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) this.fail('bad-tag', start, `field number 0 at byte ${start} (tag ${t}); protobuf field numbers start at 1`);
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32) {
      this.fail('bad-wire-type', start, `field ${field} at byte ${start} has wire type ${wire}; expected 0, 1, 2 or 5`);
    }
    return { field, wire, start };
  }

  /** The length of a LEN field; its payload must end by `end`. */
  len(end: number, what: string, fieldStart: number): number {
    const n = this.uint(end, `${what} length`);
    if (this.pos + n > end) {
      this.fail('bad-length', fieldStart, `${what} at byte ${fieldStart} claims ${n} bytes, running past byte ${end}, the end of its enclosing message`);
    }
    return n;
  }

  /** A view of the next `n` bytes (buffered on demand; n must be small enough to hold in memory). */
  async bytes(n: number, end: number, what: string): Promise<Uint8Array> {
    if (!this.has(n)) await this.fill(n, end, what);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** A string field decoded leniently (onnx.proto is proto2: strings are not UTF-8-checked), at most `max` bytes kept. */
  async string(n: number, end: number, what: string, max: number): Promise<string> {
    if (n <= max) return lossy.decode(await this.bytes(n, end, what));
    const head = await this.bytes(max, end, what);
    const s = lossy.decode(head);
    await this.skip(n - max, end, what);
    return `${s}… (${n} bytes)`;
  }

  fixed32(end: number): Uint8Array {
    if (this.pos + 4 > end || !this.has(4)) this.fail('truncated', this.pos, `fixed32 at byte ${this.pos} runs past byte ${end}`);
    const v = this.buf.subarray(this.at, this.at + 4);
    this.at += 4;
    return v;
  }

  fixed64(end: number): Uint8Array {
    if (this.pos + 8 > end || !this.has(8)) this.fail('truncated', this.pos, `fixed64 at byte ${this.pos} runs past byte ${end}`);
    const v = this.buf.subarray(this.at, this.at + 8);
    this.at += 8;
    return v;
  }

  /** Moves forward `n` bytes without reading them (raw_data of a 2 GB tensor costs nothing). */
  async skip(n: number, end: number, what = 'field'): Promise<void> {
    const target = this.pos + n;
    if (!Number.isSafeInteger(n) || n < 0 || target > end) this.fail('truncated', this.pos, `${what} of ${n} bytes at byte ${this.pos} runs past byte ${end}`);
    if (this.has(n)) {
      this.at += n;
      return;
    }
    if (target > this.source.size) this.fail('truncated', this.pos, `${what} of ${n} bytes at byte ${this.pos} runs past the end of the ${this.source.size}-byte file`);
    this.buf = new Uint8Array(0);
    this.bufStart = target;
    this.at = 0;
  }

  /** Skips the value of a field of any (valid) wire type whose tag was just read. */
  async skipValue(wire: number, end: number, fieldStart: number, what = 'field'): Promise<void> {
    switch (wire) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_I64:
        return this.skip(8, end, what);
      case WIRE_I32:
        return this.skip(4, end, what);
      default: {
        const n = this.len(end, what, fieldStart);
        return this.skip(n, end, what);
      }
    }
  }
}
