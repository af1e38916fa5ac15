/**
 * GGUF reader (ggml docs/gguf.md; llama.cpp ggml/src/gguf.cpp `gguf_init_from_file_impl`), versions 2
 * and 3, little-endian. Header only: metadata and tensor infos are streamed through bounded ranged reads
 * (a vocabulary of 150k tokens is several MB of strings that are counted, not kept), and tensor bytes
 * are never read.
 *
 * Why not @huggingface/gguf: it fetches through HTTP ranges into one growing buffer, materialises every
 * array (all tokens) as JS values, throws plain Errors without offsets, and performs none of the
 * alignment, bounds, overlap or count-versus-file-size checks of THREATS.md §5.
 */
import { ParseError } from '../../io/errors';
import { GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_DIMS, GGUF_MAX_HEADER, GGUF_MAX_KV, GGUF_READ_CHUNK, MAX_TENSORS } from '../../io/limits';
import { byteSizeOf, DTYPES, numelOf, type DType } from '../../model/dtype';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { scanChatTemplate } from '../../scan/templates/scan-template';
import { startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { ChunkCursor } from './chunk-cursor';

const FORMAT = 'gguf';
const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type (gguf.h) */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

const VALUE_TYPE_NAMES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
/** bytes of each fixed-size value type; string and array are variable (their minimum is their length prefix) */
const VALUE_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

/** ggml_type ids (ggml.h) → our dtype names. Gaps are types removed from ggml (Q4_2, Q4_3, the 4x4 repacks). */
export const GGML_TYPES: Readonly<Record<number, DType>> = {
  0: 'float32',
  1: 'float16',
  2: 'q4_0',
  3: 'q4_1',
  6: 'q5_0',
  7: 'q5_1',
  8: 'q8_0',
  9: 'q8_1',
  10: 'q2_k',
  11: 'q3_k',
  12: 'q4_k',
  13: 'q5_k',
  14: 'q6_k',
  15: 'q8_k',
  16: 'iq2_xxs',
  17: 'iq2_xs',
  18: 'iq3_xxs',
  19: 'iq1_s',
  20: 'iq4_nl',
  21: 'iq3_s',
  22: 'iq2_s',
  23: 'iq4_xs',
  24: 'int8',
  25: 'int16',
  26: 'int32',
  27: 'int64',
  28: 'float64',
  29: 'iq1_m',
  30: 'bfloat16',
  34: 'tq1_0',
  35: 'tq2_0',
  39: 'mxfp4',
};

/** Raw tensor info as stored (ne[] in ggml order, offset relative to the data section). */
export interface RawGgufTensorInfo {
  name: string;
  ne: number[];
  type: number;
  offset: number;
  /** absolute offset of this tensor-info record */
  at: number;
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  kvCount: number;
  alignment: number;
  /** absolute offset of the data section */
  dataStart: number;
  /** absolute offset where the tensor infos end (before padding) */
  headerEnd: number;
  /** metadata as display strings */
  metadata: Record<string, string>;
  /** value type of each key */
  types: Record<string, string>;
  tensors: RawGgufTensorInfo[];
  /** chat templates found in the metadata (full text), with the offset of their value */
  templates: { key: string; text: string; offset: number }[];
}

export function sniffGguf(ctx: SniffContext): boolean {
  return startsWith(ctx.head, 'GGUF');
}

function finding(id: string, severity: Finding['severity'], title: string, detail: string, file: string, offset?: number, evidence?: Record<string, unknown>): Finding {
  return { id: `gguf/${id}`, category: 'malformed', severity, title, detail, file, offset, evidence };
}

/** Longest string value kept whole (chat templates are KB; longer values are counted, then skipped). */
const MAX_KEPT_STRING = 4 * 1024 * 1024;
/** Longest metadata value shown in ModelInfo.metadata. */
const MAX_DISPLAY = 64 * 1024;
/** Arrays up to this many numbers are shown element by element. */
const MAX_SHOWN_ELEMENTS = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8', { fatal: false });

/**
 * GGUF strings are UTF-8 (docs/gguf.md `gguf_string_t`), but gguf.cpp compares and looks up keys and
 * tensor names as raw bytes. A lossy decode would map different invalid byte strings to the same
 * U+FFFD text (two distinct keys reported as duplicates, or a key shown as another). Invalid bytes are
 * written as `\xNN` instead, which keeps distinct byte strings distinct. Returns null for valid UTF-8.
 */
export function escapeInvalidUtf8(b: Uint8Array): { text: string; firstBad: number } | null {
  try {
    utf8.decode(b);
    return null;
  } catch {
    // fall through: rebuild the text sequence by sequence
  }
  let out = '';
  let firstBad = -1;
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ok = n > 0 && i + n <= b.length;
    for (let k = 1; ok && k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) ok = false;
    // overlong 3/4-byte forms, UTF-16 surrogates, and code points past U+10FFFF
    if (ok && n === 3 && ((c === 0xe0 && b[i + 1] < 0xa0) || (c === 0xed && b[i + 1] >= 0xa0))) ok = false;
    if (ok && n === 4 && ((c === 0xf0 && b[i + 1] < 0x90) || (c === 0xf4 && b[i + 1] >= 0x90))) ok = false;
    if (ok) {
      out += new TextDecoder('utf-8').decode(b.subarray(i, i + n));
      i += n;
    } else {
      if (firstBad < 0) firstBad = i;
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return { text: out, firstBad };
}

/**
 * Parses a GGUF header with every check of THREATS.md §5. Structural damage (bad magic, unsupported
 * version, counts or lengths beyond the file, unknown value types, nesting) throws ParseError; tensor-level
 * problems (unknown ggml type, misaligned or out-of-bounds or overlapping data) become findings.
 */
export async function readGgufHeader(ctx: ParseContext, findings: Finding[]): Promise<GgufHeader> {
  const { source } = ctx;
  const file = source.name;
  const cur = new ChunkCursor(source, FORMAT, GGUF_READ_CHUNK, GGUF_MAX_HEADER, ctx.signal);
  await cur.ensure(8, 'magic and version');
  let r = cur.reader();
  if (r.u32() !== 0x46554747) throw new ParseError(FORMAT, 'bad-magic', 0, 'file does not start with "GGUF"');
  const version = r.u32();
  cur.advance(8);
  if (version === 1) throw new ParseError(FORMAT, 'unsupported-version', 4, 'GGUF version 1 (32-bit counts, 2023) is not supported; convert the file with a current llama.cpp');
  if (version !== 2 && version !== 3) {
    // A big-endian file reads its version byte-swapped (0x03000000): say so rather than "version 50331648".
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped === 2 || swapped === 3) throw new ParseError(FORMAT, 'big-endian', 4, `GGUF version ${swapped} written big-endian; only little-endian files are read`);
    throw new ParseError(FORMAT, 'unsupported-version', 4, `GGUF version ${version}; expected 2 or 3`);
  }
  await cur.ensure(16, 'counts');
  r = cur.reader();
  const countsAt = cur.position;
  const tensorCount = r.u64Safe('tensor count');
  const kvCount = r.u64Safe('metadata count');
  cur.advance(16);
  // Every count must fit in the bytes that remain (THREATS.md §5): a tensor info takes at least
  // 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes, a key-value at least 8 + 4 + 1.
  if (tensorCount * 24 + kvCount * 13 > cur.fileRemaining) {
    throw new ParseError(FORMAT, 'count-exceeds-file', countsAt, `${tensorCount} tensors and ${kvCount} metadata entries need at least ${tensorCount * 24 + kvCount * 13} bytes, but only ${cur.fileRemaining} remain in the file`);
  }
  if (tensorCount > MAX_TENSORS) throw new ParseError(FORMAT, 'too-many-tensors', countsAt, `tensor count ${tensorCount} exceeds the ${MAX_TENSORS} limit`);
  if (kvCount > GGUF_MAX_KV) throw new ParseError(FORMAT, 'too-many-kv', countsAt + 8, `metadata count ${kvCount} exceeds the ${GGUF_MAX_KV} limit`);

  let badUtf8 = 0;
  const readString = async (what: string, keep: boolean, raw = false): Promise<{ text: string | null; length: number }> => {
    await cur.ensure(8, `${what} length`);
    const at = cur.position;
    const len = cur.reader().u64();
    cur.advance(8);
    if (len > BigInt(cur.fileRemaining)) throw new ParseError(FORMAT, 'string-exceeds-file', at, `${what} at byte ${at} declares ${len} bytes, but only ${cur.fileRemaining} remain in the file`);
    const n = Number(len);
    if (!keep || n > MAX_KEPT_STRING) {
      await cur.skip(n, what);
      return { text: null, length: n };
    }
    await cur.ensure(n, what);
    const bytes = cur.reader().take(n, what);
    const bad = escapeInvalidUtf8(bytes);
    // keys and tensor names are identities: keep distinct byte strings distinct; values (chat templates)
    // are decoded as a lenient reader would, U+FFFD for invalid bytes
    const text = bad === null ? utf8.decode(bytes) : raw ? bad.text : lossy.decode(bytes);
    if (bad !== null && badUtf8 < 32) {
      badUtf8++;
      findings.push(finding('bad-utf8', 'warning', `${what[0].toUpperCase()}${what.slice(1)} is not valid UTF-8`, `GGUF strings are UTF-8; ${what} at byte ${at} holds invalid bytes ("${bad.text.slice(0, 120)}", invalid bytes shown as \\xNN). llama.cpp compares such strings as raw bytes, while readers that decode them may merge or mangle them, so two tools can disagree on which key or tensor this is.`, file, at + 8 + bad.firstBad, { what, text: bad.text.slice(0, 200) }));
    }
    cur.advance(n);
    return { text, length: n };
  };

  /** Reads one value and returns how to show it; strings are kept only when `keep`. */
  const readValue = async (type: number, depth: number, keep: boolean, what: string): Promise<{ display: string; text?: string; num?: number | bigint }> => {
    const at = cur.position;
    if (type < 0 || type > 12) throw new ParseError(FORMAT, 'unknown-value-type', at, `${what}: unknown value type ${type} (expected 0..12)`);
    if (type === GgufValueType.STRING) {
      const s = await readString(what, keep);
      return s.text === null ? { display: `<${s.length}-byte string>` } : { display: s.text, text: s.text };
    }
    if (type === GgufValueType.ARRAY) {
      if (depth >= GGUF_MAX_ARRAY_DEPTH) throw new ParseError(FORMAT, 'array-too-deep', at, `${what}: arrays nested more than ${GGUF_MAX_ARRAY_DEPTH} deep`);
      await cur.ensure(12, `${what} array header`);
      r = cur.reader();
      const elemType = r.u32();
      const len = r.u64();
      cur.advance(12);
      if (elemType > 12) throw new ParseError(FORMAT, 'unknown-value-type', at, `${what}: array of unknown value type ${elemType}`);
      const min = BigInt(VALUE_SIZE[elemType]);
      if (len * min > BigInt(cur.fileRemaining)) {
        throw new ParseError(FORMAT, 'array-exceeds-file', at, `${what}: array of ${len} ${VALUE_TYPE_NAMES[elemType]} values needs at least ${len * min} bytes, but only ${cur.fileRemaining} remain in the file`);
      }
      const n = Number(len);
      if (elemType === GgufValueType.STRING || elemType === GgufValueType.ARRAY) {
        for (let i = 0; i < n; i++) {
          if (elemType === GgufValueType.STRING) await readString(`${what}[${i}]`, false);
          else await readValue(elemType, depth + 1, false, `${what}[${i}]`);
        }
        return { display: `[${n} ${elemType === GgufValueType.STRING ? 'strings' : 'arrays'}]` };
      }
      const size = VALUE_SIZE[elemType];
      if (n <= MAX_SHOWN_ELEMENTS) {
        const parts: string[] = [];
        for (let i = 0; i < n; i++) parts.push((await readValue(elemType, depth + 1, false, `${what}[${i}]`)).display);
        return { display: `[${parts.join(', ')}]` };
      }
      await cur.skip(n * size, `${what} array`);
      return { display: `[${n} ${VALUE_TYPE_NAMES[elemType]}]` };
    }
    const size = VALUE_SIZE[type];
    await cur.ensure(size, what);
    r = cur.reader();
    let num: number | bigint;
    switch (type) {
      case GgufValueType.UINT8: num = r.u8(); break;
      case GgufValueType.INT8: num = r.i8(); break;
      case GgufValueType.UINT16: num = r.u16(); break;
      case GgufValueType.INT16: num = (r.u16() << 16) >> 16; break;
      case GgufValueType.UINT32: num = r.u32(); break;
      case GgufValueType.INT32: num = r.i32(); break;
      case GgufValueType.FLOAT32: num = r.f32(); break;
      case GgufValueType.BOOL: num = r.u8(); break;
      case GgufValueType.UINT64: num = r.u64(); break;
      case GgufValueType.INT64: num = r.i64(); break;
      default: num = r.f64(); break;
    }
    cur.advance(size);
    if (type === GgufValueType.BOOL) return { display: num === 0 ? 'false' : 'true', num };
    return { display: String(num), num };
  };

  const metadata: Record<string, string> = {};
  const types: Record<string, string> = {};
  const templates: GgufHeader['templates'] = [];
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (let i = 0; i < kvCount; i++) {
    const keyAt = cur.position;
    const key = (await readString(`key of metadata entry ${i}`, true, true)).text ?? `<key ${i}>`;
    await cur.ensure(4, `type of "${key}"`);
    const type = cur.reader().u32();
    cur.advance(4);
    const valueAt = cur.position;
    const v = await readValue(type, 0, true, `"${key}"`);
    if (Object.prototype.hasOwnProperty.call(metadata, key)) {
      // gguf.cpp rejects duplicate keys; other readers keep the first or the last
      findings.push(finding('duplicate-key', 'error', `Metadata key "${key}" appears twice`, `The key "${key}" is set more than once; llama.cpp refuses the file and other readers disagree on which value wins.`, file, keyAt, { key }));
    }
    metadata[key] = v.display.length > MAX_DISPLAY ? `${v.display.slice(0, MAX_DISPLAY)}… (${v.display.length} chars)` : v.display;
    types[key] = VALUE_TYPE_NAMES[type];
    if (key === 'general.alignment') {
      const a = typeof v.num === 'number' ? v.num : -1;
      if (type !== GgufValueType.UINT32 || a <= 0 || (a & (a - 1)) !== 0) {
        findings.push(finding('bad-alignment', 'error', 'general.alignment is not a power of two', `general.alignment must be a uint32 power of two; the file has ${VALUE_TYPE_NAMES[type]} ${v.display}. llama.cpp refuses it; the default of ${GGUF_DEFAULT_ALIGNMENT} is assumed to check the rest.`, file, valueAt, { value: v.display, type: VALUE_TYPE_NAMES[type] }));
      } else alignment = a;
    }
    if ((key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.')) && type === GgufValueType.STRING) {
      if (v.text !== undefined) templates.push({ key, text: v.text, offset: valueAt + 8 });
      else findings.push({ id: 'template/too-large', category: 'template-injection', severity: 'warning', title: `Chat template "${key}" is too large to check`, detail: `The template is over ${MAX_KEPT_STRING} bytes, far beyond any real chat template, and was not tokenised. Treat it as unknown.`, file, offset: valueAt });
    }    else if (key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.')) {
      // llama.cpp reads templates only as strings; another reader may join an array or stringify the value
      findings.push({ id: 'gguf/template-not-string', category: 'template-injection', severity: 'warning', title: `Chat template "${key}" is stored as ${VALUE_TYPE_NAMES[type]}, not a string`, detail: `Chat templates are strings. This one is a ${VALUE_TYPE_NAMES[type]} (${v.display.slice(0, 120)}), which was not tokenised; a runtime that joins or stringifies it would render text no check has seen. Treat it as unknown.`, file, offset: valueAt, evidence: { key, type: VALUE_TYPE_NAMES[type] } });
    }
  }

  const tensors: RawGgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const at = cur.position;
    const name = (await readString(`name of tensor ${i}`, true, true)).text ?? `<tensor ${i}>`;
    await cur.ensure(4, `n_dims of "${name}"`);
    const nDims = cur.reader().u32();
    cur.advance(4);
    if (nDims > GGUF_MAX_DIMS) throw new ParseError(FORMAT, 'too-many-dims', at, `tensor "${name}" at byte ${at} has ${nDims} dimensions; at most ${GGUF_MAX_DIMS} are accepted (ggml uses 4)`);
    await cur.ensure(nDims * 8 + 12, `dims of "${name}"`);
    r = cur.reader();
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const dim = r.u64();
      // ggml stores ne as int64: values of 2^63 and up are negative there; above 2^53 we cannot count exactly
      ne.push(dim > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(dim));
    }
    const type = r.u32();
    const off = r.u64();
    cur.advance(r.index);
    tensors.push({ name, ne, type, offset: off > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(off), at });
  }
  const headerEnd = cur.position;
  const dataStart = Math.ceil(headerEnd / alignment) * alignment;
  return { version, tensorCount, kvCount, alignment, dataStart, headerEnd, metadata, types, tensors, templates };
}

