import type { FormatId, ModelInfo } from '../model/types';
import { sortFindings, verdictOf, type Finding, type Verdict } from './finding';

export const REPORT_SCHEMA = 'tamperscope.report/1';
export const TOOL_NAME = 'tamperscope';
export const TOOL_VERSION = '0.1.0';

export interface ReportFile {
  /** path relative to the model folder */
  name: string;
  size: number;
  /** lower-case hex, or null when hashing was skipped or cancelled */
  sha256: string | null;
  /** the format the file was read as, or null when no parser accepted it */
  format: FormatId | null;
  /** every format whose content check and parser accepted the file (more than one: a polyglot) */
  formats: FormatId[];
}

export interface ModelSummary {
  format: FormatId;
  formatVersion: string | null;
  tensorCount: number;
  parameterCount: number;
  /** dtype → number of elements */
  parametersByDtype: Record<string, number>;
  /** nodes of the main graph and every subgraph, or null for weight-only formats */
  graphNodeCount: number | null;
  producer: string | null;
  metadata: Record<string, string>;
}

export interface ReportTensor {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  offset: number;
  length: number;
}

export type IntegritySource = 'pasted' | 'checksums' | 'model.sig' | 'hub' | 'pinned';
export type IntegrityStatus = 'match' | 'mismatch' | 'missing' | 'extra' | 'unverified';

export interface IntegrityResult {
  file: string;
  source: IntegritySource;
  expected: string | null;
  actual: string | null;
  status: IntegrityStatus;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: typeof TOOL_NAME; version: string };
  createdAt: string;
  verdict: Verdict;
  /** plain-words summary of the verdict; never says "safe" */
  summary: string;
  files: ReportFile[];
  findings: Finding[];
  model: ModelSummary | null;
  tensors: ReportTensor[];
  /** per-tensor statistics (weights analysis), null when not computed */
  statistics: Record<string, unknown>[] | null;
  /** canary probe results, null when not run */
  probes: Record<string, unknown> | null;
  integrity: IntegrityResult[];
  /** comparison with a trusted reference model (`--reference`), absent when none was given */
  reference?: ReferenceSummary | null;
}

export interface ReferenceSummary {
  files: string[];
  /** tensor counts by comparison status: same, changed, added, removed, reshaped, retyped, unreadable */
  counts: Record<string, number>;
  /** tensors that are not byte-identical to the reference (at most 1000) */
  tensors: { name: string; status: string; changedRows?: number; rows?: number; rowIndices?: number[] }[];
  opDrift: Record<string, [number, number]>;
}

export function summarizeModel(model: ModelInfo): ModelSummary {
  const byDtype: Record<string, number> = {};
  let total = 0;
  for (const t of model.tensors) {
    byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + t.numel;
    total += t.numel;
  }
  return {
    format: model.format,
    formatVersion: model.formatVersion ?? null,
    tensorCount: model.tensors.length,
    parameterCount: total,
    parametersByDtype: byDtype,
    graphNodeCount: model.graph ? countNodes(model.graph) : null,
    producer: model.producer ?? null,
    metadata: model.metadata,
  };
}

function countNodes(g: NonNullable<ModelInfo['graph']>, depth = 0): number {
  if (depth > 64) return 0;
  let n = g.nodes.length;
  for (const node of g.nodes) for (const sg of node.subgraphs ?? []) n += countNodes(sg, depth + 1);
  return n;
}

const SUMMARY: Record<Verdict, string> = {
  clean: 'No known risk found. This is not proof of safety: some backdoors are provably undetectable from the files alone.',
  warning: 'Warnings found: something here is unusual or could not be checked. Read the findings before loading this model.',
  error: 'Errors found: part of this model could not be read as its format claims. Loaders may fail or read different data.',
  dangerous: 'Dangerous: loading this model could run code, touch files, leak data, or it does not match its expected digest. Do not load it.',
};

export interface BuildReportInput {
  files: ReportFile[];
  findings: Finding[];
  model: ModelInfo | null;
  integrity?: IntegrityResult[];
  statistics?: Record<string, unknown>[] | null;
  probes?: Record<string, unknown> | null;
  reference?: ReferenceSummary | null;
  now?: Date;
}

export function buildReport(input: BuildReportInput): Report {
  const findings = sortFindings(input.findings);
  const verdict = verdictOf(findings);
  return {
    schema: REPORT_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    createdAt: (input.now ?? new Date()).toISOString(),
    verdict,
    summary: SUMMARY[verdict],
    files: input.files,
    findings,
    model: input.model ? summarizeModel(input.model) : null,
    tensors: (input.model?.tensors ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, file: t.file, offset: t.offset, length: t.length })),
    statistics: input.statistics ?? null,
    probes: input.probes ?? null,
    integrity: input.integrity ?? [],
    ...(input.reference ? { reference: input.reference } : {}),
  };
}
