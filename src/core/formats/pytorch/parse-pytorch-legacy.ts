import { ByteReader } from '../../io/byte-reader';
import { readExact } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { TORCH_MAX_STORAGES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { scanPickleSource } from '../../scan/pickle/scan-pickle';
import { sniffPayloadMagic } from '../../scan/pickle/emulate';
import { dictEntriesOf, formatValue, itemsOf, strOf, type PickleValue } from '../../scan/pickle/value';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { plainStateDictFinding } from './findings';
import { collectTorchTensors, elementBytes, storageFromPersid, type TorchStorageRef } from './torch-rebuild';
import { tensorInfosOf, type StorageBytes } from './torch-tensors';

const FORMAT = 'pytorch-legacy';

/** torch/serialization.py MAGIC_NUMBER, pickled first as a LONG1 of 10 bytes (little-endian). */
const MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const MAGIC_NUMBER = '119547037146038801333356';
/** torch/serialization.py PROTOCOL_VERSION */
const PROTOCOL_VERSION = 1001;

/**
 * Legacy (pre-1.6, `_use_new_zipfile_serialization=False`) checkpoints: a PROTO-2 pickle of the magic
 * number, one of the protocol version, one of sys_info, the object pickle, the sorted storage-keys
 * pickle, then each storage raw: an 8-byte little-endian element count and the elements
 * (torch/serialization.py `_legacy_save`). Mistakes to avoid (THREATS.md §10): scanning only the first
 * pickle, and walking past the pickles into raw tensor bytes.
 */
export function sniffPytorchLegacy(ctx: SniffContext): boolean {
  const h = ctx.head;
  if (h[0] !== 0x80) return false;
  // PROTO n, optionally FRAME (protocol ≥ 4), then the magic LONG1
  for (let at = 2; at <= 12 && at + MAGIC_LONG1.length <= h.length; at++) {
    let ok = true;
    for (let i = 0; i < MAGIC_LONG1.length && ok; i++) if (h[at + i] !== MAGIC_LONG1[i]) ok = false;
    if (ok) return true;
  }
  return false;
}

export async function parsePytorchLegacy(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  const file = source.name;
  // The five header pickles only: maxPickles stops right after the storage keys, never in tensor bytes.
  const scan = await scanPickleSource(source, { file, context: 'torch', maxPickles: 5, scanTrailing: false, signal: ctx.signal, label: `the legacy checkpoint "${file}"` });
  const em = scan.emulation;
  const findings: Finding[] = [...scan.findings];
  const [magic, proto, sysInfo, obj, keys] = em.pickles;
  if (!magic?.stopped || magic.value?.kind !== 'bigint' || magic.value.value !== MAGIC_NUMBER) {
    throw new ParseError(FORMAT, 'bad-magic', 0, `the first pickle is ${magic?.value ? formatValue(magic.value) : 'unreadable'}, not the PyTorch magic number ${MAGIC_NUMBER}`);
  }
  if (!proto?.stopped || proto.value?.kind !== 'int' || proto.value.value !== PROTOCOL_VERSION) {
    findings.push({ id: `${FORMAT}/protocol-version`, category: 'malformed', severity: 'error', title: 'Unexpected legacy protocol version', detail: `The second pickle holds ${proto?.value ? formatValue(proto.value) : 'nothing readable'}; torch.load expects ${PROTOCOL_VERSION} and refuses anything else.`, file, offset: proto?.start ?? magic.end });
  }
  let littleEndian = true;
  for (const [k, v] of (sysInfo?.value && dictEntriesOf(sysInfo.value)) || []) if (strOf(k) === 'little_endian' && v.kind === 'bool') littleEndian = v.value;
  if (!obj?.stopped || !keys?.stopped) {
    findings.push({ id: `${FORMAT}/truncated`, category: 'malformed', severity: 'error', title: 'The legacy checkpoint ends inside its pickles', detail: `A legacy checkpoint holds five pickles before its storages; only ${em.pickles.filter((p) => p.stopped).length} end cleanly. torch.load fails on this file.`, file, offset: em.end });
    return { format: 'pytorch-legacy', model: { format: 'pytorch-legacy', files: [file], tensors: [], metadata: {} }, findings };
  }

  // Storage types by key, from the persistent ids of the object pickle.
  const { tensors: rebuilt, problems } = collectTorchTensors(obj.value!);
  const byKey = new Map<string, TorchStorageRef>();
  for (const p of em.persistentIds) {
    if (p.pickle !== obj.index) continue;
    const s = storageFromPersid({ kind: 'persid', pid: p.pid, offset: p.offset });
    if (s && !byKey.has(s.key)) byKey.set(s.key, s);
  }
  for (const p of problems) findings.push({ id: `${FORMAT}/bad-tensor`, category: 'malformed', severity: 'error', title: 'A tensor cannot be rebuilt', detail: p.message, file, offset: p.offset });

  // Walk the raw storages in the order of the keys pickle.
  const keyList = (itemsOf(keys.value!) ?? []).map((k: PickleValue) => strOf(k));
  const storages = new Map<string, StorageBytes>();
  let cursor = keys.end;
  if (keyList.length > TORCH_MAX_STORAGES) throw new ParseError(FORMAT, 'too-many-storages', keys.start, `${keyList.length} storages listed, over the ${TORCH_MAX_STORAGES} limit`);
  for (const key of keyList) {
    if (key === null) {
      findings.push({ id: `${FORMAT}/bad-storage-keys`, category: 'malformed', severity: 'error', title: 'The storage-keys pickle is not a list of strings', detail: `The fifth pickle (byte ${keys.start}) should list storage keys as strings; storages after this point cannot be located.`, file, offset: keys.start });
      break;
    }
    const ref = byKey.get(key);
    if (!ref) {
      findings.push({ id: `${FORMAT}/unknown-storage`, category: 'malformed', severity: 'error', title: `Storage "${key}" is used by no tensor`, detail: `The storage-keys pickle lists "${key}", which no persistent id of the object pickle names, so its element size (and where later storages start) is unknown. torch.load would read its bytes blindly.`, file, offset: keys.start, evidence: { key } });
      break;
    }
    const hdr = await readExact(source, cursor, 8, FORMAT, ctx.signal).catch(() => null);
    if (!hdr) {
      findings.push({ id: `${FORMAT}/truncated-storage`, category: 'malformed', severity: 'error', title: `Storage "${key}" is missing`, detail: `The file ends at byte ${source.size}, where storage "${key}" should start (byte ${cursor}). torch.load fails on this file.`, file, offset: Math.min(cursor, source.size), evidence: { key } });
      break;
    }
    const raw = new ByteReader(hdr, FORMAT, cursor).u64();
    // a count larger than the file is damage, reported below as a storage running past the end
    const count = raw > BigInt(source.size) ? Number.MAX_SAFE_INTEGER : Number(raw);
    const es = elementBytes(ref.dtype);
    const bytes = count * es;
    if (count !== ref.numel) {
      findings.push({ id: `${FORMAT}/storage-size-mismatch`, category: 'malformed', severity: 'error', title: `Storage "${key}" has ${raw} elements, its persistent id says ${ref.numel}`, detail: `The raw storage at byte ${cursor} declares ${raw} elements, but the object pickle's persistent id (byte ${ref.offset}) declares ${ref.numel}. Tools disagree on which to trust.`, file, offset: cursor, evidence: { key, declared: ref.numel, found: String(raw) } });
    }
    if (!Number.isSafeInteger(bytes) || cursor + 8 + bytes > source.size) {
      findings.push({ id: `${FORMAT}/truncated-storage`, category: 'malformed', severity: 'error', title: `Storage "${key}" runs past the end of the file`, detail: `Storage "${key}" declares ${raw} elements of ${es} bytes at byte ${cursor + 8}, past the end of the ${source.size}-byte file.`, file, offset: cursor, evidence: { key, count: String(raw) } });
      break;
    }
    storages.set(key, { offset: cursor + 8, length: bytes, encoding: littleEndian ? 'raw' : 'other' });
    cursor += 8 + bytes;
  }
  if (storages.size === keyList.length && cursor < source.size) {
    const tail = await source.read(cursor, 256, ctx.signal);
    const kind = sniffPayloadMagic(tail);
    findings.push({
      id: `${FORMAT}/trailing-bytes`,
      category: 'malformed',
      severity: 'warning',
      title: `${source.size - cursor} bytes after the last storage`,
      detail: `The last storage ends at byte ${cursor} but the file goes on to byte ${source.size}. torch.load ignores them; they can hide a payload or a second format${kind ? ` (they start like ${kind === 'pickle' ? 'a pickle' : `a ${kind} file`}, and were scanned)` : ''}.`,
      file,
      offset: cursor,
      evidence: { from: cursor, to: source.size },
    });
    if (kind === 'pickle') {
      const extra = await scanPickleSource(source, { file, start: cursor, context: 'pickle', region: 'after-stop', signal: ctx.signal, label: `the bytes after the storages of "${file}"` });
      findings.push(...extra.findings);
    }
  }
  const infos = tensorInfosOf(rebuilt, file, (k) => storages.get(k) ?? null, FORMAT, 'legacy PyTorch storage');
  findings.push(...infos.findings);
  if (scan.plain && !findings.some((f) => f.severity !== 'info')) findings.push(plainStateDictFinding(file, 'legacy PyTorch checkpoint'));
  if (!littleEndian) findings.push({ id: `${FORMAT}/big-endian`, category: 'malformed', severity: 'info', title: 'Big-endian storages', detail: 'sys_info says the checkpoint was written on a big-endian machine; tensor bytes are not little-endian and were not decoded for statistics.', file, offset: sysInfo?.start });
  return {
    format: 'pytorch-legacy',
    formatVersion: String(PROTOCOL_VERSION),
    model: { format: 'pytorch-legacy', formatVersion: String(PROTOCOL_VERSION), files: [file], tensors: infos.tensors, metadata: {} },
    findings,
    extra: { pickleEnd: keys.end, storagesEnd: cursor },
  };
}

export const pytorchLegacyHandler: FormatHandler = {
  id: 'pytorch-legacy',
  label: 'a legacy PyTorch checkpoint',
  family: 'pickle',
  sniff: sniffPytorchLegacy,
  parse: parsePytorchLegacy,
};
