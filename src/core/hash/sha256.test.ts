import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemorySource, type ByteSource } from '../io/byte-source';
import { AbortedError } from '../io/errors';
import { hashSource, isSha256Hex, wasmSha256 } from './sha256';
import { streamFile } from '../stream-file';

/** A source that returns reads in random, shorter-than-asked pieces is not allowed; instead the chunk size varies. */
describe('streaming SHA-256', () => {
  it('equals node:crypto for random data with random chunk boundaries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200_000 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 }), async (data, cuts) => {
        // feed the incremental hash with arbitrary boundaries
        const h = await wasmSha256();
        let at = 0;
        let i = 0;
        while (at < data.length) {
          const n = cuts[i++ % cuts.length];
          h.update(data.subarray(at, at + n));
          at += n;
        }
        const want = createHash('sha256').update(data).digest('hex');
        expect(await h.digestHex()).toBe(want);
        // and through the streaming pass with a random chunk size
        expect(await hashSource(new MemorySource(data), { chunkSize: cuts[0] })).toBe(want);
      }),
      { numRuns: 60, seed: 20261128 },
    );
  });

  it('reports progress up to the file size and honours abort', async () => {
    const data = new Uint8Array(1_000_000).map((_, i) => i * 7);
    const seen: number[] = [];
    await streamFile(new MemorySource(data), { chunkSize: 100_000, onProgress: (d) => seen.push(d) });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(1_000_000);
    expect(seen.length).toBe(11);
    const ctrl = new AbortController();
    const slow: ByteSource = {
      name: 's',
      size: data.length,
      read: async (o, l) => {
        if (o >= 300_000) ctrl.abort();
        return data.subarray(o, o + l);
      },
    };
    await expect(hashSource(slow, { chunkSize: 100_000, signal: ctrl.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('recognises hex digests', () => {
    expect(isSha256Hex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).toBe(true);
    expect(isSha256Hex('e3b0')).toBe(false);
  });
});
