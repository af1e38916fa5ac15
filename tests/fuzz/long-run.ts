/**
 * The long fuzz run (`npm run fuzz -- [minutes] [seed]`): every committed fixture of every format is
 * mutated with fresh seeds and run through the whole pipeline (`inspect()`, statistics included) until
 * the time is up. Anything but a report is a crash; a case over the time bound is a hang. Crashing
 * inputs are written to tests/fuzz/.crashes/ with the seed so they replay. The fixed-seed runs in
 * tests/fuzz/*.fuzz.test.ts are the part of this that runs with every `npm test`.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inspect } from '../../src/core/inspect';
import { MemorySource } from '../../src/core/io/byte-source';
import { mutate, prng } from './mutate';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures');
const CRASHES = join(import.meta.dirname, '.crashes');
const CASE_BOUND_MS = 5000;
const MAX_SEED_BYTES = 4 * 1024 * 1024;

function seedFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    if (s.isDirectory()) seedFiles(p, out);
    else if (s.size > 0 && s.size <= MAX_SEED_BYTES && !/\.(py|json|md|ts|txt)$/.test(e)) out.push(p);
  }
  return out;
}

async function main() {
  const minutes = Number(process.argv[2] ?? 5);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  const files = seedFiles(FIXTURES);
  const rng = prng(seed);
  const until = Date.now() + minutes * 60_000;
  let cases = 0;
  let crashes = 0;
  let slowest = 0;
  console.log(`fuzzing ${files.length} fixtures for ${minutes} min, seed ${seed}`);
  while (Date.now() < until) {
    const file = files[Math.floor(rng() * files.length)];
    const bytes = mutate(rng, new Uint8Array(readFileSync(file)));
    const name = file.split('/').pop()!;
    const t = performance.now();
    try {
      const { report } = await inspect([new MemorySource(bytes, name)]);
      JSON.stringify(report);
    } catch (e) {
      crashes++;
      mkdirSync(CRASHES, { recursive: true });
      const out = join(CRASHES, `${seed}-${cases}-${name}`);
      writeFileSync(out, bytes);
      console.log(`CRASH ${relative(ROOT, file)} case ${cases}: ${e instanceof Error ? e.stack : String(e)}\n  input: ${relative(ROOT, out)}`);
    }
    const ms = performance.now() - t;
    slowest = Math.max(slowest, ms);
    if (ms > CASE_BOUND_MS) console.log(`SLOW ${relative(ROOT, file)} case ${cases}: ${ms.toFixed(0)} ms`);
    cases++;
  }
  const mem = process.memoryUsage().rss / 2 ** 20;
  console.log(`${cases} cases, ${crashes} crashes, slowest ${slowest.toFixed(0)} ms, rss ${mem.toFixed(0)} MiB`);
  process.exitCode = crashes ? 1 : 0;
}

void main();
