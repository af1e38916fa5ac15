import type { FolderIndex } from '../../formats/types';
import { basename, dirname, joinPath, pathProblems, type PathProblem } from '../../io/paths';
import { byteSizeOf } from '../../model/dtype';
import type { TensorInfo } from '../../model/types';
import type { Finding } from '../../report/finding';

/** One `TensorProto.external_data` list met anywhere in a model, as read (nothing resolved yet). */
export interface OnnxExternalRef {
  /** the tensor it belongs to; its name and origin are final by the time the scan runs */
  tensor: TensorInfo;
  /** key/value pairs in file order, with the offset of each StringStringEntryProto */
  entries: { key: string; value: string; offset: number }[];
  /** TensorProto.data_location (1 = EXTERNAL) */
  dataLocation: number;
  /** offset of the TensorProto in the model file */
  offset: number;
}

/** The keys onnx/external_data_helper.py and onnxruntime read (onnx.proto: "location", "offset", "length", "checksum"). */
export const EXTERNAL_DATA_KEYS: ReadonlySet<string> = new Set(['location', 'offset', 'length', 'checksum']);

/**
 * onnxruntime treats this location as "the bytes are at the process address given by `offset`"
 * (onnxruntime/core/framework/tensorprotoutils.cc, kTensorProtoMemoryAddressTag). In a file from
 * outside, it asks the runtime to read arbitrary process memory.
 */
const ORT_MEMORY_ADDRESS_TAG = '*/_ORT_MEM_ADDR_/*';

/**
 * Problems beyond the file-system ones (io/paths): how the same string escapes the folder for the
 * other readers of an ONNX location.
 * - `url-scheme`: a `scheme:` prefix without `//` (`file:/etc/passwd`, `https:host/x`). Browser runtimes
 *   (onnxruntime-web, transformers.js) resolve external data as a URL relative to the model's URL, and
 *   the WHATWG URL parser takes any `scheme:` prefix as an absolute URL.
 * - `percent-encoded`: `%2e`, `%2f`, `%5c` (and `%00`): the same URL resolver decodes them into dot
 *   segments and separators (`%2e%2e/` is `..`).
 * - `device`: a Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$, with any
 *   extension) as a path component: Windows opens the device, not a file in the folder.
 * - `lookalike`: fullwidth or other Unicode forms of `.`, `/`, `\\` (U+FF0E, U+FF0F, U+FF3C, U+2024,
 *   U+2215, U+2216, U+2044, U+29F8, U+FE52): Windows "best fit" conversion of a path to the ANSI code
 *   page turns them into the ASCII characters.
 * Honest exporters write plain relative names (`model.onnx.data`, `weights/w0.bin`), which match none.
 */
export type LocationProblem = PathProblem | 'url-scheme' | 'percent-encoded' | 'device' | 'lookalike';

const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$|clock\$)(?:\.[^/\\]*)?$/i;
const LOOKALIKE = /[\uff0e\uff0f\uff3c\u2024\u2215\u2216\u2044\u29f8\ufe52\ufe68]/;

export function locationProblems(location: string): LocationProblem[] {
  const out: LocationProblem[] = pathProblems(location);
  // a single letter before ':' is a drive letter, already reported
  if (!out.includes('url') && /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(location)) out.push('url-scheme');
  if (/%(?:2e|2f|5c|00)/i.test(location)) out.push('percent-encoded');
  if (location.split(/[\\/]/).some((c) => WINDOWS_DEVICE.test(c.replace(/[ .]+$/, '')))) out.push('device');
  if (LOOKALIKE.test(location)) out.push('lookalike');
  return out;
}

const PROBLEM_WORDS: Record<LocationProblem, string> = {
  empty: 'is empty',
  absolute: 'is an absolute path',
  'drive-letter': 'starts with a drive letter',
  parent: 'climbs out of the folder with ".."',
  backslash: 'contains backslashes (Windows path separators)',
  nul: 'contains a NUL byte',
  url: 'is a URL',
  'url-scheme': 'starts with a URL scheme, which a URL resolver (onnxruntime-web, transformers.js) takes as an absolute address',
  'percent-encoded': 'has percent-encoded dots, slashes or NULs, which a URL resolver decodes into ".." and separators',
  device: 'names a Windows device (CON, NUL, COM1, ...), which Windows opens instead of a file in the folder',
  lookalike: 'uses Unicode look-alikes of "." or "/" that Windows best-fit conversion turns into "../"',
};

