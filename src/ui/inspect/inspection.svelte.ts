import { BlobSource } from '../../core/io/byte-source';
import { isAbortError } from '../../core/io/errors';
import { folderIndexOf, inspect, type InspectOptions, type InspectStage } from '../../core/inspect';
import type { FolderIndex } from '../../core/formats/types';
import type { IntegrityCheck, IntegrityOutcome } from '../../core/integrity/integrity-check';
import { buildReport } from '../../core/report/report';
import { probeReportRecord } from '../../core/probes/types';
import type { ProbeClient } from '../../workers/probe-client';
import type { ExpectedDigests } from '../../core/integrity/expected-digests';
import type { ModelInfo } from '../../core/model/types';
import type { Report } from '../../core/report/report';
import type { StreamPool } from '../../workers/stream-pool';

export interface FileProgress {
  name: string;
  size: number;
  done: number;
  state: 'waiting' | 'reading' | 'done' | 'cancelled' | 'failed';
  sha256: string | null;
}

export interface RunOptions {
  expected?: ExpectedDigests[];
  reference?: { blob: Blob; path: string }[];
  integrityChecks?: IntegrityCheck[];
  publicKeyPem?: string | null;
}

export type Phase = 'idle' | 'parsing' | 'streaming' | 'done' | 'cancelled' | 'failed';

/** One inspection at a time: its progress, header-only results as soon as they exist, then the report. */
export class InspectionState {
  phase = $state<Phase>('idle');
  files = $state<FileProgress[]>([]);
  report = $state.raw<Report | null>(null);
  model = $state.raw<ModelInfo | null>(null);
  error = $state<string | null>(null);
  /** where the files came from, for the page title: a dropped folder, picked files, a sample */
  label = $state('');
  /** what runs after the files were read (weights analysed by layer, a reference compared), or null */
  stage = $state<InspectStage | null>(null);
  /** true once the report is final (hashes and content analyses done) */
  complete = $state(false);
  startedAt = 0;
  elapsedMs = $state(0);
  /** read access to the inspected files (small reads for later checks such as the Hub look-up) */
  folder = $state.raw<FolderIndex | null>(null);
  /** canary probes (opt-in): idle, running with progress, done, failed */
  probeState = $state<'idle' | 'running' | 'done' | 'failed'>('idle');
  probeProgress = $state('');
  probeError = $state<string | null>(null);
  private entries: { blob: Blob; path: string }[] = [];
  private probeController: AbortController | null = null;
  /** inspections started since the page loaded (tests wait for a given run to finish) */
  runs = $state(0);
  /** the report on screen came from the history, not from files */
  stored = $state(false);
  private controller: AbortController | null = null;

  constructor(private readonly pool: StreamPool) {}

  get busy(): boolean {
    return this.phase === 'parsing' || this.phase === 'streaming';
  }

  cancel(): void {
    this.controller?.abort();
  }

  reset(): void {
    this.cancel();
    this.phase = 'idle';
    this.files = [];
    this.report = null;
    this.model = null;
    this.error = null;
    this.complete = false;
  }

  /** Shows a stored report (from the history) read-only: there are no model bytes behind it. */
  show(report: Report, label: string): void {
    this.cancel();
    this.controller = null;
    this.label = label;
    this.error = null;
    this.files = [];
    this.model = null;
    this.folder = null;
    this.report = report;
    this.phase = 'done';
    this.complete = true;
    this.stored = true;
    this.elapsedMs = 0;
  }

  /**
   * Adds the outcome of a later integrity check (the opt-in Hub look-up) to the finished report and
   * recomputes the verdict from all findings.
   */
  addIntegrity(outcome: IntegrityOutcome): void {
    const r = this.report;
    if (!r || !this.complete) return;
    this.report = buildReport({
      files: r.files,
      findings: [...r.findings, ...outcome.findings],
      model: this.model,
      integrity: [...r.integrity, ...outcome.results],
      statistics: r.statistics as Parameters<typeof buildReport>[0]['statistics'],
      probes: r.probes,
      reference: r.reference ?? null,
    });
  }

