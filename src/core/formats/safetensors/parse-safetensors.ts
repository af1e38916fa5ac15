import { ByteReader, decodeUtf8 } from '../../io/byte-reader';
import { readExact } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { isJsonObject, parseJsonStrict, type JsonValue } from '../../io/json';
import { MAX_RANK, MAX_TENSORS, SAFETENSORS_MAX_HEADER } from '../../io/limits';
import { byteSizeOf, numelOf, type DType } from '../../model/dtype';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';

const FORMAT = 'safetensors';

/** safetensors dtype names (safetensors/src/tensor.rs `Dtype`) → ours. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  U16: 'uint16',
  I32: 'int32',
  U32: 'uint32',
  I64: 'int64',
  U64: 'uint64',
  F16: 'float16',
  BF16: 'bfloat16',
  F32: 'float32',
  F64: 'float64',
  F8_E4M3: 'float8_e4m3fn',
  F8_E5M2: 'float8_e5m2',
  F8_E8M0: 'float8_e8m0',
  F6_E2M3: 'float6_e2m3',
  F6_E3M2: 'float6_e3m2',
  F4: 'float4_e2m1',
  C64: 'complex64',
};

/** The parsed header, kept for cross-file checks (sharded index) and for statistics. */
export interface SafetensorsHeader {
  headerLength: number;
  dataStart: number;
  metadata: Record<string, string>;
  tensors: { name: string; dtype: string; shape: number[]; begin: number; end: number }[];
}

/**
 * A safetensors file starts with a little-endian u64 header length N followed by N bytes of JSON that
 * begin with `{`. Anything else is not safetensors.
 */
export function sniffSafetensors(ctx: SniffContext): boolean {
  if (ctx.head.length < 9 || ctx.size < 10) return false;
  const view = new DataView(ctx.head.buffer, ctx.head.byteOffset, ctx.head.byteLength);
  const n = view.getBigUint64(0, true);
  // A claimed length beyond the file is still "meant to be safetensors" when the JSON starts right:
  // the parser then reports the bad length rather than calling the file unknown.
  const h = ctx.head;
  // A UTF-8 byte-order mark before the `{` is still a safetensors header (one every loader refuses):
  // the parser reports it rather than calling the file unknown.
  const j = h[8] === 0xef && h[9] === 0xbb && h[10] === 0xbf ? 11 : 8;
  if (j === 11 && (h.length < 13 || n < 5n)) return false;
  return h[j] === 0x7b /* { */ && n >= 2n && (h[j + 1] === 0x22 || h[j + 1] === 0x7d || h[j + 1] === 0x20 || h[j + 1] === 0x0a);
}

function finding(
  id: string,
  severity: Finding['severity'],
  title: string,
  detail: string,
  file: string,
  offset?: number,
  evidence?: Record<string, unknown>,
): Finding {
  return { id: `safetensors/${id}`, category: 'malformed', severity, title, detail, file, offset, evidence };
}

/**
 * Header-only parse with every check of THREATS.md §4. Tensor bytes are never read.
 * Structural damage that leaves nothing to list (bad length, bad JSON) throws ParseError; per-tensor
 * problems become findings and the rest of the header is still listed.
 */
