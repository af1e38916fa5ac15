import type { Finding } from '../report/finding';
import type { ProbeKind } from './synthesize-inputs';

/** Probe results: plain, JSON-serialisable data that goes into Report.probes. */
export const PROBE_REPORT_SCHEMA = 'tamperscope.probes/1';

export interface ProbeReport {
  schema: typeof PROBE_REPORT_SCHEMA;
  /** 'ran': at least one probe ran; 'skipped': nothing here can be probed; 'failed': the model could not be run */
  status: 'ran' | 'skipped' | 'failed';
  /** why probes were skipped or failed, in words */
  reason: string | null;
  /** the model file probed, and how its weights were read */
  file: string | null;
  mode: 'runtime' | 'weights' | null;
  seed: number;
  backend: ProbeBackendInfo | null;
  latency: ProbeLatency[];
  /** the synthesised inputs (resolved dims) and probe kinds */
  inputs: { name: string; dtype: string; dims: number[]; role: string }[];
  probeKinds: { kind: ProbeKind; examples: number; natural: boolean }[];
  checks: ProbeCheck[];
  /** activation sweep, one entry per hidden layer */
  layers: ActivationLayer[];
  /** units flagged by the activation sweep (every layer together) */
  flaggedUnits: FlaggedUnit[];
  latch: LatchReport | null;
  trigger: TriggerReport | null;
  findings: Finding[];
  durationMs: number;
}

export interface ProbeBackendInfo {
  /** the backend that ran the model ('webgpu', 'wasm', 'typescript' for the weight-only simulation) */
  name: string;
  /** why a better backend was not used; null when the first choice worked */
  fallbackReason: string | null;
  failures: { name: string; reason: string }[];
}

export interface ProbeLatency {
  backend: string;
  /** what was timed: 'create' (session), 'run' (one batch of probes) */
  what: 'create' | 'run';
  count: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** examples per timed run */
  batch: number;
}

export interface ProbeCheck {
  id: 'runs' | 'finite' | 'deterministic' | 'backend-agreement';
  passed: boolean;
  detail: string;
}

/**
 * Largest difference accepted between two backends on the same probe, relative to max(1, |value|):
 * WebGPU kernels reorder float32 sums (and may use fused or lower-precision arithmetic), WASM does not.
 */
export const BACKEND_AGREEMENT_TOLERANCE = 1e-3;

export const RATE_BINS = 10;

export interface ActivationLayer {
  /** the tensor whose values were swept (a Relu input), or the weight name for weight-only stacks */
  name: string;
  /** node or tensor names that define its weights and bias, when known */
  weight: string | null;
  bias: string | null;
  units: number;
  /** axis of the unit in the swept tensor */
  unitAxis: number;
  /** examples swept (natural + noise) */
  examples: number;
  /** RATE_BINS counts of units by natural activation rate over [0, 1] (last bin includes 1) */
  rateHistogram: number[];
  /** units that never fired on any natural probe */
  dormantUnits: number;
  /** median outgoing gain of the layer's units, when the consumer's weights are known */
  medianGain: number | null;
  /** indices of this layer's flagged units */
  flagged: number[];
}

export interface FlaggedUnit {
  layer: string;
  unit: number;
  /** lowest activation rate over the natural probe kinds, and per kind */
  rate: number;
  rates: Partial<Record<ProbeKind, number>>;
  /** how many standard deviations of w·x over the probes the threshold −b sits above their mean */
  biasTailZ: number | null;
  /** largest pre-activation seen */
  peak: number;
  /** outgoing weight norm / layer median, and total path gain to the outputs / layer median */
  gain: number | null;
  pathGain: number | null;
}

export interface LatchUnit {
  layer: string;
  /** the unit's pre-activation tensor (the activation sweep's layer name) */
  tensor: string;
  unit: number;
  /** which canary latched it: 'vertex:<unit>' (the input exciting that first-layer unit most) or 'probe:<i>' */
  canary: string;
  biasBefore: number;
  biasStep: number;
  /** |bias step| / layer median |bias step| */
  ratio: number;
  /** the largest pre-activation any input in range can reach, before and after the step */
  reachBefore: number;
  reachAfter: number;
}

export interface LatchReport {
  /** where the stack came from */
  source: 'onnx-graph' | 'tensors';
  layers: { name: string; in: number; out: number; medianBiasStep: number }[];
  /** the activation between layers: read from the graph, or assumed for weight-only files */
  activation: 'relu' | 'relu (assumed)';
  learningRate: number;
  canaries: number;
  inputRange: [number, number];
  latched: LatchUnit[];
}

export interface TriggerCandidate {
  patch: string;
  corner: string;
  size: number;
  variant: 'image' | 'image-normalised';
  targetClass: number;
  /** share of eligible probes (clean prediction ≠ target) whose prediction became the target */
  flipRate: number;
  eligible: number;
  /** flip rate of a noise patch of the same size in the same place (a stability control) */
  controlFlipRate: number;
}

export interface TriggerReport {
  output: string;
  classes: number;
  examples: number;
  /** per variant: the clean prediction histogram, and whether it was diverse enough to test */
  variants: { variant: 'image' | 'image-normalised'; cleanClasses: Record<string, number>; tested: boolean; reason: string | null }[];
  patchesTried: number;
  /** the strongest candidate per patch (flip rate ≥ 0.5 only) */
  candidates: TriggerCandidate[];
  flagged: TriggerCandidate[];
}

/** A ProbeReport as the plain record Report.probes holds. */
export function probeReportRecord(r: ProbeReport): Record<string, unknown> {
  return r as unknown as Record<string, unknown>;
}
