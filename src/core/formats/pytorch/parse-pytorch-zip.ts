import { MemorySource } from '../../io/byte-source';
import { isParseError, ParseError } from '../../io/errors';
import type { FormatId, TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { archiveFindings } from '../../scan/archive/archive-findings';
import { scanNestedZip, scanZipMembers } from '../../scan/archive/scan-members';
import { registerNestedPayloadScanner, scanPickleBytes, type PickleScanResult } from '../../scan/pickle/scan-pickle';
import { startsWith } from '../magic';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import { findEntry, readZip, readZipMember, ZIP_METHOD_STORED, type ZipArchive, type ZipEntry } from '../zip/read-zip';
import { plainStateDictFinding } from './findings';
import { collectTorchTensors, elementBytes } from './torch-rebuild';
import { tensorInfosOf, type StorageBytes } from './torch-tensors';

const FORMAT = 'pytorch-zip';

/** Largest data.pkl / constants.pkl read into memory (the pickle, never tensor bytes). */
const PYTORCH_MAX_PICKLE_MEMBER = 256 * 1024 * 1024;

function contains(bytes: Uint8Array, needle: string): boolean {
  const n = needle.length;
  const first = needle.charCodeAt(0);
  outer: for (let i = 0; i + n <= bytes.length; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < n; j++) if (bytes[i + j] !== needle.charCodeAt(j)) continue outer;
    return true;
  }
  return false;
}

/**
 * PyTorch zip checkpoints (torch.save since 1.6) and TorchScript archives (torch.jit.save) are zips whose
 * members live under one folder: `data.pkl` (the object pickle), `data/<key>` (raw storages),
 * `version`, and for TorchScript `code/…` and `constants.pkl` (caffe2/serialize/inline_container.cc).
 * torch.save writes data.pkl first, so its name is in the first local header; TorchScript writes its
 * tensors first, but `constants.pkl` and `version` close the central directory at the end.
 */
export function sniffPytorchZip(ctx: SniffContext): boolean {
  if (!startsWith(ctx.head, [0x50, 0x4b, 0x03, 0x04])) return false;
  const head = ctx.head.subarray(0, 512);
  return contains(head, 'data.pkl') || contains(ctx.tail, 'data.pkl') || contains(ctx.tail, 'constants.pkl');
}

/** The folder every member sits under (`archive/`), as PyTorchStreamReader derives it from the first entry. */
function archivePrefix(zip: ZipArchive): string {
  const first = zip.entries.find((e) => e.inCentral) ?? zip.entries[0];
  if (!first) return '';
  const slash = first.name.indexOf('/');
  return slash >= 0 ? first.name.slice(0, slash + 1) : '';
}

async function readText(ctx: ParseContext, entry: ZipEntry | undefined): Promise<string | null> {
  if (!entry) return null;
  try {
    const m = await readZipMember(ctx.source, entry, { maxBytes: 64, signal: ctx.signal });
    return new TextDecoder('utf-8').decode(m.bytes).trim().slice(0, 32);
  } catch (e) {
    if (isParseError(e)) return null;
    throw e;
  }
}

async function scanMemberPickle(ctx: ParseContext, entry: ZipEntry, context: 'torch' | 'torchscript'): Promise<PickleScanResult> {
  const m = await readZipMember(ctx.source, entry, { maxBytes: PYTORCH_MAX_PICKLE_MEMBER, signal: ctx.signal });
  const stored = entry.method === ZIP_METHOD_STORED;
  const r = await scanPickleBytes(m.bytes, {
    file: ctx.name,
    baseOffset: stored ? entry.dataOffset : 0,
    fixedOffset: stored ? undefined : entry.localHeaderOffset,
    context,
    label: `zip member "${entry.name}"`,
    signal: ctx.signal,
  });
  if (m.truncated) {
    r.findings.push({
      id: `${FORMAT}/pickle-too-large`,
      category: 'malformed',
      severity: 'warning',
      title: `"${entry.name}" was only partly scanned`,
      detail: `The member holds more than ${PYTORCH_MAX_PICKLE_MEMBER} bytes (or its data ends early); only the first ${m.bytes.length} were emulated.`,
      file: ctx.name,
      offset: entry.localHeaderOffset,
    });
  }
  for (const f of r.findings) f.evidence = { ...(f.evidence ?? {}), member: entry.name };
  return r;
}