export async function parseSafetensors(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  const file = source.name;
  const findings: Finding[] = [];
  const lenBytes = await readExact(source, 0, 8, FORMAT, ctx.signal);
  const lenReader = new ByteReader(lenBytes, FORMAT, 0);
  const rawLength = lenReader.u64();
  if (rawLength > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw new ParseError(FORMAT, 'header-too-large', 0, `header length ${rawLength} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`);
  }
  const headerLength = Number(rawLength);
  if (8 + headerLength > source.size) {
    throw new ParseError(FORMAT, 'header-out-of-bounds', 0, `header length ${headerLength} runs past the end of the ${source.size}-byte file`);
  }
  const headerBytes = await readExact(source, 8, headerLength, FORMAT, ctx.signal);
  const text = decodeUtf8(headerBytes);
  if (text === null) throw new ParseError(FORMAT, 'bad-utf8', 8, 'header is not valid UTF-8');
  // (TextDecoder drops a leading byte-order mark: test the bytes)
  if (headerBytes[0] === 0xef && headerBytes[1] === 0xbb && headerBytes[2] === 0xbf) throw new ParseError(FORMAT, 'bad-json', 8, 'header starts with a UTF-8 byte-order mark before "{"; the reference loader refuses it');
  if (!text.startsWith('{')) throw new ParseError(FORMAT, 'bad-json', 8, 'header does not start with "{"');
  // The format allows padding the header with spaces to align the data section.
  const { value, duplicates, fractional, loneSurrogates } = parseJsonStrict(text.replace(/ +$/, ''), FORMAT, 8);
  if (!isJsonObject(value)) throw new ParseError(FORMAT, 'bad-json', 8, 'header is not a JSON object');
  // `\ud800` is valid JSON text but no Unicode string: serde_json (the reference loader) refuses it, and
  // readers that replace it with U+FFFD can merge two names.
  if (loneSurrogates.length) throw new ParseError(FORMAT, 'bad-utf8', loneSurrogates[0], `header escapes a lone UTF-16 surrogate at byte ${loneSurrogates[0]}, which is not Unicode text; the reference loader refuses it`);
  // shape and data_offsets are unsigned integers to the reference loader (serde usize), which refuses
  // `16.0` or `1.6e1` although JSON reads them as 16; by tensor, the first such number of each field
  const floats = new Map<string, Map<string, string>>();
  for (const f of fractional) {
    const [tensor, field] = f.path;
    if (typeof tensor !== 'string' || typeof field !== 'string' || tensor === '__metadata__' || f.path.length < 2) continue;
    const fields = floats.get(tensor) ?? new Map<string, string>();
    if (!fields.has(field)) fields.set(field, f.raw);
    floats.set(tensor, fields);
  }
  for (const d of duplicates) {
    findings.push(
      finding('duplicate-key', 'error', `Duplicate key "${d.key}" in the header`, `The header names "${d.key}" twice. JSON readers disagree on which copy wins, so two tools can load different tensors from the same file.`, file, d.offset, { key: d.key }),
    );
  }

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const spans: { name: string; begin: number; end: number }[] = [];
  const headerTensors: SafetensorsHeader['tensors'] = [];
  const keys = Object.keys(value);
  if (keys.length > MAX_TENSORS + 1) throw new ParseError(FORMAT, 'too-many-tensors', 8, `header lists ${keys.length} entries, over the ${MAX_TENSORS} limit`);

  for (const name of keys) {
    const entry: JsonValue = value[name];
    if (name === '__metadata__') {
      if (!isJsonObject(entry)) {
        findings.push(finding('bad-metadata', 'error', '__metadata__ is not an object', 'The format requires `__metadata__` to map strings to strings; the reference loader rejects this file.', file, 8));
        continue;
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v === 'string') metadata[k] = v;
        else {
          findings.push(finding('bad-metadata', 'error', `Metadata value "${k}" is not a string`, `The format requires \`__metadata__\` values to be strings; "${k}" holds ${JSON.stringify(v).slice(0, 80)}. The reference loader rejects this file.`, file, 8, { key: k }));
          metadata[k] = JSON.stringify(v);
        }
      }
      continue;
    }
    const bad = (id: string, what: string) =>
      findings.push(finding(id, 'error', `Tensor "${name}": ${what}`, `Tensor "${name}" ${what}. A loader would refuse this file or read the wrong bytes.`, file, 8, { tensor: name }));
    if (!isJsonObject(entry)) {
      bad('bad-entry', 'is not described by a JSON object');
      continue;
    }
    for (const k of Object.keys(entry)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') {
        findings.push(finding('unknown-key', 'warning', `Tensor "${name}" has an unknown key "${k}"`, `Only dtype, shape and data_offsets are defined; an extra key "${k}" is ignored by loaders and can carry hidden data.`, file, 8, { tensor: name, key: k }));
      }
    }
    const { dtype: rawDtype, shape: rawShape, data_offsets: rawOffsets } = entry;
    if (typeof rawDtype !== 'string' || !(rawDtype in SAFETENSORS_DTYPES)) {
      bad('unknown-dtype', `has unknown dtype ${JSON.stringify(rawDtype)}`);
      continue;
    }
    const dtype = SAFETENSORS_DTYPES[rawDtype];
    const floatShape = floats.get(name)?.get('shape');
    const floatOffsets = floats.get(name)?.get('data_offsets');
    if (floatShape !== undefined) {
      bad('bad-shape', `has a dimension written as a float (${floatShape}); dimensions are unsigned integers`);
      continue;
    }
    if (floatOffsets !== undefined) {
      bad('bad-offsets', `has a data offset written as a float (${floatOffsets}); offsets are unsigned integers`);
      continue;
    }
    if (!Array.isArray(rawShape) || rawShape.length > MAX_RANK || !rawShape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      bad('bad-shape', `has an invalid shape ${JSON.stringify(rawShape)?.slice(0, 80)}`);
      continue;
    }
    const shape = rawShape as number[];
    if (
      !Array.isArray(rawOffsets) ||
      rawOffsets.length !== 2 ||
      !rawOffsets.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
    ) {
      bad('bad-offsets', `has invalid data_offsets ${JSON.stringify(rawOffsets)?.slice(0, 80)}`);
      continue;
    }
    const [begin, end] = rawOffsets as number[];
    if (end < begin) {
      bad('bad-offsets', `ends (${end}) before it begins (${begin})`);
      continue;
    }
    headerTensors.push({ name, dtype: rawDtype, shape, begin, end });
    const numel = numelOf(shape);
    const expected = numel === null ? null : byteSizeOf(dtype, numel);
    if (expected === null || expected !== end - begin) {
      findings.push(
        finding('size-mismatch', 'error', `Tensor "${name}": shape disagrees with its byte span`, `Shape [${shape.join(', ')}] of ${rawDtype} needs ${expected ?? 'an impossible number of'} bytes, but data_offsets give ${end - begin} bytes (${begin}..${end}).`, file, dataStart + begin, { tensor: name, shape, dtype: rawDtype, expectedBytes: expected, spanBytes: end - begin }),
      );
    }
    if (end > dataSize) {
      findings.push(
        finding('out-of-bounds', 'error', `Tensor "${name}" ends past the end of the file`, `safetensors: tensor "${name}" ends at byte ${dataStart + end}, past the ${dataSize}-byte data section (file ends at ${source.size}).`, file, dataStart + Math.min(begin, dataSize), { tensor: name, begin, end, dataSize }),
      );
    }
    spans.push({ name, begin, end });
    tensors.push({
      name,
      dtype,
      shape,
      numel: numel ?? 0,
      file,
      offset: end <= dataSize ? dataStart + begin : -1,
      length: end - begin,
      encoding: 'raw',
    });
  }

  // Offsets must tile the data section exactly: sorted, no overlap, no gap, ending at end of file.
  // Gaps and trailing bytes are room for a second format (polyglot) or hidden payload.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: (typeof spans)[number] | null = null;
  for (const s of spans) {
    if (prev && s.begin < prev.end) {
      findings.push(
        finding('overlap', 'error', `Tensors "${prev.name}" and "${s.name}" overlap`, `"${s.name}" starts at data byte ${s.begin}, inside "${prev.name}" (${prev.begin}..${prev.end}): writing one changes the other, and the reference loader rejects the file.`, file, dataStart + s.begin, { tensors: [prev.name, s.name], ranges: [[prev.begin, prev.end], [s.begin, s.end]] }),
      );
    } else if (s.begin > cursor) {
      findings.push(
        finding('gap', 'error', `${s.begin - cursor} unused bytes before tensor "${s.name}"`, `Data bytes ${cursor}..${s.begin} belong to no tensor. Loaders ignore them, so they can hide a payload or a second file format.`, file, dataStart + cursor, { tensor: s.name, from: cursor, to: s.begin }),
      );
    }
    cursor = Math.max(cursor, s.end);
    if (!prev || s.end > prev.end) prev = s;
  }
  if (cursor < dataSize) {
    findings.push(
      finding('trailing-bytes', 'error', `${dataSize - cursor} bytes after the last tensor`, `The last tensor ends at byte ${dataStart + cursor} but the file goes on to byte ${source.size}. The reference loader rejects such files; the extra bytes can hide a payload or a second file format.`, file, dataStart + cursor, { from: dataStart + cursor, to: source.size }),
    );
  }

  const header: SafetensorsHeader = { headerLength, dataStart, metadata, tensors: headerTensors };
  return {
    format: 'safetensors',
    model: { format: 'safetensors', files: [file], tensors, metadata },
    findings,
    extra: { safetensors: header },
  };
}

export const safetensorsHandler: FormatHandler = {
  id: 'safetensors',
  label: 'safetensors',
  family: 'safetensors',
  sniff: sniffSafetensors,
  parse: parseSafetensors,
};
