import { getContext, setContext, untrack } from 'svelte';
import type { FolderIndex } from '../../core/formats/types';
import { isAbortError } from '../../core/io/errors';
import type { TensorInfo } from '../../core/model/types';
import { runWebGpuSelfTest, selectStatsBackend, type WebGpuSelfTest } from '../../runtime/webgpu/webgpu-stats';
import { readTensorRows, type RowLayout } from './read-rows';

/** Most units one view reads from the file at a time (flagged rows and the picked row). */
export const ROWS_PER_VIEW = 64;

export interface BackendInfo {
  name: 'webgpu' | 'cpu';
  adapter: string | null;
  fallbackReason: string | null;
}

const rowKey = (tensor: string, unit: number) => `${tensor}\u0000${unit}`;

/**
 * State of the weights view of one result: which tensor is open, how its histogram is drawn, the rows read
 * from the inspected file for drawing, and the compute backend with its self-test. Created by ResultView
 * and shared with the tensor table and the stats components through context.
 */
export class StatsViewState {
  /** name of the tensor open in the tensor view (null: the overview's first) */
  selected = $state<string | null>(null);
  /** bumped when a selection should bring the tensor view into sight */
  reveal = $state(0);
  histMode = $state<'linear' | 'log2'>('linear');
  /** counts on a log scale (one bin of a latched layer holds almost everything) */
  logCounts = $state(true);

  backend = $state.raw<BackendInfo | null>(null);
  backendError = $state<string | null>(null);
  selfTest = $state.raw<WebGpuSelfTest | null>(null);
  selfTestState = $state<'idle' | 'running' | 'done' | 'failed'>('idle');
  selfTestError = $state<string | null>(null);

  /** values of units read from the file, by tensor and unit */
  rows = $state.raw<ReadonlyMap<string, Float32Array>>(new Map());
  rowsLoading = $state(false);
  rowsError = $state<string | null>(null);
  private rowsFolder: FolderIndex | null = null;
  private rowsController: AbortController | null = null;
  private backendStarted = false;

  select(name: string, reveal = false): void {
    this.selected = name;
    if (reveal) this.reveal++;
  }

  rowValues(tensor: string, unit: number): Float32Array | undefined {
    return this.rows.get(rowKey(tensor, unit));
  }

  /** Asks selectStatsBackend() once which backend this page gets, and releases the device it opened. */
  async checkBackend(): Promise<void> {
    if (this.backendStarted) return;
    this.backendStarted = true;
    try {
      const c = await selectStatsBackend();
      this.backend = { name: c.backend.name, adapter: c.adapter, fallbackReason: c.fallbackReason };
      c.backend.dispose?.();
    } catch (e) {
      this.backendError = e instanceof Error ? e.message : String(e);
    }
  }

  async runSelfTest(): Promise<void> {
    if (this.selfTestState === 'running') return;
    this.selfTestState = 'running';
    this.selfTestError = null;
    try {
      const r = await runWebGpuSelfTest();
      this.selfTest = r;
      this.backend = { name: r.backend, adapter: r.adapter, fallbackReason: r.fallbackReason };
      this.selfTestState = 'done';
    } catch (e) {
      this.selfTestError = e instanceof Error ? e.message : String(e);
      this.selfTestState = 'failed';
    }
  }

  /**
   * Reads the units of `tensor` not read yet (at most ROWS_PER_VIEW) by range from the inspected files.
   * A new folder (a new inspection) drops what was read from the last one.
   */
  async loadRows(folder: FolderIndex, tensor: TensorInfo, layout: RowLayout, units: readonly number[]): Promise<void> {
    const { missing, source } = untrack(() => {
      if (this.rowsFolder !== folder) {
        this.rowsController?.abort();
        this.rowsFolder = folder;
        this.rows = new Map();
      }
      return { missing: units.slice(0, ROWS_PER_VIEW).filter((u) => !this.rows.has(rowKey(tensor.name, u))), source: folder.get(tensor.file) };
    });
    if (!missing.length) return;
    if (!source) {
      this.rowsError = `"${tensor.file}" is not among the inspected files`;
      return;
    }
    this.rowsController?.abort();
    const ctrl = new AbortController();
    this.rowsController = ctrl;
    this.rowsLoading = true;
    this.rowsError = null;
    try {
      const got = await readTensorRows(source, tensor, layout, missing, ctrl.signal);
      if (this.rowsController !== ctrl || this.rowsFolder !== folder) return;
      const next = new Map(this.rows);
      for (const [u, v] of got) next.set(rowKey(tensor.name, u), v);
      this.rows = next;
    } catch (e) {
      if (!isAbortError(e) && this.rowsController === ctrl) this.rowsError = e instanceof Error ? e.message : String(e);
    } finally {
      if (this.rowsController === ctrl) this.rowsLoading = false;
    }
  }
}

const KEY = Symbol('stats-view');

export function setStatsView(s: StatsViewState): StatsViewState {
  return setContext(KEY, s);
}

/** The weights view state, or undefined outside a result view (the table then selects nothing). */
export function getStatsView(): StatsViewState | undefined {
  return getContext<StatsViewState | undefined>(KEY);
}
