import { decodeUtf8 } from '../../io/byte-reader';
import { ProtoCursor } from '../onnx/proto-cursor';
import type { Finding } from '../../report/finding';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';

const FORMAT = 'sentencepiece';
/** sentencepiece_model.proto: ModelProto fields */
const FIELD_PIECES = 1;
const KNOWN_FIELDS = new Set([1, 2, 3, 4, 5]);
/** A tokenizer has at most a few million pieces; more is not a SentencePiece model. */
const SENTENCEPIECE_MAX_PIECES = 10_000_000;

function varintAt(b: Uint8Array, i: number): { v: number; next: number } | null {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 5 && i + k < b.length; k++) {
    const x = b[i + k];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return { v, next: i + k + 1 };
    mul *= 128;
  }
  return null;
}

/**
 * `tokenizer.model` / `spiece.model` (Llama, T5, Mistral, Gemma ...): a SentencePiece ModelProto, i.e. a
 * protobuf whose first fields are `pieces` messages that start with a short UTF-8 `piece` string. It
 * holds vocabulary and normaliser rules only: nothing in it is executed by loaders.
 */
export function sniffSentencePiece(ctx: SniffContext): boolean {
  const b = ctx.head;
  let at = 0;
  for (let n = 0; n < 2; n++) {
    if (at >= b.length) return n > 0 && at === ctx.size;
    if (b[at] !== ((FIELD_PIECES << 3) | 2)) return false;
    const len = varintAt(b, at + 1);
    if (!len || len.v < 3 || len.v > 4096) return false;
    // inner: field 1 (piece), wire 2, a short valid UTF-8 string
    const inner = len.next;
    if (b[inner] !== 0x0a) return false;
    const sl = varintAt(b, inner + 1);
    if (!sl || sl.v < 1 || sl.v > 256 || sl.next + sl.v > inner + len.v || sl.next + sl.v > b.length) return false;
    if (decodeUtf8(b.subarray(sl.next, sl.next + sl.v)) === null) return false;
    at = len.next + len.v;
  }
  return true;
}

export async function parseSentencePiece(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  const c = new ProtoCursor(source, FORMAT, 1 << 20, ctx.signal);
  const end = source.size;
  let pieces = 0;
  const unknown = new Set<number>();
  while (c.pos < end) {
    await c.fillHead(end);
    const { field, wire, start } = c.tag(end);
    if (KNOWN_FIELDS.has(field) && wire !== 2) c.fail('bad-wire-type', start, `field ${field} at byte ${start} has wire type ${wire}; a SentencePiece model has only messages at the top level`);
    if (field === FIELD_PIECES) {
      if (++pieces > SENTENCEPIECE_MAX_PIECES) c.fail('too-many-pieces', start, `more than ${SENTENCEPIECE_MAX_PIECES} pieces`);
    } else if (!KNOWN_FIELDS.has(field)) unknown.add(field);
    await c.skipValue(wire, end, start, `field ${field}`);
  }
  const findings: Finding[] = [];
  if (unknown.size) {
    findings.push({
      id: 'sentencepiece/unknown-fields',
      category: 'malformed',
      severity: 'info',
      title: 'SentencePiece model has fields the format does not define',
      detail: `Top-level fields ${[...unknown].join(', ')} are not part of sentencepiece_model.proto. Loaders skip them, so they can carry data nobody looks at.`,
      file: source.name,
      evidence: { fields: [...unknown] },
    });
  }
  return { format: 'sentencepiece', model: null, findings, extra: { sentencepiece: { pieces } } };
}

export const sentencePieceHandler: FormatHandler = {
  id: 'sentencepiece',
  label: 'SentencePiece tokenizer model',
  family: 'protobuf',
  sniff: sniffSentencePiece,
  parse: parseSentencePiece,
};
