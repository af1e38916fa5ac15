import type { Analysis, FileResult } from './analysis';
import { detectFormats, FORMAT_HANDLERS } from './formats/registry';
import type { FileParse, FolderIndex, FormatHandler } from './formats/types';
import { safetensorsShardsAnalysis } from './formats/safetensors/check-shards';
import { huggingFaceRemoteCodeAnalysis } from './scan/huggingface/remote-code';
import { huggingFaceConfigDimsAnalysis } from './scan/huggingface/config-dims';
import { huggingFaceWeightTwinsAnalysis } from './scan/huggingface/weight-twins';
import { checkExpectedDigests, type ExpectedDigests } from './integrity/expected-digests';
import type { IntegrityCheck } from './integrity/integrity-check';
import { modelSigCheck } from './integrity/model-sig';
import type { ByteSource } from './io/byte-source';
import { isAbortError, isParseError, throwIfAborted } from './io/errors';
import { MAX_FILES, SNIFF_BYTES } from './io/limits';
import type { ModelInfo, TensorInfo } from './model/types';
import { deflatedStatsAnalysis } from './stats/deflated-stats';
import { weightSignaturesAnalysis } from './stats/weights-analysis';
import { streamFile, type StreamFileResult } from './stream-file';
import type { Finding } from './report/finding';
import { buildReport, type IntegrityResult, type ReferenceSummary, type Report, type ReportFile } from './report/report';
import { compareModels } from './diff/compare-models';

/** Analyses every inspection runs; later capabilities (scan, stats, probes) register here. */
export const DEFAULT_ANALYSES: Analysis[] = [safetensorsShardsAnalysis, huggingFaceRemoteCodeAnalysis, huggingFaceConfigDimsAnalysis, deflatedStatsAnalysis, weightSignaturesAnalysis, huggingFaceWeightTwinsAnalysis];

/**
 * The streaming pass over one file (hash + statistics). The page runs it in a worker pool, the CLI with
 * Node's native hash; the default is core `streamFile` on the calling thread.
 */
export type StreamFileFn = (
  source: ByteSource,
  tensors: readonly TensorInfo[],
  onProgress: (done: number, total: number) => void,
  signal?: AbortSignal,
) => Promise<StreamFileResult>;

export type InspectEvent =
  | { type: 'start'; files: { name: string; size: number }[] }
  | { type: 'parsed'; file: string; formats: string[] }
  /** header-only results: everything that needs no tensor bytes, before any streaming pass */
  | { type: 'header'; report: Report; model: ModelInfo | null }
  | { type: 'progress'; phase: 'hash'; file: string; done: number; total: number }
  | { type: 'hashed'; file: string; sha256: string }
  /** the work after the streaming pass: content analyses (weights read by layer), the reference comparison, probes */
  | { type: 'stage'; stage: InspectStage };

export type InspectStage = 'analysing' | 'comparing' | 'probing';

export interface InspectOptions {
  /**
   * Opt-in canary probes (`--probes`, THREATS.md §8): run after the content analyses; their findings join
   * the report's and their results become Report.probes. Absent: no probe runs (the default).
   */
  probes?: ProbeHook;
  signal?: AbortSignal;
  /** digests announced by the user or the publisher */
  expected?: ExpectedDigests[];
  /** the streaming pass over one file; the page passes a worker pool, the CLI Node's native hash */
  streamFile?: StreamFileFn;
  /** files streamed at the same time */
  concurrency?: number;
  /** skip the streaming pass (header-only inspection) */
  skipStream?: boolean;
  analyses?: readonly Analysis[];
  handlers?: readonly FormatHandler[];
  onEvent?: (e: InspectEvent) => void;
  now?: () => Date;
  /** a trusted reference model (its files) to compare with, header-parsed the same way */
  reference?: readonly ByteSource[];
  /** more sources of expected digests, run after hashing (Hub look-up, pinned digests) */
  integrityChecks?: readonly IntegrityCheck[];
  /** public key (PEM) that a key-signed model.sig must verify against */
  publicKeyPem?: string;
}

/** Runs the behaviour probes on the merged model; see `probeHook` in core/probes/probe-hook.ts. */
export type ProbeHook = (ctx: { model: ModelInfo | null; sources: readonly ByteSource[]; signal?: AbortSignal }) => Promise<{ findings: Finding[]; report: Record<string, unknown> }>;

export interface InspectResult {
  report: Report;
  model: ModelInfo | null;
  files: FileResult[];
}

export function folderIndexOf(sources: readonly ByteSource[]): FolderIndex {
  const map = new Map(sources.map((s) => [s.name, s]));
  return { get: (p) => map.get(p), paths: () => [...map.keys()] };
}

