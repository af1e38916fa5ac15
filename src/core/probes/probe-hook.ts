import type { ProbeHook } from '../inspect';
import type { BackendFactory } from './backend';
import { runProbes, type ProbeOptions } from './run-probes';
import { probeReportRecord } from './types';

/**
 * The opt-in probes step of `inspect()`: `inspect(sources, { probes: probeHook(nodeBackendFactory) })`
 * runs the suite on the merged model after the content analyses and puts the ProbeReport into
 * Report.probes and its findings into Report.findings.
 */
export function probeHook(backendFactory: BackendFactory | null, options: Omit<ProbeOptions, 'signal'> = {}): ProbeHook {
  return async ({ model, sources, signal }) => {
    const report = await runProbes(model, sources, backendFactory, { ...options, signal });
    return { findings: report.findings, report: probeReportRecord(report) };
  };
}
