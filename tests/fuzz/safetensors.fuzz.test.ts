import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { safetensorsHandler } from '../../src/core/formats/safetensors/parse-safetensors';
import { safetensorsIndexHandler } from '../../src/core/formats/safetensors/parse-safetensors-index';
import { inspect } from '../../src/core/inspect';
import { MemorySource } from '../../src/core/io/byte-source';
import { assertValidReport } from '../helpers/schema';
import { parseOrTypedError } from './fuzz-helpers';
import { mutate, prng } from './mutate';

const ST = join(__dirname, '..', 'fixtures', 'safetensors');
const seeds = readdirSync(ST)
  .filter((f) => f.endsWith('.safetensors'))
  .map((f) => new Uint8Array(readFileSync(join(ST, f))));
const index = new Uint8Array(readFileSync(join(ST, 'sharded', 'model.safetensors.index.json')));

describe('safetensors fuzz', () => {
  it('600 mutated files end in a parse or a typed error', async () => {
    const rng = prng(0x5afe);
    const tally = { parsed: 0, rejected: 0 };
    for (let i = 0; i < 600; i++) tally[await parseOrTypedError(safetensorsHandler, mutate(rng, seeds[i % seeds.length]), `case ${i}`)]++;
    expect(tally.parsed).toBeGreaterThan(50);
    expect(tally.rejected).toBeGreaterThan(50);
  }, 60_000);

  it('200 mutated shard indexes end in a parse or a typed error', async () => {
    const rng = prng(0x1dec);
    for (let i = 0; i < 200; i++) await parseOrTypedError(safetensorsIndexHandler, mutate(rng, index), `index case ${i}`);
  }, 60_000);

  it('100 mutated files through the whole pipeline give schema-valid reports', async () => {
    const rng = prng(0xfeed);
    for (let i = 0; i < 100; i++) {
      const { report } = await inspect([new MemorySource(mutate(rng, seeds[i % seeds.length]), 'm.safetensors')]);
      assertValidReport(report);
    }
  }, 60_000);
});
