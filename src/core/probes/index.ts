export * from './backend';
export * from './types';
export { runProbes, type ProbeOptions, type ProbeProgress } from './run-probes';
export { probeHook } from './probe-hook';
export { planProbeInputs, synthesizeProbes, ProbePlanError, type ProbePlan, type ProbeKind } from './synthesize-inputs';
