import { sourcesFromPaths } from '../../cli/node-source';
import { inspect } from '../../src/core/inspect';
import type { Report } from '../../src/core/report/report';
import { assertValidReport } from './schema';

/** Inspects files or a folder from disk as one model (closing them after), with a schema-valid report. */
export async function inspectPaths(paths: string[]): Promise<Report> {
  const sources = await sourcesFromPaths(paths);
  try {
    const { report } = await inspect(sources);
    assertValidReport(report);
    return report;
  } finally {
    for (const s of sources) await s.close();
  }
}

/** One line per finding, for assertion messages. */
export const findingSummary = (r: Report): string => r.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n');
