import type { ByteSource } from '../io/byte-source';
import type { ModelInfo, FormatId } from '../model/types';
import type { Finding } from '../report/finding';

/** What a sniffer sees: the first and last bytes of the file (zip indexes live at the end). */
export interface SniffContext {
  name: string;
  size: number;
  head: Uint8Array;
  tail: Uint8Array;
}

/** Sibling files of the dropped folder, by relative path (external data, shards). */
export interface FolderIndex {
  get(path: string): ByteSource | undefined;
  paths(): string[];
}

export interface ParseContext extends SniffContext {
  source: ByteSource;
  folder: FolderIndex;
  signal?: AbortSignal;
}

/** What one file parses into: its share of the model (if any) and the oddities met on the way. */
export interface FileParse {
  format: FormatId;
  formatVersion?: string;
  model: ModelInfo | null;
  findings: Finding[];
  /** format-specific data later analyses need (plain data), e.g. the safetensors header */
  extra?: Record<string, unknown>;
}

export interface FormatHandler {
  id: FormatId;
  /** human label shown in the page */
  label: string;
  /**
   * Formats of the same family (e.g. every zip-based format) are alternatives, not a polyglot; the
   * first one of a family that parses wins.
   */
  family: string;
  /** Cheap content check; never the extension. */
  sniff(ctx: SniffContext): boolean;
  /** Header-only parse: may read anything but tensor bytes. Throws ParseError on structural damage. */
  parse(ctx: ParseContext): Promise<FileParse>;
}
