import { ParseError } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/**
 * A synchronous, bounds-checked cursor over bytes that were read from `base` in a file. Every read
 * checks bounds first and throws a ParseError at the absolute file offset; nothing silently returns 0.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly base: number;
  readonly format: string;
  private at = 0;

  constructor(bytes: Uint8Array, format: string, base = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.base = base;
    this.format = format;
  }

  /** Absolute file offset of the cursor. */
  get position(): number {
    return this.base + this.at;
  }
  /** Cursor relative to the start of `bytes`. */
  get index(): number {
    return this.at;
  }
  get remaining(): number {
    return this.bytes.length - this.at;
  }
  get length(): number {
    return this.bytes.length;
  }

  seek(index: number): void {
    if (index < 0 || index > this.bytes.length) this.fail('out-of-bounds', index, `seek to ${this.base + index} outside ${this.base}..${this.base + this.bytes.length}`);
    this.at = index;
  }

  need(n: number, what = 'value'): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.bytes.length - this.at) {
      this.fail('truncated', this.at, `${what} of ${n} bytes at byte ${this.position} runs past the end (${this.remaining} left)`);
    }
  }

  fail(code: string, index: number, message: string): never {
    throw new ParseError(this.format, code, this.base + index, message);
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.at += n;
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.at++];
  }
  i8(): number {
    this.need(1);
    return this.view.getInt8(this.at++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u16be(): number {
    this.need(2);
    const v = this.view.getUint16(this.at, false);
    this.at += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.at, true);
    this.at += 8;
    return v;
  }
  /** A u64 that must fit in a safe integer (lengths, offsets, counts); larger values are a ParseError. */
  u64Safe(what = 'u64'): number {
    const at = this.at;
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('too-large', at, `${what} ${v} at byte ${this.base + at} exceeds 2^53`);
    return Number(v);
  }
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.at, true);
    this.at += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  /** A view (not a copy) of the next n bytes. */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  utf8(n: number, what = 'string'): string {
    const at = this.at;
    const b = this.take(n, what);
    try {
      return utf8.decode(b);
    } catch {
      this.fail('bad-utf8', at, `${what} at byte ${this.base + at} is not valid UTF-8`);
    }
  }
  latin1(n: number, what = 'string'): string {
    return latin1.decode(this.take(n, what));
  }
}

export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
