import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ggufHandler } from '../../src/core/formats/gguf/parse-gguf';
import { mutate, prng } from './mutate';
import { parseOrTypedError } from './fuzz-helpers';

const fx = (...p: string[]) => new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', ...p)));

describe('gguf fuzz', () => {
  it('500 mutated GGUF headers end in a parse or a typed error', async () => {
    // The header (first ~19 KB) is where the structure is: mutate a header-only cut most of the time.
    const seeds = [fx('gguf', 'tiny-v3.gguf'), fx('gguf', 'tiny-v2-align64.gguf')];
    const rng = prng(0x66_75_67);
    const tally = { parsed: 0, rejected: 0 };
    for (let i = 0; i < 500; i++) {
      tally[await parseOrTypedError(ggufHandler, mutate(rng, seeds[i % 2]), `case ${i}`)]++;
    }
    expect(tally.parsed).toBeGreaterThan(50);
    expect(tally.rejected).toBeGreaterThan(50);
  }, 60_000);
});
