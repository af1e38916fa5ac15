import type { Finding } from './finding';
import { formatBytes } from './format-numbers';
import { RENDER_MAX_TENSORS, VERDICT_WORDS } from './render-markdown';
import type { Report } from './report';

/** Escapes text for HTML element content and double-quoted attributes. Everything from a model goes through it. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
const e = escapeHtml;

const COLORS: Record<string, string> = { clean: '#1d8a4e', info: '#5b6675', warning: '#b07c00', error: '#c2410c', dangerous: '#c81e1e' };

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b2430;background:#fff;margin:0;padding:1.5rem;max-width:80rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #dde2e8;padding-bottom:.2rem}
code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.25rem 0}th,td{border:1px solid #dde2e8;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;color:#fff;font-weight:600;font-size:.8em;text-transform:uppercase}
.verdict{padding:.75rem 1rem;border-radius:6px;border-left:6px solid;background:#f6f7f9;margin:1rem 0}
.finding{border:1px solid #dde2e8;border-left:4px solid;border-radius:4px;padding:.4rem .7rem;margin:.4rem 0;break-inside:avoid}
.finding p{margin:.25rem 0}pre{white-space:pre-wrap;background:#f6f7f9;padding:.4rem;margin:.25rem 0}
.muted{color:#5b6675}
@media print{body{padding:0}.finding,.verdict,tr{break-inside:avoid}a{color:inherit}}
`;

function badge(kind: string): string {
  return `<span class="badge" style="background:${COLORS[kind] ?? '#5b6675'}">${e(kind)}</span>`;
}

function renderFinding(f: Finding): string {
  const where = f.file !== undefined ? ` <span class="muted">in <code>${e(f.file)}</code>${f.offset !== undefined ? ` at byte ${f.offset}` : ''}</span>` : '';
  const evidence = f.evidence ? `<details><summary>Evidence</summary><pre>${e(JSON.stringify(f.evidence, null, 2).slice(0, 4000))}</pre></details>` : '';
  return `<div class="finding" style="border-left-color:${COLORS[f.severity]}">${badge(f.severity)} <strong>${e(f.title)}</strong> <code>${e(f.id)}</code>${where}<p>${e(f.detail)}</p><p class="muted">Category: ${e(f.category)}</p>${evidence}</div>`;
}

/**
 * A standalone HTML report: one file, inline styles, no scripts and no external assets (its own CSP
 * forbids both, so even a missed escape could not run or fetch anything), printable.
 */
export function renderHtml(report: Report): string {
  const h: string[] = [];
  const color = COLORS[report.verdict];
  h.push('<!doctype html>', '<html lang="en"><head><meta charset="utf-8">');
  h.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  h.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  h.push(`<title>Tamperscope report: ${e(VERDICT_WORDS[report.verdict])}</title><style>${STYLE}</style></head><body>`);
  h.push(`<h1>Tamperscope report</h1><p class="muted">${e(report.tool.name)} ${e(report.tool.version)} · ${e(report.createdAt)} · schema ${e(report.schema)}</p>`);
  h.push(`<div class="verdict" style="border-left-color:${color}">${badge(report.verdict)} <strong>${e(VERDICT_WORDS[report.verdict])}</strong><p>${e(report.summary)}</p></div>`);

  h.push('<h2>Files</h2><table><thead><tr><th>File</th><th>Size</th><th>Format</th><th>SHA-256</th></tr></thead><tbody>');
  for (const f of report.files) h.push(`<tr><td><code>${e(f.name)}</code></td><td class="num">${e(formatBytes(f.size))}</td><td>${e(f.formats.join(', ') || 'unknown')}</td><td class="mono">${f.sha256 ? e(f.sha256) : 'not computed'}</td></tr>`);
  h.push('</tbody></table>');

  if (report.integrity.length) {
    h.push('<h2>Integrity</h2><table><thead><tr><th>File</th><th>Source</th><th>Status</th><th>Expected</th><th>Actual</th></tr></thead><tbody>');
    for (const r of report.integrity) {
      const c = r.status === 'match' ? COLORS.clean : r.status === 'mismatch' ? COLORS.dangerous : COLORS.warning;
      h.push(`<tr><td><code>${e(r.file || '(any)')}</code></td><td>${e(r.source)}</td><td style="color:${c};font-weight:600">${e(r.status)}</td><td class="mono">${e(r.expected ?? '–')}</td><td class="mono">${e(r.actual ?? '–')}</td></tr>`);
    }
    h.push('</tbody></table>');
  }

  h.push(`<h2>Findings (${report.findings.length})</h2>`);
  if (report.findings.length === 0) h.push('<p>No findings.</p>');
  for (const f of report.findings) h.push(renderFinding(f));

  if (report.model) {
    const m = report.model;
    h.push('<h2>Model</h2><table><tbody>');
    h.push(`<tr><th>Format</th><td>${e(m.format)}${m.formatVersion ? ` ${e(m.formatVersion)}` : ''}</td></tr>`);
    h.push(`<tr><th>Tensors</th><td>${m.tensorCount.toLocaleString('en-US')}</td></tr><tr><th>Parameters</th><td>${m.parameterCount.toLocaleString('en-US')}</td></tr>`);
    for (const [k, v] of Object.entries(m.parametersByDtype)) h.push(`<tr><th>Parameters ${e(k)}</th><td>${v.toLocaleString('en-US')}</td></tr>`);
    if (m.graphNodeCount !== null) h.push(`<tr><th>Graph nodes</th><td>${m.graphNodeCount}</td></tr>`);
    if (m.producer) h.push(`<tr><th>Producer</th><td>${e(m.producer)}</td></tr>`);
    for (const [k, v] of Object.entries(m.metadata).slice(0, 100)) h.push(`<tr><th>${e(k)}</th><td><code>${e(v.slice(0, 2000))}</code></td></tr>`);
    h.push('</tbody></table>');
  }

  if (report.tensors.length) {
    h.push(`<h2>Tensors (${report.tensors.length.toLocaleString('en-US')})</h2><table><thead><tr><th>Name</th><th>Dtype</th><th>Shape</th><th>File</th><th>Offset</th><th>Bytes</th></tr></thead><tbody>`);
    for (const t of report.tensors.slice(0, RENDER_MAX_TENSORS)) h.push(`<tr><td><code>${e(t.name)}</code></td><td>${e(t.dtype)}</td><td>${e(t.shape.join('×') || 'scalar')}</td><td><code>${e(t.file)}</code></td><td class="num">${t.offset}</td><td class="num">${t.length}</td></tr>`);
    h.push('</tbody></table>');
    if (report.tensors.length > RENDER_MAX_TENSORS) h.push(`<p class="muted">${report.tensors.length - RENDER_MAX_TENSORS} more tensors are in the JSON report.</p>`);
  }
  h.push('<p class="muted">"No known risk found" is never a promise of safety: some backdoors are provably undetectable from the files alone.</p>');
  h.push('</body></html>');
  return h.join('\n');
}