/** Converts a parser's structural failure into the `malformed` finding users see. */
export function parseErrorFinding(e: unknown, handler: FormatHandler, file: string): Finding {
  if (isParseError(e)) {
    return {
      id: `${e.format}/${e.code}`.toLowerCase().replace(/[^a-z0-9/-]+/g, '-'),
      category: 'malformed',
      severity: 'error',
      title: `Not a readable ${handler.label} file`,
      detail: e.message,
      file,
      offset: e.offset,
      evidence: { code: e.code, format: e.format },
    };
  }
  return {
    id: `${handler.id}/internal-error`,
    category: 'malformed',
    severity: 'error',
    title: `The ${handler.label} reader failed`,
    detail: `Reading "${file}" as ${handler.label} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}. Nothing after the failure was checked.`,
    file,
  };
}

async function parseFile(source: ByteSource, folder: FolderIndex, handlers: readonly FormatHandler[], signal?: AbortSignal): Promise<{ result: FileResult; findings: Finding[] }> {
  const head = await source.read(0, SNIFF_BYTES, signal);
  const tail = source.size > SNIFF_BYTES ? await source.read(source.size - SNIFF_BYTES, SNIFF_BYTES, signal) : head;
  const sniff = { name: source.name, size: source.size, head, tail };
  const candidates = detectFormats(sniff, handlers);
  const binary = candidates.filter((h) => h.family !== 'text');
  const findings: Finding[] = [];
  const parses: FileParse[] = [];
  const families = new Set<string>();
  const failures: Finding[] = [];
  for (const h of binary.length ? binary : candidates) {
    if (families.has(h.family)) continue;
    try {
      const p = await h.parse({ ...sniff, source, folder, signal });
      parses.push(p);
      families.add(h.family);
      findings.push(...p.findings);
    } catch (e) {
      if (isAbortError(e)) throw e;
      failures.push(parseErrorFinding(e, h, source.name));
    }
  }
  if (parses.length === 0) {
    if (failures.length) findings.push(failures[0]);
    else
      findings.push({
        id: 'format/unknown',
        category: 'malformed',
        severity: 'warning',
        title: 'Unrecognised file format',
        detail: `"${source.name}" matches none of the formats Tamperscope reads, so nothing in it was checked. Treat it as unknown, not as clean.`,
        file: source.name,
        offset: 0,
      });
  }
  const formats = parses.map((p) => p.format);
  if (parses.length > 1) {
    findings.push({
      id: 'format/polyglot',
      category: 'malformed',
      severity: 'warning',
      title: `File is valid as ${formats.join(' and ')}`,
      detail: `"${source.name}" parses as ${formats.join(' and as ')}. Different tools will see different contents; a polyglot is a classic way to show a scanner one file and a loader another.`,
      file: source.name,
      evidence: { formats },
    });
  }
  return { result: { source, formats, parse: parses[0] ?? null, parses, sha256: null }, findings };
}

/** Merges the per-file models into one: the format that holds most tensors names the model. */
export function mergeModels(parts: readonly ModelInfo[]): ModelInfo | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0];
  const counts = new Map<string, number>();
  for (const p of parts) counts.set(p.format, (counts.get(p.format) ?? 0) + p.tensors.length);
  const main = [...parts].sort((a, b) => (counts.get(b.format) ?? 0) - (counts.get(a.format) ?? 0))[0];
  return {
    format: main.format,
    formatVersion: main.formatVersion,
    files: parts.flatMap((p) => p.files),
    tensors: parts.flatMap((p) => p.tensors),
    graph: parts.find((p) => p.graph)?.graph,
    opsetImports: parts.find((p) => p.opsetImports)?.opsetImports,
    producer: parts.find((p) => p.producer)?.producer,
    metadata: Object.assign({}, ...parts.map((p) => p.metadata)),
  };
}

async function runAnalyses(phase: Analysis['phase'], analyses: readonly Analysis[], ctx: Parameters<Analysis['run']>[0]): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const a of analyses) {
    if (a.phase !== phase) continue;
    throwIfAborted(ctx.signal);
    try {
      out.push(...(await a.run(ctx)));
    } catch (e) {
      if (isAbortError(e)) throw e;
      out.push({ id: 'analysis/failed', category: 'malformed', severity: 'error', title: `The ${a.id} check failed`, detail: `The ${a.id} check stopped with an error: ${e instanceof Error ? e.message : String(e)}. Its results are missing.`, evidence: { analysis: a.id } });
    }
  }
  return out;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/**
 * Inspects one model (a file or a folder of files): identify and parse every file header-only, run the
 * header analyses (and announce those results at once), hash every file, check expected digests, run
 * the content analyses, and build the Report.
 */