export async function parsePytorchZip(ctx: ParseContext): Promise<FileParse> {
  const file = ctx.name;
  const zip = await readZip(ctx.source, { signal: ctx.signal });
  const prefix = archivePrefix(zip);
  const dataEntry = findEntry(zip, `${prefix}data.pkl`);
  const constantsEntry = findEntry(zip, `${prefix}constants.pkl`);
  const codeEntries = zip.entries.filter((e) => e.inCentral && e.name.startsWith(`${prefix}code/`) && !e.isDirectory);
  if (!dataEntry && !constantsEntry) {
    throw new ParseError(FORMAT, 'no-data-pkl', 0, `no "${prefix}data.pkl" member: not a PyTorch checkpoint`);
  }
  const torchscript = !!constantsEntry || codeEntries.length > 0;
  const format: FormatId = torchscript ? 'torchscript' : 'pytorch-zip';
  const context = torchscript ? 'torchscript' : 'torch';
  const findings: Finding[] = [];
  const version = (await readText(ctx, findEntry(zip, `${prefix}version`))) ?? (await readText(ctx, findEntry(zip, `${prefix}.data/version`)));

  const storageEntry = (key: string): ZipEntry | undefined => findEntry(zip, `${prefix}data/${key}`) ?? (torchscript ? findEntry(zip, `${prefix}constants/${key}`) : undefined);
  const storageOf = (key: string): StorageBytes | null => {
    const e = storageEntry(key);
    if (!e || e.dataOffset < 0) return null;
    const stored = e.method === ZIP_METHOD_STORED;
    return { offset: stored ? e.dataOffset : -1, length: stored ? e.compressedSize : e.uncompressedSize, encoding: stored ? 'raw' : 'deflate' };
  };

  let plain = true;
  const tensors: TensorInfo[] = [];
  const used = new Set<string>();
  const pickles: [ZipEntry, string][] = [];
  if (dataEntry) pickles.push([dataEntry, '']);
  if (constantsEntry) pickles.push([constantsEntry, 'constants']);
  for (const [entry, namePrefix] of pickles) {
    const scan = await scanMemberPickle(ctx, entry, context);
    findings.push(...scan.findings);
    plain &&= scan.plain;
    const root = scan.emulation.pickles[0]?.value;
    if (!root) continue;
    const { tensors: rebuilt, problems, truncated } = collectTorchTensors(root);
    for (const p of problems) findings.push({ id: `${FORMAT}/bad-tensor`, category: 'malformed', severity: 'error', title: 'A tensor cannot be rebuilt', detail: p.message, file, offset: entry.method === ZIP_METHOD_STORED ? p.offset : entry.localHeaderOffset });
    if (truncated) findings.push({ id: `${FORMAT}/too-many-tensors`, category: 'malformed', severity: 'warning', title: 'Not every tensor was listed', detail: `"${entry.name}" describes more tensors than Tamperscope lists.`, file, offset: entry.localHeaderOffset });
    const named = namePrefix ? rebuilt.map((t) => ({ ...t, name: t.name === '(root)' ? namePrefix : `${namePrefix}.${t.name}` })) : rebuilt;
    const infos = tensorInfosOf(named, file, storageOf, FORMAT, `zip member ${prefix}data/<key>`);
    tensors.push(...infos.tensors);
    findings.push(...infos.findings);
    // every storage member must be as large as its persistent id says
    const checked = new Set<string>();
    for (const t of named) {
      used.add(t.storage.key);
      if (checked.has(t.storage.key)) continue;
      checked.add(t.storage.key);
      const e = storageEntry(t.storage.key);
      const want = t.storage.numel * elementBytes(t.storage.dtype);
      if (e && e.uncompressedSize !== want) {
        findings.push({
          id: `${FORMAT}/storage-size-mismatch`,
          category: 'malformed',
          severity: 'error',
          title: `Storage "${t.storage.key}" holds ${e.uncompressedSize} bytes, its persistent id says ${want}`,
          detail: `Member "${e.name}" holds ${e.uncompressedSize} bytes, but the persistent id at byte ${t.storage.offset} declares ${t.storage.numel} ${t.storage.storageType} elements (${want} bytes). torch.load fails or reads other data.`,
          file,
          offset: e.localHeaderOffset,
          evidence: { key: t.storage.key, member: e.name, declared: want, found: e.uncompressedSize },
        });
      }
    }
  }

  // Every other member, by content (THREATS.md §2): raw storages that a tensor uses are not pickles and are skipped.
  const skipNames = new Set<string>();
  for (const k of used) {
    const e = storageEntry(k);
    if (e) skipNames.add(e.name);
  }
  // TorchScript's other pickles (`*.debug_pkl`, `attributes.pkl`) name TorchScript helpers
  // (torch.jit._pickle.*) that only torch.jit.load's own unpickler resolves: scan them in that context.
  const scriptPickles = torchscript ? zip.entries.filter((e) => e.inCentral && !e.isDirectory && e !== dataEntry && e !== constantsEntry && /\.(debug_)?pkl$/.test(e.name)) : [];
  for (const e of scriptPickles) {
    try {
      findings.push(...(await scanMemberPickle(ctx, e, 'torchscript')).findings);
    } catch (err) {
      if (!isParseError(err)) throw err;
      findings.push({ id: `${FORMAT}/member-unreadable`, category: 'malformed', severity: 'warning', title: `"${e.name}" could not be read`, detail: `${err.message}. Its content was not scanned.`, file, offset: e.localHeaderOffset });
    }
  }
  const scriptSet = new Set(scriptPickles);
  const members = await scanZipMembers(ctx.source, zip, {
    file,
    signal: ctx.signal,
    skip: (e) => e === dataEntry || e === constantsEntry || skipNames.has(e.name) || scriptSet.has(e),
  });
  findings.push(...archiveFindings(zip, file, members.checks), ...members.findings);

  if (torchscript) {
    findings.push({
      id: 'torchscript/code',
      category: 'code-execution',
      severity: 'warning',
      title: `TorchScript archive: ${codeEntries.length} code file${codeEntries.length === 1 ? '' : 's'} run when loaded`,
      detail: `This is a TorchScript archive (torch.jit.save). torch.jit.load compiles and runs the TorchScript code in ${codeEntries.slice(0, 5).map((e) => `"${e.name}"`).join(', ')}${codeEntries.length > 5 ? ', …' : ''}; TorchScript can read and write files and call registered native operators. Load it only if you trust its author.`,
      file,
      offset: codeEntries[0]?.localHeaderOffset ?? constantsEntry?.localHeaderOffset,
      evidence: { code: codeEntries.slice(0, 100).map((e) => e.name) },
    });
  } else if (plain && !findings.some((f) => f.severity !== 'info')) {
    findings.push(plainStateDictFinding(file, 'PyTorch checkpoint'));
  }
  const metadata: Record<string, string> = {};
  if (version) metadata['pytorch.version'] = version;
  return {
    format,
    formatVersion: version ?? undefined,
    model: { format, formatVersion: version ?? undefined, files: [file], tensors, metadata },
    findings,
    extra: { pytorch: { prefix, torchscript, members: zip.entries.length } },
  };
}

export const pytorchZipHandler: FormatHandler = {
  id: 'pytorch-zip',
  label: 'a PyTorch checkpoint',
  family: 'zip',
  sniff: sniffPytorchZip,
  parse: parsePytorchZip,
};

// A zip found inside a pickle constant (e.g. torch.storage._load_from_bytes) is opened like a member zip.
registerNestedPayloadScanner('zip', (bytes, opts) =>
  scanNestedZip(new MemorySource(bytes), { file: opts.file ?? 'payload', depth: (opts.depth ?? 0) + 1, prefix: `embedded zip at byte ${opts.baseOffset ?? 0}/`, signal: opts.signal }),
);