/** Result of resolving one external-data location: the folder-relative path, or why it cannot be. */
export interface ResolvedLocation {
  path: string | null;
  problems: LocationProblem[];
  memoryAddress: boolean;
}

export function resolveExternalLocation(modelFile: string, location: string): ResolvedLocation {
  if (location.includes('_ORT_MEM_ADDR_')) return { path: null, problems: [], memoryAddress: true };
  const problems = locationProblems(location);
  return { path: problems.length ? null : joinPath(dirname(modelFile), location), problems, memoryAddress: false };
}

/** A decimal offset/length value as onnx writes it (`str(int)`), or null. */
export function parseExternalNumber(v: string): number | null {
  if (!/^\d{1,16}$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

function describe(t: TensorInfo): string {
  return `tensor "${t.name}"${t.origin ? ` (${t.origin})` : ''}`;
}

/**
 * Checks every external-data reference of an ONNX model (THREATS.md §3). The location must be a
 * relative path inside the model folder: onnx's loader joins it to the model's directory
 * (CVE-2022-25882, and the CVE-2024-27318 bypass of that fix), so `..`, absolute paths, drive letters,
 * backslashes and URLs read files outside the folder: `path-traversal`, dangerous. Keys other than
 * location/offset/length/checksum are ignored by loaders and can carry hidden data. A missing file is
 * a warning (the folder may be incomplete); a range past the end of the file is an error.
 */
export function scanExternalData(refs: readonly OnnxExternalRef[], modelFile: string, folder: FolderIndex): Finding[] {
  const out: Finding[] = [];
  const missing = new Map<string, { count: number; first: OnnxExternalRef }>();
  for (const ref of refs) {
    const t = ref.tensor;
    const locations = ref.entries.filter((e) => e.key === 'location');
    // loaders take the last entry; another reader may take the first: every one is checked
    const location = locations.find((e) => resolveExternalLocation(modelFile, e.value).memoryAddress || resolveExternalLocation(modelFile, e.value).problems.length > 0) ?? locations.at(-1);
    if (locations.length > 1) {
      out.push({
        id: 'onnx/external-duplicate-key',
        category: 'malformed',
        severity: 'warning',
        title: `${describe(t)} names ${locations.length} external data locations`,
        detail: `Its external_data lists "location" ${locations.length} times (${locations.map((e) => JSON.stringify(e.value.slice(0, 60))).join(', ')}). onnx and onnxruntime keep the last one; a reader that keeps the first reads another file. Exporters write one.`,
        file: modelFile,
        offset: locations[1].offset,
        evidence: { tensor: t.name, locations: locations.map((e) => e.value.slice(0, 256)) },
      });
    }
    for (const e of ref.entries) {
      if (!EXTERNAL_DATA_KEYS.has(e.key)) {
        out.push({
          id: 'onnx/external-unknown-key',
          category: 'malformed',
          severity: 'warning',
          title: `Unknown external_data key "${e.key.slice(0, 80)}" on ${describe(t)}`,
          detail: `onnx.proto defines only location, offset, length and checksum; loaders ignore "${e.key.slice(0, 80)}" (value ${JSON.stringify(e.value.slice(0, 120))}), so it can carry data no tool shows.`,
          file: modelFile,
          offset: e.offset,
          evidence: { tensor: t.name, key: e.key, value: e.value.slice(0, 256) },
        });
      }
    }
    if (!location) {
      out.push({
        id: 'onnx/external-no-location',
        category: 'malformed',
        severity: 'error',
        title: `${describe(t)} is external but names no file`,
        detail: `The tensor is marked as stored outside the model (data_location ${ref.dataLocation}) but its external_data has no "location" entry, so no loader can find its bytes.`,
        file: modelFile,
        offset: ref.offset,
        evidence: { tensor: t.name },
      });
      continue;
    }
    const resolved = resolveExternalLocation(modelFile, location.value);
    if (resolved.memoryAddress) {
      out.push({
        id: 'onnx/external-memory-address',
        category: 'path-traversal',
        severity: 'dangerous',
        title: `${describe(t)} points at process memory`,
        detail: `Its external_data location ${JSON.stringify(location.value.slice(0, 120))} is onnxruntime's in-memory tag (${ORT_MEMORY_ADDRESS_TAG}): the runtime would read the tensor from the memory address in "offset", which a model file from outside must never choose.`,
        file: modelFile,
        offset: location.offset,
        evidence: { tensor: t.name, location: location.value.slice(0, 256) },
      });
      continue;
    }
    if (resolved.problems.length) {
      out.push({
        id: 'onnx/external-path-traversal',
        category: 'path-traversal',
        severity: 'dangerous',
        title: `${describe(t)} reads a file outside the model folder`,
        detail: `Its external_data location ${JSON.stringify(location.value.slice(0, 200))} ${resolved.problems.map((p) => PROBLEM_WORDS[p]).join(' and ')}. A loader joins it to the model's folder (CVE-2022-25882, CVE-2024-27318) and would read that file as weights, or leak it through the model's outputs.`,
        file: modelFile,
        offset: location.offset,
        evidence: { tensor: t.name, origin: t.origin ?? null, location: location.value.slice(0, 256), problems: resolved.problems },
      });
      continue;
    }
    const path = resolved.path!;
    const offsetEntry = ref.entries.filter((e) => e.key === 'offset').at(-1);
    const lengthEntry = ref.entries.filter((e) => e.key === 'length').at(-1);
    const start = offsetEntry ? parseExternalNumber(offsetEntry.value) : 0;
    const declared = lengthEntry ? parseExternalNumber(lengthEntry.value) : null;
    const bad = [offsetEntry && start === null ? offsetEntry : null, lengthEntry && declared === null ? lengthEntry : null].filter((e) => e !== null);
    for (const e of bad) {
      out.push({
        id: 'onnx/external-bad-number',
        category: 'malformed',
        severity: 'error',
        title: `${describe(t)} has an unreadable external "${e.key}"`,
        detail: `external_data "${e.key}" must be a non-negative decimal integer below 2^53; found ${JSON.stringify(e.value.slice(0, 80))}.`,
        file: modelFile,
        offset: e.offset,
        evidence: { tensor: t.name, key: e.key, value: e.value.slice(0, 256) },
      });
    }
    if (bad.length) continue;
    const expected = t.dtype === 'string' ? null : byteSizeOf(t.dtype, t.numel);
    const length = declared ?? expected;
    if (declared !== null && expected !== null && declared !== expected) {
      out.push({
        id: 'onnx/external-size-mismatch',
        category: 'malformed',
        severity: 'error',
        title: `${describe(t)}: external length ${declared} bytes, expected ${expected}`,
        detail: `Shape [${t.shape.join(', ')}] of ${t.dtype} needs ${expected} bytes but external_data "length" says ${declared}. onnxruntime refuses such a tensor; another loader may read a different span of "${path}".`,
        file: modelFile,
        offset: lengthEntry!.offset,
        evidence: { tensor: t.name, declared, expected },
      });
    }
    const source = folder.get(path);
    if (!source) {
      const m = missing.get(path);
      if (m) m.count++;
      else missing.set(path, { count: 1, first: ref });
      continue;
    }
    if (path === modelFile) {
      out.push({
        id: 'onnx/external-self',
        category: 'malformed',
        severity: 'warning',
        title: `${describe(t)} reads its bytes from the model file itself`,
        detail: `The external_data location "${location.value.slice(0, 200)}" is the model file: the tensor's bytes overlap the protobuf, so the same bytes mean two things to two readers.`,
        file: modelFile,
        offset: location.offset,
        evidence: { tensor: t.name, location: location.value.slice(0, 256) },
      });
    }
    if (length !== null && start! + length > source.size) {
      out.push({
        id: 'onnx/external-out-of-bounds',
        category: 'malformed',
        severity: 'error',
        title: `${describe(t)} runs past the end of "${basename(path)}"`,
        detail: `Its bytes ${start}..${start! + length} lie past the end of the ${source.size}-byte file "${path}". A loader fails or reads short.`,
        file: modelFile,
        offset: (offsetEntry ?? location).offset,
        evidence: { tensor: t.name, file: path, offset: start, length, size: source.size },
      });
    }
  }
  for (const [path, { count, first }] of missing) {
    out.push({
      id: 'onnx/external-missing',
      category: 'malformed',
      severity: 'warning',
      title: `External data file "${path}" is not in the folder`,
      detail: `${count} tensor(s), first ${describe(first.tensor)}, keep their bytes in "${path}", which was not given with the model, so those weights were not checked. Drop the whole model folder to check them.`,
      file: modelFile,
      offset: first.offset,
      evidence: { file: path, tensors: count },
    });
  }
  return out;
}
