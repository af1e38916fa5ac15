import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main';
import { exitCodeOf } from '../../src/core/report/finding';
import type { Report } from '../../src/core/report/report';
import { assertValidReport } from '../helpers/schema';

/**
 * Runs the CLI over every entry of every `tests/fixtures/hostile/manifest-*.json` and checks the
 * verdict and that every expected category is among the findings. Entries:
 * `{ "path": "pickle/os_system.pkl", "verdict": "dangerous", "categories": ["code-execution"], "ids"?: [...], "note": "..." }`
 * A path may be a folder (one model). Honest files use verdict "clean" (or "clean-or-info").
 */
interface Entry {
  path: string;
  verdict: 'clean' | 'warning' | 'error' | 'dangerous';
  categories?: string[];
  ids?: string[];
  note?: string;
}

const root = join(__dirname, '..', 'fixtures', 'hostile');
const manifests = existsSync(root) ? readdirSync(root).filter((f) => /^manifest-.*\.json$/.test(f)) : [];

describe('hostile corpus', () => {
  it('has at least one manifest', () => {
    expect(manifests.length).toBeGreaterThan(0);
  });
  for (const m of manifests) {
    const entries = JSON.parse(readFileSync(join(root, m), 'utf8')) as Entry[];
    describe(m, () => {
      for (const e of entries) {
        it(`${e.path} → ${e.verdict}${e.categories?.length ? ` (${e.categories.join(', ')})` : ''}`, async () => {
          // through the CLI itself (in-process): the same Report, and the exit status of the contract
          let out = '';
          const code = await runCli(['scan', join(root, e.path), '--json'], { stdout: (s) => (out += s), stderr: () => {} });
          const report = JSON.parse(out) as Report;
          assertValidReport(report);
          expect(code).toBe(exitCodeOf(report.verdict));
          const summary = report.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n');
          expect(report.verdict, summary).toBe(e.verdict);
          const cats = new Set(report.findings.map((f) => f.category));
          for (const c of e.categories ?? []) expect([...cats], summary).toContain(c);
          const ids = new Set(report.findings.map((f) => f.id));
          for (const id of e.ids ?? []) expect([...ids], summary).toContain(id);
        });
      }
    });
  }
});
