import { ByteReader } from '../../io/byte-reader';
import { MemorySource, readExact, type ByteSource } from '../../io/byte-source';
import { isParseError, ParseError } from '../../io/errors';
import { MAX_RANK } from '../../io/limits';
import { byteSizeOf, numelOf, type DType } from '../../model/dtype';
import type { Finding } from '../../report/finding';
import type { NestedPayloadContext } from '../../scan/archive/nested-payload';
import { scanPickleBytes, scanPickleSource } from '../../scan/pickle/scan-pickle';

const FORMAT = 'npy';
/** numpy/lib/format.py caps header_len at 10 000 bytes by default (max_header_size) since 1.24. */
const NPY_MAX_HEADER = 65536;

export interface NpyHeader {
  major: number;
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  numel: number;
  dtype: DType;
  /** the dtype holds Python objects: the data is a pickle */
  isObject: boolean;
  /** offset of the data from the start of the .npy bytes */
  dataOffset: number;
  /** bytes the data needs (-1 for objects) */
  dataLength: number;
}

const DESCR: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool', c8: 'complex64', c16: 'complex128',
};

/**
 * Reads a `.npy` header (numpy/lib/format.py, NEP 1): magic, version, a little-endian header length,
 * then a Python dict literal with descr, fortran_order and shape. The literal is matched, never
 * evaluated. A structured descr (a list) containing 'O' holds objects too.
 */
export async function readNpyHeader(source: ByteSource, signal?: AbortSignal): Promise<NpyHeader> {
  const pre = await readExact(source, 0, 10, FORMAT, signal);
  const r = new ByteReader(pre, FORMAT);
  const magic = r.take(6);
  if (magic[0] !== 0x93 || String.fromCharCode(...magic.subarray(1)) !== 'NUMPY') throw new ParseError(FORMAT, 'bad-magic', 0, 'does not start with \\x93NUMPY');
  const major = r.u8();
  r.u8();
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = r.u16();
    start = 10;
  } else if (major === 2 || major === 3) {
    const b = await readExact(source, 8, 4, FORMAT, signal);
    headerLen = new ByteReader(b, FORMAT, 8).u32();
    start = 12;
  } else throw new ParseError(FORMAT, 'unsupported-version', 6, `.npy version ${major}; expected 1, 2 or 3`);
  if (headerLen > NPY_MAX_HEADER) throw new ParseError(FORMAT, 'header-too-large', 8, `header of ${headerLen} bytes is over the ${NPY_MAX_HEADER}-byte limit`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(await readExact(source, start, headerLen, FORMAT, signal));
  const descrM = /['"]descr['"]\s*:\s*(?:'([^']*)'|"([^"]*)"|(\[[\s\S]*?\])\s*,\s*['"](?:fortran_order|shape))/.exec(text);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descrM || !fortranM || !shapeM) throw new ParseError(FORMAT, 'bad-header', start, `header ${JSON.stringify(text.slice(0, 120))} lacks descr, fortran_order or shape`);
  const structured = descrM[3] !== undefined;
  const descr = descrM[1] ?? descrM[2] ?? descrM[3];
  const dims = shapeM[1].split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s.length > 0);
  if (dims.length > MAX_RANK || !dims.every((d) => /^\d+$/.test(d))) throw new ParseError(FORMAT, 'bad-shape', start, `shape (${shapeM[1]}) is not a tuple of non-negative integers`);
  const shape = dims.map(Number);
  const numel = numelOf(shape);
  if (numel === null) throw new ParseError(FORMAT, 'shape-overflow', start, `shape (${shapeM[1]}) overflows`);
  const isObject = structured ? /'O'|"O"|'\|O'|"\|O"/.test(descr) : /^[|<>=]?O/.test(descr);
  const m = /^([|<>=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const dtype: DType = isObject ? 'object' : m ? DESCR[`${m[2]}${m[3]}`] ?? (m[2] === 'S' || m[2] === 'U' ? 'string' : 'unknown') : 'unknown';
  const dataLength = isObject ? -1 : byteSizeOf(dtype, numel) ?? (m ? numel * Number(m[3]) * (m[2] === 'U' ? 4 : 1) : -1);
  return { major, descr, fortranOrder: fortranM[1] === 'True', shape, numel, dtype, isObject, dataOffset: start + headerLen, dataLength };
}

/**
 * A `.npy` found inside another file: its header must be readable, and an object array's data (a
 * pickle that numpy.load(allow_pickle=True) unpickles) is handed to the pickle scanner.
 */
export async function scanNpyMember(content: ByteSource, ctx: NestedPayloadContext): Promise<Finding[]> {
  let h: NpyHeader;
  try {
    h = await readNpyHeader(content, ctx.signal);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return [{ id: 'npy/bad-header', category: 'malformed', severity: 'error', title: `"${ctx.member}" is not a readable .npy`, detail: `${e.message}. numpy.load refuses it; its content was not checked.`, file: ctx.file, offset: ctx.baseOffset ?? ctx.anchorOffset, evidence: { member: ctx.member, code: e.code } }];
  }
  if (!h.isObject) return [];
  const label = `object array "${ctx.member}"`;
  const common = { file: ctx.file, depth: ctx.depth + 1, context: 'npy' as const, label, scanTrailing: true, signal: ctx.signal };
  const r =
    content instanceof MemorySource
      ? await scanPickleBytes(content.bytes.subarray(h.dataOffset), { ...common, baseOffset: ctx.baseOffset !== undefined ? ctx.baseOffset + h.dataOffset : undefined, fixedOffset: ctx.baseOffset === undefined ? ctx.anchorOffset : undefined })
      : await scanPickleSource(content, { ...common, start: h.dataOffset, fixedOffset: ctx.baseOffset !== undefined ? ctx.baseOffset + h.dataOffset : ctx.anchorOffset });
  return [
    { id: 'npy/object-array', category: 'code-execution', severity: 'warning', title: `"${ctx.member}" is an object array (a pickle)`, detail: `The array's dtype is ${JSON.stringify(h.descr)}: its data is a pickle that numpy.load(allow_pickle=True) executes. Its imports are reported separately.`, file: ctx.file, offset: ctx.baseOffset ?? ctx.anchorOffset, evidence: { member: ctx.member, descr: h.descr } },
    ...r.findings.map((f) => ({ ...f, evidence: { ...(f.evidence ?? {}), member: ctx.member } })),
  ];
}
