import { DER_MAX_DEPTH } from '../io/limits';

export type DerErrorCode = 'truncated' | 'bad-length' | 'bad-tag' | 'too-deep' | 'unexpected';

/** A DER value that is not what X.509 / ECDSA expects. `offset` is the byte offset in the DER input. */
export class DerError extends Error {
  constructor(
    readonly code: DerErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(`der: ${message} at byte ${offset}`);
    this.name = 'DerError';
  }
}

/** One TLV. `content` is a view into the input; `end` is the offset after the value. */
export interface DerNode {
  /** the identifier octet (class, constructed bit, tag number < 31) */
  tag: number;
  constructed: boolean;
  start: number;
  contentStart: number;
  end: number;
  content: Uint8Array;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * Reads the TLV at `offset` of `bytes` (which may be a sub-view). Definite lengths only (DER), at most 4
 * length octets, and the value must end inside `limit`: every read is checked before it happens.
 */
export function readDer(bytes: Uint8Array, offset = 0, limit = bytes.length): DerNode {
  if (offset + 2 > limit) throw new DerError('truncated', offset, 'a DER value needs at least 2 bytes');
  const tag = bytes[offset];
  // High tag numbers (0x1f) never appear in the structures we read.
  if ((tag & 0x1f) === 0x1f) throw new DerError('bad-tag', offset, `multi-byte tag 0x${tag.toString(16)} is not supported`);
  let p = offset + 1;
  let len = bytes[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('bad-length', offset + 1, 'indefinite length is not DER');
    if (n > 4) throw new DerError('bad-length', offset + 1, `${n} length octets`);
    if (p + n > limit) throw new DerError('truncated', p, 'length octets run past the end');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[p++];
  }
  if (p + len > limit) throw new DerError('truncated', p, `value of ${len} bytes runs past byte ${limit}`);
  return { tag, constructed: (tag & 0x20) !== 0, start: offset, contentStart: p, end: p + len, content: bytes.subarray(p, p + len) };
}

/** The children of a constructed value, in order. */
export function derChildren(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerError('unexpected', node.start, `tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let p = 0;
  while (p < node.content.length) {
    const child = readDer(node.content, p);
    out.push(shift(child, node.contentStart));
    p = child.end;
  }
  return out;
}

/** Re-bases a node read from a sub-view so offsets stay absolute in the outer input. */
function shift(n: DerNode, by: number): DerNode {
  return { ...n, start: n.start + by, contentStart: n.contentStart + by, end: n.end + by };
}

export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) throw new DerError('unexpected', node.start, `${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

/** Reads a whole DER document: exactly one value, nothing after it. */
export function readDerDocument(bytes: Uint8Array): DerNode {
  const n = readDer(bytes, 0);
  if (n.end !== bytes.length) throw new DerError('bad-length', n.end, `${bytes.length - n.end} bytes after the DER value`);
  return n;
}

export function decodeOid(node: DerNode): string {
  expectTag(node, TAG.OID, 'object identifier');
  const c = node.content;
  if (c.length === 0 || c.length > 64) throw new DerError('bad-length', node.start, `object identifier of ${c.length} bytes`);
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    v = v * 128 + (c[i] & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DerError('bad-length', node.contentStart + i, 'object identifier arc too large');
    if (!(c[i] & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  if (c[c.length - 1] & 0x80) throw new DerError('truncated', node.end, 'object identifier ends mid-arc');
  return parts.join('.');
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Any of the ASN.1 string types X.509 names use, decoded for display. */
export function decodeString(node: DerNode): string {
  switch (node.tag) {
    case TAG.UTF8_STRING:
      return utf8.decode(node.content);
    case TAG.BMP_STRING: {
      let s = '';
      for (let i = 0; i + 1 < node.content.length; i += 2) s += String.fromCharCode((node.content[i] << 8) | node.content[i + 1]);
      return s;
    }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
    case 0x1a: // VisibleString
    case 0x1c: // UniversalString (rare): shown as bytes
    // Context-specific primitive values (GeneralName rfc822Name [1], dNSName [2], URI [6]) are IA5String.
    case 0x81:
    case 0x82:
    case 0x86:
      return latin1.decode(node.content);
    default:
      throw new DerError('unexpected', node.start, `tag 0x${node.tag.toString(16)} is not a string`);
  }
}

/** UTCTime / GeneralizedTime → ISO 8601 (UTC). */
export function decodeTime(node: DerNode): string {
  const s = latin1.decode(node.content);
  let m: RegExpExecArray | null;
  if (node.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    // RFC 5280 §4.1.2.5.1: YY ≥ 50 is 19YY, else 20YY
    return `${yy >= 50 ? 1900 + yy : 2000 + yy}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  }
  if (node.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  }
  throw new DerError('unexpected', node.start, `bad time value "${s.slice(0, 40)}"`);
}

/** Positive INTEGER content → fixed-size big-endian bytes (drops DER's sign octet, left-pads). */
export function integerToFixed(node: DerNode, size: number): Uint8Array {
  expectTag(node, TAG.INTEGER, 'integer');
  let c = node.content;
  if (c.length === 0) throw new DerError('bad-length', node.start, 'empty integer');
  if (c[0] & 0x80) throw new DerError('unexpected', node.contentStart, 'negative integer');
  while (c.length > 1 && c[0] === 0) c = c.subarray(1);
  if (c.length > size) throw new DerError('bad-length', node.start, `integer of ${c.length} bytes does not fit ${size}`);
  const out = new Uint8Array(size);
  out.set(c, size - c.length);
  return out;
}

/** Walks every node depth-first up to DER_MAX_DEPTH (used to bound hostile certificates). */
export function checkDepth(node: DerNode, depth = 0): void {
  if (depth > DER_MAX_DEPTH) throw new DerError('too-deep', node.start, `nesting deeper than ${DER_MAX_DEPTH}`);
  if (node.constructed) for (const c of derChildren(node)) checkDepth(c, depth + 1);
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
