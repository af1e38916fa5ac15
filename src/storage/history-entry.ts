import { compareVerdicts, type Verdict } from '../core/report/finding';
import type { Report } from '../core/report/report';

/** What the history list shows and searches: derived from a Report, never from model bytes. */
export interface HistorySummary {
  id: string;
  createdAt: string;
  /** what was inspected, as the page named it (a dropped folder, picked files, a sample) */
  label: string;
  verdict: Verdict;
  fileNames: string[];
  /** SHA-256 of every hashed file (v2: indexed, multiEntry) */
  digests: string[];
  /** distinct finding ids (v2: indexed, multiEntry) */
  findingIds: string[];
  findingCount: number;
  modelFormat: string | null;
}

export function summarizeReport(id: string, report: Report, label: string): HistorySummary {
  return {
    id,
    createdAt: report.createdAt,
    label,
    verdict: report.verdict,
    fileNames: report.files.map((f) => f.name),
    digests: [...new Set(report.files.map((f) => f.sha256).filter((d): d is string => d !== null))],
    findingIds: [...new Set(report.findings.map((f) => f.id))],
    findingCount: report.findings.length,
    modelFormat: report.model?.format ?? null,
  };
}

export type HistorySort = 'newest' | 'oldest' | 'verdict' | 'label' | 'findings';
export const HISTORY_SORTS: readonly HistorySort[] = ['newest', 'oldest', 'verdict', 'label', 'findings'];

function termMatches(e: HistorySummary, term: string): boolean {
  if (e.verdict === term) return true;
  if (/^[0-9a-f]{6,64}$/.test(term) && e.digests.some((d) => d.startsWith(term))) return true;
  if (e.label.toLowerCase().includes(term)) return true;
  if (e.fileNames.some((n) => n.toLowerCase().includes(term))) return true;
  if (e.findingIds.some((id) => id.includes(term))) return true;
  return e.modelFormat !== null && e.modelFormat === term;
}

/**
 * Filters by a search box query (every whitespace-separated term must match one of: verdict, digest
 * prefix, label, file name, finding id, model format; case-insensitive) and sorts.
 */
export function queryHistory(entries: readonly HistorySummary[], query: string, sort: HistorySort = 'newest'): HistorySummary[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = entries.filter((e) => terms.every((t) => termMatches(e, t)));
  const byDate = (a: HistorySummary, b: HistorySummary) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id);
  const cmp: Record<HistorySort, (a: HistorySummary, b: HistorySummary) => number> = {
    newest: byDate,
    oldest: (a, b) => -byDate(a, b),
    verdict: (a, b) => compareVerdicts(b.verdict, a.verdict) || byDate(a, b),
    label: (a, b) => a.label.localeCompare(b.label) || byDate(a, b),
    findings: (a, b) => b.findingCount - a.findingCount || byDate(a, b),
  };
  return hits.sort(cmp[sort]);
}
