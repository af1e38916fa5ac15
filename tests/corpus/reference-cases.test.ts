import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main';
import { exitCodeOf } from '../../src/core/report/finding';
import type { Report } from '../../src/core/report/report';
import { assertValidReport } from '../helpers/schema';

/**
 * Comparison with a trusted reference and the digest checks, case by case (tests/fixtures/reference/,
 * made by tests/fixtures/make_reference_cases.py): tampering an attacker would try must be caught, honest
 * re-saves (another precision, format or sharding) must not be called tampering. Each case runs through
 * the CLI in-process; `ids` must be among the findings and `absent` must not.
 */
interface Case {
  name: string;
  ref: string | null;
  cand: string;
  args: string[];
  verdict: Report['verdict'];
  ids: string[];
  absent: string[];
  note: string;
  knownGap?: string;
}

const root = join(__dirname, '..', 'fixtures', 'reference');
const { cases } = JSON.parse(readFileSync(join(root, 'expected.json'), 'utf8')) as { cases: Case[] };
// paths inside the fixture folder given as flag values (checksum files, keys)
const arg = (a: string) => (a.startsWith('integrity/') ? join(root, a) : a);

describe('reference and integrity cases', () => {
  it('has the cases', () => {
    expect(cases.length).toBeGreaterThan(30);
  });
  for (const c of cases) {
    const run = c.knownGap ? it.skip : it;
    run(`${c.name} → ${c.verdict}${c.ids.length ? ` (${c.ids.join(', ')})` : ''}`, async () => {
      let out = '';
      const argv = ['scan', join(root, c.cand), '--json', ...(c.ref ? ['--reference', join(root, c.ref)] : []), ...c.args.map(arg)];
      const code = await runCli(argv, { stdout: (s) => (out += s), stderr: () => {} });
      const report = JSON.parse(out) as Report;
      assertValidReport(report);
      expect(code).toBe(exitCodeOf(report.verdict));
      const summary = `${c.note}\n${report.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n')}`;
      expect(report.verdict, summary).toBe(c.verdict);
      const ids = report.findings.map((f) => f.id);
      for (const id of c.ids) expect(ids, summary).toContain(id);
      for (const id of c.absent) expect(ids, summary).not.toContain(id);
    }, 30_000);
  }
});
