import { renderHtml } from './render-html';
import { renderMarkdown } from './render-markdown';
import { renderSarif } from './render-sarif';
import type { Report } from './report';

export type ReportFormat = 'json' | 'md' | 'html' | 'sarif';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'md', 'html', 'sarif'];

export const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = {
  json: 'application/json',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  sarif: 'application/sarif+json',
};

const EXTENSIONS: Record<ReportFormat, string> = { json: 'json', md: 'md', html: 'html', sarif: 'sarif' };

/** Renders a Report for saving or printing: the CLI's `--format`, the page's download buttons. */
export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'sarif':
      return renderSarif(report);
    default:
      throw new RangeError(`unknown report format "${String(format)}": expected one of ${REPORT_FORMATS.join(', ')}`);
  }
}

/** `tamperscope-<verdict>-<yyyymmdd-hhmmss>.<ext>`: no model-provided text in a file name. */
export function reportFileName(report: Report, format: ReportFormat): string {
  const stamp = report.createdAt.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace('T', '-').replace('Z', '');
  return `tamperscope-${report.verdict}-${stamp}.${EXTENSIONS[format]}`;
}
