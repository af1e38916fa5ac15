import { formatBytes, formatCount } from '../src/core/report/format-numbers';
import type { Report } from '../src/core/report/report';

const ICON: Record<string, string> = { clean: 'CLEAN', warning: 'WARNING', error: 'ERROR', dangerous: 'DANGEROUS' };


/** The readable summary printed without --json: verdict, files, model, findings. */
export function renderSummary(report: Report): string {
  const lines: string[] = [];
  lines.push(`${ICON[report.verdict]}  ${report.summary}`, '');
  lines.push('Files');
  for (const f of report.files) {
    const fmt = f.formats.length > 1 ? f.formats.join('+') : (f.format ?? 'unknown');
    lines.push(`  ${f.name}  ${formatBytes(f.size)}  ${fmt}`);
    lines.push(`    sha256 ${f.sha256 ?? '(not computed)'}`);
  }
  const m = report.model;
  if (m) {
    lines.push('', 'Model');
    lines.push(`  format      ${m.format}${m.formatVersion ? ` (version ${m.formatVersion})` : ''}${m.producer ? `, produced by ${m.producer}` : ''}`);
    lines.push(`  tensors     ${formatCount(m.tensorCount)}`);
    lines.push(`  parameters  ${formatCount(m.parameterCount)}`);
    for (const [dt, n] of Object.entries(m.parametersByDtype).sort((a, b) => b[1] - a[1])) lines.push(`    ${dt.padEnd(10)} ${formatCount(n)}`);
    if (m.graphNodeCount !== null) lines.push(`  graph       ${formatCount(m.graphNodeCount)} nodes`);
  }
  const stats = (report.statistics ?? []) as { name: string; dtype: string; shape: number[]; mean: number | null; std: number | null; min: number | null; max: number | null; zeros: number; nan: number; posInf: number; negInf: number; count: number; skipped?: string }[];
  if (stats.length) {
    // every tensor's statistics (the JSON report has all of them, with histograms and row norms)
    lines.push('', `Tensor statistics (${formatCount(stats.length)})`);
    const num = (v: number | null) => (v === null ? '—' : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(4));
    const w = Math.min(48, Math.max(...stats.map((t) => t.name.length)));
    lines.push(`  ${'name'.padEnd(w)}  ${'dtype'.padEnd(8)} ${'mean'.padStart(10)} ${'std'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'zeros'.padStart(7)}  non-finite`);
    for (const t of stats.slice(0, 5000)) {
      const name = t.name.length > w ? '…' + t.name.slice(t.name.length - w + 1) : t.name.padEnd(w);
      if (t.skipped) {
        lines.push(`  ${name}  ${t.dtype.padEnd(8)} (not computed: ${t.skipped})`);
        continue;
      }
      const bad = t.nan + t.posInf + t.negInf;
      lines.push(`  ${name}  ${t.dtype.padEnd(8)} ${num(t.mean).padStart(10)} ${num(t.std).padStart(10)} ${num(t.min).padStart(10)} ${num(t.max).padStart(10)} ${String(t.zeros).padStart(7)}  ${bad ? `${t.nan} NaN, ${t.posInf + t.negInf} Inf` : '0'}`);
    }
    if (stats.length > 5000) lines.push(`  … ${formatCount(stats.length - 5000)} more in --json`);
  }
  for (const i of report.integrity) {
    if (i === report.integrity[0]) lines.push('', 'Integrity');
    lines.push(`  ${i.status.padEnd(10)} ${i.file || '(no file)'}  [${i.source}]${i.status === 'mismatch' ? `\n    expected ${i.expected}\n    found    ${i.actual}` : ''}`);
  }
  if (report.reference) {
    const c = report.reference.counts;
    lines.push('', `Reference (${report.reference.files.join(', ')})`);
    lines.push(`  ${Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'no tensors'}`);
    for (const t of report.reference.tensors.slice(0, 20)) lines.push(`    ${t.status.padEnd(10)} ${t.name}${t.changedRows !== undefined ? ` (${t.changedRows}/${t.rows} rows)` : ''}`);
  }
  lines.push('', report.findings.length ? `Findings (${report.findings.length})` : 'Findings: none');
  for (const f of report.findings) {
    const where = f.file ? ` [${f.file}${f.offset !== undefined ? ` @${f.offset}` : ''}]` : '';
    lines.push(`  ${f.severity.toUpperCase().padEnd(9)} ${f.id}  ${f.title}${where}`);
    lines.push(`            ${f.detail}`);
  }
  return lines.join('\n') + '\n';
}
