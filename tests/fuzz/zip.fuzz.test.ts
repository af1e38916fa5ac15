import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { zipHandler } from '../../src/core/formats/zip/zip-handler';
import { npzHandler } from '../../src/core/formats/npz/parse-npz';
import { mutate, prng } from './mutate';
import { parseOrTypedError } from './fuzz-helpers';

const fx = (...p: string[]) => new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', ...p)));

describe('zip fuzz', () => {
  it('500 mutated archives end in a parse or a typed error', async () => {
    const seeds = [fx('zip', 'stored.zip'), fx('zip', 'deflated.zip'), fx('zip', 'zip64.zip'), fx('zip', 'descriptor.zip'), fx('hostile', 'archive', 'nested-zip-pickle.zip'), fx('hostile', 'archive', 'npz-honest.npz')];
    const rng = prng(0x5eed_21);
    const tally = { parsed: 0, rejected: 0 };
    for (let i = 0; i < 500; i++) {
      const seed = seeds[i % seeds.length];
      const bytes = mutate(rng, seed);
      const handler = i % seeds.length === 5 ? npzHandler : zipHandler;
      tally[await parseOrTypedError(handler, bytes, `case ${i}`)]++;
    }
    // both outcomes occur: the mutations reach past the first check
    expect(tally.parsed).toBeGreaterThan(50);
    expect(tally.rejected).toBeGreaterThan(5);
  }, 60_000);
});
