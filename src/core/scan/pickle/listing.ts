import { readZip, readZipMember } from '../../formats/zip/read-zip';
import type { ByteSource } from '../../io/byte-source';
import { isParseError } from '../../io/errors';
import { disassemblePickle, formatDisassembly } from './disassemble';
import { emulatePickle } from './emulate';

/** Bytes of a raw pickle file read for a listing: a listing is for people, never the whole of a huge file. */
export const LISTING_MAX_BYTES = 16 * 1024 * 1024;

export interface PickleListing {
  /** where the listed stream lives: the file, or `file › member` */
  where: string;
  text: string;
}

/**
 * A readable listing of the pickle program around a finding's offset (`pickle/*` findings). For a zip
 * (PyTorch checkpoints) the member that holds the offset is listed with its absolute offsets; any other
 * file is listed from its start. Returns null when the offset lies in no stored pickle stream (for
 * example inside a compressed member, whose offsets are not file offsets).
 */
export async function listPickleAround(source: ByteSource, offset: number, signal?: AbortSignal): Promise<PickleListing | null> {
  let bytes: Uint8Array;
  let base = 0;
  let where = source.name;
  const head = await source.read(0, 4, signal);
  if (head[0] === 0x50 && head[1] === 0x4b) {
    let zip;
    try {
      zip = await readZip(source, { signal });
    } catch (e) {
      if (isParseError(e)) return null;
      throw e;
    }
    const entry = zip.entries.find((e) => e.dataOffset >= 0 && e.method === 0 && offset >= e.dataOffset && offset < e.dataOffset + e.compressedSize);
    if (!entry) return null;
    bytes = (await readZipMember(source, entry, { maxBytes: LISTING_MAX_BYTES, signal })).bytes;
    base = entry.dataOffset;
    where = `${source.name} › ${entry.name}`;
  } else {
    if (offset >= source.size) return null;
    bytes = await source.read(0, Math.min(source.size, LISTING_MAX_BYTES), signal);
  }
  const emulation = emulatePickle(bytes, { baseOffset: base });
  const d = disassemblePickle(bytes, { baseOffset: base, around: offset, context: 14, emulation });
  return { where, text: formatDisassembly(d) };
}
