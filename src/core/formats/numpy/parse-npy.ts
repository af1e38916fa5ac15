import { ByteReader } from '../../io/byte-reader';
import { MemorySource, readExact, type ByteSource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { MAX_RANK, NPY_MAX_HEADER, NPY_NUMPY_HEADER_LIMIT } from '../../io/limits';
import { numelOf, type DType } from '../../model/dtype';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { sniffPayloadMagic } from '../../scan/pickle/emulate';
import { registerNestedPayloadScanner, scanPickleSource, type ScanPickleOptions } from '../../scan/pickle/scan-pickle';
import { startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';

const FORMAT = 'npy';
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * NumPy `.npy` (numpy/lib/format.py, NEP 1): `\x93NUMPY`, major, minor, a u16 (1.0) or u32 (2.0, 3.0)
 * header length, then an ASCII (UTF-8 in 3.0) Python literal dict with exactly `descr`, `fortran_order`
 * and `shape`, padded with spaces and a newline. Data follows; an object dtype makes the data a pickle
 * (THREATS.md §2), which `numpy.load(allow_pickle=True)` runs.
 */

/** A Python literal as numpy's header holds it (ast.literal_eval subset). */
type Py = string | number | boolean | null | Py[] | { tuple: Py[] } | { dict: [Py, Py][] };

export interface NpyField {
  name: string;
  descr: string;
  shape: number[];
}

export interface NpyHeader {
  major: number;
  minor: number;
  /** absolute offset of the header text and of the data */
  headerOffset: number;
  headerLength: number;
  dataOffset: number;
  /** `descr` as written: a typestr (`<f4`) or a structured dtype rendered back to text */
  descr: string;
  /** structured dtype fields, when `descr` is a list */
  fields?: NpyField[];
  dtype: DType;
  /** bytes per element, or null when it cannot be told */
  itemsize: number | null;
  byteOrder: '<' | '>' | '|' | '=';
  fortranOrder: boolean;
  shape: number[];
  numel: number;
  /** object dtype (or a structured dtype with object fields): the data is a pickle */
  hasObject: boolean;
  /** numel × itemsize, or null */
  dataBytes: number | null;
}

/** Tiny bounded parser for the header literal. Throws ParseError with the absolute offset. */
function parsePyLiteral(text: string, base: number): Py {
  let i = 0;
  const fail = (msg: string): never => {
    throw new ParseError(FORMAT, 'bad-header', base + i, `header literal: ${msg} at character ${i}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): Py => {
    if (depth > 32) fail('nesting deeper than 32');
    ws();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: Py[] = [];
      const pairs: [Py, Py][] = [];
      let sawComma = false;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        if (i >= text.length) fail(`unterminated ${c}`);
        const k = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i] !== ':') fail('expected ":"');
          i++;
          pairs.push([k, value(depth + 1)]);
        } else items.push(k);
        ws();
        if (text[i] === ',') {
          i++;
          sawComma = true;
        } else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
      if (c === '{') return { dict: pairs };
      if (c === '(') return items.length === 1 && !sawComma ? items[0] : { tuple: items };
      return items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) fail(`unexpected ${JSON.stringify(text.slice(i, i + 10))}`);
    i += m![0].length;
    if (m![0] === 'True') return true;
    if (m![0] === 'False') return false;
    if (m![0] === 'None') return null;
    return Number(m![0].replace('L', ''));
  };
  const v = value(0);
  ws();
  if (i < text.length) fail('trailing characters after the dict');
  return v;
}

const KIND_DTYPES: Record<string, Record<number, DType>> = {
  f: { 2: 'float16', 4: 'float32', 8: 'float64' },
  i: { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' },
  u: { 1: 'uint8', 2: 'uint16', 4: 'uint32', 8: 'uint64' },
  b: { 1: 'bool' },
  c: { 8: 'complex64', 16: 'complex128' },
};

/** A numpy typestr (`<f4`, `|O`, `<U10`, `|S3`, `|V8`, `<M8[ns]`) → dtype, itemsize, byte order, object. */
export function parseTypestr(t: string): { dtype: DType; itemsize: number | null; byteOrder: NpyHeader['byteOrder']; object: boolean } | null {
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)(\[\w+\])?$/.exec(t);
  if (!m) return null;
  const byteOrder = (m[1] || '=') as NpyHeader['byteOrder'];
  const kind = m[2] === '?' ? 'b' : m[2];
  const n = m[3] ? Number(m[3]) : kind === 'b' ? 1 : NaN;
  if (kind === 'O') return { dtype: 'object', itemsize: 8, byteOrder, object: true };
  if (kind === 'U') return { dtype: 'string', itemsize: Number.isFinite(n) ? n * 4 : null, byteOrder, object: false };
  if (kind === 'S' || kind === 'a' || kind === 'V') return { dtype: kind === 'V' ? 'unknown' : 'string', itemsize: Number.isFinite(n) ? n : null, byteOrder, object: false };
  if (kind === 'M' || kind === 'm') return { dtype: 'int64', itemsize: Number.isFinite(n) ? n : 8, byteOrder, object: false };
  const dt = KIND_DTYPES[kind]?.[n];
  if (!Number.isFinite(n)) return null;
  return { dtype: dt ?? 'unknown', itemsize: n, byteOrder, object: false };
}

/** A structured descr (list of (name, typestr[, shape]) tuples), possibly nested. */
function parseStructured(v: Py[], base: number, depth: number): { fields: NpyField[]; itemsize: number | null; object: boolean } {
  if (depth > 8) throw new ParseError(FORMAT, 'bad-descr', base, 'structured dtype nested deeper than 8 levels');
  const fields: NpyField[] = [];
  let size: number | null = 0;
  let object = false;
  for (const f of v) {
    const t = f && typeof f === 'object' && 'tuple' in f ? f.tuple : null;
    if (!t || t.length < 2 || t.length > 3) throw new ParseError(FORMAT, 'bad-descr', base, `structured dtype field ${JSON.stringify(f).slice(0, 60)} is not (name, type[, shape])`);
    const name = typeof t[0] === 'string' ? t[0] : t[0] && typeof t[0] === 'object' && 'tuple' in t[0] && typeof t[0].tuple[1] === 'string' ? t[0].tuple[1] : null;
    if (name === null) throw new ParseError(FORMAT, 'bad-descr', base, 'structured dtype field has no name');
    const sub = t[2] === undefined ? [] : typeof t[2] === 'number' ? [t[2]] : t[2] && typeof t[2] === 'object' && 'tuple' in t[2] ? t[2].tuple : null;
    if (!sub || !sub.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) throw new ParseError(FORMAT, 'bad-descr', base, `field "${name}" has an invalid subarray shape`);
    const count = numelOf(sub as number[]) ?? 0;
    let itemsize: number | null;
    let descr: string;
    if (typeof t[1] === 'string') {
      const p = parseTypestr(t[1]);
      if (!p) throw new ParseError(FORMAT, 'bad-descr', base, `field "${name}" has an unknown type ${JSON.stringify(t[1])}`);
      itemsize = p.itemsize;
      object ||= p.object;
      descr = t[1];
    } else if (Array.isArray(t[1])) {
      const inner = parseStructured(t[1], base, depth + 1);
      itemsize = inner.itemsize;
      object ||= inner.object;
      descr = 'struct';
    } else throw new ParseError(FORMAT, 'bad-descr', base, `field "${name}" has an invalid type`);
    fields.push({ name, descr, shape: sub as number[] });
    size = size === null || itemsize === null ? null : size + itemsize * count;
  }
  return { fields, itemsize: size, object };
}

/**
 * Parses the header of an .npy at `bytes` (which start at absolute offset `base`). `bytes` must hold at
 * least the whole header. Throws ParseError for structural damage; oddities numpy tolerates are findings.
 */
export function parseNpyHeader(bytes: Uint8Array, base = 0, file?: string): { header: NpyHeader; findings: Finding[] } {
  const r = new ByteReader(bytes, FORMAT, base);
  const findings: Finding[] = [];
  const magic = r.take(6, 'magic');
  if (!startsWith(magic, MAGIC)) r.fail('bad-magic', 0, 'does not start with \\x93NUMPY');
  const major = r.u8();
  const minor = r.u8();
  if (major < 1 || major > 3) r.fail('bad-version', 6, `format version ${major}.${minor}; numpy knows 1.0, 2.0 and 3.0`);
  const headerLength = major === 1 ? r.u16() : r.u32();
  const headerOffset = r.position;
  if (headerLength > NPY_MAX_HEADER) r.fail('header-too-large', 8, `header of ${headerLength} bytes exceeds the ${NPY_MAX_HEADER}-byte limit`);
  const text = major === 3 ? r.utf8(headerLength, 'header') : r.latin1(headerLength, 'header');
  if (major < 3 && /[^\x00-\x7f]/.test(text)) findings.push({ id: 'npy/non-ascii-header', category: 'malformed', severity: 'warning', title: 'Non-ASCII bytes in a version 1/2 header', detail: `Format ${major}.${minor} headers are ASCII; numpy refuses this one.`, file, offset: headerOffset });
  if (headerLength > NPY_NUMPY_HEADER_LIMIT) {
    findings.push({ id: 'npy/large-header', category: 'malformed', severity: 'warning', title: `A ${headerLength}-byte header`, detail: `numpy refuses headers over ${NPY_NUMPY_HEADER_LIMIT} bytes unless told otherwise (max_header_size); a header this large has room for hidden content.`, file, offset: headerOffset });
  }
  const dict = parsePyLiteral(text.replace(/[\s\x00]+$/, ''), headerOffset);
  if (!dict || typeof dict !== 'object' || !('dict' in dict)) throw new ParseError(FORMAT, 'bad-header', headerOffset, 'header is not a Python dict literal');
  const map = new Map<string, Py>();
  for (const [k, v] of dict.dict) {
    if (typeof k !== 'string') throw new ParseError(FORMAT, 'bad-header', headerOffset, 'header has a non-string key');
    if (map.has(k)) findings.push({ id: 'npy/duplicate-key', category: 'malformed', severity: 'warning', title: `Header key "${k}" appears twice`, detail: 'Python keeps the last one; other readers may keep the first.', file, offset: headerOffset });
    map.set(k, v);
  }
  const keys = [...map.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') {
    throw new ParseError(FORMAT, 'bad-header-keys', headerOffset, `header keys are {${keys}}, numpy requires exactly descr, fortran_order and shape`);
  }
  const descrV = map.get('descr')!;
  const fortran = map.get('fortran_order');
  const shapeV = map.get('shape');
  if (typeof fortran !== 'boolean') throw new ParseError(FORMAT, 'bad-header', headerOffset, `fortran_order is ${JSON.stringify(fortran)}, not True or False`);
  const shapeItems = typeof shapeV === 'number' ? [shapeV] : shapeV && typeof shapeV === 'object' && 'tuple' in shapeV ? shapeV.tuple : null;
  if (!shapeItems || shapeItems.length > MAX_RANK || !shapeItems.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new ParseError(FORMAT, 'bad-shape', headerOffset, `shape ${JSON.stringify(shapeV)?.slice(0, 80)} is not a tuple of non-negative integers`);
  }
  const shape = shapeItems as number[];
  let dtype: DType;
  let itemsize: number | null;
  let byteOrder: NpyHeader['byteOrder'] = '|';
  let hasObject: boolean;
  let descr: string;
  let fields: NpyField[] | undefined;
  if (typeof descrV === 'string') {
    const p = parseTypestr(descrV);
    if (!p) throw new ParseError(FORMAT, 'bad-descr', headerOffset, `descr ${JSON.stringify(descrV)} is not a numpy type`);
    ({ dtype, itemsize, byteOrder } = p);
    hasObject = p.object;
    descr = descrV;
  } else if (Array.isArray(descrV)) {
    const s = parseStructured(descrV, headerOffset, 0);
    dtype = 'unknown';
    itemsize = s.itemsize;
    hasObject = s.object;
    fields = s.fields;
    descr = `[${s.fields.map((f) => `('${f.name}', '${f.descr}'${f.shape.length ? `, (${f.shape.join(', ')})` : ''})`).join(', ')}]`;
  } else throw new ParseError(FORMAT, 'bad-descr', headerOffset, `descr ${JSON.stringify(descrV)?.slice(0, 80)} is neither a type string nor a field list`);
  const numel = numelOf(shape);
  if (numel === null) throw new ParseError(FORMAT, 'bad-shape', headerOffset, `shape [${shape.join(', ')}] overflows`);
  const dataOffset = headerOffset + headerLength;
  if ((dataOffset - base) % 16 !== 0) {
    findings.push({ id: 'npy/unaligned', category: 'malformed', severity: 'info', title: 'Data is not aligned', detail: `numpy pads the header so data starts on a 64-byte boundary (16 in old versions); here it starts at byte ${dataOffset - base} of the array.`, file, offset: dataOffset });
  }
  const dataBytes = itemsize === null || hasObject ? null : numel * itemsize;
  return {
    header: { major, minor, headerOffset, headerLength, dataOffset, descr, fields, dtype, itemsize, byteOrder, fortranOrder: fortran, shape, numel, hasObject, dataBytes },
    findings,
  };
}

export interface ReadNpyOptions {
  /** file the findings and tensors are about (the .npy itself, or the .npz that holds it) */
  file: string;
  /** tensor name (an npz member name without `.npy`); defaults to the file name */
  tensorName?: string;
  /**
   * absolute offset of `source`'s first byte within `file`; null when the source is not addressable in
   * the file (a compressed npz member): tensors then have offset -1 and encoding 'deflate'
   */
  fileOffset?: number | null;
  depth?: number;
  signal?: AbortSignal;
}

export interface NpyRead {
  header: NpyHeader;
  tensors: TensorInfo[];
  findings: Finding[];
}

/**
 * Reads one .npy from a source (a file, or an npz member): header checks, data size against the bytes
 * present, the tensor it holds, and, for object arrays, a scan of the pickle that is the payload.
 */
/** Reads and parses the header of the .npy at the start of `source` (only the header's bytes are read). */
export async function readNpyHeader(source: ByteSource, file?: string, signal?: AbortSignal): Promise<{ header: NpyHeader; findings: Finding[] }> {
  const pre = await readExact(source, 0, Math.min(source.size, 12), FORMAT, signal);
  const declared = pre.length >= 10 ? (pre[6] === 1 ? pre[8] | (pre[9] << 8) : pre.length >= 12 ? new DataView(pre.buffer, pre.byteOffset + 8, 4).getUint32(0, true) : 0) : 0;
  const headEnd = Math.min(source.size, (pre[6] === 1 ? 10 : 12) + Math.min(declared, NPY_MAX_HEADER));
  return parseNpyHeader(await readExact(source, 0, headEnd, FORMAT, signal), 0, file);
}

export async function readNpy(source: ByteSource, opts: ReadNpyOptions): Promise<NpyRead> {
  const { file } = opts;
  const fileOffset = opts.fileOffset === undefined ? 0 : opts.fileOffset;
  const { header, findings } = await readNpyHeader(source, file, opts.signal);
  const shift = (f: Finding): Finding => (fileOffset === null ? { ...f, offset: undefined } : { ...f, offset: f.offset === undefined ? undefined : f.offset + fileOffset });
  const out = findings.map(shift);
  const dataAbs = fileOffset === null ? -1 : fileOffset + header.dataOffset;
  const remaining = source.size - header.dataOffset;
  const name = opts.tensorName ?? file;
  const tensors: TensorInfo[] = [];
  if (header.hasObject) {
    out.push({
      id: 'npy/object-array',
      category: 'code-execution',
      severity: 'info',
      title: 'Object array: the data is a pickle',
      detail: `"${name}" has dtype ${header.descr}, so its data (byte ${header.dataOffset} on) is a pickle that numpy.load(allow_pickle=True) runs (numpy refuses it by default). It was emulated and scanned; anything it imports or calls is listed as its own finding.`,
      file,
      offset: fileOffset === null ? undefined : dataAbs,
      evidence: { descr: header.descr, shape: header.shape },
    });
    const scan = await scanPickleSource(source, { file, start: header.dataOffset, context: 'npy', depth: opts.depth, signal: opts.signal, label: `the object array "${name}"` });
    for (const f of scan.findings) out.push(fileOffset === null ? { ...f, offset: undefined, evidence: { ...(f.evidence ?? {}), memberOffset: f.offset } } : { ...f, offset: f.offset === undefined ? undefined : f.offset + fileOffset });
    return { header, tensors, findings: out };
  }
  if (header.dataBytes !== null) {
    if (header.dataBytes > remaining) {
      out.push({ id: 'npy/truncated', category: 'malformed', severity: 'error', title: `"${name}" is truncated`, detail: `Shape [${header.shape.join(', ')}] of ${header.descr} needs ${header.dataBytes} bytes after the header, but only ${remaining} remain. numpy.load fails.`, file, offset: fileOffset === null ? undefined : fileOffset + source.size, evidence: { needed: header.dataBytes, present: remaining } });
    } else if (header.dataBytes < remaining) {
      const tail = await source.read(header.dataOffset + header.dataBytes, 256, opts.signal);
      const kind = sniffPayloadMagic(tail);
      out.push({ id: 'npy/trailing-bytes', category: 'malformed', severity: 'warning', title: `${remaining - header.dataBytes} bytes after the array data`, detail: `numpy.load ignores bytes after the data; they can hide a payload or a second format${kind ? ` (they start like ${kind === 'pickle' ? 'a pickle' : `a ${kind} file`}${kind === 'pickle' ? ', and were scanned' : ''})` : ''}.`, file, offset: fileOffset === null ? undefined : dataAbs + header.dataBytes });
      if (kind === 'pickle') {
        const scan = await scanPickleSource(source, { file, start: header.dataOffset + header.dataBytes, context: 'pickle', region: 'after-stop', depth: opts.depth, signal: opts.signal });
        for (const f of scan.findings) out.push(shift(f));
      }
    }
    tensors.push({
      name,
      dtype: header.dtype,
      shape: header.shape,
      numel: header.numel,
      file,
      offset: fileOffset === null || header.dataBytes > remaining ? -1 : dataAbs,
      length: header.dataBytes,
      origin: header.fortranOrder ? 'npy (Fortran order)' : 'npy',
      encoding: fileOffset === null ? 'deflate' : header.byteOrder === '>' || header.dtype === 'unknown' || header.dtype === 'string' ? 'other' : 'raw',
    });
  }
  return { header, tensors, findings: out };
}

export function sniffNpy(ctx: SniffContext): boolean {
  return startsWith(ctx.head, MAGIC);
}

export async function parseNpy(ctx: ParseContext): Promise<FileParse> {
  const file = ctx.source.name;
  const r = await readNpy(ctx.source, { file, signal: ctx.signal });
  return {
    format: 'npy',
    formatVersion: `${r.header.major}.${r.header.minor}`,
    model: { format: 'npy', formatVersion: `${r.header.major}.${r.header.minor}`, files: [file], tensors: r.tensors, metadata: { descr: r.header.descr, fortran_order: String(r.header.fortranOrder) } },
    findings: r.findings,
    extra: { npy: r.header },
  };
}

export const npyHandler: FormatHandler = {
  id: 'npy',
  label: 'a NumPy array',
  family: 'npy',
  sniff: sniffNpy,
  parse: parseNpy,
};

// An .npy found inside a pickle constant is read the same way (THREATS.md §1 "Nested payloads").
registerNestedPayloadScanner('npy', async (bytes: Uint8Array, opts: ScanPickleOptions) => {
  const r = await readNpy(new MemorySource(bytes), { file: opts.file ?? 'payload', fileOffset: opts.baseOffset ?? 0, depth: opts.depth, signal: opts.signal });
  return r.findings;
});
