import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyHandler } from '../../src/core/formats/numpy/parse-npy';
import { pickleHandler } from '../../src/core/formats/pickle/parse-pickle';
import { pytorchLegacyHandler } from '../../src/core/formats/pytorch/parse-pytorch-legacy';
import { pytorchZipHandler } from '../../src/core/formats/pytorch/parse-pytorch-zip';
import type { FormatHandler } from '../../src/core/formats/types';
import { emulatePickle } from '../../src/core/scan/pickle/emulate';
import { disassemblePickle } from '../../src/core/scan/pickle/disassemble';
import { scanPickleBytes } from '../../src/core/scan/pickle/scan-pickle';
import { parseOrTypedError } from './fuzz-helpers';
import { mutate, prng } from './mutate';

const fx = (...p: string[]) => new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', ...p)));
const hostileDir = join(__dirname, '..', 'fixtures', 'hostile', 'pickle');
const pickles = readdirSync(hostileDir).sort().map((n) => ({ name: n, bytes: fx('hostile', 'pickle', n) }));

describe('pickle fuzz (fixed seed)', () => {
  it('1000 mutated pickles: the emulator and scanner never throw, and every record stays in bounds', async () => {
    const rng = prng(0x9c1e_b0b);
    let anomalies = 0;
    for (let i = 0; i < 1000; i++) {
      const seed = pickles[i % pickles.length];
      const bytes = mutate(rng, seed.bytes);
      const label = `case ${i} (${seed.name})`;
      const em = emulatePickle(bytes, { baseOffset: 7 });
      anomalies += em.anomalies.length;
      for (const x of [...em.imports, ...em.calls, ...em.anomalies]) {
        expect(x.offset, label).toBeGreaterThanOrEqual(7);
        expect(x.offset, label).toBeLessThanOrEqual(7 + bytes.length);
      }
      for (const p of em.pickles) expect(p.end, label).toBeLessThanOrEqual(7 + bytes.length);
      const r = await scanPickleBytes(bytes, { file: 'f' });
      for (const f of r.findings) expect(f.id, label).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+$/);
      JSON.stringify(r.findings);
      disassemblePickle(bytes, { emulation: em, around: em.anomalies[0]?.offset });
    }
    expect(anomalies).toBeGreaterThan(500);
  }, 60_000);

  it('600 mutated checkpoints and arrays end in a parse or a typed error', async () => {
    const seeds: [FormatHandler, Uint8Array][] = [
      [pytorchZipHandler, fx('pytorch', 'state-dict.pt')],
      [pytorchZipHandler, fx('pytorch', 'scripted.pt')],
      [pytorchLegacyHandler, fx('pytorch', 'dtypes-views-legacy.pth')],
      [pytorchLegacyHandler, fx('hostile', 'pickle', 'legacy-payload-third.pt')],
      [npyHandler, fx('pytorch', 'object.npy')],
      [npyHandler, fx('pytorch', 'fortran.npy')],
      [pickleHandler, fx('hostile', 'pickle', 'joblib-object-payload.pkl')],
      [pickleHandler, fx('hostile', 'pickle', 'nested-base64.bin')],
    ];
    const rng = prng(0x70c4);
    const tally = { parsed: 0, rejected: 0 };
    for (let i = 0; i < 600; i++) {
      const [handler, seed] = seeds[i % seeds.length];
      tally[await parseOrTypedError(handler, mutate(rng, seed), `case ${i} (${handler.id})`)]++;
    }
    expect(tally.parsed).toBeGreaterThan(200);
    expect(tally.rejected).toBeGreaterThan(10);
  }, 60_000);
});
