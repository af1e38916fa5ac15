/**
 * `npm run bench`: every performance budget of DESIGN.md as a ratio against a baseline measured in the
 * same run (these machines are shared and noisy: ratios, not absolute times). One line per budget:
 * `name: ratio (value vs baseline)`. Pass names to run only some groups: `npm run bench -- hash pickle`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatRow, type BenchRow } from './rows';

type Group = { name: string; file: string; fn: string };

const GROUPS: Group[] = [
  { name: 'hash', file: 'page-hash-bench.ts', fn: 'benchHashing' },
  { name: 'header', file: 'header-bench.ts', fn: 'benchHeaderOnly' },
  { name: 'pickle', file: 'pickle-bench.ts', fn: 'benchPickle' },
  { name: 'stats', file: 'stats-bench.ts', fn: 'benchStats' },
  { name: 'stats', file: 'stats-bench.ts', fn: 'benchStatsPage' },
  { name: 'probes', file: 'probe-bench.ts', fn: 'benchProbes' },
  { name: 'probes', file: 'probe-bench.ts', fn: 'benchProbesPage' },
  { name: 'graph', file: 'graph-bench.ts', fn: 'benchGraph' },
  { name: 'signatures', file: 'signatures-bench.ts', fn: 'benchSignatures' },
];

async function main() {
  const only = process.argv.slice(2);
  let failed = false;
  for (const g of GROUPS) {
    if (only.length && !only.includes(g.name)) continue;
    const path = join(import.meta.dirname, g.file);
    if (!existsSync(path)) continue;
    try {
      const mod = (await import(path)) as Record<string, () => Promise<BenchRow[]>>;
      for (const row of await mod[g.fn]()) console.log(formatRow(row));
    } catch (e) {
      failed = true;
      console.log(`${g.name}: FAILED (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