export async function inspect(sources: readonly ByteSource[], options: InspectOptions = {}): Promise<InspectResult> {
  const { signal, onEvent } = options;
  const handlers = options.handlers ?? FORMAT_HANDLERS;
  const analyses = options.analyses ?? DEFAULT_ANALYSES;
  const now = options.now ?? (() => new Date());
  if (sources.length > MAX_FILES) throw new RangeError(`${sources.length} files exceed the ${MAX_FILES}-file limit of one inspection`);
  onEvent?.({ type: 'start', files: sources.map((s) => ({ name: s.name, size: s.size })) });
  const folder = folderIndexOf(sources);
  const files: FileResult[] = [];
  const findings: Finding[] = [];
  for (const source of sources) {
    const { result, findings: f } = await parseFile(source, folder, handlers, signal);
    files.push(result);
    findings.push(...f);
    onEvent?.({ type: 'parsed', file: source.name, formats: result.formats });
  }
  const model = mergeModels(files.flatMap((f) => f.parses.map((p) => p.model).filter((m): m is ModelInfo => m !== null)));
  // Raw data files that a parsed model claims as its own (ONNX external data, for example) are part of
  // that model, not unknown files: their bytes are checked through the tensors that point into them.
  if (model) {
    const claimed = new Set(model.files);
    for (let i = findings.length - 1; i >= 0; i--) {
      const f = findings[i];
      if (f.id === 'format/unknown' && f.file !== undefined && claimed.has(f.file)) findings.splice(i, 1);
    }
    for (const f of files) if (f.parses.length === 0 && claimed.has(f.source.name)) f.formats = [];
  }
  const ctx = { files, model, folder, signal };
  findings.push(...(await runAnalyses('header', analyses, ctx)));

  const reportFiles = (): ReportFile[] =>
    files.map((f) => ({ name: f.source.name, size: f.source.size, sha256: f.sha256, format: f.formats[0] ?? null, formats: f.formats }));
  onEvent?.({ type: 'header', report: buildReport({ files: reportFiles(), findings, model, now: now() }), model });

  const integrity: IntegrityResult[] = [];
  if (!options.skipStream) {
    const run: StreamFileFn = options.streamFile ?? ((s, tensors, onProgress, sig) => streamFile(s, { tensors, signal: sig, onProgress }));
    await mapLimit(files, options.concurrency ?? 2, async (f) => {
      const tensors = model?.tensors.filter((t) => t.file === f.source.name) ?? [];
      const r = await run(f.source, tensors, (done, total) => onEvent?.({ type: 'progress', phase: 'hash', file: f.source.name, done, total }), signal);
      f.sha256 = r.sha256;
      f.stats = r.stats;
      onEvent?.({ type: 'hashed', file: f.source.name, sha256: f.sha256 });
    });
    for (const exp of options.expected ?? []) {
      const r = checkExpectedDigests(reportFiles(), exp);
      integrity.push(...r.results);
      findings.push(...r.findings);
    }
    // model.sig is checked whenever the folder has one; other sources come from the caller
    const hashed = files.map((f) => ({ name: f.source.name, size: f.source.size, sha256: f.sha256 }));
    for (const check of [modelSigCheck({ publicKeyPem: options.publicKeyPem }), ...(options.integrityChecks ?? [])]) {
      throwIfAborted(signal);
      const r = await check({ files: hashed, folder, signal });
      integrity.push(...r.results);
      findings.push(...r.findings);
    }
  }
  onEvent?.({ type: 'stage', stage: 'analysing' });
  findings.push(...(await runAnalyses('content', analyses, ctx)));
  let reference: ReferenceSummary | null = null;
  if (options.reference?.length) {
    onEvent?.({ type: 'stage', stage: 'comparing' });
    const refFolder = folderIndexOf(options.reference);
    const refParts: ModelInfo[] = [];
    for (const s of options.reference) {
      const { result } = await parseFile(s, refFolder, handlers, signal);
      for (const p of result.parses) if (p.model) refParts.push(p.model);
    }
    const refModel = mergeModels(refParts);
    if (model && refModel) {
      const { diff, findings: f } = await compareModels(model, folder, refModel, refFolder, signal);
      findings.push(...f);
      reference = {
        files: diff.referenceFiles,
        counts: diff.counts,
        tensors: diff.tensors.filter((t) => t.status !== 'same').slice(0, 1000).map((t) => ({ name: t.name, status: t.status, ...(t.changedRows !== undefined ? { changedRows: t.changedRows, rows: t.rows, rowIndices: t.rowIndices } : {}) })),
        opDrift: diff.opDrift,
      };
    } else {
      findings.push({ id: 'diff/no-reference-model', category: 'malformed', severity: 'warning', title: 'The reference could not be compared', detail: refModel ? 'The inspected files hold no model to compare with the reference.' : 'None of the reference files could be read as a model, so no comparison was made.' });
    }
  }
  let probes: Record<string, unknown> | null = null;
  if (options.probes) {
    onEvent?.({ type: 'stage', stage: 'probing' });
    const p = await options.probes({ model, sources, signal });
    findings.push(...p.findings);
    probes = p.report;
  }
  const statistics = files.some((f) => f.stats) ? files.flatMap((f) => f.stats ?? []) : null;
  const report = buildReport({ files: reportFiles(), findings, model, integrity, reference, statistics, probes, now: now() });
  return { report, model, files };
}
