import type { ByteSource } from './io/byte-source';
import type { FileParse, FolderIndex } from './formats/types';
import type { ModelInfo } from './model/types';
import type { Finding } from './report/finding';

/** One inspected file after the header-only pass. */
export interface FileResult {
  source: ByteSource;
  /** every format whose sniffer and parser accepted the file */
  formats: FileParse['format'][];
  /** the parse that defines the file (first accepted), or null */
  parse: FileParse | null;
  /** all successful parses (more than one: a polyglot) */
  parses: FileParse[];
  sha256: string | null;
  /** per-tensor statistics from the streaming pass, when computed */
  stats?: Record<string, unknown>[];
}

export interface AnalysisContext {
  files: readonly FileResult[];
  model: ModelInfo | null;
  folder: FolderIndex;
  signal?: AbortSignal;
}

/**
 * A check over the whole inspection. `header` analyses need only parsed headers and run before any
 * streaming pass, so their findings show at once; `content` analyses read bytes.
 */
export interface Analysis {
  id: string;
  phase: 'header' | 'content';
  run(ctx: AnalysisContext): Promise<Finding[]>;
}