/** Tensor-level checks of THREATS.md §5 and the TensorInfo list (shape in row-major order: ne reversed). */
export function checkGgufTensors(h: GgufHeader, file: string, size: number, findings: Finding[]): TensorInfo[] {
  const out: TensorInfo[] = [];
  const spans: { name: string; begin: number; end: number }[] = [];
  const names = new Set<string>();
  for (const t of h.tensors) {
    const bad = (id: string, title: string, detail: string, evidence: Record<string, unknown> = {}) =>
      findings.push(finding(id, 'error', `Tensor "${t.name}": ${title}`, detail, file, t.at, { tensor: t.name, ...evidence }));
    if (names.has(t.name)) bad('duplicate-tensor', 'name appears twice', `Two tensor infos are named "${t.name}"; llama.cpp refuses the file and other readers pick either one.`);
    names.add(t.name);
    if (t.ne.length > 4) bad('too-many-dims', `${t.ne.length} dimensions`, `ggml tensors have at most 4 dimensions (GGML_MAX_DIMS); llama.cpp refuses "${t.name}".`, { nDims: t.ne.length });
    const dtype: DType = GGML_TYPES[t.type] ?? 'unknown';
    if (dtype === 'unknown') bad('unknown-type', `unknown ggml type ${t.type}`, `ggml type ${t.type} is not one ggml defines; no loader can size or read "${t.name}".`, { type: t.type });
    const shape = [...t.ne].reverse();
    const numel = numelOf(shape);
    if (numel === null) {
      bad('shape-overflow', 'dimensions overflow', `The dimensions [${t.ne.join(', ')}] (ggml order) or their product exceed 2^53; a C loader computing the size in 64 bits can wrap around and read the wrong bytes.`, { ne: t.ne.map(String) });
      continue;
    }
    const info = DTYPES[dtype];
    let length = -1;
    if (dtype !== 'unknown') {
      if (info.blockSize && (t.ne[0] ?? 1) % info.blockSize !== 0) {
        bad('block-mismatch', `row of ${t.ne[0]} is not a whole number of ${dtype} blocks`, `ggml requires ne[0] (${t.ne[0]}) to be a multiple of the ${dtype} block size ${info.blockSize}.`, { ne0: t.ne[0], blockSize: info.blockSize });
      } else {
        length = byteSizeOf(dtype, numel) ?? -1;
      }
    }
    if (!Number.isFinite(t.offset) || t.offset % h.alignment !== 0) {
      bad('misaligned', `data offset ${t.offset} is not a multiple of ${h.alignment}`, `Tensor data offsets must be multiples of the alignment (${h.alignment}); llama.cpp refuses "${t.name}".`, { offset: String(t.offset), alignment: h.alignment });
    }
    const begin = h.dataStart + t.offset;
    if (length >= 0) {
      if (!Number.isSafeInteger(begin + length) || begin + length > size) {
        bad('out-of-bounds', `data ends past the end of the file`, `"${t.name}" needs ${length} bytes at byte ${begin} (data section at ${h.dataStart}, offset ${t.offset}), but the file has ${size} bytes.`, { begin, length, fileSize: size });
      } else spans.push({ name: t.name, begin, end: begin + length });
    }
    out.push({
      name: t.name,
      dtype,
      shape,
      numel,
      file,
      offset: Number.isSafeInteger(begin) && begin <= size ? begin : -1,
      length: Math.max(0, length),
      origin: 'gguf tensor',
    });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let overlaps = 0;
  for (let i = 1; i < spans.length && overlaps < 32; i++) {
    const prev = spans[i - 1];
    const cur = spans[i];
    if (cur.begin < prev.end) {
      overlaps++;
      findings.push(finding('overlap', 'error', `Tensor "${cur.name}" shares bytes with "${prev.name}"`, `"${cur.name}" (bytes ${cur.begin}..${cur.end}) overlaps "${prev.name}" (bytes ${prev.begin}..${prev.end}); writing one changes the other, and honest writers never do this.`, file, cur.begin, { tensor: cur.name, other: prev.name }));
    }
  }
  return out;
}

export async function parseGguf(ctx: ParseContext): Promise<FileParse> {
  const findings: Finding[] = [];
  const h = await readGgufHeader(ctx, findings);
  if (h.tensorCount > 0 && h.dataStart > ctx.size) {
    findings.push(finding('out-of-bounds', 'error', 'Data section starts past the end of the file', `The header ends at byte ${h.headerEnd}; aligned to ${h.alignment}, tensor data would start at byte ${h.dataStart}, beyond the ${ctx.size}-byte file.`, ctx.name, h.headerEnd));
  }
  const tensors = checkGgufTensors(h, ctx.name, ctx.size, findings);
  for (const t of h.templates) findings.push(...scanChatTemplate(t.text, { file: ctx.name, key: t.key, offset: t.offset }));
  return {
    format: 'gguf',
    formatVersion: String(h.version),
    model: {
      format: 'gguf',
      formatVersion: String(h.version),
      files: [ctx.name],
      tensors,
      metadata: h.metadata,
    },
    findings,
    extra: { alignment: h.alignment, dataStart: h.dataStart, headerEnd: h.headerEnd, tensorCount: h.tensorCount, kvCount: h.kvCount, types: h.types },
  };
}

export const ggufHandler: FormatHandler = {
  id: 'gguf',
  label: 'GGUF',
  family: 'gguf',
  sniff: sniffGguf,
  parse: parseGguf,
};
