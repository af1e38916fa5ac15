/** Finding contract (DESIGN.md "Contracts"). */
export type Severity = 'info' | 'warning' | 'error' | 'dangerous';

export type Category =
  | 'code-execution'
  | 'unknown-import'
  | 'path-traversal'
  | 'custom-op'
  | 'template-injection'
  | 'malformed'
  | 'integrity'
  | 'weight-anomaly'
  | 'privacy-trap'
  | 'behaviour'
  | 'graph-anomaly';

export const CATEGORIES: readonly Category[] = [
  'code-execution', 'unknown-import', 'path-traversal', 'custom-op', 'template-injection', 'malformed',
  'integrity', 'weight-anomaly', 'privacy-trap', 'behaviour', 'graph-anomaly',
];

export type Verdict = 'clean' | 'warning' | 'error' | 'dangerous';

export interface Finding {
  /** stable kebab-case code with a namespace, e.g. `safetensors/overlap` */
  id: string;
  category: Category;
  severity: Severity;
  /** one line, plain words */
  title: string;
  /** what a loader would do, what was expected and what was found */
  detail: string;
  /** file (path relative to the model folder) the finding is about */
  file?: string;
  /** absolute byte offset in `file` */
  offset?: number;
  /** JSON-serialisable evidence: names, values, excerpts */
  evidence?: Record<string, unknown>;
}

/** Verdict order: the worst finding wins; `info` does not change a clean verdict. */
const RANK: Record<Verdict, number> = { clean: 0, warning: 1, error: 2, dangerous: 3 };

export function severityToVerdict(s: Severity): Verdict {
  return s === 'info' ? 'clean' : s;
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  let v: Verdict = 'clean';
  for (const f of findings) {
    const fv = severityToVerdict(f.severity);
    if (RANK[fv] > RANK[v]) v = fv;
  }
  return v;
}

export function compareVerdicts(a: Verdict, b: Verdict): number {
  return RANK[a] - RANK[b];
}

/** CLI exit status per verdict (DESIGN.md): 0 clean, 1 warning, 2 error, 3 dangerous. */
export function exitCodeOf(v: Verdict): number {
  return RANK[v];
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, dangerous: 3 };

/** Worst first, then by file and offset: the order every view shows findings in. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.offset ?? 0) - (b.offset ?? 0) ||
      a.id.localeCompare(b.id),
  );
}
