import * as jsfive from 'jsfive';
import { readExact, type ByteSource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { HDF5_MAX_BYTES, HDF5_MAX_DATASETS, HDF5_MAX_DEPTH, MAX_RANK } from '../../io/limits';
import { numelOf, byteSizeOf, type DType } from '../../model/dtype';

const FORMAT = 'hdf5';
/** HDF5 message type of the Data Layout message (HDF5 spec IV.A.2.i). */
const DATA_LAYOUT_MSG = 0x0008;

export interface Hdf5Dataset {
  /** absolute path inside the file, "/layers/dense/vars/0" */
  path: string;
  dtype: DType;
  /** numpy-style dtype string as jsfive reports it ("<f4"), or a description of compound/other types */
  rawDtype: string;
  shape: number[];
  numel: number;
  /** byte offset of a contiguous dataset's data in the HDF5 bytes, -1 for chunked/compact/unallocated */
  offset: number;
  length: number;
  layout: 'contiguous' | 'chunked' | 'compact' | 'unknown';
  bigEndian: boolean;
}

export interface Hdf5Contents {
  /** root attributes that are strings or numbers (model_config, keras_version, ...) */
  rootAttrs: Record<string, string>;
  datasets: Hdf5Dataset[];
  /** problems met while walking (unreadable objects, limits) */
  problems: { path: string; message: string }[];
  /** the file was larger than HDF5_MAX_BYTES and only its start was given to the reader */
  partial: boolean;
}

const NUMPY_DTYPES: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

function attrString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length === 1) return attrString(v[0]);
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return null;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : typeof e === 'string' ? e : String(e);
}

/**
 * Lists the groups, datasets and root attributes of an HDF5 file with jsfive. jsfive parses from one
 * ArrayBuffer, so the file is read whole up to HDF5_MAX_BYTES; a larger file gets only its first
 * HDF5_MAX_BYTES (objects stored beyond are reported unreadable, not guessed). Dataset bytes are never
 * decoded: only the Data Layout message is read to locate contiguous data.
 */
export async function readHdf5(source: ByteSource, signal?: AbortSignal): Promise<Hdf5Contents> {
  const partial = source.size > HDF5_MAX_BYTES;
  const bytes = await readExact(source, 0, Math.min(source.size, HDF5_MAX_BYTES), FORMAT, signal);
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
  let file: jsfive.File;
  try {
    file = new jsfive.File(buffer, source.name);
  } catch (e) {
    throw new ParseError(FORMAT, 'unreadable', 0, `the superblock or root group cannot be read: ${errorText(e)}`);
  }
  const problems: Hdf5Contents['problems'] = [];
  const rootAttrs: Record<string, string> = {};
  try {
    for (const [k, v] of Object.entries(file.attrs)) {
      const s = attrString(v);
      if (s !== null) rootAttrs[k] = s;
    }
  } catch (e) {
    problems.push({ path: '/', message: `root attributes unreadable: ${errorText(e)}` });
  }
  const datasets: Hdf5Dataset[] = [];
  const seen = new Set<number>();
  const walk = (group: jsfive.Group, path: string, depth: number): void => {
    if (depth > HDF5_MAX_DEPTH) {
      problems.push({ path, message: `groups nested deeper than ${HDF5_MAX_DEPTH}` });
      return;
    }
    let keys: string[];
    try {
      keys = group.keys;
    } catch (e) {
      problems.push({ path, message: `group unreadable: ${errorText(e)}` });
      return;
    }
    for (const key of keys) {
      if (signal?.aborted) return;
      if (datasets.length >= HDF5_MAX_DATASETS) {
        problems.push({ path, message: `more than ${HDF5_MAX_DATASETS} datasets; the rest were not listed` });
        return;
      }
      const child = `${path === '/' ? '' : path}/${key}`;
      try {
        const obj = group.get(key);
        const address = obj._dataobjects.offset;
        // Hard links can make cycles (a group that contains itself): visit each object once.
        if (seen.has(address)) continue;
        seen.add(address);
        if (obj instanceof jsfive.Dataset) datasets.push(describeDataset(obj, child, bytes));
        else walk(obj as jsfive.Group, child, depth + 1);
      } catch (e) {
        problems.push({ path: child, message: errorText(e) });
      }
    }
  };
  walk(file, '/', 0);
  return { rootAttrs, datasets, problems, partial };
}

function describeDataset(ds: jsfive.Dataset, path: string, bytes: Uint8Array): Hdf5Dataset {
  const raw = ds.dtype;
  const rawDtype = typeof raw === 'string' ? raw : JSON.stringify(raw).slice(0, 80);
  const m = typeof raw === 'string' ? /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(raw) : null;
  const dtype: DType = m ? NUMPY_DTYPES[`${m[2]}${m[3]}`] ?? (m[2] === 'S' ? 'string' : 'unknown') : 'object';
  const shape = [...ds.shape].map(Number);
  if (shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw `dataspace of ${shape.length} dims [${shape.slice(0, 8).join(', ')}] is not a valid shape`;
  const numel = numelOf(shape);
  if (numel === null) throw `dataspace [${shape.join(', ')}] overflows`;
  let offset = -1;
  let layout: Hdf5Dataset['layout'] = 'unknown';
  // Data Layout message: version 3/4 → class at byte 1, contiguous address at byte 2 (spec IV.A.2.i);
  // versions 1/2 → dimensionality, class at byte 2, address at byte 8.
  const msg = ds._dataobjects.find_msg_type(DATA_LAYOUT_MSG)[0];
  const at = msg?.get('offset_to_message');
  if (typeof at === 'number' && at + 16 <= bytes.length) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = bytes[at];
    const cls = version >= 3 ? bytes[at + 1] : bytes[at + 2];
    const addrAt = version >= 3 ? at + 2 : at + 8;
    layout = cls === 0 ? 'compact' : cls === 1 ? 'contiguous' : cls === 2 ? 'chunked' : 'unknown';
    if (cls === 1 && addrAt + 8 <= bytes.length) {
      const addr = v.getBigUint64(addrAt, true);
      if (addr !== 0xffffffffffffffffn && addr <= BigInt(Number.MAX_SAFE_INTEGER)) offset = Number(addr);
    }
  }
  const length = byteSizeOf(dtype, numel) ?? (m ? numel * Number(m[3]) : 0);
  return { path, dtype, rawDtype, shape, numel, offset, length, layout, bigEndian: m?.[1] === '>' };
}