  /**
   * Runs the canary probes on the inspected model in a worker (onnxruntime-web, WebGPU → WASM) and merges
   * their findings and results into the report. Opt-in: the model's graph is executed by the runtime.
   */
  async runProbes(client: ProbeClient, preferredBackend?: 'webgpu' | 'wasm'): Promise<void> {
    const r = this.report;
    if (!r || !this.complete || this.stored) return;
    this.probeController?.abort();
    const ctrl = new AbortController();
    this.probeController = ctrl;
    this.probeState = 'running';
    this.probeError = null;
    this.probeProgress = 'starting';
    try {
      const probe = await client.run(this.model, this.entries.map((e) => ({ name: e.path, blob: e.blob })), preferredBackend ? { preferredBackend } : {}, (p) => (this.probeProgress = `${p.phase}${p.total ? ` ${p.done}/${p.total}` : ''}`), ctrl.signal);
      if (this.probeController !== ctrl || this.report !== r) return;
      this.report = buildReport({
        files: r.files,
        findings: [...r.findings.filter((f) => !f.id.startsWith('probe/')), ...probe.findings],
        model: this.model,
        integrity: r.integrity,
        statistics: r.statistics as Parameters<typeof buildReport>[0]['statistics'],
        probes: probeReportRecord(probe),
        reference: r.reference ?? null,
      });
      this.probeState = 'done';
    } catch (e) {
      if (this.probeController !== ctrl) return;
      this.probeState = isAbortError(e) ? 'idle' : 'failed';
      this.probeError = isAbortError(e) ? null : e instanceof Error ? e.message : String(e);
    }
  }

  cancelProbes(): void {
    this.probeController?.abort();
  }

  /** Inspects a set of files as one model. `entries` pairs each Blob with its path relative to the folder. */
  async run(entries: { blob: Blob; path: string }[], label: string, opts: RunOptions = {}): Promise<void> {
    const { expected = [], reference = [] } = opts;
    this.stored = false;
    this.entries = entries;
    this.probeController?.abort();
    this.probeState = 'idle';
    this.probeError = null;
    this.runs++;
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    this.label = label;
    this.error = null;
    this.report = null;
    this.model = null;
    this.complete = false;
    this.stage = null;
    this.phase = 'parsing';
    this.startedAt = performance.now();
    const sources = entries.map((e) => new BlobSource(e.blob, e.path));
    this.folder = folderIndexOf(sources);
    this.files = sources.map((s) => ({ name: s.name, size: s.size, done: 0, state: 'waiting', sha256: null }));
    const byName = (name: string) => this.files.find((f) => f.name === name);
    const options: InspectOptions = {
      signal: controller.signal,
      expected,
      reference: reference.length ? reference.map((e) => new BlobSource(e.blob, e.path)) : undefined,
      integrityChecks: opts.integrityChecks,
      publicKeyPem: opts.publicKeyPem ?? undefined,
      concurrency: this.pool.size,
      streamFile: (source, tensors, onProgress, signal) => this.pool.stream(source, tensors, onProgress, signal),
      onEvent: (e) => {
        if (controller.signal.aborted) return;
        if (e.type === 'header') {
          this.report = e.report;
          this.model = e.model;
          this.phase = 'streaming';
        } else if (e.type === 'progress') {
          const f = byName(e.file);
          if (f) {
            f.state = 'reading';
            f.done = e.done;
          }
        } else if (e.type === 'stage') {
          this.stage = e.stage;
        } else if (e.type === 'hashed') {
          const f = byName(e.file);
          if (f) {
            f.state = 'done';
            f.done = f.size;
            f.sha256 = e.sha256;
          }
          // the digest shows in the files table as soon as it exists, not when the analyses are done
          const r = this.report;
          if (r) this.report = { ...r, files: r.files.map((x) => (x.name === e.file ? { ...x, sha256: e.sha256 } : x)) };
        }
      },
    };
    try {
      const result = await inspect(sources, options);
      if (this.controller !== controller) return;
      this.report = result.report;
      this.model = result.model;
      this.phase = 'done';
      this.complete = true;
    } catch (e) {
      if (this.controller !== controller) return;
      if (isAbortError(e)) {
        this.phase = 'cancelled';
        for (const f of this.files) if (f.state !== 'done') f.state = 'cancelled';
      } else {
        this.phase = 'failed';
        this.error = e instanceof Error ? e.message : String(e);
        for (const f of this.files) if (f.state !== 'done') f.state = 'failed';
      }
    } finally {
      this.elapsedMs = performance.now() - this.startedAt;
    }
  }
}
