import type { FolderIndex } from '../formats/types';
import type { Finding } from '../report/finding';
import type { IntegrityResult } from '../report/report';
import type { LocalFile } from './compare-manifest';

/**
 * One source of expected digests checked against the hashed files of an inspection (model.sig, the Hub,
 * pinned digests). Runs after hashing; `folder` gives read access to small files (the signature itself,
 * git blobs to compare with the Hub).
 */
export interface IntegrityContext {
  files: readonly Required<LocalFile>[];
  folder: FolderIndex;
  signal?: AbortSignal;
}

export interface IntegrityOutcome {
  results: IntegrityResult[];
  findings: Finding[];
}

export type IntegrityCheck = (ctx: IntegrityContext) => Promise<IntegrityOutcome>;
