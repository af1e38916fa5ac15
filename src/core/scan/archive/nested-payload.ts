import type { ByteSource } from '../../io/byte-source';
import { SNIFF_BYTES } from '../../io/limits';
import type { Finding } from '../../report/finding';
import { scanPickleContent, scanNpyContent } from './payload-hooks';
import type { ScanBudget } from './scan-members';

export interface NestedPayloadContext {
  /** file in the model folder that contains the payload */
  file: string;
  /** path of the payload inside that file (zip member, "outer.zip/inner.zip/x") */
  member: string;
  /** what holds it, for the wording ("zip member", "tar member", "gzip content"); default "zip member" */
  container?: string;
  /** absolute offset of the payload's first byte in `file`, when it is stored there as-is */
  baseOffset?: number;
  /** absolute offset in `file` to point findings at when the payload is not stored as-is (a compressed member's local header) */
  anchorOffset?: number;
  depth: number;
  signal?: AbortSignal;
  /** the payload was cut short by a read cap */
  truncated?: boolean;
  /** opens a zip payload (supplied by the archive scanner, which owns budgets and depth) */
  scanZip?: (inner: ByteSource, name: string) => Promise<Finding[]>;
  /** the enclosing archive's byte budget, shared with a tar or gzip payload opened here */
  budget?: ScanBudget;
  /** false where the caller has opened this payload as a tar or gzip already (default true) */
  openContainers?: boolean;
}

/**
 * Opens a payload that is itself a container other than zip (tar, gzip), or returns null when it is
 * not one. Registered by the tar/gzip scanner (src/core/formats/tar/scan-tar.ts), which imports this
 * module: a registration instead of an import keeps the two free of a cycle.
 */
export type ContainerPayloadScanner = (content: ByteSource, head: Uint8Array, ctx: NestedPayloadContext) => Promise<Finding[] | null>;

let containerScanner: ContainerPayloadScanner | null = null;

export function registerContainerPayloadScanner(scanner: ContainerPayloadScanner): void {
  containerScanner = scanner;
}

export type PayloadKind = 'pickle' | 'zip' | 'npy' | null;

/**
 * What a payload is, by content (THREATS.md §2: never by name). Pickles: PROTO (0x80) with protocol
 * 1..5, or a protocol-0 stream opening with GLOBAL `c<module>\n<name>\n`, MARK or an empty dict/list
 * and ending in STOP. Zip: a local header or an empty archive's EOCD. NumPy: the `\x93NUMPY` magic.
 */
export function sniffPayload(head: Uint8Array, size: number, last: number | null): PayloadKind {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return 'zip';
  if (head.length >= 6 && head[0] === 0x93 && head[1] === 0x4e && head[2] === 0x55 && head[3] === 0x4d && head[4] === 0x50 && head[5] === 0x59) return 'npy';
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 1 && head[1] <= 5) return 'pickle';
  if (size >= 2 && last === 0x2e /* STOP */) {
    const text = String.fromCharCode(...head.subarray(0, Math.min(head.length, 256)));
    if (/^c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/.test(text)) return 'pickle';
    if (/^\((?:d|l|t|c|I|S|V|F|L|N|\(|dp|lp)/.test(text)) return 'pickle';
    if (/^[}\]](?:q\x00|\x94|\(|\.)/.test(text)) return 'pickle';
  }
  return null;
}

/**
 * Scans a payload found inside another file by what it is: pickles go to the pickle emulator, zips are
 * opened (depth- and budget-bounded by the caller's `scanZip`), `.npy` headers are read and object
 * arrays' pickles scanned, tar and gzip payloads opened by the registered container scanner.
 */
export async function scanNestedPayload(content: ByteSource, ctx: NestedPayloadContext): Promise<Finding[]> {
  const head = await content.read(0, SNIFF_BYTES, ctx.signal);
  const lastBytes = content.size > 0 ? await content.read(content.size - 1, 1, ctx.signal) : new Uint8Array(0);
  const kind = sniffPayload(head, content.size, lastBytes.length ? lastBytes[0] : null);
  switch (kind) {
    case 'pickle':
      return scanPickleContent(content, ctx);
    case 'npy':
      return scanNpyContent(content, ctx);
    case 'zip':
      return ctx.scanZip ? ctx.scanZip(content, ctx.member) : [];
    default:
      // a tar or gzip member of a zip (a legacy checkpoint zipped again) is opened too
      return ctx.openContainers === false ? [] : ((await containerScanner?.(content, head, ctx)) ?? []);
  }
}
