import type { Report } from './report';
import { formatBytes } from './format-numbers';

/** Rows of the tensor table written out; the JSON report has them all. */
export const RENDER_MAX_TENSORS = 2000;

/**
 * Escapes text from a model (names, metadata, finding titles quoting them) for Markdown: HTML is
 * neutralised (many Markdown viewers render inline HTML), Markdown syntax is backslash-escaped and line
 * breaks become spaces so a name cannot start a heading or break a table.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1');
}

const esc = escapeMarkdown;

const VERDICT_WORDS: Record<Report['verdict'], string> = {
  clean: 'No known risk found',
  warning: 'Warnings',
  error: 'Errors',
  dangerous: 'Dangerous',
};
export { VERDICT_WORDS };

/** A Markdown report for issues, pull requests and chat: verdict, files, integrity, findings, model, tensors. */
export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`# Tamperscope report: ${VERDICT_WORDS[report.verdict]}`, '');
  out.push(`**Verdict: ${report.verdict}.** ${esc(report.summary)}`, '');
  out.push(`Made by ${report.tool.name} ${esc(report.tool.version)} on ${esc(report.createdAt)}.`, '');

  out.push('## Files', '', '| File | Size | Format | SHA-256 |', '| --- | ---: | --- | --- |');
  for (const f of report.files) out.push(`| ${esc(f.name)} | ${f.size} | ${esc(f.formats.join(', ') || 'unknown')} | ${f.sha256 ? `\`${f.sha256}\`` : 'not computed'} |`);
  out.push('');

  if (report.integrity.length) {
    out.push('## Integrity', '', '| File | Source | Status | Expected | Actual |', '| --- | --- | --- | --- | --- |');
    for (const r of report.integrity) out.push(`| ${esc(r.file || '(any)')} | ${r.source} | **${r.status}** | ${r.expected ? `\`${esc(r.expected)}\`` : '–'} | ${r.actual ? `\`${esc(r.actual)}\`` : '–'} |`);
    out.push('');
  }

  out.push(`## Findings (${report.findings.length})`, '');
  if (report.findings.length === 0) out.push('No findings.', '');
  for (const f of report.findings) {
    const where = f.file !== undefined ? ` in ${esc(f.file)}${f.offset !== undefined ? ` at byte ${f.offset}` : ''}` : '';
    out.push(`- **${f.severity}** \`${f.id}\` (${f.category})${where}: ${esc(f.title)}`, `  ${esc(f.detail)}`);
  }
  out.push('');

  if (report.model) {
    const m = report.model;
    out.push('## Model', '');
    out.push(`- Format: ${esc(m.format)}${m.formatVersion ? ` ${esc(m.formatVersion)}` : ''}`);
    out.push(`- Tensors: ${m.tensorCount}, parameters: ${m.parameterCount}`);
    const dt = Object.entries(m.parametersByDtype);
    if (dt.length) out.push(`- Parameters by dtype: ${dt.map(([k, v]) => `${esc(k)} ${v}`).join(', ')}`);
    if (m.graphNodeCount !== null) out.push(`- Graph nodes: ${m.graphNodeCount}`);
    if (m.producer) out.push(`- Producer: ${esc(m.producer)}`);
    for (const [k, v] of Object.entries(m.metadata).slice(0, 50)) out.push(`- Metadata ${esc(k)}: ${esc(v.slice(0, 500))}`);
    out.push('');
  }

  if (report.tensors.length) {
    out.push(`## Tensors (${report.tensors.length})`, '', '| Name | Dtype | Shape | File | Offset | Bytes |', '| --- | --- | --- | --- | ---: | ---: |');
    for (const t of report.tensors.slice(0, RENDER_MAX_TENSORS)) out.push(`| ${esc(t.name)} | ${esc(t.dtype)} | ${t.shape.join('×') || 'scalar'} | ${esc(t.file)} | ${t.offset} | ${t.length} |`);
    if (report.tensors.length > RENDER_MAX_TENSORS) out.push('', `${report.tensors.length - RENDER_MAX_TENSORS} more tensors are in the JSON report.`);
    out.push('');
  }
  return out.join('\n');
}
