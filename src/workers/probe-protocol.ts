import type { ModelInfo } from '../core/model/types';
import type { ProbeProgress } from '../core/probes/run-probes';
import type { ProbeReport } from '../core/probes/types';

/** Options that cross the worker boundary (plain data: no signal, no callbacks). */
export interface ProbeRequestOptions {
  seed?: number;
  examplesPerKind?: number;
  batch?: number;
  preferredBackend?: string;
  sweep?: boolean;
  trigger?: boolean;
  latch?: boolean;
}

/** Messages between the page and the probe worker; every request carries an id its responses echo. */
export type ProbeRequest =
  | { type: 'run'; id: number; model: ModelInfo | null; files: { name: string; blob: Blob }[]; options: ProbeRequestOptions }
  | { type: 'cancel'; id: number };

export type ProbeResponse =
  | { type: 'progress'; id: number; progress: ProbeProgress }
  | { type: 'done'; id: number; report: ProbeReport }
  | { type: 'error'; id: number; message: string; aborted: boolean };
