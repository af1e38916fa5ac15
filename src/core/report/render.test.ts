import { describe, expect, it } from 'vitest';
import { assertValidReport } from '../../../tests/helpers/schema';
import { HOSTILE, sampleReport } from '../../../tests/fixtures/integrity/sample-report';
import { renderReport, reportFileName } from './render';
import { escapeHtml } from './render-html';
import { escapeMarkdown } from './render-markdown';
import { toSarif } from './render-sarif';

const report = sampleReport();

describe('renderReport', () => {
  it('json is the report itself', () => {
    assertValidReport(report);
    expect(JSON.parse(renderReport(report, 'json'))).toEqual(report);
  });

  it('html is standalone and escapes every model-provided string', () => {
    const html = renderReport(report, 'html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // no script, no external asset: the only tags are our own
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img|<iframe/i);
    expect(html).not.toMatch(/<[a-z][^>]*\s(src|href)\s*=/i);
    expect(html).toContain(escapeHtml(HOSTILE.tensor));
    expect(html).toContain('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;');
    expect(html).toContain(escapeHtml(HOSTILE.file));
    expect(html).toContain(escapeHtml(HOSTILE.metaKey));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).toMatch(/@media print/);
    // every finding is there, worst first
    const order = ['pickle/dangerous-call', 'safetensors/overlap', 'format/unknown', 'integrity/missing-file'].map((id) => html.indexOf(`<code>${id}</code>`));
    expect(order.every((x, i) => x > 0 && (i === 0 || x > order[i - 1]))).toBe(true);
  });

  it('markdown neutralises HTML and table breakers in names', () => {
    const md = renderReport(report, 'md');
    expect(md).not.toMatch(/<script|<img|<iframe/i);
    expect(md).toContain(escapeMarkdown(HOSTILE.tensor));
    expect(escapeMarkdown('a|b\n# c')).toBe('a\\|b \\# c');
    // the hostile file name does not add a column to the files table
    const row = md.split('\n').find((l) => l.includes('onerror'))!;
    expect(row.split(/(?<!\\)\|/).length).toBe(6);
    expect(md).toContain('**Verdict: dangerous.**');
    expect(md).toContain('- **dangerous** `pickle/dangerous-call` (code-execution) in ');
  });

  it('sarif carries rules, levels, locations and byte offsets', () => {
    const log = JSON.parse(renderReport(report, 'sarif'));
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe('tamperscope');
    expect(run.tool.driver.version).toBe(report.tool.version);
    const ruleIds = run.tool.driver.rules.map((r: { id: string }) => r.id);
    expect(ruleIds).toEqual(['pickle/dangerous-call', 'safetensors/overlap', 'format/unknown', 'integrity/missing-file']);
    expect(run.results.map((r: { level: string }) => r.level)).toEqual(['error', 'error', 'warning', 'note']);
    for (const r of run.results) {
      // SARIF 2.1.0 required fields and references
      expect(typeof r.message.text).toBe('string');
      expect(r.message.text.length).toBeGreaterThan(0);
      expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
      for (const loc of r.locations ?? []) {
        expect(typeof loc.physicalLocation.artifactLocation.uri).toBe('string');
        expect(() => new URL(loc.physicalLocation.artifactLocation.uri, 'file:///m/')).not.toThrow();
        if (loc.physicalLocation.region) expect(Number.isInteger(loc.physicalLocation.region.byteOffset)).toBe(true);
      }
    }
    expect(run.results[0].locations[0].physicalLocation).toEqual({ artifactLocation: { uri: encodeURIComponent(HOSTILE.file) }, region: { byteOffset: 1234 } });
    expect(run.results[2].locations[0].physicalLocation.region).toBeUndefined();
    expect(run.results[3].locations).toBeUndefined();
    expect(run.artifacts[1]).toEqual({ location: { uri: 'model.safetensors' }, length: 4096, hashes: { 'sha-256': 'b'.repeat(64) } });
    expect(run.artifacts[2].hashes).toBeUndefined();
  });

  it('a repeated rule takes the worst level as its default', () => {
    const r = sampleReport(0);
    r.findings = [
      { id: 'x/y', category: 'malformed', severity: 'info', title: 't', detail: 'd' },
      { id: 'x/y', category: 'malformed', severity: 'dangerous', title: 't', detail: 'd' },
    ];
    const log = toSarif(r);
    expect(log.runs[0].tool.driver.rules).toHaveLength(1);
    expect(log.runs[0].tool.driver.rules[0].defaultConfiguration.level).toBe('error');
    expect(log.runs[0].results.map((x) => x.ruleIndex)).toEqual([0, 0]);
  });

  it('names files without model text and rejects unknown formats', () => {
    expect(reportFileName(report, 'sarif')).toBe('tamperscope-dangerous-20250304-050607.sarif');
    expect(() => renderReport(report, 'pdf' as never)).toThrowError(RangeError);
  });
});
