import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hdf5Handler } from '../../src/core/formats/hdf5/parse-hdf5';
import { kerasHandler } from '../../src/core/formats/keras/parse-keras';
import { mutate, prng } from './mutate';
import { parseOrTypedError } from './fuzz-helpers';

const fx = (...p: string[]) => new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', ...p)));

describe('keras / hdf5 fuzz', () => {
  it('500 mutated .keras and .h5 files end in a parse or a typed error', async () => {
    const cases: [typeof kerasHandler, Uint8Array][] = [
      [kerasHandler, fx('keras', 'dense.keras')],
      [kerasHandler, fx('keras', 'dense-deflated.keras')],
      [hdf5Handler, fx('keras', 'legacy.h5')],
      [hdf5Handler, fx('hdf5', 'weights.h5')],
    ];
    const rng = prng(0x6b_65_72);
    const tally = { parsed: 0, rejected: 0 };
    for (let i = 0; i < 500; i++) {
      const [h, seed] = cases[i % cases.length];
      tally[await parseOrTypedError(h, mutate(rng, seed), `case ${i} (${h.id})`)]++;
    }
    expect(tally.parsed).toBeGreaterThan(50);
    expect(tally.rejected).toBeGreaterThan(5);
  }, 60_000);
});
