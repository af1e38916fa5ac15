import type { Report } from '../src/core/report/report';

const ICON: Record<string, string> = { clean: 'CLEAN', warning: 'WARNING', error: 'ERROR', dangerous: 'DANGEROUS' };

function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The readable summary printed without --json: verdict, files, model, findings. */
export function renderSummary(report: Report): string {
  const lines: string[] = [];
  lines.push(`${ICON[report.verdict]}  ${report.summary}`, '');
  lines.push('Files');
  for (const f of report.files) {
    const fmt = f.formats.length > 1 ? f.formats.join('+') : (f.format ?? 'unknown');
    lines.push(`  ${f.name}  ${human(f.size)}  ${fmt}`);
    lines.push(`    sha256 ${f.sha256 ?? '(not computed)'}`);
  }
  const m = report.model;
  if (m) {
    lines.push('', 'Model');
    lines.push(`  format      ${m.format}${m.formatVersion ? ` (version ${m.formatVersion})` : ''}${m.producer ? `, produced by ${m.producer}` : ''}`);
    lines.push(`  tensors     ${count(m.tensorCount)}`);
    lines.push(`  parameters  ${count(m.parameterCount)}`);
    for (const [dt, n] of Object.entries(m.parametersByDtype).sort((a, b) => b[1] - a[1])) lines.push(`    ${dt.padEnd(10)} ${count(n)}`);
    if (m.graphNodeCount !== null) lines.push(`  graph       ${count(m.graphNodeCount)} nodes`);
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
