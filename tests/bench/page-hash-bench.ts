import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GiB, MiB, randomFile, sha256sumSeconds } from './data';
import { ROOT, timeInspection, withBuiltPage } from './page';
import type { BenchRow } from './rows';

/** Resident memory (bytes) of every process of this browser profile, read from /proc. */
function browserRss(profile: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(profile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // the process exited between listing and reading
    }
  }
  return total;
}

/** SHA-256 in the page (headless Chromium) and in the CLI, each against sha256sum on the same bytes. */
export async function benchHashing(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const big = randomFile('random-1g.bin', GiB);
  const mid = randomFile('random-200m.bin', 200 * MiB);
  const shardA = randomFile('shard-a-384m.bin', 384 * MiB);
  const shardB = randomFile('shard-b-384m.bin', 384 * MiB);

  await withBuiltPage(async ({ page, browser }) => {
    // 1 GiB streamed, with the browser's memory sampled throughout
    const before = browserRss(browser.profile);
    let peak = before;
    const pageBig = await timeInspection(page, [big], () => (peak = Math.max(peak, browserRss(browser.profile))));
    const sumBig = sha256sumSeconds(big);
    rows.push({ name: 'page sha256 1 GiB (streaming) vs sha256sum', ratio: sumBig / pageBig, value: GiB / MiB / pageBig, baseline: GiB / MiB / sumBig, unit: 'MiB/s', target: 1.0 });
    const added = Math.max(0, peak - before) / MiB;
    rows.push({ name: 'page memory added while hashing 1 GiB vs 256 MiB budget', ratio: added / 256, value: added, baseline: 256, unit: 'MiB', target: 1.0, lowerIsBetter: true });

    const pageMid = await timeInspection(page, [mid]);
    const sumMid = sha256sumSeconds(mid);
    rows.push({ name: 'page sha256 200 MiB (one-shot WebCrypto) vs sha256sum', ratio: sumMid / pageMid, value: 200 / pageMid, baseline: 200 / sumMid, unit: 'MiB/s', target: 3.0 });

    const one = await timeInspection(page, [shardA]);
    const two = await timeInspection(page, [shardA, shardB]);
    rows.push({ name: 'page sha256 two shards in parallel vs one shard', ratio: (768 / two) / (384 / one), value: 768 / two, baseline: 384 / one, unit: 'MiB/s', target: 1.7 });
  });

  // The CLI end to end (process start included) on the 1 GiB file, from the bundle withBuiltPage built
  const t = process.hrtime.bigint();
  const r = spawnSync('node', [join(ROOT, 'bin/tamperscope.mjs'), 'scan', big, '--json'], { maxBuffer: 64 * MiB });
  const cli = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status === null || r.status > 3) throw new Error(`CLI failed: ${r.stderr}`);
  const sum = sha256sumSeconds(big);
  rows.push({ name: 'CLI sha256 1 GiB vs sha256sum', ratio: sum / cli, value: GiB / MiB / cli, baseline: GiB / MiB / sum, unit: 'MiB/s', target: 5.0, note: 'process start included' });
  return rows;
}
